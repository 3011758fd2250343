"""The GAN's train_step: both networks learn, d_steps is respected, mirrored == one device."""

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import gan, models, runtime

LATENT = 8


def _make_gan(model="mlp", size=8, d_steps=1, seed=0, optimizer=lambda: keras.optimizers.Adam(1e-3, 0.5), pack=1,
              **compile_args):
    generator, discriminator = models.build(model, image_shape=(size, size, 1), latent_dim=LATENT,
                                            g_width=8, d_width=8, seed=seed, pack=pack)
    model = gan.GAN(generator, discriminator, latent_dim=LATENT, d_steps=d_steps, seed=seed, pack=pack)
    model.compile(d_optimizer=optimizer(), g_optimizer=optimizer(), **{"loss": "non_saturating", **compile_args})
    return model


def _images(num, size=8, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, (num, size, size, 1)).astype(np.float32)


def _weights(model):
    return [w.numpy() for w in model.generator.weights + model.discriminator.weights]


class GANTest(tf.test.TestCase):

    def test_train_step_updates_both_networks_and_reports_metrics(self):
        model = _make_gan()
        g_before = [w.numpy() for w in model.generator.trainable_weights]
        d_before = [w.numpy() for w in model.discriminator.trainable_weights]
        logs = model.train_step(tf.constant(_images(4)))
        for before, after in ((g_before, model.generator.trainable_weights),
                              (d_before, model.discriminator.trainable_weights)):
            self.assertTrue(all(not np.allclose(b, a.numpy()) for b, a in zip(before, after)))
        self.assertCountEqual(logs, gan.GAN.metric_names)
        for name in ("D(x)", "D(G(z)) before", "D(G(z)) after"):
            self.assertAllInRange(logs[name], 0.0, 1.0)

    def test_labels_are_ignored(self):
        model = _make_gan()
        logs = model.train_step((tf.constant(_images(4)), tf.constant([0, 1, 2, 3])))
        self.assertTrue(np.isfinite(float(logs["d_loss"])))

    def test_d_steps(self):
        model = _make_gan(d_steps=3)
        dataset = tf.data.Dataset.from_tensor_slices(_images(36)).batch(12, drop_remainder=True)
        model.fit(dataset, epochs=1, verbose=0, shuffle=False)
        self.assertEqual(int(model.g_optimizer.iterations), 3)
        self.assertEqual(int(model.d_optimizer.iterations), 9)

    def test_d_steps_needs_divisible_batches(self):
        model = _make_gan(d_steps=3)
        with self.assertRaises((tf.errors.InvalidArgumentError, ValueError)):
            model.train_step(tf.constant(_images(4)))

    def test_discriminator_learns_before_the_generator_update(self):
        model = _make_gan(optimizer=lambda: keras.optimizers.SGD(0.5))
        logs = model.train_step(tf.constant(_images(8)))
        # D's update lowers its score of the same fakes (textbook's D(G(z)) x / y).
        self.assertLess(float(logs["D(G(z)) after"]), float(logs["D(G(z)) before"]))

    def test_penalty_is_added_to_the_discriminator_loss(self):
        plain = _make_gan(loss="wasserstein", seed=2).train_step(tf.constant(_images(4)))
        penalised = _make_gan(loss="wasserstein", seed=2, penalty="gradient",
                              penalty_weight=10.0).train_step(tf.constant(_images(4)))
        # A fresh MLP critic's input gradients are far from norm 1: a large penalty.
        self.assertGreater(float(penalised["d_loss"]) - float(plain["d_loss"]), 1.0)

    def test_remedies_train(self):
        for args in (dict(label_smoothing=0.1), dict(instance_noise=0.5, instance_noise_steps=10),
                     dict(d_weight_decay=1e-3)):
            with self.subTest(**args):
                logs = _make_gan(**args).train_step(tf.constant(_images(4)))
                self.assertTrue(all(np.isfinite(float(v)) for v in logs.values()), logs)

    def test_label_smoothing_needs_a_bce_loss(self):
        with self.assertRaisesRegex(ValueError, "label_smoothing needs a BCE"):
            _make_gan(loss="hinge", label_smoothing=0.1)

    def test_instance_noise_anneals_to_zero(self):
        model = _make_gan(instance_noise=1.0, instance_noise_steps=4)
        images = tf.zeros([64, 8, 8, 1])
        self.assertNear(float(tf.math.reduce_std(model._with_instance_noise(images))), 1.0, 0.05)
        model.g_optimizer.iterations.assign(2)
        self.assertNear(float(tf.math.reduce_std(model._with_instance_noise(images))), 0.5, 0.03)
        model.g_optimizer.iterations.assign(4)
        self.assertAllEqual(model._with_instance_noise(images), images)

    def test_d_weight_decay_is_added_to_the_discriminator_loss(self):
        plain = _make_gan(seed=4).train_step(tf.constant(_images(4)))
        model = _make_gan(seed=4, d_weight_decay=0.5)
        l2 = sum(float(tf.nn.l2_loss(w)) for w in model.discriminator.trainable_variables)
        decayed = model.train_step(tf.constant(_images(4)))
        self.assertAllClose(float(decayed["d_loss"]) - float(plain["d_loss"]), 0.5 * l2, rtol=1e-4)

    def test_ema_generator_averages_and_samples(self):
        generator, discriminator = models.build("dcgan", image_shape=(28, 28, 1), latent_dim=LATENT, g_width=4,
                                                d_width=4, seed=0)
        model = gan.GAN(generator, discriminator, latent_dim=LATENT, ema_decay=0.25)
        model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
        before = [w.numpy() for w in generator.weights]
        model.train_step(tf.constant(_images(4, 28)))
        for average, old, new in zip(model.ema_generator.weights, before, generator.weights):
            self.assertAllClose(average, 0.25 * old + 0.75 * new.numpy(), atol=1e-6)
        z = tf.random.normal([2, LATENT])
        self.assertAllClose(model(z), model.ema_generator(z, training=False))
        self.assertNotAllClose(model(z), generator(z, training=False))
        self.assertIn("ema_generator", model.checkpoint()._trackable_children())
        self.assertEqual(gan.GAN.from_config(model.get_config()).ema_decay, 0.25)

    def test_ema_warmup_ramps_the_decay_up_as_tensorflows_num_updates(self):
        generator, discriminator = models.build("dcgan", image_shape=(28, 28, 1), latent_dim=LATENT, g_width=4,
                                                d_width=4, seed=0)
        model = gan.GAN(generator, discriminator, latent_dim=LATENT, ema_decay=0.999, ema_warmup=True)
        model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
        before = [w.numpy() for w in generator.weights]
        model.train_step(tf.constant(_images(4, 28)))
        decay = 2.0 / 11.0  # min(0.999, (1 + t) / (10 + t)) after the first G step, t = 1.
        for average, old, new in zip(model.ema_generator.weights, before, generator.weights):
            self.assertAllClose(average, decay * old + (1 - decay) * new.numpy(), atol=1e-6)
        self.assertTrue(gan.GAN.from_config(model.get_config()).ema_warmup)

    def test_weight_clipping(self):
        model = _make_gan(loss="wasserstein", clip_value=0.01, optimizer=lambda: keras.optimizers.RMSprop(5e-2))
        model.train_step(tf.constant(_images(4)))
        for weight in model.discriminator.trainable_weights:
            self.assertAllInRange(weight, -0.01, 0.01)
        self.assertGreater(max(float(tf.reduce_max(tf.abs(w))) for w in model.generator.trainable_weights), 0.05)

    def test_call_is_the_generator(self):
        model = _make_gan()
        z = tf.random.normal([3, LATENT])
        self.assertAllClose(model(z), model.generator(z, training=False))

    def test_get_config_round_trip(self):
        model = _make_gan(model="dcgan", size=28, d_steps=2, seed=5)
        config = model.get_config()
        clone = gan.GAN.from_config(config)
        self.assertEqual((clone.latent_dim, clone.d_steps, clone.seed), (LATENT, 2, 5))
        self.assertEqual(clone.get_config(), config)
        self.assertEqual(clone.generator.count_params(), model.generator.count_params())

    def test_pack_samples_concatenates_consecutive_samples_along_the_last_axis(self):
        vectors = tf.reshape(tf.range(12.0), [6, 2])
        self.assertAllEqual(gan.pack_samples(vectors, 3), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
        images = tf.random.normal([4, 3, 5, 2])
        packed = gan.pack_samples(images, 2)
        self.assertEqual(packed.shape, (2, 3, 5, 4))
        self.assertAllEqual(packed[1, :, :, 2:], images[3])  # pack 1, its second sample's channels
        self.assertAllEqual(gan.unpack_samples(packed, 2), images)
        self.assertIs(gan.pack_samples(images, 1), images)
        with self.assertRaisesRegex(ValueError, "A batch of 3 samples is not a whole number of packs of 2"):
            gan.pack_samples(images[:3], 2)

    def test_packed_gan_judges_packs(self):
        model = _make_gan(pack=2)
        self.assertEqual(model.discriminator.inputs[0].shape, (None, 8, 8, 2))
        self.assertEqual(model.discriminate(tf.constant(_images(6)), None).shape, (3, 1))
        logs = model.train_step(tf.constant(_images(4)))
        self.assertTrue(all(np.isfinite(float(v)) for v in logs.values()), logs)
        clone = gan.GAN.from_config(model.get_config())
        self.assertEqual(clone.pack, 2)
        with self.assertRaisesRegex(ValueError, "not a whole number of packs"):
            model.train_step(tf.constant(_images(3)))
        generator, discriminator = models.build("mlp", image_shape=(8, 8, 1), latent_dim=LATENT)
        with self.assertRaisesRegex(ValueError, "pack=2 needs a D built for packed inputs"):
            gan.GAN(generator, discriminator, latent_dim=LATENT, pack=2)

    def test_gradient_penalty_on_packs(self):
        plain = _make_gan(loss="wasserstein", seed=2, pack=2).train_step(tf.constant(_images(4)))
        penalised = _make_gan(loss="wasserstein", seed=2, pack=2, penalty="gradient",
                              penalty_weight=10.0).train_step(tf.constant(_images(4)))
        self.assertGreater(float(penalised["d_loss"]) - float(plain["d_loss"]), 1.0)
        # The penalty sees D as a function of a pack: its gradient w.r.t. the packed input, one norm per pack.
        model = _make_gan(loss="wasserstein", seed=2, pack=2)
        packed = gan.pack_samples(tf.constant(_images(4)), 2)
        with tf.GradientTape() as tape:
            tape.watch(packed)
            scores = model._penalised_logits(packed)  # pylint: disable=protected-access
        direct = tape.gradient(scores, packed)
        with tf.GradientTape() as tape:
            tape.watch(packed)
            scores = model.discriminator(packed, training=True)
        self.assertAllClose(direct, tape.gradient(scores, packed))

    def test_began_loss_needs_the_began_class(self):
        with self.assertRaisesRegex(ValueError, "BEGAN"):
            _make_gan(loss="began")

    def test_uniform_latent(self):
        generator, discriminator = models.build("mlp", image_shape=(8, 8, 1), latent_dim=LATENT)
        model = gan.GAN(generator, discriminator, latent_dim=LATENT, latent_distribution="uniform")
        z = model.sample_z(1000).numpy()
        self.assertAllInRange(z, 0.0, 1.0)
        self.assertNear(z.mean(), 0.5, 0.02)
        with self.assertRaisesRegex(ValueError, "valid values: normal, uniform"):
            gan.GAN(generator, discriminator, latent_dim=LATENT, latent_distribution="cauchy")

    def test_generate_is_reproducible(self):
        model = _make_gan()
        self.assertAllEqual(model.generate(3, seed=4), model.generate(3, seed=4))
        self.assertNotAllClose(model.generate(3, seed=4), model.generate(3, seed=5))
        with self.assertRaisesRegex(ValueError, "not conditional"):
            model.generate(3, label=1)

    def test_invalid_d_steps(self):
        generator, discriminator = models.build("mlp", image_shape=(8, 8, 1), latent_dim=LATENT)
        with self.assertRaisesRegex(ValueError, "d_steps"):
            gan.GAN(generator, discriminator, latent_dim=LATENT, d_steps=0)

    def test_same_seed_same_training(self):
        runs = []
        for _ in range(2):
            model = _make_gan(seed=3)
            model.fit(tf.data.Dataset.from_tensor_slices(_images(16)).batch(4), epochs=1, verbose=0, shuffle=False)
            runs.append(_weights(model))
        for a, b in zip(*runs):
            self.assertAllEqual(a, b)


class MirroredTest(tf.test.TestCase):
    """Two logical CPU devices train exactly as one device on the same data (tests/conftest.py)."""

    def _train(self, model_name, size, strategy):
        with strategy.scope():
            model = _make_gan(model=model_name, size=size, seed=1)
        dataset = tf.data.Dataset.from_tensor_slices(_images(32, size)).batch(8, drop_remainder=True)
        history = model.fit(dataset, epochs=2, verbose=0, shuffle=False)
        return history.history, _weights(model)

    def _assert_same(self, model_name, size):
        one_history, one_weights = self._train(model_name, size, tf.distribute.get_strategy())
        strategy = runtime.make_strategy("mirrored")
        self.assertEqual(strategy.num_replicas_in_sync, 2)
        two_history, two_weights = self._train(model_name, size, strategy)
        for name in gan.GAN.metric_names:
            self.assertAllClose(one_history[name], two_history[name], atol=1e-5, msg=name)
        for a, b in zip(one_weights, two_weights):
            self.assertAllClose(a, b, atol=1e-5)

    def test_mlp(self):
        self._assert_same("mlp", 8)

    def test_dcgan_with_batch_norm(self):
        self._assert_same("dcgan", 28)

    def test_ema_and_remedies_under_mirrored(self):
        strategy = runtime.make_strategy("mirrored")
        with strategy.scope():
            generator, discriminator = models.build("mlp", image_shape=(8, 8, 1), latent_dim=LATENT, g_width=8,
                                                    d_width=8, seed=0)
            model = gan.GAN(generator, discriminator, latent_dim=LATENT, ema_decay=0.5)
            model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), d_weight_decay=1e-3,
                          instance_noise=0.1, instance_noise_steps=10, clip_value=0.5)
        dataset = tf.data.Dataset.from_tensor_slices(_images(16)).batch(8, drop_remainder=True)
        history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
        self.assertTrue(np.isfinite(history.history["d_loss"][-1]))
        self.assertNotAllClose(model.ema_generator.weights[0], generator.weights[0])

    def test_replicas_draw_different_noise(self):
        strategy = runtime.make_strategy("mirrored")
        with strategy.scope():
            model = _make_gan()
        z = strategy.run(tf.function(lambda: model.sample_z(3)))
        first, second = strategy.experimental_local_results(z)
        self.assertNotAllClose(first, second)


if __name__ == "__main__":
    tf.test.main()
