"""Tests for SRResNet and SRGAN's discriminator (models/srresnet.py) and the sub-pixel layer, at tiny widths."""

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import models
from tfgan_course.models import image_layers, srresnet

TINY = dict(conditional=False, g_width=4, d_width=4, seed=0, resnet_blocks=2)


def _layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


class DepthToSpaceTest(tf.test.TestCase):

    def test_moves_each_pixels_channels_into_a_block_and_round_trips_its_config(self):
        x = np.arange(2 * 2 * 3 * 8, dtype=np.float32).reshape(2, 2, 3, 8)
        layer = image_layers.DepthToSpace(2)
        y = layer(x).numpy()
        self.assertEqual(y.shape, (2, 4, 6, 2))
        # Pixel (0, 0)'s channels 0..7 become the 2x2 block's pixels (0,0), (0,1), (1,0), (1,1), 2 channels each.
        self.assertAllEqual(y[0, :2, :2].reshape(-1), x[0, 0, 0])
        self.assertEqual(layer.compute_output_shape((None, None, 3, 8)), (None, None, 6, 2))
        again = image_layers.DepthToSpace.from_config(layer.get_config())
        self.assertAllEqual(again(x), y)


class GeneratorTest(tf.test.TestCase):

    def test_shapes_at_2x_and_4x(self):
        for scale, low in ((2, 14), (4, 7)):
            with self.subTest(scale=scale):
                generator, discriminator = models.build_translator(
                    "srresnet", input_shape=(low, low, 1), output_shape=(28, 28, 3), **TINY)
                self.assertEqual((generator.input_shape, generator.output_shape),
                                 ((None, low, low, 1), (None, 28, 28, 3)))
                self.assertEqual(discriminator.input_shape, (None, 28, 28, 3))
                self.assertEqual(discriminator.output_shape, (None, 1))
                self.assertLen(_layers_of(generator, image_layers.DepthToSpace), scale.bit_length() - 1)
                images = generator(np.random.RandomState(0).uniform(-1, 1, (3, low, low, 1)).astype(np.float32))
                self.assertBetween(float(tf.reduce_min(images)), -1.0, 1.0)
                self.assertBetween(float(tf.reduce_max(images)), -1.0, 1.0)

    def test_the_papers_layers_and_default_blocks(self):
        generator = srresnet.generator((7, 7, 1), 1, width=4)
        adds = [layer.name for layer in _layers_of(generator, keras.layers.Add)]
        self.assertEqual(adds, [f"block{i}" for i in range(srresnet.DEFAULT_BLOCKS)] + ["global_skip"])
        self.assertLen(_layers_of(generator, keras.layers.BatchNormalization), 2 * srresnet.DEFAULT_BLOCKS + 1)
        self.assertLen(_layers_of(generator, keras.layers.PReLU), srresnet.DEFAULT_BLOCKS + 1 + 2)
        self.assertEqual(len(_layers_of(srresnet.generator((7, 7, 1), 1, width=4, blocks=16),
                                        keras.layers.Add)), 17)
        # The global skip adds the first layer's output to the trunk's.
        skip = generator.get_layer("global_skip")
        self.assertEqual({node.operation.name for node in skip._inbound_nodes[0].parent_nodes},
                         {"prelu_in", "trunk_bn"})

    def test_inference_output_of_an_image_does_not_depend_on_its_batch(self):
        generator = srresnet.generator((7, 7, 1), 1, width=4, blocks=1, seed=0)
        batch = np.random.RandomState(1).uniform(-1, 1, (4, 7, 7, 1)).astype(np.float32)
        generator(batch, training=True)  # Moves BatchNorm's moving statistics off their start.
        alone = generator(batch[:1], training=False)
        self.assertAllClose(generator(batch, training=False)[:1], alone, atol=1e-5)
        self.assertNotAllClose(generator(batch, training=True)[:1], alone)

    def test_config_round_trips(self):
        generator = srresnet.generator((7, 7, 1), 1, width=4, blocks=1, seed=0)
        again = keras.Model.from_config(generator.get_config())
        again.set_weights(generator.get_weights())
        x = np.zeros((1, 7, 7, 1), np.float32)
        self.assertAllClose(again(x), generator(x))


class DiscriminatorTest(tf.test.TestCase):

    def test_stride_two_layers_stop_at_a_4x4_map_and_the_papers_four(self):
        self.assertEqual([srresnet.down_layers((side, side, 1)) for side in (8, 14, 28, 96, 256)], [1, 2, 3, 4, 4])
        discriminator = srresnet.discriminator((28, 28, 1), width=4)
        self.assertEqual(discriminator.get_layer("flatten").input.shape, (None, 4, 4, 16))
        with self.assertRaisesRegex(ValueError, r"needs images of at least 8x8, got 6x6: raise --image_size"):
            srresnet.discriminator((6, 6, 1))


class BuildErrorsTest(tf.test.TestCase):

    def test_errors_name_the_fix(self):
        cases = (
            ("unet", (28, 28, 1), {}, r"--model=unet keeps the image size, but the data's input is 7x7 and its target "
                                      r"28x28: use --model=srresnet\.$"),
            ("srresnet", (21, 21, 1), {}, r"--model=srresnet upscales by 2 or 4 or 8, but the data's input is 7x7"),
            ("srresnet", (28, 28, 1), {"patch_size": 16},
             r"--patch_size=16 is only for --model=unet or resnet, not --model=srresnet\.$"),
            ("srresnet", (28, 30, 1), {}, r"enlarged by one whole factor"))
        for name, output_shape, extra, pattern in cases:
            with self.subTest(pattern), self.assertRaisesRegex(ValueError, pattern):
                models.build_translator(name, input_shape=(7, 7, 1), output_shape=output_shape, conditional=False,
                                        **extra)
        with self.assertRaisesRegex(ValueError, "A conditional D judges concat"):
            models.build_translator("srresnet", input_shape=(7, 7, 1), output_shape=(28, 28, 1), conditional=True)


if __name__ == "__main__":
    tf.test.main()
