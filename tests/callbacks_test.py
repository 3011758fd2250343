"""The divergence guard's rules, step by step, the checkpoint's fsync, and the loss log's directories."""

import os
import types
from unittest import mock

import keras
import tensorflow as tf

from tfgan_course import callbacks, gan, losses
from tfgan_course.gans import began

_STRONG_D = {"d_loss": 0.02, "g_loss": 6.0, "D(x)": 0.995, "D(G(z)) before": 2e-3, "D(G(z)) after": 3e-3}
_PINNED = {"d_loss": 0.0, "g_loss": 40.0, "D(x)": 1.0, "D(G(z)) before": 0.0, "D(G(z)) after": 1e-9}
_HEALTHY = {"d_loss": 1.2, "g_loss": 0.9, "D(x)": 0.6, "D(G(z)) before": 0.4, "D(G(z)) after": 0.45}


class _StepLog:
    """What the guard reads of a GAN: its loss, metric names, step counter and recorded steps."""

    def __init__(self, loss, metric_names=gan.GAN.metric_names):
        self.loss_pair = losses.get(loss)
        self.metric_names = metric_names
        self.g_optimizer = types.SimpleNamespace(iterations=tf.Variable(0, dtype=tf.int64))
        self.stop_training = False
        self.rows = {}

    def recent_steps(self, first, last):
        return {step: self.rows[step] for step in range(first, last + 1)}


def _guard(model, **kwargs):
    guard = callbacks.NanGuard(**kwargs)
    guard.set_model(model)
    guard.on_train_begin()
    return guard


def _train(guard, model, rows, per_execution=1):
    """Feeds `rows` (one dict per step) to the guard, `per_execution` steps per call; the steps it saw."""
    for first in range(0, len(rows), per_execution):
        for row in rows[first:first + per_execution]:
            step = int(model.g_optimizer.iterations.assign_add(1))
            model.rows[step] = row
        guard.on_train_batch_end(first + per_execution - 1, model.rows[step])
        if model.stop_training:
            return step
    return int(model.g_optimizer.iterations)


class NanGuardTest(tf.test.TestCase):

    def test_a_loss_beyond_the_bound_stops_at_that_step(self):
        model = _StepLog("non_saturating")
        guard = _guard(model, max_loss=1e6)
        rows = [_HEALTHY] * 4 + [{**_HEALTHY, "g_loss": 1.85e13}] + [_HEALTHY] * 5
        self.assertEqual(_train(guard, model, rows, per_execution=3), 6)  # The execution of steps 4-6.
        self.assertTrue(model.stop_training)
        self.assertEqual(guard.failure, "g_loss=1.85e+13 at step 5, beyond the bound |loss| <= 1e+06 "
                                        "(--divergence_max_loss)")

    def test_nan_is_still_named_first(self):
        model = _StepLog("wasserstein")
        guard = _guard(model, max_loss=1e6, pinned_steps=5)
        _train(guard, model, [_HEALTHY, {**_HEALTHY, "d_loss": float("nan")}])
        self.assertEqual(guard.failure, "d_loss=nan at step 2")

    def test_d_outputs_pinned_in_most_of_n_steps_stop_a_bce_loss(self):
        model = _StepLog("minimax")
        guard = _guard(model, max_loss=1e6, pinned_steps=50)
        # A strong D, then a D pinned in 3 steps of 4 (75%, under the 80% rule): training goes on.
        rows = [_STRONG_D] * 100 + ([_PINNED] * 3 + [_HEALTHY]) * 50
        self.assertEqual(_train(guard, model, rows), 300)
        self.assertIsNone(guard.failure)
        # Pinned but for one fake in 64 that gets through every tenth step: stopped once 40 of the
        # last 50 steps were pinned.
        fooled = {**_PINNED, "D(G(z)) before": 1 / 64}
        step = _train(guard, model, ([_PINNED] * 9 + [fooled]) * 10)
        self.assertBetween(step, 301, 350)
        self.assertEqual(guard.failure, f"D's outputs pinned at 0 or 1 in 40 of the 50 steps up to step {step} "
                                        "(D(x)=1, D(G(z)) before=0, D(G(z)) after=1e-09; --divergence_pinned_steps)")

    def test_critics_and_began_are_not_held_to_probabilities(self):
        for loss, names in (("wasserstein", gan.GAN.metric_names), ("hinge", gan.GAN.metric_names),
                            ("least_squares", gan.GAN.metric_names), ("began", began.BEGAN.metric_names)):
            with self.subTest(loss=loss):
                model = _StepLog(loss, names)
                guard = _guard(model, max_loss=1e6, pinned_steps=5)
                rows = [_PINNED] * 20 if names == gan.GAN.metric_names else [
                    {"d_loss": 0.1, "g_loss": 0.1, "L(x)": 0.0, "L(G(z))": 0.0, "k_t": 0.0, "M_global": 0.0}] * 20
                self.assertEqual(_train(guard, model, rows), 20)
                self.assertIsNone(guard.failure)

    def test_label_smoothing_keeps_the_probabilities(self):
        generator = keras.Sequential([keras.Input([2], name="z"), keras.layers.Dense(2)])
        discriminator = keras.Sequential([keras.Input([2]), keras.layers.Dense(1)])
        model = gan.GAN(generator, discriminator, latent_dim=2)
        model.compile(d_optimizer=keras.optimizers.SGD(), g_optimizer=keras.optimizers.SGD(),
                      loss="non_saturating", label_smoothing=0.1)
        self.assertTrue(model.loss_pair.d_probabilities)

    def test_off_by_default(self):
        model = _StepLog("minimax")
        guard = _guard(model)
        self.assertEqual(_train(guard, model, [{**_PINNED, "g_loss": 1e30}] * 600), 600)
        self.assertIsNone(guard.failure)


class CheckpointSyncTest(tf.test.TestCase):

    def test_a_saved_checkpoint_is_fsynced_with_its_index_and_directory(self):
        directory = os.path.realpath(os.path.join(self.get_temp_dir(), "checkpoints"))
        manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), directory, max_to_keep=1)
        synced = []
        fsync = os.fsync

        def record(fd):
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
            fsync(fd)

        with mock.patch.object(os, "fsync", record):
            callbacks.sync_checkpoint(manager.save(checkpoint_number=7))
        self.assertCountEqual(synced, [os.path.join(directory, name) for name in (
            "ckpt-7.index", "ckpt-7.data-00000-of-00001", "checkpoint")] + [directory])
        self.assertEqual(synced[-1], directory)


class LossLogTest(tf.test.TestCase):

    def test_makes_its_directories(self):
        root = self.get_temp_dir()
        log = callbacks.LossLog(os.path.join(root, "new", "losses.csv"), os.path.join(root, "plots"))
        log.set_model(_StepLog("non_saturating"))
        log.on_train_begin()
        log.on_train_end()
        with open(os.path.join(root, "new", "losses.csv")) as f:
            self.assertEqual(f.readline().strip().split(","), ["step", "epoch", *gan.GAN.metric_names])
        self.assertTrue(os.path.isdir(os.path.join(root, "plots")))


if __name__ == "__main__":
    tf.test.main()
