"""Toy distributions and mode metrics on constructed samples."""

import math

import numpy as np
import tensorflow as tf

from tfgan_course import toy


class ToyTest(tf.test.TestCase):

    def test_distributions(self):
        gaussian = toy.sample("gaussian1d", 20_000, mean=4.0, std=1.25)
        self.assertEqual(gaussian.shape, (20_000, 1))
        self.assertNear(gaussian.mean(), 4.0, 0.05)
        self.assertNear(gaussian.std(), 1.25, 0.05)
        line = toy.sample("line2d", 100)
        self.assertAllClose(line[:, 1], 2 * line[:, 0] + 1, atol=1e-6)
        self.assertAllClose(np.linalg.norm(toy.ring8().centres, axis=1), np.ones(8))
        self.assertLen({tuple(c) for c in toy.grid25().centres}, 25)
        self.assertAllEqual(toy.sample("ring8", 10, seed=3), toy.sample("ring8", 10, seed=3))
        with self.assertRaisesRegex(ValueError, "valid: gaussian1d, line2d, ring8, grid25"):
            toy.sample("spiral", 10)

    def test_real_samples_cover_every_mode(self):
        for name, mixture in (("ring8", toy.ring8()), ("grid25", toy.grid25())):
            metrics = toy.mode_metrics(toy.sample(name, 5000, seed=1), mixture)
            self.assertEqual(metrics.modes_captured, metrics.num_modes)
            # Within 3 std in 2-D: P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.989.
            self.assertNear(metrics.high_quality, 1 - math.exp(-4.5), 0.006)
            self.assertLess(metrics.reverse_kl, 0.01)

    def test_collapse_to_one_mode(self):
        mixture = toy.ring8()
        samples = mixture.centres[2] + np.random.default_rng(0).normal(0, 0.005, size=(100, 2))
        metrics = toy.mode_metrics(samples, mixture)
        self.assertEqual((metrics.modes_captured, metrics.high_quality), (1, 1.0))
        self.assertAllClose(metrics.reverse_kl, math.log(8))

    def test_off_mode_samples(self):
        mixture = toy.ring8()
        samples = np.concatenate([mixture.centres, np.zeros((8, 2))])  # 8 on the modes, 8 at the centre.
        metrics = toy.mode_metrics(samples, mixture)
        self.assertEqual(metrics.modes_captured, 8)
        self.assertAllClose(metrics.high_quality, 0.5)
        self.assertAllClose(metrics.reverse_kl, 0.0, atol=1e-12)
        self.assertEqual(toy.mode_metrics(np.zeros((4, 2)), mixture).modes_captured, 0)

    def test_bad_shape(self):
        with self.assertRaisesRegex(ValueError, r"samples must be \[N, 2\]"):
            toy.mode_metrics(np.zeros((4, 3)), toy.ring8())


if __name__ == "__main__":
    tf.test.main()


class ToyTrainingTest(tf.test.TestCase):
    """toy: data specs, the toy model family and the "Real vs Synth" figure."""

    def test_toy_dataset(self):
        from tfgan_course import data  # pylint: disable=import-outside-toplevel

        dataset, info = data.make_dataset("toy:ring8", image_size=64, channels=1, batch_size=10)
        self.assertEqual((info.image_shape, info.num_classes, info.num_examples), ((2,), 0, data.TOY_EXAMPLES))
        batch = next(iter(dataset))
        self.assertEqual(batch.shape, (10, 2))
        self.assertEqual(toy.mode_metrics(batch.numpy(), toy.ring8()).high_quality > 0.5, True)
        with self.assertRaisesRegex(ValueError, "valid: gaussian1d"):
            data.make_dataset("toy:spiral", image_size=8, channels=1, batch_size=2)

    def test_toy_models_are_fleurets(self):
        from tfgan_course import models  # pylint: disable=import-outside-toplevel

        generator, discriminator = models.build("toy", image_shape=(2,), latent_dim=8)
        self.assertEqual(generator.count_params(), 8 * 100 + 100 + 100 * 2 + 2)
        self.assertEqual(discriminator.count_params(), 2 * 100 + 100 + 100 + 1)
        self.assertEqual(discriminator(generator(tf.zeros([3, 8]))).shape, (3, 1))

    def test_real_vs_synth_figure(self):
        import os  # pylint: disable=import-outside-toplevel

        from PIL import Image  # pylint: disable=import-outside-toplevel

        from tfgan_course import plots  # pylint: disable=import-outside-toplevel

        for dim in (1, 2):
            path = os.path.join(self.get_temp_dir(), f"scatter{dim}.png")
            plots.save_real_vs_synth(np.random.default_rng(0).normal(size=(50, dim)), np.ones((40, dim)), path)
            self.assertGreater(Image.open(path).size[0], 100)
        with self.assertRaisesRegex(ValueError, r"\[N, 1\] or \[N, 2\]"):
            plots.save_real_vs_synth(np.zeros((5, 3)), np.zeros((5, 3)), path)


class TheoryTest(tf.test.TestCase):
    """Lecture 001: D* = p / (p + p_G) and V(D*, G) = 2 JS(p, p_G) - log 4, on 1-D densities."""

    def setUp(self):
        super().setUp()
        self.x = np.linspace(-20, 20, 40_001)  # Wide enough that every density integrates to 1.
        self.dx = self.x[1] - self.x[0]

    def _normal(self, mean, std):
        return np.exp(-0.5 * ((self.x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))

    def test_value_at_the_optimum_is_2_js_minus_log_4(self):
        for mean, std in ((0.0, 1.0), (1.5, 0.7), (4.0, 2.0)):
            p, q = self._normal(0.0, 1.0), self._normal(mean, std)
            d_star = toy.optimal_discriminator(p, q)
            self.assertNear(toy.gan_value(d_star, p, q, self.dx),
                            2 * toy.js_divergence(p, q, self.dx) - math.log(4), 1e-6)

    def test_the_optimum_beats_other_discriminators(self):
        p, q = self._normal(0.0, 1.0), self._normal(1.0, 1.0)
        best = toy.gan_value(toy.optimal_discriminator(p, q), p, q, self.dx)
        for other in (np.full_like(self.x, 0.5), 1 / (1 + np.exp(self.x)), 1 / (1 + np.exp(2 * self.x - 1))):
            self.assertLess(toy.gan_value(other, p, q, self.dx), best + 1e-9)

    def test_equal_distributions(self):
        p = self._normal(0.0, 1.0)
        self.assertAllClose(toy.optimal_discriminator(p, p), np.full_like(p, 0.5))
        self.assertNear(toy.gan_value(toy.optimal_discriminator(p, p), p, p, self.dx), -math.log(4), 1e-6)
        self.assertNear(toy.js_divergence(p, p, self.dx), 0.0, 1e-12)
        far = self._normal(8.0, 0.5)
        self.assertNear(toy.js_divergence(p, far, self.dx), math.log(2), 1e-3)
