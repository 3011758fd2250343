"""End to end: the CLI's artefacts, resume, crashes, SIGKILL and NaN, on a tiny MLP GAN."""

import csv
import glob
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
            [sys.executable, "-m", "tfgan_course.train", f"--workdir={self.workdir}", "--model=resnet"],
            capture_output=True, text=True, timeout=120, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("Unknown --model='resnet'; valid values: cdcgan, cmlp, dcgan, infogan, mlp, mlp2, selu, toy", result.stderr)
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
            experiment.run(self.config.replace(epochs=2, steps_per_epoch=2, loss="nan_for_test"), self.workdir,
                           verbose=0)
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

    def test_d_steps_consume_that_many_minibatches(self):
        result = experiment.run(self.config.replace(epochs=1, d_steps=2), self.workdir, verbose=0)
        self.assertEqual(result.steps, 64 // (4 * 2))
        self.assertEqual(int(result.model.d_optimizer.iterations), 2 * result.steps)


if __name__ == "__main__":
    tf.test.main()
