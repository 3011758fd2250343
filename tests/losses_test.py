"""Losses pinned to hand-computed values on four fixed logits (as TF-GAN's tests do)."""

import math

import numpy as np
import tensorflow as tf

from tfgan_course import losses

REAL_LOGITS = np.array([[2.0], [-1.0], [0.0], [4.0]], np.float32)
FAKE_LOGITS = np.array([[-3.0], [1.0], [0.5], [-0.5]], np.float32)


def _log_sigmoid(x):
    return -math.log1p(math.exp(-x))


def _mean(values):
    return sum(values) / len(values)


class LossesTest(tf.test.TestCase):

    def test_minimax_discriminator_loss(self):
        expected = (_mean([-_log_sigmoid(x) for x in REAL_LOGITS.ravel()])
                    + _mean([-_log_sigmoid(-x) for x in FAKE_LOGITS.ravel()]))
        self.assertAllClose(losses.minimax_discriminator_loss(REAL_LOGITS, FAKE_LOGITS), expected, atol=1e-6)
        # Hand value: mean(0.126928, 1.313262, 0.693147, 0.018150) + mean(0.048587, 1.313262, 0.974077, 0.474077).
        self.assertAllClose(losses.minimax_discriminator_loss(REAL_LOGITS, FAKE_LOGITS), 1.2403718, atol=1e-5)

    def test_minimax_generator_loss_is_log_one_minus_d(self):
        expected = _mean([math.log(1 - 1 / (1 + math.exp(-x))) for x in FAKE_LOGITS.ravel()])
        self.assertAllClose(losses.minimax_generator_loss(FAKE_LOGITS), expected, atol=1e-6)
        self.assertAllClose(losses.minimax_generator_loss(FAKE_LOGITS), -0.7025007, atol=1e-5)

    def test_non_saturating_generator_loss_is_minus_log_d(self):
        expected = _mean([-math.log(1 / (1 + math.exp(-x))) for x in FAKE_LOGITS.ravel()])
        # Hand value: mean(softplus(3), softplus(-1), softplus(-0.5), softplus(0.5)) = 4.810003 / 4.
        self.assertAllClose(losses.non_saturating_generator_loss(FAKE_LOGITS), expected, atol=1e-6)
        self.assertAllClose(losses.non_saturating_generator_loss(FAKE_LOGITS), 1.2025008, atol=1e-5)

    def test_non_saturating_discriminator_equals_minimax(self):
        self.assertAllClose(losses.non_saturating_discriminator_loss(REAL_LOGITS, FAKE_LOGITS),
                            losses.minimax_discriminator_loss(REAL_LOGITS, FAKE_LOGITS))

    def test_stable_for_extreme_logits(self):
        big = np.array([[100.0], [-100.0]], np.float32)
        for value in (losses.minimax_discriminator_loss(big, -big), losses.minimax_generator_loss(big),
                      losses.non_saturating_generator_loss(-big)):
            self.assertTrue(np.isfinite(value))
        # D confident the fakes are fake: the saturating loss has (almost) no gradient, the
        # non-saturating one a strong one. This is the lectures' point.
        fake = tf.constant([[-10.0]])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(fake)
            saturating = losses.minimax_generator_loss(fake)
            non_saturating = losses.non_saturating_generator_loss(fake)
        self.assertLess(abs(float(tape.gradient(saturating, fake)[0, 0])), 1e-4)
        self.assertGreater(abs(float(tape.gradient(non_saturating, fake)[0, 0])), 0.99)

    def test_mean_over_global_batch_under_a_strategy(self):
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        per_replica = strategy.experimental_distribute_values_from_function(
            lambda ctx: (REAL_LOGITS[2 * ctx.replica_id_in_sync_group:][:2],
                         FAKE_LOGITS[2 * ctx.replica_id_in_sync_group:][:2]))
        shares = strategy.run(losses.minimax_discriminator_loss, args=per_replica)
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, shares, axis=None)
        self.assertAllClose(total, losses.minimax_discriminator_loss(REAL_LOGITS, FAKE_LOGITS), atol=1e-6)

    def test_registry(self):
        self.assertIs(losses.get("minimax").generator, losses.minimax_generator_loss)
        with self.assertRaisesRegex(ValueError, "valid losses: minimax, non_saturating"):
            losses.get("wasserstein_typo")


if __name__ == "__main__":
    tf.test.main()
