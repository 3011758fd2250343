"""End to end: the CLI's artefacts, resume, crashes, SIGKILL and NaN, on a tiny MLP GAN."""

import contextlib
import csv
import glob
import io
import os
import signal
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tests import fixtures
from tfgan_course import callbacks, experiment, losses, spec, train
from tfgan_course import config as config_lib

TINY = dict(model="mlp", image_size=8, channels=1, batch_size=4, latent_dim=8, g_width=8, d_width=8,
            optimizer="adam", g_learning_rate=1e-3, d_learning_rate=1e-3, log_every_steps=0,
            num_fixed_samples=8)
TINY_FLAGS = [f"--{name}={value}" for name, value in TINY.items()]


def _steps_in_csv(workdir):
    with open(os.path.join(workdir, "losses.csv"), newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def _weights(model):
    return [w.numpy() for w in model.generator.weights + model.discriminator.weights]


def _epoch_in(checkpoint):
    return int(tf.train.load_variable(checkpoint, "epoch/.ATTRIBUTES/VARIABLE_VALUE"))


class _RequestStopAt(keras.callbacks.Callback):
    """Calls `stop.request` once training has passed `step`, as a signal handler would."""

    def __init__(self, stop, step):
        super().__init__()
        self.stop = stop
        self.step = step

    def on_train_batch_begin(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations) >= self.step:
            self.stop.request("a test")


class _CrashAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations) == self.step:
            raise RuntimeError("simulated crash")


class ExperimentTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.data = fixtures.write_idx(tempfile.mkdtemp(dir=self.get_temp_dir()), num_images=64)
        self.workdir = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run")
        self.config = config_lib.Config(dataset=f"idx:{self.data}", **TINY)

    def test_cli_runs_end_to_end_and_writes_every_artefact(self):
        result = subprocess.run(
            [sys.executable, "-m", "tfgan_course.train", f"--workdir={self.workdir}", f"--dataset=idx:{self.data}",
             *TINY_FLAGS, "--epochs=2", "--steps_per_epoch=2", "--log_every_steps=1", "--model_name=tiny"],
            capture_output=True, text=True, timeout=300, check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertRegex(result.stdout, r"\[1/2\]\[1/2\]\tLoss_D: \d\.\d{4}\tLoss_G: \d\.\d{4}\tD\(x\): "
                                        r"\d\.\d{4}\tD\(G\(z\)\): \d\.\d{4} / \d\.\d{4}")
        for name in ("flags.cfg", "checkpoints/checkpoint", "samples/epoch_0001.png", "samples/epoch_0002.png",
                     "samples/progress.gif", "losses.csv", "losses.png", "d_outputs.png", "real_vs_fake.png",
                     "export/tiny/1/saved_model.pb"):
            self.assertTrue(os.path.isfile(os.path.join(self.workdir, name)), name)
        self.assertNotEmpty(glob.glob(os.path.join(self.workdir, "tensorboard/train/events.out.tfevents.*")))
        self.assertNotEmpty(glob.glob(os.path.join(self.workdir, "tensorboard/samples/events.out.tfevents.*")))
        self.assertEqual(_steps_in_csv(self.workdir), [1, 2, 3, 4])
        with open(os.path.join(self.workdir, "flags.cfg")) as f:
            flags_cfg = f.read()
        self.assertIn("--model=mlp\n", flags_cfg)
        self.assertIn("--epochs=2\n", flags_cfg)

    def test_cli_rejects_bad_flags_with_the_valid_names(self):
        result = subprocess.run(
            [sys.executable, "-m", "tfgan_course.train", f"--workdir={self.workdir}", "--model=vgg"],
            capture_output=True, text=True, timeout=120, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("Unknown --model='vgg'; valid values: cdcgan, cmlp, context_encoder, dcgan, infogan, mlp, mlp2, "
                      "pggan, resnet, selu, srresnet, stackgan, toy, unet", result.stderr)
        self.assertFalse(os.path.exists(self.workdir))

    def test_flags_cfg_reproduces_the_config(self):
        experiment.run(self.config.replace(epochs=1, steps_per_epoch=1), self.workdir, verbose=0)
        result = subprocess.run(
            [sys.executable, "-c", "import sys; from absl import flags; from tfgan_course import train; "
             "flags.FLAGS(sys.argv); print(repr(train.config_from_flags()))",
             f"--flagfile={os.path.join(self.workdir, 'flags.cfg')}", "--workdir=x"],
            capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stdout.strip(), repr(self.config.replace(epochs=1, steps_per_epoch=1)))

    def test_resume_continues_from_the_checkpoint_with_identical_weights(self):
        first = experiment.run(self.config.replace(epochs=1, steps_per_epoch=3), self.workdir, verbose=0)
        self.assertEqual(first.steps, 3)
        # Same command again: nothing left to train, the weights are the checkpoint's.
        again = experiment.run(self.config.replace(epochs=1, steps_per_epoch=3), self.workdir, verbose=0)
        self.assertEqual(again.steps, 3)
        for a, b in zip(_weights(first.model), _weights(again.model)):
            self.assertAllEqual(a, b)
        self.assertAllEqual(first.model.seed_generator.state, again.model.seed_generator.state)
        self.assertEqual(int(again.model.d_optimizer.iterations), 3)
        more = experiment.run(self.config.replace(epochs=2, steps_per_epoch=3), self.workdir, verbose=0)
        self.assertEqual(more.steps, 6)
        self.assertLen(more.history["d_loss"], 1)
        self.assertEqual(_steps_in_csv(self.workdir), [1, 2, 3, 4, 5, 6])
        self.assertTrue(os.path.isfile(os.path.join(self.workdir, "samples/epoch_0002.png")))

    def test_a_run_stopped_and_resumed_ends_with_the_uninterrupted_runs_weights(self):
        # Stopped mid-epoch at step 5, resumed: the resumed run reads the batches the uninterrupted run read
        # from step 6 on (not the stream from its start again), across a pass over the 64 images (16 steps).
        config = self.config.replace(epochs=3, steps_per_epoch=8, steps_per_execution=1)
        whole = experiment.run(config, os.path.join(self.get_temp_dir(), "whole"), verbose=0)
        stop = callbacks.StopOnRequest()
        with self.assertRaises(experiment.TrainingStopped):
            experiment.run(config, self.workdir, verbose=0, stop=stop, extra_callbacks=[_RequestStopAt(stop, 4)])
        self.assertEndsWith(tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints")), "ckpt-5")
        resumed = experiment.run(config, self.workdir, verbose=0)
        self.assertEqual(resumed.steps, 24)
        for a, b in zip(_weights(whole.model), _weights(resumed.model)):
            self.assertAllClose(a, b, rtol=1e-5, atol=1e-6)

    def test_resume_false_starts_over(self):
        experiment.run(self.config.replace(epochs=1, steps_per_epoch=2), self.workdir, verbose=0)
        fresh = experiment.run(self.config.replace(epochs=1, steps_per_epoch=2, resume=False), self.workdir, verbose=0)
        self.assertEqual(fresh.steps, 2)
        self.assertEqual(_steps_in_csv(self.workdir), [1, 2])

    def test_crash_mid_epoch_loses_only_the_steps_since_the_checkpoint(self):
        # One step per execution: the simulated crash must land between steps 6 and 7.
        config = self.config.replace(epochs=2, steps_per_epoch=4, checkpoint_every_steps=2, steps_per_execution=1)
        with self.assertRaisesRegex(RuntimeError, "simulated crash"):
            experiment.run(config, self.workdir, verbose=0, extra_callbacks=[_CrashAt(7)])
        self.assertEndsWith(tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints")), "ckpt-6")
        resumed = experiment.run(config, self.workdir, verbose=0)
        self.assertEqual(resumed.steps, 8)  # Steps 7 and 8 redone, not a whole epoch.
        self.assertEqual(_steps_in_csv(self.workdir), list(range(1, 9)))

    def test_sigkill_leaves_a_checkpoint_to_resume_from(self):
        command = [sys.executable, "-m", "tfgan_course.train", f"--workdir={self.workdir}",
                   f"--dataset=idx:{self.data}", *TINY_FLAGS, "--epochs=1", "--steps_per_epoch=100000",
                   "--checkpoint_every_steps=1", "--steps_per_execution=1", "--verbosity=-1"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and len(glob.glob(os.path.join(self.workdir, "checkpoints/ckpt-*.index"))) < 3:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # Mid-epoch, probably mid-save.
        process.wait()
        latest = tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints"))
        self.assertIsNotNone(latest)
        saved_step = int(latest.rsplit("-", 1)[1])
        resumed = experiment.run(self.config.replace(epochs=1, steps_per_epoch=saved_step + 2,
                                                     checkpoint_every_steps=1, steps_per_execution=1),
                                 self.workdir, verbose=0)
        self.assertEqual(resumed.steps, saved_step + 2)
        self.assertEqual(_steps_in_csv(self.workdir), list(range(1, saved_step + 3)))

    def test_a_stop_request_saves_the_step_reached_and_resume_continues_there(self):
        # Two steps per execution: a request during step 3 ends training after step 4, mid-epoch.
        config = self.config.replace(epochs=2, steps_per_epoch=8, steps_per_execution=2)
        stop = callbacks.StopOnRequest()
        with self.assertRaisesRegex(experiment.TrainingStopped, (
                rf"^Stopped by a test at step 4, checkpoint {self.workdir}/checkpoints/ckpt-4: to resume, re-run "
                rf"the same command \(or python -m tfgan_course.train --flagfile={self.workdir}/flags.cfg "
                rf"--workdir={self.workdir}\)\.$")):
            experiment.run(config, self.workdir, verbose=0, stop=stop, extra_callbacks=[_RequestStopAt(stop, 2)])
        latest = tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints"))
        self.assertEndsWith(latest, "ckpt-4")
        self.assertEqual(_epoch_in(latest), 0)  # Not counted as a finished epoch.
        self.assertEqual(_steps_in_csv(self.workdir), [1, 2, 3, 4])
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "export")))  # Nothing half-trained exported.
        resumed = experiment.run(config, self.workdir, verbose=0)
        self.assertEqual(resumed.steps, 16)
        self.assertEqual(_steps_in_csv(self.workdir), list(range(1, 17)))
        self.assertEqual(_epoch_in(tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints"))), 2)

    def test_sigterm_saves_a_checkpoint_prints_how_to_resume_and_exits_143(self):
        data = fixtures.write_idx(tempfile.mkdtemp(dir=self.get_temp_dir()), num_images=4000, size=8)
        command = [sys.executable, "-m", "tfgan_course.train", f"--workdir={self.workdir}", f"--dataset=idx:{data}",
                   *TINY_FLAGS, "--epochs=1", "--steps_per_execution=2", "--verbosity=-1"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(process.kill)
        csv_path = os.path.join(self.workdir, "losses.csv")
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None and (
                not os.path.exists(csv_path) or len(_steps_in_csv(self.workdir)) < 6):
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # Mid-epoch: an epoch is 1000 steps.
        _, stderr = process.communicate(timeout=120)
        self.assertEqual(process.returncode, 143, stderr[-3000:])
        lines = [line for line in stderr.splitlines() if line.startswith("Stopped by SIGTERM")]
        self.assertLen(lines, 1)
        step = int(lines[0].split()[5].rstrip(","))
        self.assertRegex(lines[0], rf"^Stopped by SIGTERM at step {step}, checkpoint {self.workdir}/checkpoints/"
                                   rf"ckpt-{step}: to resume, re-run the same command")
        self.assertEqual(step % 2, 0)  # The execution under way was finished.
        self.assertEndsWith(tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints")), f"ckpt-{step}")
        self.assertEqual(_steps_in_csv(self.workdir), list(range(1, step + 1)))
        resumed = experiment.run(self.config.replace(dataset=f"idx:{data}", epochs=1, steps_per_epoch=step + 2,
                                                     steps_per_execution=2), self.workdir, verbose=0)
        self.assertEqual(resumed.steps, step + 2)
        self.assertEqual(_steps_in_csv(self.workdir), list(range(1, step + 3)))

    def test_a_signal_asks_to_stop_and_restores_the_default_so_a_second_one_kills(self):
        previous = signal.getsignal(signal.SIGINT)
        stop = callbacks.StopOnRequest()
        restore, received = train._stop_on_signals(stop)  # pylint: disable=protected-access
        try:
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.time() + 10
            while not received and time.time() < deadline:
                time.sleep(0.01)
            self.assertEqual((received, stop.reason), ([signal.SIGINT], "SIGINT"))
            self.assertEqual(signal.getsignal(signal.SIGINT), signal.SIG_DFL)
            self.assertEqual(signal.getsignal(signal.SIGTERM), signal.SIG_DFL)
        finally:
            restore()
        self.assertEqual(signal.getsignal(signal.SIGINT), previous)

    def test_finite_divergence_stops_like_nan(self):
        config = self.config.replace(epochs=1, steps_per_epoch=4, g_learning_rate=1e6, d_learning_rate=1e6)
        with self.assertRaisesRegex(experiment.TrainingDiverged, r"^Training diverged: g_loss=\S+ at step 1, beyond "
                                    r"the bound \|loss\| <= 1e\+06 \(--divergence_max_loss\)\. Last good "
                                    r"checkpoint: none\."):
            experiment.run(config, self.workdir, verbose=0)
        self.assertIsNone(tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints")))
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "export")))
        # What it did before the guard: finite losses of 1e13 and more, and an export.
        unguarded = experiment.run(config.replace(divergence_max_loss=0, resume=False), self.workdir, verbose=0)
        self.assertGreater(max(abs(v) for v in unguarded.history["g_loss"]), 1e6)
        self.assertTrue(os.path.isdir(unguarded.export_dir))

    def test_nan_stops_training_naming_the_step_and_checkpoint(self):
        experiment.run(self.config.replace(epochs=1, steps_per_epoch=2), self.workdir, verbose=0)
        nan = losses.Loss(generator=lambda fake: losses.non_saturating_generator_loss(fake) * np.nan,
                          discriminator=lambda real, fake: losses.minimax_discriminator_loss(real, fake) * np.nan)
        losses.LOSSES["nan_for_test"] = nan
        self.addCleanup(losses.LOSSES.pop, "nan_for_test")
        with self.assertRaisesRegex(experiment.TrainingDiverged, r"d_loss=nan.* at step 3\. Last good "
                                                                 r"checkpoint: .*ckpt-2\b"):
            experiment.run(self.config.replace(epochs=2, steps_per_epoch=2, loss="nan_for_test",
                                               allow_flag_changes=True), self.workdir, verbose=0)
        self.assertEndsWith(tf.train.latest_checkpoint(os.path.join(self.workdir, "checkpoints")), "ckpt-2")
        exported = os.listdir(os.path.join(self.workdir, "export", self.config.serving_name))
        self.assertEqual(exported, ["1"])  # No export of NaN weights.

    def test_ema_generator_is_checkpointed_and_exported(self):
        config = self.config.replace(epochs=1, steps_per_epoch=3, g_ema_decay=0.9)
        first = experiment.run(config, self.workdir, verbose=0)
        again = experiment.run(config, self.workdir, verbose=0)  # Restores, trains nothing.
        for a, b in zip(first.model.ema_generator.weights, again.model.ema_generator.weights):
            self.assertAllEqual(a, b)
        z = tf.random.normal([3, 8])
        serve = tf.saved_model.load(again.export_dir).signatures["serving_default"]
        self.assertAllClose(serve(z=z)["images"], again.model.ema_generator(z, training=False), atol=1e-6)
        saved = spec.read(os.path.join(again.export_dir, "assets.extra"))
        self.assertEqual(saved, again.model.spec)
        self.assertEqual((saved.family, saved.dataset, saved.variant, saved.latent.distribution),
                         (config.model, config.dataset, "plain", "normal"))
        self.assertEqual(spec.read(os.path.join(self.workdir, "checkpoints")), saved)

    def test_resume_with_flags_that_change_the_experiment_is_refused_naming_each(self):
        first = self.config.replace(epochs=1, steps_per_epoch=2)
        experiment.run(first, self.workdir, verbose=0)
        with open(os.path.join(self.workdir, "flags.cfg")) as f:
            flags_cfg = f.read()
        # --epochs and --log_every_steps may change (longer, chattier); batch size and learning rate may not.
        changed = first.replace(batch_size=2, g_learning_rate=0.01, epochs=2, log_every_steps=1)
        with self.assertRaisesRegex(
                ValueError, r"^Cannot resume \S+ckpt-2 with flags that change the experiment: --batch_size: was 4, "
                            r"now 2; --g_learning_rate: was 0\.001, now 0\.01\. Repeat its flags \(--flagfile=\S+"
                            r"flags\.cfg\), pass --allow_flag_changes .* --resume=false or a new --workdir\.$"
        ) as raised:
            experiment.run(changed, self.workdir, verbose=0)
        self.assertNotIn("epochs", str(raised.exception))
        self.assertNotIn("\n", str(raised.exception))
        with open(os.path.join(self.workdir, "flags.cfg")) as f:
            self.assertEqual(f.read(), flags_cfg)
        self.assertEqual(_steps_in_csv(self.workdir), [1, 2])
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "flags_history")))
        # What may change does: two more steps.
        self.assertEqual(experiment.run(first.replace(epochs=2, log_every_steps=1), self.workdir, verbose=0).steps, 4)

    def test_allow_flag_changes_resumes_and_keeps_each_segments_flags(self):
        first = self.config.replace(epochs=1, steps_per_epoch=2)
        experiment.run(first, self.workdir, verbose=0)
        second = first.replace(epochs=2, g_learning_rate=0.01, allow_flag_changes=True)
        self.assertEqual(experiment.run(second, self.workdir, verbose=0).steps, 4)
        recorded = second.replace(allow_flag_changes=False)
        history = os.path.join(self.workdir, "flags_history")
        self.assertEqual(sorted(os.listdir(history)), ["001.cfg", "002.cfg"])
        texts = {}
        for name in ("001.cfg", "002.cfg", "../flags.cfg"):
            with open(os.path.join(history, name)) as f:
                texts[name] = f.read()
        self.assertStartsWith(texts["001.cfg"], "# Segment 1 of this run: its flags from step 0 until step 2.\n")
        self.assertStartsWith(texts["002.cfg"], "# Segment 2 of this run: its flags from step 2, resumed with "
                                                "--allow_flag_changes.\n# Changed: --g_learning_rate: was 0.001, "
                                                "now 0.01\n")
        # Each segment's file re-runs it, through the command line's own flagfile parsing.
        self.assertEqual(train.parse_config([f"--flagfile={os.path.join(history, '001.cfg')}"]), first)
        self.assertEqual(train.parse_config([f"--flagfile={os.path.join(history, '002.cfg')}"]), recorded)
        self.assertEqual(config_lib.Config.from_flagfile(texts["../flags.cfg"]), recorded)
        # The new flags are the run's now: resuming with them needs no override, and adds no segment.
        self.assertEqual(experiment.run(recorded.replace(epochs=3), self.workdir, verbose=0).steps, 6)
        self.assertEqual(sorted(os.listdir(history)), ["001.cfg", "002.cfg"])
        with self.assertRaisesRegex(ValueError, r"--g_learning_rate: was 0\.01, now 0\.001"):
            experiment.run(first.replace(epochs=4), self.workdir, verbose=0)
        self.assertEqual(experiment.run(first.replace(epochs=4, allow_flag_changes=True), self.workdir,
                                        verbose=0).steps, 8)
        self.assertEqual(sorted(os.listdir(history)), ["001.cfg", "002.cfg", "003.cfg"])
        with open(os.path.join(history, "003.cfg")) as f:
            self.assertStartsWith(f.read(), "# Segment 3 of this run: its flags from step 6,")

    def test_export_problems_are_refused_before_the_first_step(self):
        a_file = os.path.join(self.get_temp_dir(), "a_file")
        with open(a_file, "w") as f:
            f.write("not a directory")
        export_base = tempfile.mkdtemp(dir=self.get_temp_dir())
        with open(os.path.join(export_base, "taken"), "w") as f:
            f.write("not a model directory")
        cases = [
            (dict(model_name="../evil"), r"^--model_name='\.\./evil' cannot be exported: Invalid model name "
                                         r"\"\.\./evil\": use letters, .* Pick another --model_name\.$"),
            (dict(model_name="a b"), r"^--model_name='a b' cannot be exported"),
            (dict(export_base=os.path.join(a_file, "export")), rf"^--export_base={a_file}/export is under {a_file}, "
                                                               r"which is a file: choose a directory path\.$"),
            (dict(export_base="/sys/tfgan_course_test/export"), r"^--export_base=/sys/tfgan_course_test/export is not "
                                                                r"writable: cannot create anything in /sys .*"),
            (dict(export_base=export_base, model_name="taken"), r"^Cannot export model 'taken': \S+/taken is a file"),
        ]
        for changes, message in cases:
            with self.subTest(**changes), self.assertRaisesRegex(ValueError, message):
                experiment.run(self.config.replace(**changes), self.workdir, verbose=0)
            self.assertFalse(os.path.exists(self.workdir))  # Refused before anything was written.

    def test_unusable_workdir_is_one_line_and_a_usage_error(self):
        a_file = os.path.join(self.get_temp_dir(), "a_file")
        with open(a_file, "w") as f:
            f.write("not a directory")
        cases = {
            os.path.join(a_file, "run"): rf"^error: --workdir={a_file}/run is under {a_file}, which is a file: "
                                         r"choose a directory path\.$",
            a_file: rf"^error: --workdir={a_file} is a file: choose a directory path\.$",
            # Not writable even by root (a chmod-ed directory would be).
            "/sys/tfgan_course_test/run": r"^error: --workdir=/sys/tfgan_course_test/run is not writable: cannot "
                                          r"create anything in /sys \(.+\)\. Choose a directory you can write",
        }
        self.addCleanup(train.FLAGS.unparse_flags)
        for workdir, message in cases.items():
            with self.subTest(workdir=workdir):
                train.parse_config([f"--workdir={workdir}", f"--dataset=idx:{self.data}", *TINY_FLAGS])
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr):
                    code = train.main(["train"])
                self.assertEqual(code, 2)
                self.assertRegex(stderr.getvalue().splitlines()[0], message)
                self.assertLen(stderr.getvalue().splitlines(), 2)  # The line, and where --help lists the flags.
                with self.assertRaisesRegex(ValueError, message[len("^error: "):]):
                    experiment.run(self.config, workdir, verbose=0)
        self.assertFalse(os.path.exists("/sys/tfgan_course_test"))

    def test_dataset_without_a_local_or_prepared_copy_fails_at_once_writing_nothing(self):
        empty = tempfile.mkdtemp(dir=self.get_temp_dir())
        start = time.monotonic()
        with self.assertRaisesRegex(ValueError, rf"^cannot find tfds:mnist: TFDS has no prepared copy of mnist in "
                                                rf"{empty}/mnist/\S+\. Pass --download"):
            experiment.run(self.config.replace(dataset="tfds:mnist", data_dir=empty), self.workdir, verbose=0)
        self.assertLess(time.monotonic() - start, 30)
        self.assertFalse(os.path.exists(self.workdir))
        self.assertEqual(os.listdir(empty), [])

    def test_d_steps_consume_that_many_minibatches(self):
        result = experiment.run(self.config.replace(epochs=1, d_steps=2), self.workdir, verbose=0)
        self.assertEqual(result.steps, 64 // (4 * 2))
        self.assertEqual(int(result.model.d_optimizer.iterations), 2 * result.steps)


if __name__ == "__main__":
    tf.test.main()
