"""Correctness of the speed and scale options: steps_per_execution, mixed precision, multi-worker training.

Their speed is measured in benchmarks/train_speed.py, not here.
"""

import contextlib
import csv
import io
import json
import os
import socket
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import experiment, export, runtime, variants

TINY = dict(model="mlp", image_size=8, channels=1, batch_size=4, latent_dim=8, g_width=8, d_width=8,
            optimizer="adam", g_learning_rate=1e-3, d_learning_rate=1e-3, log_every_steps=0, num_fixed_samples=8)
TINY_DCGAN = dict(TINY, model="dcgan", g_width=4, d_width=4)


def _rows(workdir):
    with open(os.path.join(workdir, "losses.csv"), newline="") as f:
        return list(csv.DictReader(f))


def _checkpoint_tensors(checkpoint_prefix):
    """{name: value} of every variable in a checkpoint: G's and D's weights (saved through their
    optimizers), the optimizers' slots and counters, the random state."""
    reader = tf.train.load_checkpoint(checkpoint_prefix)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _images(n, shape=(8, 8, 1)):
    return tf.random.stateless_uniform((n, *shape), seed=[3, 4], minval=-1.0, maxval=1.0)


class StepsPerExecutionTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.data = fixtures.write_idx(tempfile.mkdtemp(dir=self.get_temp_dir()), num_images=64)
        self.config = config_lib.Config(dataset=f"idx:{self.data}", epochs=1, steps_per_epoch=8, **TINY)

    def _run(self, steps_per_execution, **changes):
        workdir = tempfile.mkdtemp(dir=self.get_temp_dir())
        config = self.config.replace(steps_per_execution=steps_per_execution, **changes)
        return experiment.run(config, workdir, verbose=0), workdir

    def test_several_steps_per_execution_train_exactly_as_single_steps(self):
        single, single_dir = self._run(1)
        multi, multi_dir = self._run(4)
        self.assertEqual(multi.model.steps_per_execution, 4)
        self.assertEqual(single.steps, multi.steps)
        for a, b in zip(single.model.generator.weights + single.model.discriminator.weights,
                        multi.model.generator.weights + multi.model.discriminator.weights):
            self.assertAllClose(a, b, atol=1e-6)
        # Every step keeps its own row, with that step's values, not the execution's last.
        single_rows, multi_rows = _rows(single_dir), _rows(multi_dir)
        self.assertEqual([int(row["step"]) for row in multi_rows], list(range(1, 9)))
        for a, b in zip(single_rows, multi_rows):
            for name in single.model.metric_names:
                self.assertAllClose(float(a[name]), float(b[name]), atol=1e-6, msg=name)
        self.assertNotEqual(multi_rows[0]["d_loss"], multi_rows[3]["d_loss"])

    def test_auto_takes_a_divisor_of_the_epoch_for_dense_models_only(self):
        self.assertEqual(runtime.steps_per_execution(self.config, 8), 8)
        self.assertEqual(runtime.steps_per_execution(self.config, 30), 10)
        self.assertEqual(runtime.steps_per_execution(self.config, 7), 7)
        self.assertEqual(runtime.steps_per_execution(self.config, 13), 1)
        self.assertEqual(runtime.steps_per_execution(self.config.replace(model="dcgan"), 30), 1)
        self.assertEqual(runtime.steps_per_execution(self.config.replace(distribute="multi_worker"), 30), 1)

    def test_a_count_that_does_not_divide_the_epoch_names_the_divisors(self):
        with self.assertRaisesRegex(ValueError, r"--steps_per_execution=3 does not divide the 8 steps of an "
                                                r"epoch; use one of \[1, 2, 4, 8\]"):
            self._run(3)
        with self.assertRaisesRegex(ValueError, "multi_worker runs one step per execution"):
            runtime.steps_per_execution(self.config.replace(distribute="multi_worker", steps_per_execution=2), 8)

    def test_stats_line_and_checkpoints_fire_inside_an_execution(self):
        workdir = tempfile.mkdtemp(dir=self.get_temp_dir())
        config = self.config.replace(steps_per_execution=4, checkpoint_every_steps=3, log_every_steps=3)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            experiment.run(config, workdir, verbose=0)
        # Steps 3 and 6 lie inside the executions 1-4 and 5-8. Step 3's checkpoint is saved at
        # the end of its execution (4); 8 is the epoch's own.
        steps = sorted(int(path.split("-")[-1].split(".")[0]) for path in os.listdir(os.path.join(workdir, "checkpoints"))
                       if path.endswith(".index"))
        self.assertEqual(steps, [4, 8])
        # The stats line prints steps 3 and 6 themselves (i = step - 1), with their own values.
        lines = [line for line in printed.getvalue().splitlines() if line.startswith("[")]
        self.assertLen(lines, 2)
        self.assertStartsWith(lines[0], "[0/1][2/8]\t")
        self.assertStartsWith(lines[1], "[0/1][5/8]\t")
        rows = {int(row["step"]): row for row in _rows(workdir)}
        for line, step in zip(lines, (3, 6)):
            self.assertIn(f"Loss_D: {float(rows[step]['d_loss']):.4f}", line)


