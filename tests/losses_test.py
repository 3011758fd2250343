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

    def test_one_sided_label_smoothing(self):
        smoothed = losses.minimax_discriminator_loss(REAL_LOGITS, FAKE_LOGITS, real_label=0.9)
        expected = (_mean([-(0.9 * _log_sigmoid(x) + 0.1 * _log_sigmoid(-x)) for x in REAL_LOGITS.ravel()])
                    + _mean([-_log_sigmoid(-x) for x in FAKE_LOGITS.ravel()]))
        self.assertAllClose(smoothed, expected, atol=1e-6)

    def test_least_squares(self):
        # 1/2 mean((D(G(z)) - 1)^2) = 1/2 * (16 + 0 + 0.25 + 2.25) / 4.
        self.assertAllClose(losses.least_squares_generator_loss(FAKE_LOGITS), 2.3125)
        # 1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2) = 1/2 (1+4+1+9)/4 + 1/2 (9+1+0.25+0.25)/4.
        self.assertAllClose(losses.least_squares_discriminator_loss(REAL_LOGITS, FAKE_LOGITS), 1.875 + 1.3125)

    def test_wasserstein(self):
        # mean(fake) = -0.5, mean(real) = 1.25.
        self.assertAllClose(losses.wasserstein_generator_loss(FAKE_LOGITS), 0.5)
        self.assertAllClose(losses.wasserstein_discriminator_loss(REAL_LOGITS, FAKE_LOGITS), -1.75)

    def test_hinge(self):
        # mean(relu(1 - real)) = (0 + 2 + 1 + 0) / 4; mean(relu(1 + fake)) = (0 + 2 + 1.5 + 0.5) / 4.
        self.assertAllClose(losses.hinge_discriminator_loss(REAL_LOGITS, FAKE_LOGITS), 0.75 + 1.0)
        self.assertAllClose(losses.hinge_generator_loss(FAKE_LOGITS), 0.5)

    def _linear_critic(self, scale):
        """D(x) = scale * <w, x> with ||w|| = 1: its input gradient has norm |scale| everywhere."""
        w = tf.constant(np.full([1, 2, 2, 1], 0.5, np.float32))
        return lambda images, training=False: scale * tf.reduce_sum(images * w, axis=[1, 2, 3])[:, None]

    def test_gradient_penalty(self):
        real = tf.random.normal([4, 2, 2, 1], seed=1)
        fake = tf.random.normal([4, 2, 2, 1], seed=2)
        self.assertAllClose(losses.gradient_penalty(self._linear_critic(1.0), real, fake, seed=0), 0.0, atol=1e-6)
        self.assertAllClose(losses.gradient_penalty(self._linear_critic(3.0), real, fake, seed=0), 4.0, atol=1e-5)
        self.assertAllClose(losses.dragan_penalty(self._linear_critic(3.0), real, seed=0), 4.0, atol=1e-5)

    def test_penalties_have_finite_gradients_at_a_zero_input_gradient(self):
        weight = tf.Variable(0.0)
        def critic(images, training=False):
            return weight * tf.reduce_sum(images, axis=[1, 2, 3])[:, None]
        real = tf.ones([2, 2, 2, 1])
        for penalty in (losses.gradient_penalty, losses.dragan_penalty, losses.r1_penalty):
            with tf.GradientTape() as tape:
                value = penalty(critic, real, -real, seed=0)
            gradient = tape.gradient(value, weight)
            self.assertTrue(np.isfinite(float(value)) and np.isfinite(float(gradient)), penalty.__name__)

    def test_r1_penalty(self):
        real = tf.random.normal([4, 2, 2, 1], seed=1)
        self.assertAllClose(losses.r1_penalty(self._linear_critic(3.0), real), 9.0, atol=1e-5)

    def test_registry(self):
        self.assertIs(losses.get("minimax").generator, losses.minimax_generator_loss)
        with self.assertRaisesRegex(ValueError, "valid losses: began, hinge, least_squares, minimax, non_saturating, wasserstein"):
            losses.get("wasserstein_typo")
        with self.assertRaisesRegex(ValueError, "valid penalties: dragan, gradient, none, r1"):
            losses.get_penalty("gp")

    def test_generator_logit_gradients_show_the_saturation(self):
        p = np.array([1e-3, 0.1, 0.5, 0.9])
        gradients = losses.generator_logit_gradients(p)
        # d log(1 - sigmoid(l)) / dl = -D: vanishes where D rejects the fakes.
        self.assertAllClose(gradients["minimax"], -p, atol=1e-6)
        # d -log sigmoid(l) / dl = -(1 - D): largest there.
        self.assertAllClose(gradients["non_saturating"], -(1 - p), atol=1e-6)
        self.assertAllClose(losses.generator_logit_gradients(p, ["wasserstein"])["wasserstein"], -np.ones(4))
        with self.assertRaisesRegex(ValueError, "inside"):
            losses.generator_logit_gradients([0.0, 0.5])
        with self.assertRaisesRegex(ValueError, "energies"):
            losses.generator_logit_gradients([0.5], ["began"])


class ContentLossesTest(tf.test.TestCase):
    """SRResNet's and SRGAN's content losses against hand-computed values."""

    def test_mse_is_the_mean_squared_pixel_difference(self):
        images = np.array([[[[0.5], [-1.0]]], [[[1.0], [0.0]]]], np.float32)  # [2, 1, 2, 1]
        targets = np.zeros_like(images)
        # Per image (0.25 + 1) / 2 = 0.625 and (1 + 0) / 2 = 0.5: mean 0.5625.
        self.assertAllClose(losses.CONTENT_LOSSES["mse"](images, targets), 0.5625)
        self.assertAllClose(losses.mse_content_loss(images, images), 0.0)

    def test_features_compare_the_extracted_features_with_no_gradient_into_the_targets(self):
        images = tf.constant([[[[0.5], [-1.0]]]], tf.float32)
        targets = tf.zeros_like(images)

        def extract(x):  # Features 2x and x^2: (1, 2, 0.25, 1) against 0.
            return tf.concat([2.0 * x, x * x], axis=-1)

        self.assertAllClose(losses.feature_content_loss(images, targets, extract), (1 + 4 + 0.0625 + 1) / 4)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([images, targets])
            loss = losses.CONTENT_LOSSES["features"](images, targets, extract)
        self.assertIsNone(tape.gradient(loss, targets))
        self.assertAllClose(tape.gradient(loss, images), [[[[(2 * 2 * 1 + 2 * 0.25 * 2 * 0.5) / 4],
                                                            [(2 * 2 * -2 + 2 * 1 * 2 * -1) / 4]]]])


if __name__ == "__main__":
    tf.test.main()
