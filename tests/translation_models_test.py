"""The image-to-image networks: U-Net, ResNet generator, PatchGAN (models/unet.py, resnet.py, patchgan.py)."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tfgan_course import models
from tfgan_course.models import image_layers, patchgan, resnet, unet


def _images(shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


class UNetTest(tf.test.TestCase):

    def test_shapes_depth_and_skip_connections(self):
        generator = unet.generator((32, 32, 1), 3, width=4, seed=0)
        self.assertEqual(generator.output_shape, (None, 32, 32, 3))
        self.assertEqual(unet.depth_for((32, 32, 1)), 5)  # 32 -> 1x1
        self.assertEqual(unet.depth_for((256, 256, 3)), 8)  # the paper's
        self.assertEqual(unet.depth_for((512, 512, 3)), 8)  # capped
        self.assertEqual(generator.get_layer("down4").output.shape[1:3], (1, 1))
        self.assertLen([layer for layer in generator.layers if isinstance(layer, keras.layers.Concatenate)], 4)
        # The paper's CD blocks: dropout in the innermost decoder blocks only.
        dropouts = sorted(layer.name for layer in generator.layers if isinstance(layer, keras.layers.Dropout))
        self.assertEqual(dropouts, ["up_dropout2", "up_dropout3", "up_dropout4"])
        outputs = generator(_images((2, 32, 32, 1)))
        self.assertAllInRange(outputs, -1.0, 1.0)  # tanh

    def test_inference_is_deterministic_and_per_image(self):
        generator = unet.generator((16, 16, 3), 3, width=4, seed=0, depth=3)
        batch = _images((4, 16, 16, 3))
        self.assertAllClose(generator(batch, training=False)[:1], generator(batch[:1], training=False), atol=1e-5)
        self.assertAllEqual(generator(batch, training=False), generator(batch, training=False))

    def test_sizes_it_cannot_take_name_the_fix(self):
        with self.assertRaisesRegex(ValueError, r"divisible by 2\^3 = 8 at least, got 28x28: use --image_size=32"):
            unet.generator((28, 28, 1), 1)
        with self.assertRaisesRegex(ValueError, r"depth 6 needs H and W divisible by 2\^6 = 64, got 32x32: use "
                                                r"--image_size=64 or a smaller --unet_depth"):
            unet.generator((32, 32, 1), 1, depth=6)


class ResNetTest(tf.test.TestCase):

    def test_shapes_blocks_and_reflection_padding(self):
        generator = resnet.generator((16, 16, 1), 3, width=4, seed=0, blocks=2)
        self.assertEqual(generator.output_shape, (None, 16, 16, 3))
        self.assertLen([layer for layer in generator.layers if isinstance(layer, keras.layers.Add)], 2)
        self.assertLen([layer for layer in generator.layers if isinstance(layer, image_layers.ReflectionPadding2D)],
                       2 + 2 * 2)
        self.assertEqual(generator.get_layer("conv2").output.shape[1:], (4, 4, 16))  # two downsamplings, 4w
        self.assertAllInRange(generator(_images((2, 16, 16, 1))), -1.0, 1.0)
        batch = _images((3, 16, 16, 1))
        self.assertAllClose(generator(batch, training=False)[1:2], generator(batch[1:2], training=False), atol=1e-5)

    def test_sizes_it_cannot_take_name_the_fix(self):
        for shape, fix in (((30, 30, 1), "got 30x30: use --image_size=32"), ((4, 4, 1), "got 4x4: use --image_size=8")):
            with self.subTest(shape), self.assertRaisesRegex(ValueError, f"divisible by 4 and at least 8, {fix}"):
                resnet.generator(shape, 1)
        with self.assertRaisesRegex(ValueError, "--resnet_blocks must be >= 1"):
            resnet.generator((8, 8, 1), 1, blocks=-1)

    def test_reflection_padding_mirrors_and_round_trips(self):
        layer = image_layers.ReflectionPadding2D(1)
        image = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
        padded = layer(image).numpy()[0, ..., 0]
        self.assertAllEqual(padded[0], [4, 3, 4, 5, 4])  # row 1 mirrored above row 0
        self.assertEqual(image_layers.ReflectionPadding2D.from_config(layer.get_config()).padding, 1)


class NormTest(tf.test.TestCase):

    def test_instance_norm_of_an_image_ignores_the_rest_of_the_batch(self):
        norm = image_layers.instance_norm("norm")
        batch = _images((3, 5, 5, 4))
        alone = norm(batch[:1], training=False)
        others = np.concatenate([batch[:1], 100 * batch[1:]])
        self.assertAllClose(norm(others, training=False)[:1], alone, atol=1e-5)
        self.assertAllClose(norm(others, training=True)[:1], alone, atol=1e-5)  # no batch statistics at all
        self.assertAllClose(tf.reduce_mean(alone, axis=[1, 2]), tf.zeros([1, 4]), atol=1e-5)


class PatchGANTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(1, 16, 34, 70)
    def test_receptive_field_is_the_support_of_the_centre_logits_gradient(self, field):
        # Room for the whole field around the centre logit; no norm, whose statistics see the whole image.
        side = field + 2 * (2 ** patchgan.RECEPTIVE_FIELDS[field]) + 4
        discriminator = patchgan.discriminator((side, side, 2), width=2, seed=0, receptive_field=field, norm="none")
        images = tf.convert_to_tensor(_images((1, side, side, 2)))
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = discriminator(images)
            centre = logits[0, logits.shape[1] // 2, logits.shape[2] // 2, 0]
        support = np.any(tape.gradient(centre, images).numpy()[0] != 0, axis=-1)
        rows, cols = np.nonzero(support)
        self.assertEqual((rows.max() - rows.min() + 1, cols.max() - cols.min() + 1), (field, field))
        self.assertEqual(support.sum(), field * field)

    def test_the_papers_70_patchgan_on_256(self):
        discriminator = patchgan.discriminator((256, 256, 6), receptive_field=70)
        self.assertEqual(discriminator.output_shape, (None, 30, 30, 1))

    def test_errors_name_the_fix(self):
        with self.assertRaisesRegex(ValueError, r"Unknown PatchGAN receptive field 50; valid values: 1, 16, 34, 70"):
            patchgan.discriminator((32, 32, 1), receptive_field=50)
        with self.assertRaisesRegex(ValueError, r"70x70 PatchGAN needs images of at least 24x24, got 16x16: use "
                                                r"--patch_size=1 or 16 or 34, or a larger --image_size"):
            patchgan.discriminator((16, 16, 1), receptive_field=70)


class BuildTranslatorTest(tf.test.TestCase):

    def test_pix2pix_d_is_conditional_and_cyclegan_d_is_not(self):
        args = dict(input_shape=(16, 16, 1), output_shape=(16, 16, 3), g_width=4, d_width=4, patch_size=16, seed=1)
        generator, discriminator = models.build_translator("unet", conditional=True, unet_depth=3, **args)
        self.assertEqual((generator.input_shape, discriminator.input_shape), ((None, 16, 16, 1), (None, 16, 16, 4)))
        generator, discriminator = models.build_translator("resnet", conditional=False, resnet_blocks=1, **args)
        self.assertEqual((generator.output_shape, discriminator.input_shape), ((None, 16, 16, 3), (None, 16, 16, 3)))
        again, _ = models.build_translator("resnet", conditional=False, resnet_blocks=1, **args)
        for a, b in zip(generator.weights, again.weights):
            self.assertAllEqual(a, b)

    def test_errors(self):
        args = dict(input_shape=(16, 16, 1), output_shape=(16, 16, 1), conditional=False, patch_size=16)
        for pattern, name, extra in (
                ("--resnet_blocks=9 is only for --model=resnet or srresnet, not --model=unet", "unet",
                 {"resnet_blocks": 9}),
                ("--unet_depth=3 is only for --model=unet, not --model=resnet", "resnet", {"unet_depth": 3}),
                ("--model=dcgan is unconditional, not an image-to-image translator: use --model=unet or "
                 "--model=resnet", "dcgan", {})):
            with self.subTest(pattern), self.assertRaisesRegex(ValueError, pattern):
                models.build_translator(name, **args, **extra)


if __name__ == "__main__":
    tf.test.main()