class MixedPrecisionTest(tf.test.TestCase):

    def _build(self, policy, image_shape=(8, 8, 1), **changes):
        config = variants.validate(config_lib.Config(mixed_precision=policy, **{**TINY_DCGAN, **changes}))
        return variants.build(config, image_shape)

    def test_bfloat16_computes_in_bfloat16_keeps_float32_weights_and_outputs(self):
        model = self._build("mixed_bfloat16")
        self.assertEqual(keras.mixed_precision.global_policy().name, "float32")  # Restored after the build.
        compute = {layer.dtype_policy.compute_dtype for layer in model.generator.layers[1:-1]}
        self.assertEqual(compute, {"bfloat16"})
        self.assertEqual({w.dtype for w in model.generator.weights + model.discriminator.weights}, {"float32"})
        history = model.fit(tf.data.Dataset.from_tensors(_images(4)).repeat(), epochs=1, steps_per_epoch=3, verbose=0,
                            shuffle=False)
        for name in model.metric_names:
            self.assertTrue(np.isfinite(history.history[name]).all(), name)
        self.assertEqual(model.generator(tf.zeros([2, 8])).dtype, tf.float32)
        self.assertEqual(model.discriminator(_images(2)).dtype, tf.float32)
        # The export passes its own float32-output check and serves float32 images.
        export_dir = export.export_generator(model.sampler, tempfile.mkdtemp(dir=self.get_temp_dir()), "bf16",
                                             spec=model.spec)
        images = tf.saved_model.load(export_dir).signatures["serving_default"](z=tf.zeros([2, 8]))["images"]
        self.assertEqual(images.dtype, tf.float32)
        self.assertAllClose(images, model.sampler(tf.zeros([2, 8])), atol=1e-6)

    def test_float16_scales_both_losses_and_counts_skipped_steps(self):
        model = self._build("mixed_float16")
        for optimizer in (model.d_optimizer, model.g_optimizer):
            self.assertIsInstance(optimizer, keras.optimizers.LossScaleOptimizer)
        # D's scale overflows float16 (max 65504): its first update is skipped and the scale halved.
        model.d_optimizer.dynamic_scale.assign(2.0 ** 40)
        # G's scale doubles after every 2 finite steps.
        model.g_optimizer.dynamic_growth_steps = 2
        g_scale = float(model.g_optimizer.dynamic_scale.numpy())
        d_before = [w.numpy() for w in model.discriminator.trainable_weights]
        history = model.fit(tf.data.Dataset.from_tensors(_images(4)).repeat(), epochs=1, steps_per_epoch=1, verbose=0,
                            shuffle=False)
        self.assertEqual(float(model.d_optimizer.dynamic_scale.numpy()), 2.0 ** 39)
        for before, after in zip(d_before, model.discriminator.trainable_weights):
            self.assertAllEqual(before, after)  # The overflowed update was skipped...
        self.assertEqual(int(model.d_optimizer.iterations.numpy()), 1)  # ...but counted as a step.
        self.assertEqual(int(model.g_optimizer.iterations.numpy()), 1)
        model.d_optimizer.dynamic_scale.assign(2.0 ** 8)
        history = model.fit(tf.data.Dataset.from_tensors(_images(4)).repeat(), epochs=1, steps_per_epoch=3, verbose=0,
                            shuffle=False)
        for name in model.metric_names:
            self.assertTrue(np.isfinite(history.history[name]).all(), name)
        self.assertEqual(float(model.g_optimizer.dynamic_scale.numpy()), g_scale * 4)  # 4 finite steps
        self.assertEqual(model.generator.layers[1].dtype_policy.compute_dtype, "float16")

    def test_unrolled_gan_replays_the_adam_inside_the_loss_scale_optimizer(self):
        model = self._build("mixed_float16", model="mlp", unrolled_steps=2)
        history = model.fit(tf.data.Dataset.from_tensors(_images(4)).repeat(), epochs=1, steps_per_epoch=2, verbose=0,
                            shuffle=False)
        self.assertTrue(np.isfinite(history.history["g_loss"]).all())

    def test_the_policy_is_restored_when_a_build_fails(self):
        with self.assertRaises(ValueError):
            self._build("mixed_bfloat16", image_shape=(9, 9, 1))  # Not a DCGAN size.
        self.assertEqual(keras.mixed_precision.global_policy().name, "float32")


