"""Shapes, parameter counts and initialisation of every registered model."""

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import models
from tfgan_course.models import began


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

    def test_seed_makes_every_family_reproducible(self):
        for name, shape, kwargs in (("mlp2", (8, 8, 1), {}),
                                    ("cmlp", (8, 8, 1), {"num_classes": 3}),
                                    ("cdcgan", (8, 8, 1), {"num_classes": 3}),
                                    ("infogan", (8, 8, 1), {"codes": (3, 1)}),
                                    ("selu", (2,), {}),
                                    ("dcgan", (8, 8, 1), {"autoencoder": True})):
            first = models.build(name, image_shape=shape, latent_dim=4, g_width=4, d_width=4, seed=5, **kwargs)
            second = models.build(name, image_shape=shape, latent_dim=4, g_width=4, d_width=4, seed=5, **kwargs)
            for a, b in zip(first[0].weights + first[1].weights, second[0].weights + second[1].weights):
                self.assertAllEqual(a, b, msg=name)

    def test_every_family_has_a_kind(self):
        for name, family in models.MODELS.items():
            self.assertIn(family.KIND, models.KINDS, msg=name)
            self.assertGreater(family.DEFAULT_WIDTH, 0, msg=name)

    def test_lecture_003_mlp2(self):
        generator, discriminator = models.build("mlp2", image_shape=(28, 28, 1), latent_dim=100)
        # G 100-256-512-784: (100*256 + 256) + (256*512 + 512) + (512*784 + 784) = 25,856 + 131,584 + 402,192.
        self.assertEqual(_trainable(generator), 559_632)
        # D 784-512-256-1: (784*512 + 512) + (512*256 + 256) + (256*1 + 1) = 401,920 + 131,328 + 257.
        self.assertEqual(_trainable(discriminator), 533_505)
        images = generator(tf.random.normal([3, 100]))
        self.assertEqual(images.shape, (3, 28, 28, 1))
        self.assertAllInRange(images, -1.0, 1.0)
        self.assertEqual(discriminator(images).shape, (3, 1))

    def _assert_differ(self, a, b):
        # Relative to their size: cdcgan's BatchNorm gammas start near 0 (the
        # textbook's N(0, 0.02)), so its outputs start around 1e-6.
        self.assertGreater(float(tf.reduce_max(tf.abs(a - b))), 0.01 * float(tf.reduce_max(tf.abs(a))))

    def _assert_label_matters(self, generator, discriminator, latent_dim):
        z = tf.random.normal([2, latent_dim], seed=1)
        three, seven = tf.constant([3, 3]), tf.constant([7, 7])
        images = generator([z, three], training=False)
        self._assert_differ(images, generator([z, seven], training=False))
        self._assert_differ(discriminator([images, three], training=False),
                            discriminator([images, seven], training=False))
        for model in (generator, discriminator):
            label = model.inputs[1]
            self.assertEqual((label.name, label.dtype, tuple(label.shape)), ("label", "int32", (None,)))

    def test_lecture_003_cmlp(self):
        generator, discriminator = models.build("cmlp", image_shape=(28, 28, 1), latent_dim=100, num_classes=10)
        self.assertEqual([t.name for t in generator.inputs], ["z", "label"])
        self.assertEqual([t.name for t in discriminator.inputs], ["images", "label"])
        # mlp2 with 10 more inputs to each first layer:
        # G (110*256 + 256) + 131,584 + 402,192; D (794*512 + 512) + 131,328 + 257.
        self.assertEqual(_trainable(generator), 28_416 + 131_584 + 402_192)
        self.assertEqual(_trainable(discriminator), 407_040 + 131_328 + 257)
        images = generator([tf.random.normal([4, 100]), tf.constant([0, 1, 2, 9])])
        self.assertEqual(images.shape, (4, 28, 28, 1))
        self.assertEqual(discriminator([images, tf.constant([0, 1, 2, 9])]).shape, (4, 1))
        self._assert_label_matters(generator, discriminator, 100)

    def test_cdcgan_32_matches_the_textbook(self):
        generator, discriminator = models.build("cdcgan", image_shape=(32, 32, 1), latent_dim=100, num_classes=10,
                                                seed=2)
        # netG as PyTorch counts it (ngf=128; ConvTranspose2d weights in*out*4*4 + out biases; BN 2*out):
        #   deconv1_1 100->256: 409,600 + 256, BN 512    deconv1_2 10->256: 40,960 + 256, BN 512
        #   deconv2 512->256: 2,097,152 + 256, BN 512    deconv3 256->128: 524,288 + 128, BN 256
        #   deconv4 128->1: 2,048 + 1
        #   = 409,856 + 41,216 + 2,097,408 + 524,416 + 2,049 + 1,792 (BN) = 3,076,737
        self.assertEqual(_trainable(generator), 3_076_737)
        # netD (ndf=128; Conv2d in*out*4*4 + out):
        #   conv1_1 1->64: 1,024 + 64    conv1_2 10->64: 10,240 + 64
        #   conv2 128->256: 524,288 + 256, BN 512    conv3 256->512: 2,097,152 + 512, BN 1,024
        #   conv4 512->1: 8,192 + 1
        #   = 1,088 + 10,304 + 524,544 + 2,097,664 + 8,193 + 1,536 (BN) = 2,643,329
        self.assertEqual(_trainable(discriminator), 2_643_329)
        self.assertEqual([generator.get_layer(n).output.shape[1:] for n in ("concat", "deconv2", "deconv3", "deconv4")],
                         [(4, 4, 512), (8, 8, 256), (16, 16, 128), (32, 32, 1)])
        self.assertEqual([discriminator.get_layer(n).output.shape[1:] for n in ("label_map", "concat", "conv3")],
                         [(32, 32, 10), (16, 16, 128), (4, 4, 512)])
        # The textbook's weights_init: BatchNorm gamma N(0, 0.02), not DCGAN's N(1, 0.02).
        gamma = discriminator.get_layer("conv3_bn").gamma.numpy()
        self.assertNear(gamma.mean(), 0.0, 0.005)
        self.assertNear(gamma.std(), 0.02, 0.005)
        self.assertAllEqual(generator.get_layer("deconv2").bias, tf.zeros([256]))
        self._assert_label_matters(generator, discriminator, 100)

    def test_cdcgan_other_sizes(self):
        generator, discriminator = models.build("cdcgan", image_shape=(28, 28, 3), latent_dim=8, num_classes=4,
                                                g_width=8, d_width=8)
        # 7x7 start, two stride-2 layers: 8 channels per branch, then 8 and 3; D 4 + 4 -> 16.
        self.assertEqual(generator.get_layer("concat").output.shape[1:], (7, 7, 16))
        self.assertEqual(discriminator.get_layer("conv2").output.shape[1:], (7, 7, 16))
        images = generator([tf.random.normal([2, 8]), tf.constant([0, 3])], training=False)
        self.assertEqual(images.shape, (2, 28, 28, 3))
        self.assertEqual(discriminator([images, tf.constant([0, 3])]).shape, (2, 1))

    def test_infogan_codes(self):
        for codes in ((10, 2), (10, 0), (0, 3)):
            # G's input is [noise, codes]: the caller's latent_dim counts both.
            generator, discriminator = models.build("infogan", image_shape=(28, 28, 1), latent_dim=62 + sum(codes),
                                                    codes=codes, g_width=4, d_width=4)
            self.assertEqual(generator.input_shape, (None, 62 + sum(codes)))
            images = generator(tf.random.normal([3, 62 + sum(codes)]), training=False)
            self.assertEqual(images.shape, (3, 28, 28, 1))
            outputs = discriminator(images, training=False)
            self.assertEqual([tuple(o.shape) for o in outputs], [(3, 1), (3, codes[0]), (3, codes[1])])
            self.assertEqual([o.dtype for o in outputs], [tf.float32] * 3)
        self.assertEqual(generator.get_layer("fc2_map").output.shape[1:], (7, 7, 8))
        self.assertEqual(discriminator.get_layer("fc1").units, 1024)

    def test_lecture_004_selu(self):
        generator, discriminator = models.build("selu", image_shape=(2,), latent_dim=8)
        # 75 hidden units: G (8*75 + 75) + (75*75 + 75) + (75*2 + 2); D (2*75 + 75) + (75*75 + 75) + (75 + 1).
        self.assertEqual(_trainable(generator), 675 + 5_700 + 152)
        self.assertEqual(_trainable(discriminator), 225 + 5_700 + 76)
        samples = generator(tf.random.normal([256, 8]) * 10)
        self.assertEqual(samples.shape, (256, 2))
        self.assertAllGreater(samples, -1.7581)  # SELU's lower bound, -scale * alpha
        self.assertEqual(discriminator(samples).shape, (256, 1))

    def test_toy_depth(self):
        # Lecture 001's default: one hidden layer of 100 each side.
        generator, discriminator = models.build("toy", image_shape=(2,), latent_dim=2)
        self.assertEqual(_trainable(generator), (2 * 100 + 100) + (100 * 2 + 2))
        self.assertEqual(_trainable(discriminator), (2 * 100 + 100) + (100 + 1))
        # The PacGAN/VEEGAN 2-D nets: G 4 hidden layers of 400, D 3 of 200.
        generator, discriminator = models.build("toy", image_shape=(2,), latent_dim=2, g_width=400, d_width=200,
                                                g_depth=4, d_depth=3)
        dense = [[l.name for l in net.layers if isinstance(l, keras.layers.Dense)] for net in (generator, discriminator)]
        self.assertEqual(dense, [["fc1", "fc2", "fc3", "fc4", "samples"], ["fc1", "fc2", "fc3", "logits"]])
        self.assertEqual(_trainable(generator), (2 * 400 + 400) + 3 * (400 * 400 + 400) + (400 * 2 + 2))
        self.assertEqual(_trainable(discriminator), (2 * 200 + 200) + 2 * (200 * 200 + 200) + (200 + 1))
        self.assertEqual(discriminator(generator(tf.random.normal([5, 2]))).shape, (5, 1))

    def test_packed_discriminators_take_packs(self):
        _, discriminator = models.build("toy", image_shape=(2,), latent_dim=2, pack=4)
        self.assertEqual(discriminator.inputs[0].shape, (None, 8))
        self.assertEqual(_trainable(discriminator), (8 * 100 + 100) + (100 + 1))
        generator, discriminator = models.build("dcgan", image_shape=(8, 8, 3), latent_dim=4, g_width=4, d_width=4,
                                                pack=2)
        self.assertEqual(generator.outputs[0].shape, (None, 8, 8, 3))  # G is unaffected.
        self.assertEqual(discriminator.inputs[0].shape, (None, 8, 8, 6))

    def test_began_autoencoder(self):
        for name, shape in (("dcgan", (28, 28, 1)), ("dcgan", (32, 32, 3)), ("mlp", (28, 28, 1)), ("mlp2", (8, 8, 2))):
            generator, discriminator = models.build(name, image_shape=shape, latent_dim=8, g_width=4, d_width=8,
                                                    autoencoder=True)
            images = generator(tf.random.normal([3, 8]), training=False)
            energies = discriminator(images)
            self.assertEqual(energies.shape, (3, 1))
            self.assertAllGreaterEqual(energies, 0.0)
            reconstructions = began.reconstruction_model(discriminator)(images)
            self.assertEqual(reconstructions.shape, images.shape)
            # The energy is the per-example mean L1 reconstruction error (BEGAN's L).
            self.assertAllClose(energies[:, 0], tf.reduce_mean(tf.abs(images - reconstructions), axis=[1, 2, 3]))
            self.assertFalse(any(isinstance(l, keras.layers.BatchNormalization) for l in discriminator.layers))

    def test_dcgan_discriminator_norms(self):
        def layer_types(norm):
            _, discriminator = models.build("dcgan", image_shape=(32, 32, 1), latent_dim=8, d_width=4, d_norm=norm)
            return discriminator, {type(l) for l in discriminator.layers}

        discriminator, types = layer_types("layer")
        self.assertIn(keras.layers.LayerNormalization, types)
        self.assertNotIn(keras.layers.BatchNormalization, types)
        # Per example over H, W and C.
        self.assertEqual(discriminator.get_layer("ln1").axis, [1, 2, 3])
        discriminator, types = layer_types("none")
        self.assertFalse(types & {keras.layers.BatchNormalization, keras.layers.LayerNormalization})
        # Without BatchNorm's beta, the layers it followed get their biases back.
        self.assertEqual([discriminator.get_layer(f"conv{i}").use_bias for i in range(4)], [False, True, True, False])

    def test_dcgan_resize_convolution(self):
        for upsample in ("nearest", "bilinear"):
            generator, _ = models.build("dcgan", image_shape=(32, 32, 1), latent_dim=8, g_width=4, g_upsample=upsample)
            self.assertEqual(generator(tf.random.normal([2, 8]), training=False).shape, (2, 32, 32, 1))
            upsamplings = [l for l in generator.layers if isinstance(l, keras.layers.UpSampling2D)]
            self.assertEqual([l.interpolation for l in upsamplings], [upsample] * 3)
            # Only the 1x1 -> 4x4 layer stays a transposed convolution.
            self.assertEqual([l.name for l in generator.layers if isinstance(l, keras.layers.Conv2DTranspose)],
                             ["deconv0"])
            self.assertEqual(generator.get_layer("conv1").kernel_size, (3, 3))

    def test_errors(self):
        def build(name="dcgan", shape=(28, 28, 1), **kwargs):
            return models.build(name, image_shape=shape, latent_dim=8, g_width=4, d_width=4, **kwargs)

        for pattern, kwargs in (
            ("valid models: cdcgan, cmlp, context_encoder, dcgan, infogan, mlp, mlp2, pggan, resnet, selu, srresnet, stackgan, toy, unet", {"name": "vgg"}),
            ("--model=unet is an image-to-image translator: build_translator builds it", {"name": "unet"}),
            (r"4\*2\^k or 7\*2\^k", {"shape": (48, 48, 1)}),
            (r"cdcgan needs square images of side 4\*2\^k", {"name": "cdcgan", "shape": (48, 48, 1), "num_classes": 2}),
            ("Unknown d_norm 'x'; valid values: batch, layer, none.", {"d_norm": "x"}),
            ("Unknown g_upsample 'x'; valid values: transposed, nearest, bilinear.", {"g_upsample": "x"}),
            ("--d_norm=layer is only for --model=dcgan, not --model=mlp", {"name": "mlp", "d_norm": "layer"}),
            ("--g_upsample=nearest is only for --model=dcgan, not --model=cdcgan",
             {"name": "cdcgan", "g_upsample": "nearest", "num_classes": 10}),
            ("--d_norm=none has no effect with --loss=began", {"d_norm": "none", "autoencoder": True}),
            ("--loss=began needs --model=dcgan, mlp or mlp2, not --model=toy",
             {"name": "toy", "shape": (2,), "autoencoder": True}),
            ("--loss=began needs --model=dcgan, mlp or mlp2, not --model=cmlp",
             {"name": "cmlp", "autoencoder": True, "num_classes": 10}),
            ("--model=cmlp is conditional: it needs labelled data with >= 2 classes", {"name": "cmlp"}),
            ("--model=cdcgan is conditional: it needs labelled data with >= 2 classes",
             {"name": "cdcgan", "num_classes": 1}),
            (r"--model=infogan needs latent codes.*got \(0, 0\)", {"name": "infogan"}),
            (r"--model=infogan needs latent codes.*got \(-1, 2\)", {"name": "infogan", "codes": (-1, 2)}),
            ("infogan needs an image height and width divisible by 4, got 30x30",
             {"name": "infogan", "shape": (30, 30, 1), "codes": (10, 2)}),
            ("--g_depth=3 is only for --model=toy, not --model=mlp", {"name": "mlp", "g_depth": 3}),
            ("--d_depth must be >= 0, got -1", {"name": "toy", "shape": (2,), "d_depth": -1}),
            ("--pack=2 needs an unconditional model family; --model=cmlp is conditional",
             {"name": "cmlp", "num_classes": 10, "pack": 2}),
            ("--pack=2 does not go with --loss=began", {"name": "mlp", "autoencoder": True, "pack": 2}),
        ):
            with self.subTest(pattern=pattern), self.assertRaisesRegex(ValueError, pattern):
                build(**kwargs)

if __name__ == "__main__":
    tf.test.main()
