"""The GAN variants: conditional GAN, InfoGAN, BEGAN, the unrolled GAN; each also under two replicas."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tfgan_course import config as config_lib
from tfgan_course import gan, latent, losses, models, runtime, variants
from tfgan_course.gans import began as began_gan
from tfgan_course.gans import conditional, infogan, unrolled

LATENT = 8
CLASSES = 3


def _images(num, size=8, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, (num, size, size, 1)).astype(np.float32)


def _labels(num, seed=0):
    return np.random.RandomState(seed).randint(0, CLASSES, num).astype(np.int32)


def _adam():
    return keras.optimizers.Adam(1e-3, 0.5)


def conditional_gan(seed=0, **kwargs):
    generator, discriminator = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=LATENT, g_width=8,
                                            d_width=8, seed=seed, num_classes=CLASSES)
    model = conditional.ConditionalGAN(generator, discriminator, latent_dim=LATENT, num_classes=CLASSES, seed=seed, **kwargs)
    model.compile(_adam(), _adam())
    return model


def info_gan(seed=0, codes=(CLASSES, 2), **kwargs):
    generator, discriminator = models.build("infogan", image_shape=(8, 8, 1), latent_dim=LATENT + sum(codes),
                                            g_width=4, d_width=4, seed=seed, codes=codes)
    model = infogan.InfoGAN(generator, discriminator, latent_dim=LATENT, num_categories=codes[0],
                        num_continuous=codes[1], seed=seed, **kwargs)
    model.compile(_adam(), _adam())
    return model


def began(seed=0, lambda_k=0.001, **kwargs):
    generator, discriminator = models.build("mlp", image_shape=(8, 8, 1), latent_dim=LATENT, g_width=8,
                                            d_width=8, seed=seed, autoencoder=True)
    model = began_gan.BEGAN(generator, discriminator, latent_dim=LATENT, lambda_k=lambda_k, seed=seed, **kwargs)
    model.compile(_adam(), _adam())
    return model


def unrolled_gan(seed=0, unrolled_steps=2, optimizer=_adam, model="mlp", **kwargs):
    generator, discriminator = models.build(model, image_shape=(8, 8, 1), latent_dim=LATENT, g_width=8,
                                            d_width=8, seed=seed)
    gan_model = gan.GAN(generator, discriminator, latent_dim=LATENT, unrolled_steps=unrolled_steps, seed=seed,
                        **kwargs)
    gan_model.compile(optimizer(), optimizer())
    return gan_model


def _finite(logs):
    return all(np.isfinite(float(v)) for v in logs.values())


class ConditionalGANTest(tf.test.TestCase):

    def test_trains_on_labelled_batches(self):
        model = conditional_gan()
        logs = model.train_step((tf.constant(_images(4)), tf.constant(_labels(4))))
        self.assertCountEqual(logs, gan.GAN.metric_names)
        self.assertTrue(_finite(logs), logs)

    def test_unlabelled_batches_are_an_error(self):
        with self.assertRaisesRegex(ValueError, "no labels"):
            conditional_gan().train_step(tf.constant(_images(4)))

    def test_discriminator_sees_the_real_labels(self):
        model = conditional_gan()
        images = tf.constant(_images(4))
        first = model.discriminate(images, tf.constant([0, 0, 0, 0]))
        second = model.discriminate(images, tf.constant([1, 1, 1, 1]))
        self.assertNotAllClose(first, second)

    def test_generated_class_follows_the_label(self):
        model = conditional_gan()
        self.assertNotAllClose(model.generate(2, label=0, seed=1), model.generate(2, label=1, seed=1))
        self.assertAllEqual(model.generate(2, label=2, seed=1), model.generate(2, label=2, seed=1))
        with self.assertRaisesRegex(ValueError, "out of range"):
            model.generate(2, label=CLASSES)

    def test_sample_grid_has_one_row_per_class(self):
        grid = conditional_gan().fixed_inputs(np.random.normal(size=(7, LATENT)))
        z, labels = grid.inputs["z"], grid.inputs["label"]
        self.assertEqual(grid.nrow, 2)  # 7 // 3 noise vectors per row.
        self.assertAllEqual(labels, [0, 0, 1, 1, 2, 2])
        self.assertAllEqual(z[0], z[2])  # A column keeps its noise across classes.
        self.assertNotAllClose(z[0], z[1])

    def test_penalty_sees_the_conditional_discriminator(self):
        model = conditional_gan()
        model.compile(_adam(), _adam(), loss="wasserstein", penalty="gradient")
        self.assertTrue(_finite(model.train_step((tf.constant(_images(4)), tf.constant(_labels(4))))))

    def test_get_config_round_trip(self):
        model = conditional_gan()
        self.assertEqual(conditional.ConditionalGAN.from_config(model.get_config()).num_classes, CLASSES)


class InfoGANTest(tf.test.TestCase):

    def test_trains_and_logs_the_information_loss(self):
        model = info_gan()
        logs = model.train_step(tf.constant(_images(4)))
        self.assertIn("info_loss", logs)
        self.assertTrue(_finite(logs), logs)

    def test_information_loss_by_hand(self):
        model = info_gan()
        categories = tf.constant([0, 2])
        continuous = tf.constant([[0.5, -1.0], [0.0, 1.0]])
        outputs = [tf.zeros([2, 1]), tf.zeros([2, CLASSES]), tf.zeros([2, 2])]
        # Uniform Q over 3 values: CE = log 3; Gaussian NLL: (0.25 + 1) / 2 and 1 / 2, mean 0.8125 / 2.
        expected = np.log(CLASSES) + (0.5 * 1.25 + 0.5 * 1.0) / 2
        self.assertAllClose(model.info_loss(outputs, (categories, continuous)), expected, rtol=1e-6)
        outputs[1] = tf.constant([[30.0, 0.0, 0.0], [0.0, 0.0, 30.0]])
        outputs[2] = continuous
        self.assertAllClose(model.info_loss(outputs, (categories, continuous)), 0.0, atol=1e-6)

    def test_q_learns_the_codes(self):
        model = info_gan(info_weight=1.0)
        model.compile(keras.optimizers.Adam(5e-3, 0.5), keras.optimizers.Adam(5e-3, 0.5))
        images = tf.constant(_images(16))
        values = [float(model.train_step(images)["info_loss"]) for _ in range(40)]
        # One step's value is noisy (fresh codes each step): compare the averages of 5. Over seeds 0-5 and
        # both of TensorFlow's CPU kernel sets (oneDNN, Eigen) the last 5 came to 0.24-0.72 of the first 5;
        # with info_weight=0, where Q never learns, to 0.96-1.05.
        self.assertLess(np.mean(values[-5:]), 0.8 * np.mean(values[:5]))

    def test_code_sweeps_change_one_code(self):
        model = info_gan()
        sweeps = latent.code_sweeps(model.input_specs()[0], np.zeros(LATENT, np.float32), steps=5)
        self.assertCountEqual(sweeps, ["c1", "c2", "categorical"])
        inputs = sweeps["c2"].inputs["z"]  # [3 categories * 5 steps, LATENT + 3 + 2]
        self.assertEqual(inputs.shape, (15, LATENT + CLASSES + 2))
        self.assertAllClose(inputs[:5, -1], np.linspace(-2, 2, 5))
        self.assertAllEqual(inputs[:, -2], np.zeros(15))
        self.assertAllEqual(inputs[5:10, LATENT:LATENT + CLASSES], np.tile([0, 1, 0], (5, 1)))
        self.assertEqual(model.sampler(inputs).shape, (15, 8, 8, 1))

    def test_codes_of_one_kind_only(self):
        for codes in ((CLASSES, 0), (0, 2)):
            with self.subTest(codes=codes):
                self.assertTrue(_finite(info_gan(codes=codes).train_step(tf.constant(_images(4)))))
        with self.assertRaisesRegex(ValueError, "at least one latent code"):
            infogan.InfoGAN(*models.build("mlp", image_shape=(8, 8, 1), latent_dim=LATENT), latent_dim=LATENT,
                        num_categories=0, num_continuous=0)


class BEGANTest(tf.test.TestCase):

    def test_k_stays_in_the_unit_interval(self):
        # A huge gain drives k_t against its bounds at once: it must be clipped there.
        model = began(lambda_k=100.0, gamma=1.0)
        images = tf.constant(_images(8))
        values = []
        for _ in range(6):
            logs = model.train_step(images)
            values.append(float(logs["k_t"]))
            self.assertAllInRange(values[-1], 0.0, 1.0)
        self.assertIn(values[-1], (0.0, 1.0))

    def test_k_follows_the_proportional_control(self):
        model = began(lambda_k=0.01, gamma=0.5)
        model.k.assign(0.3)
        logs = model.train_step(tf.constant(_images(8)))
        real, fake = float(logs["L(x)"]), float(logs["L(G(z))"])
        self.assertAllClose(float(logs["k_t"]), 0.3 + 0.01 * (0.5 * real - fake), atol=1e-6)
        self.assertAllClose(float(logs["M_global"]), real + abs(0.5 * real - fake), atol=1e-6)
        self.assertGreaterEqual(real, 0.0)

    def test_discriminator_loss_by_hand(self):
        real, fake = tf.constant([[0.2], [0.4]]), tf.constant([[1.0], [3.0]])
        self.assertAllClose(losses.began_discriminator_loss(real, fake, k=0.1), 0.3 - 0.1 * 2.0)
        self.assertAllClose(losses.began_generator_loss(fake), 2.0)

    def test_k_is_checkpointed(self):
        model = began()
        self.assertIn("k_t", model.checkpoint()._trackable_children())

    def test_dcgan_autoencoder_trains(self):
        generator, discriminator = models.build("dcgan", image_shape=(8, 8, 1), latent_dim=LATENT, g_width=4,
                                                d_width=4, autoencoder=True)
        model = began_gan.BEGAN(generator, discriminator, latent_dim=LATENT)
        model.compile(_adam(), _adam())
        self.assertTrue(_finite(model.train_step(tf.constant(_images(4)))))


class UnrolledGANTest(tf.test.TestCase):

    def test_lookahead_is_the_optimizer_step(self):
        """One SGD lookahead step gives the weights a real SGD step of D on the same batch gives."""
        model = unrolled_gan(unrolled_steps=1, optimizer=lambda: keras.optimizers.SGD(0.1))
        real = tf.constant(_images(4))
        fake = model.generator(tf.random.normal([4, LATENT], seed=1))
        lookahead = unrolled.lookahead_weights(model, real, None, fake, None)
        with tf.GradientTape() as tape:
            d_loss = model.discriminator_loss(model.discriminate(real, None), model.discriminate(fake, None), None)
        grads = tape.gradient(d_loss, model.discriminator.trainable_variables)
        model.d_optimizer.apply_gradients(zip(grads, model.discriminator.trainable_variables))
        for ahead, variable in zip(lookahead, model.discriminator.trainable_variables):
            self.assertAllClose(ahead, variable, atol=1e-6)

    def test_adam_lookahead_matches_adam(self):
        model = unrolled_gan(unrolled_steps=2)
        real = tf.constant(_images(4))
        fake = model.generator(tf.random.normal([4, LATENT], seed=1))
        lookahead = unrolled.lookahead_weights(model, real, None, fake, None)
        for _ in range(2):
            with tf.GradientTape() as tape:
                d_loss = model.discriminator_loss(model.discriminate(real, None), model.discriminate(fake, None),
                                                  None)
            grads = tape.gradient(d_loss, model.discriminator.trainable_variables)
            model.d_optimizer.apply_gradients(zip(grads, model.discriminator.trainable_variables))
        for ahead, variable in zip(lookahead, model.discriminator.trainable_variables):
            self.assertAllClose(ahead, variable, atol=1e-5)

    def test_unrolling_changes_g_but_not_d(self):
        plain, unrolled = unrolled_gan(unrolled_steps=0, seed=2), unrolled_gan(unrolled_steps=3, seed=2)
        for model in (plain, unrolled):
            logs = model.train_step(tf.constant(_images(4)))
            self.assertTrue(_finite(logs), logs)
        for a, b in zip(plain.discriminator.weights, unrolled.discriminator.weights):
            self.assertAllClose(a, b)  # The lookahead leaves D's own weights alone.
        self.assertNotAllClose(plain.generator.weights[0], unrolled.generator.weights[0])

    def test_unrolls_batch_normalised_and_conditional_discriminators(self):
        self.assertTrue(_finite(unrolled_gan(model="dcgan").train_step(tf.constant(_images(4)))))
        model = conditional_gan(unrolled_steps=2)
        self.assertTrue(_finite(model.train_step((tf.constant(_images(4)), tf.constant(_labels(4))))))


class VariantsMirroredTest(tf.test.TestCase):
    """Each variant trains on two logical CPU devices exactly as on one (tests/conftest.py)."""

    def _train(self, build, strategy, labelled):
        with strategy.scope():
            model = build(seed=1)
        data = (_images(16), _labels(16)) if labelled else _images(16)
        dataset = tf.data.Dataset.from_tensor_slices(data).batch(8, drop_remainder=True)
        history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
        return model, history.history

    def _assert_same(self, build, labelled=False):
        one, one_history = self._train(build, tf.distribute.get_strategy(), labelled)
        two, two_history = self._train(build, runtime.make_strategy("mirrored"), labelled)
        for name in one.metric_names:
            self.assertAllClose(one_history[name], two_history[name], atol=1e-5, msg=name)
        for a, b in zip(one.generator.weights + one.discriminator.weights,
                        two.generator.weights + two.discriminator.weights):
            # Summing two replicas' gradients rounds differently from one device's sum.
            self.assertAllClose(a, b, atol=5e-5)

    def test_conditional(self):
        self._assert_same(conditional_gan, labelled=True)

    def test_infogan(self):
        self._assert_same(info_gan)

    def test_began(self):
        self._assert_same(began)

    def test_unrolled(self):
        self._assert_same(unrolled_gan)


if __name__ == "__main__":
    tf.test.main()


class EveryModelTest(tf.test.TestCase, parameterized.TestCase):
    """Every loss and penalty gives finite losses and gradients for every registered model."""

    @parameterized.parameters(*sorted(models.MODELS))
    def test_every_loss_and_penalty(self, name):
        kind = models.MODELS[name].KIND
        vectors = name in ("toy", "selu")
        shape = (2,) if vectors else (8, 8, 1)
        images = np.random.RandomState(0).normal(size=(4, *shape)).astype(np.float32)
        data = (tf.constant(images), tf.constant(_labels(4))) if kind == "conditional" else tf.constant(images)
        options, build_options = dict(latent_dim=LATENT, info_categories=2, info_continuous=1), {}
        if kind == "translator":  # pix2pix on pairs of these images, D judging 1x1 patches.
            data = {"input": tf.constant(images), "target": tf.constant(images)}
            options = dict(patch_size=1)
            build_options = dict(data_kind="paired", shapes={"input": shape, "target": shape})
        if kind == "upscaler":  # SRGAN (SRResNet trains no D) on 4x4 -> 8x8 pairs.
            data = {"input": tf.constant(images[:, ::2, ::2]), "target": tf.constant(images)}
            options = dict(variant="srgan", resnet_blocks=1)
            build_options = dict(data_kind="paired", shapes={"input": (4, 4, 1), "target": shape})
        if kind == "inpainter":  # The context encoder draws its masks itself, on images alone.
            options = {}
        combinations = [dict(loss=loss) for loss in losses.LOSSES]
        combinations += [dict(loss="wasserstein", penalty=penalty) for penalty in losses.PENALTIES if penalty != "none"]
        if kind == "progressive":  # Its loss and penalty are the variant's own (WGAN-GP + drift).
            combinations = [{}]
        if kind == "text":  # StackGAN-lite on captioned images; its losses are its own (matching-aware BCE).
            data = {"image": tf.constant(images), "caption": tf.constant(["a dark coat", "a bag", "zz", "a plain bag"])}
            options = dict(latent_dim=LATENT, text_code_dim=LATENT // 2)
            build_options = dict(data_kind="captioned")
            combinations = [{}]
        for args in combinations:
            if args.get("loss") == "began" and (kind != "unconditional" or vectors):
                continue  # BEGAN's autoencoder D is for unconditional image models.
            with self.subTest(**args):
                config = config_lib.Config(model=name, g_width=4, d_width=4, **options, **args)
                model = variants.build(config, shape, num_classes=CLASSES, **build_options)
                g_before = [w.numpy() for w in model.generator.trainable_weights]
                d_before = [w.numpy() for w in model.discriminator.trainable_weights]
                logs = model.train_step(data)
                self.assertTrue(_finite(logs), logs)
                # Finite gradients reached every weight: all changed, none became NaN.
                for before, weights in ((g_before, model.generator.trainable_weights),
                                        (d_before, model.discriminator.trainable_weights)):
                    after = [w.numpy() for w in weights]
                    self.assertTrue(all(np.all(np.isfinite(a)) for a in after))
                    self.assertTrue(any(not np.array_equal(b, a) for b, a in zip(before, after)))