class DevicesTest(tf.test.TestCase):

    def test_mirrored_over_the_listed_devices(self):
        strategy = runtime.make_strategy("mirrored", "/cpu:1, CPU:0")
        self.assertEqual(strategy.num_replicas_in_sync, 2)  # The two logical CPUs of tests/conftest.py.
        self.assertEqual(runtime.make_strategy("mirrored", "/cpu:1").num_replicas_in_sync, 1)

    def test_an_unknown_device_names_the_visible_ones(self):
        with self.assertRaisesRegex(ValueError, r"no device '/gpu:7' here; visible: CPU:0, CPU:1"):
            runtime.make_strategy("mirrored", "/gpu:7")
        with self.assertRaisesRegex(ValueError, "--devices lists the devices of --distribute=mirrored"):
            runtime.make_strategy("none", "/cpu:0")


class MultiWorkerTest(tf.test.TestCase):

    def test_without_tf_config_says_what_to_set(self):
        environ = dict(os.environ)
        os.environ.pop("TF_CONFIG", None)
        try:
            with self.assertRaisesRegex(ValueError, "needs the TF_CONFIG environment variable"):
                runtime.make_strategy("multi_worker")
        finally:
            os.environ.clear()
            os.environ.update(environ)

    def test_two_workers_on_localhost_train_the_same_weights(self):
        data = fixtures.write_idx(tempfile.mkdtemp(dir=self.get_temp_dir()), num_images=64)
        workdir = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run")
        cluster = {"worker": [f"localhost:{_free_port()}", f"localhost:{_free_port()}"]}
        flags = [f"--{name}={value}" for name, value in TINY.items()]
        command = [sys.executable, "-m", "tfgan_course.train", f"--workdir={workdir}", f"--dataset=idx:{data}",
                   *flags, "--epochs=1", "--steps_per_epoch=4", "--distribute=multi_worker", "--model_name=tiny"]
        workers = []
        for index in range(2):
            environ = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster,
                                                             "task": {"type": "worker", "index": index}}))
            workers.append(subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True))
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]
        for worker, output in zip(workers, outputs):
            self.assertEqual(worker.returncode, 0, output[-3000:])
        # The chief (worker 0) owns the run's files; worker 1 writes beside them.
        chief = _checkpoint_tensors(os.path.join(workdir, "checkpoints", "ckpt-4"))
        other = _checkpoint_tensors(os.path.join(workdir, "workers", "worker_1", "checkpoints", "ckpt-4"))
        self.assertEqual(chief.keys(), other.keys())
        for name, value in chief.items():
            self.assertAllClose(value, other[name], atol=1e-6, msg=name)
        self.assertEqual([int(row["step"]) for row in _rows(workdir)], [1, 2, 3, 4])
        self.assertTrue(os.path.isfile(os.path.join(workdir, "export", "tiny", "1", "saved_model.pb")))
        # The weights moved: the workers trained, they did not just agree on the initial ones.
        initial = variants.build(variants.validate(config_lib.Config(**TINY)), (8, 8, 1))
        kernel = "g_optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE"  # G's fc1 kernel
        self.assertNotAllClose(chief[kernel], initial.generator.get_layer("fc1").kernel.numpy())


if __name__ == "__main__":
    tf.test.main()
