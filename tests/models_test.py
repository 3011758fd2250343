"""Shapes, parameter counts and initialisation of every registered model."""

import numpy as np
import tensorflow as tf

from tfgan_course import models


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


class ModelsTest(tf.test.TestCase):

    def test_lecture_000_mlp(self):
        generator, discriminator = models.build("mlp", image_shape=(28, 28, 1), latent_dim=100)
        self.assertEqual(_trainable(discriminator), 100_609)  # 784*128 + 128 + 128 + 1
        self.assertEqual(_trainable(generator), 114_064)  # 100*128 + 128 + 128*784 + 784
        images = generator(tf.random.normal([5, 100]))
        self.assertEqual(images.shape, (5, 28, 28, 1))
        self.assertAllInRange(images, -1.0, 1.0)
        self.assertEqual(discriminator(images).shape, (5, 1))

    def test_mlp_width_is_configurable(self):
        generator, discriminator = models.build("mlp", image_shape=(8, 8, 3), latent_dim=8, g_width=16, d_width=4)
        self.assertEqual(_trainable(generator), 8 * 16 + 16 + 16 * 192 + 192)
        self.assertEqual(_trainable(discriminator), 192 * 4 + 4 + 4 + 1)

    def test_dcgan_64_matches_the_pytorch_tutorial(self):
        generator, discriminator = models.build("dcgan", image_shape=(64, 64, 3), latent_dim=100)
        # The PyTorch tutorial's netG and netD have exactly these many parameters.
        self.assertEqual(_trainable(generator), 3_576_704)
        self.assertEqual(_trainable(discriminator), 2_765_568)
        self.assertEqual([l.output.shape[1] for l in generator.layers if "deconv" in l.name], [4, 8, 16, 32, 64])
        self.assertEqual([l.output.shape[-1] for l in generator.layers if "deconv" in l.name],
                         [512, 256, 128, 64, 3])
        self.assertEqual([l.output.shape[-1] for l in discriminator.layers if l.name.startswith("conv")],
                         [64, 128, 256, 512, 1])
        self.assertFalse(any(getattr(l, "use_bias", False) for l in generator.layers + discriminator.layers))

    def test_dcgan_small_sizes_have_fewer_blocks(self):
        for size, maps in ((28, [7, 14, 28]), (32, [4, 8, 16, 32])):
            generator, discriminator = models.build("dcgan", image_shape=(size, size, 1), latent_dim=8,
                                                    g_width=4, d_width=4)
            self.assertEqual([l.output.shape[1] for l in generator.layers if "deconv" in l.name], maps)
            images = generator(tf.random.normal([2, 8]), training=False)
            self.assertEqual(images.shape, (2, size, size, 1))
            self.assertEqual(discriminator(images).shape, (2, 1))

    def test_dcgan_initialisation(self):
        generator, discriminator = models.build("dcgan", image_shape=(64, 64, 1), latent_dim=100, seed=3)
        kernel = generator.get_layer("deconv1").kernel.numpy()
        self.assertNear(kernel.mean(), 0.0, 0.002)
        self.assertNear(kernel.std(), 0.02, 0.002)
        gamma = discriminator.get_layer("bn3").gamma.numpy()
        self.assertNear(gamma.mean(), 1.0, 0.01)
        self.assertNear(gamma.std(), 0.02, 0.005)

    def test_seed_makes_weights_reproducible(self):
        first, _ = models.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=4, seed=7)
        second, _ = models.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=4, seed=7)
        for a, b in zip(first.weights, second.weights):
            self.assertAllEqual(a, b)

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "valid models: dcgan, mlp, toy"):
            models.build("resnet", image_shape=(28, 28, 1), latent_dim=8)
        with self.assertRaisesRegex(ValueError, r"4\*2\^k or 7\*2\^k"):
            models.build("dcgan", image_shape=(48, 48, 1), latent_dim=8)


if __name__ == "__main__":
    tf.test.main()
