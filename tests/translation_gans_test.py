"""pix2pix and CycleGAN: history pool, learning-rate decay, loss algebra, variant choice, training and resume."""

import io
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image

from serving import layout
from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import experiment, optimizers, trained, variants
from tfgan_course.gans import cyclegan, history_pool, pix2pix
from tfgan_course.models import patchgan

TINY = dict(image_size=8, channels=1, batch_size=2, g_width=2, d_width=2, patch_size=1, epochs=1,
            steps_per_epoch=2, log_every_steps=0, num_fixed_samples=4)


def _shift(shape, offset=0.0):
    """A trainable generator that computes images + offset ([B, H, W, C] -> [B, H, W, C]): a 1x1 identity convolution."""
    images = keras.Input(shape, name="images")
    layer = keras.layers.Conv2D(shape[-1], 1)
    model = keras.Model(images, layer(images))
    layer.set_weights([np.eye(shape[-1], dtype=np.float32)[None, None], np.full([shape[-1]], offset, np.float32)])
    return model


def _numbered(first, count, shape=(2, 2, 1)):
    """count images [count, *shape] whose pixels all hold their number first, first + 1, ..."""
    return np.arange(first, first + count, dtype=np.float32).reshape(-1, 1, 1, 1) * np.ones(shape, np.float32)


class HistoryPoolTest(tf.test.TestCase):

    def test_first_fakes_pass_then_about_half_are_swapped_for_older_ones(self):
        pool = history_pool.HistoryPool(50, (2, 2, 1))
        seed = keras.random.SeedGenerator(0)
        first = pool.query(tf.constant(_numbered(0, 50)), seed)
        self.assertAllEqual(first, _numbered(0, 50))
        self.assertEqual(int(pool.count), 50)
        shown = np.concatenate([pool.query(tf.constant(_numbered(50 + 8 * i, 8)), seed).numpy()[:, 0, 0, 0]
                                for i in range(50)])
        fresh = np.arange(50, 450)
        swapped = shown != fresh
        self.assertBetween(swapped.mean(), 0.4, 0.6)
        self.assertTrue(np.all(shown[swapped] < fresh[swapped]))  # an older fake took its place
        # The pool holds 50 distinct fakes, none shown twice by a swap.
        self.assertLen(set(pool.images.numpy()[:, 0, 0, 0]), 50)
        self.assertEqual(len(set(shown[swapped])), swapped.sum())

    def test_a_checkpoint_restores_the_pool_and_its_draws_exactly(self):
        pool = history_pool.HistoryPool(4, (2, 2, 1))
        seed = keras.random.SeedGenerator(3)
        pool.query(tf.constant(_numbered(0, 6)), seed)
        checkpoint = tf.train.Checkpoint(pool=pool, seed=seed.state)
        path = checkpoint.save(os.path.join(self.get_temp_dir(), "pool"))
        expected = pool.query(tf.constant(_numbered(10, 6)), seed).numpy()
        expected_images = pool.images.numpy()
        restored_pool = history_pool.HistoryPool(4, (2, 2, 1))
        restored_seed = keras.random.SeedGenerator(99)
        tf.train.Checkpoint(pool=restored_pool, seed=restored_seed.state).restore(path).assert_consumed()
        self.assertAllEqual(restored_pool.query(tf.constant(_numbered(10, 6)), restored_seed), expected)
        self.assertAllEqual(restored_pool.images, expected_images)

    def test_size_zero_passes_everything(self):
        pool = history_pool.HistoryPool(0, (2, 2, 1))
        self.assertAllEqual(pool.query(tf.constant(_numbered(0, 3)), keras.random.SeedGenerator(0)), _numbered(0, 3))


class LearningRateTest(tf.test.TestCase):

    def test_constant_then_linear_to_zero(self):
        schedule = optimizers.LinearDecay(2e-4, constant_steps=10, decay_steps=4)
        values = [float(schedule(step)) for step in (0, 9, 10, 11, 12, 13, 14, 20)]
        self.assertAllClose(values, [2e-4, 2e-4, 2e-4, 1.5e-4, 1e-4, 0.5e-4, 0.0, 0.0])
        self.assertEqual(optimizers.LinearDecay(**schedule.get_config()).get_config(), schedule.get_config())

    def test_the_flag_counts_epochs_and_the_optimizer_step_drives_it(self):
        config = config_lib.Config(epochs=3, lr_decay_epochs=2, g_learning_rate=1e-3, d_steps=2)
        g_schedule = optimizers.learning_rate(config, "g", steps_per_epoch=5)
        self.assertEqual((g_schedule.constant_steps, g_schedule.decay_steps), (5, 10))
        self.assertEqual(optimizers.learning_rate(config, "d", steps_per_epoch=5).decay_steps, 20)  # 2 D updates
        self.assertEqual(optimizers.learning_rate(config.replace(lr_decay_epochs=0), "g", 5), 1e-3)
        optimizer = optimizers.make(config, "g", steps_per_epoch=5)
        optimizer.iterations.assign(10)  # as a checkpoint restores it
        self.assertAllClose(optimizer.learning_rate, 0.5e-3)
        with self.assertRaisesRegex(ValueError, "--lr_decay_epochs=4 must be at most --epochs=3"):
            config_lib.validate(config.replace(lr_decay_epochs=4))


class LossAlgebraTest(tf.test.TestCase):

    def _cyclegan(self, shape=(8, 8, 1), offset=0.0, **kwargs):
        """CycleGAN with G(a) = a + offset and F(b) = b."""
        discriminators = [patchgan.discriminator(shape, 2, seed=i, receptive_field=1) for i in range(2)]
        model = cyclegan.CycleGAN(_shift(shape, offset), discriminators[0], _shift(shape), discriminators[1], **kwargs)
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), loss="least_squares")
        return model

    def test_identity_generators_have_no_cycle_or_identity_loss(self):
        model = self._cyclegan()
        a, b = np.random.RandomState(0).uniform(-1, 1, (2, 2, 8, 8, 1)).astype(np.float32)
        terms, total, fake_a, fake_b = model._generator_losses(a, b)
        for name in ("cycle_a_loss", "cycle_b_loss", "identity_a_loss", "identity_b_loss"):
            self.assertEqual(float(terms[name]), 0.0, name)
        self.assertAllClose(total, terms["gan_ab_loss"] + terms["gan_ba_loss"])
        self.assertAllEqual(fake_b, a)
        self.assertAllEqual(fake_a, b)

    def test_each_term_weighs_as_the_paper_says(self):
        model = self._cyclegan(offset=0.5, cycle_weight=10.0, identity_weight=0.5)
        a, b = np.random.RandomState(0).uniform(-1, 1, (2, 2, 8, 8, 1)).astype(np.float32)
        terms, total, _, _ = model._generator_losses(a, b)
        # G adds 0.5, F is the identity: both cycles and G's identity are off by 0.5, F's identity is exact.
        expected = {"cycle_a_loss": 0.5, "cycle_b_loss": 0.5, "identity_a_loss": 0.0, "identity_b_loss": 0.5}
        self.assertAllClose({name: float(terms[name]) for name in expected}, expected, atol=1e-6)
        self.assertAllClose(total, terms["gan_ab_loss"] + terms["gan_ba_loss"] + 10.0 * 1.0 + 0.5 * 10.0 * 0.5)

    def test_get_config_round_trips(self):
        model = self._cyclegan(cycle_weight=5.0, identity_weight=0.25, pool_size=7, seed=3)
        config = model.get_config()
        clone = cyclegan.CycleGAN.from_config(config)
        self.assertEqual(clone.get_config(), config)
        self.assertEqual((clone.pool_size, clone.pool_a.size, clone.identity_weight), (7, 7, 0.25))
        model = pix2pix.Pix2Pix(_shift((8, 8, 1)), patchgan.discriminator((8, 8, 2), 2, receptive_field=1),
                                l1_weight=3.0, gan_weight=0.0, ema_decay=0.5)
        clone = pix2pix.Pix2Pix.from_config(model.get_config())
        self.assertEqual(clone.get_config(), model.get_config())
        self.assertEqual((clone.l1_weight, clone.gan_weight, clone.ema_decay), (3.0, 0.0, 0.5))

    def test_identity_needs_equal_channels(self):
        with self.assertRaisesRegex(ValueError, "needs domains with the same channels, got 1 and 3"):
            generator = keras.Model(*(lambda x: (x, keras.layers.Conv2D(3, 1)(x)))(keras.Input((8, 8, 1))))
            cyclegan.CycleGAN(generator, None, None, None, identity_weight=0.5)

    def test_pix2pix_halves_d_and_adds_the_weighted_l1(self):
        shape = (8, 8, 1)
        model = pix2pix.Pix2Pix(_shift(shape), patchgan.discriminator((8, 8, 2), 2, receptive_field=1),
                                l1_weight=100.0)
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
        zeros = tf.zeros([2, 8, 8, 1])  # logits 0: D says 1/2 everywhere
        self.assertAllClose(model.discriminator_loss(zeros, zeros, None), np.log(2.0))  # 1/2 (log 2 + log 2)
        images = np.random.RandomState(1).uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32)
        logs = model.train_step({"input": tf.constant(images), "target": tf.constant(images)})
        self.assertAllClose(logs["l1_loss"], 0.0)  # identity G on input == target
        self.assertAllClose(logs["g_loss"], logs["gan_loss"])

    def test_pix2pix_gan_weight_zero_leaves_only_the_weighted_l1(self):
        shape = (8, 8, 1)
        model = pix2pix.Pix2Pix(_shift(shape, offset=0.25), patchgan.discriminator((8, 8, 2), 2, receptive_field=1),
                                l1_weight=3.0, gan_weight=0.0)
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
        images = np.random.RandomState(2).uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32)
        logs = model.train_step({"input": tf.constant(images), "target": tf.constant(images)})
        self.assertAllClose(logs["l1_loss"], 0.25)  # G(x) = x + 0.25, before its update
        self.assertGreater(logs["gan_loss"], 0.0)  # still computed and logged, but not in G's loss
        self.assertAllClose(logs["g_loss"], 3.0 * logs["l1_loss"])
        with self.assertRaisesRegex(ValueError, "gan_weight must be >= 0, got -1"):
            pix2pix.Pix2Pix(_shift(shape), None, gan_weight=-1.0)
        with self.assertRaisesRegex(ValueError, "--gan_weight must be >= 0, got -1.0"):
            config_lib.validate(config_lib.Config(gan_weight=-1.0))


class VariantChoiceTest(tf.test.TestCase):

    def test_auto_picks_pix2pix_for_pairs_and_cyclegan_for_unpaired_domains(self):
        for model in ("unet", "resnet"):
            config = config_lib.Config(model=model)
            self.assertEqual(variants.variant_name(config, "paired"), "pix2pix")
            self.assertEqual(variants.variant_name(config, "unpaired"), "cyclegan")
            self.assertEqual(variants.loss_name(config, "unpaired"), "least_squares")
            self.assertEqual(variants.loss_name(config.replace(loss="hinge"), "unpaired"), "hinge")
            self.assertEqual(variants.loss_name(config, "paired"), "non_saturating")

    def test_mismatches_are_one_line_naming_the_fix(self):
        for changes, kind, message in (
                ({"model": "unet"}, "images", "--model=unet translates images: it needs a paired --dataset .* "
                                              "--dataset=fashion_mnist gives images"),
                ({"model": "dcgan"}, "paired", "gives paired images for an image-to-image translator: use "
                                               "--model=unet or --model=resnet"),
                ({"model": "resnet", "variant": "pix2pix"}, "unpaired", "pix2pix variant trains on paired data; "
                                                                       ".* use --variant=cyclegan"),
                ({"model": "dcgan", "l1_weight": 10.0}, None, "--l1_weight=10.0 is for the pix2pix variant, not the "
                                                              "plain variant"),
                ({"model": "unet", "d_steps": 2}, "paired", "--d_steps=2 does not apply to the pix2pix variant"),
                ({"model": "resnet", "penalty": "r1"}, "unpaired", "--penalty=r1 does not apply to the cyclegan"),
                ({"model": "unet", "patch_size": 50}, "paired", r"Unknown --patch_size=50; valid values: 1, 16, 34")):
            with self.subTest(changes), self.assertRaisesRegex(ValueError, message):
                variants.validate(config_lib.Config(**changes), kind)

    def test_identity_is_off_with_a_log_line_when_channels_differ(self):
        config = config_lib.Config(model="resnet", **TINY)
        # absl drops INFO lines below its verbosity, which an earlier test in this process may have raised.
        self.addCleanup(logging.set_verbosity, logging.get_verbosity())
        logging.set_verbosity(logging.INFO)
        with self.assertLogs(level="INFO") as logs:
            model = variants.build(config, (8, 8, 1), data_kind="unpaired", shapes={"a": (8, 8, 1), "b": (8, 8, 3)})
        self.assertEqual(model.identity_weight, 0.0)
        self.assertIn("identity loss is off", "\n".join(logs.output))
        self.assertEqual((model.spec.input("image").shape, model.spec.output.shape), ((8, 8, 1), (8, 8, 3)))
        reverse = model.reverse_spec()
        self.assertEqual((reverse.input("image").shape, reverse.output.shape), ((8, 8, 3), (8, 8, 1)))
        self.assertEqual(model.spec.state["reverse"]["inputs"][0]["shape"], [8, 8, 3])
        self.assertTrue(model.spec.translates)


class TrainingTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.data = fixtures.write_idx(tempfile.mkdtemp(dir=self.get_temp_dir()), num_images=16, size=8)
        self.workdir = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run")

    def test_cyclegan_logs_every_term_and_resumes_its_pools_and_schedule(self):
        fixtures.write_idx(self.data, num_images=10, size=8, split="test", seed=1)
        config = config_lib.Config(model="resnet", dataset=f"unpaired:idx:{self.data}|invert:idx:{self.data}",
                                   resnet_blocks=1, pool_size=3, lr_decay_epochs=1, **TINY)
        first = experiment.run(config, self.workdir, verbose=0)
        self.assertEqual(first.steps, 2)
        # Exported both ways: F: B -> A as the reverse signatures, checked against the model in training.
        served = trained.from_export(first.export_dir)
        self.assertEqual(served.spec, first.model.spec)
        images = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 1)).astype(np.float32)
        self.assertAllClose(served.images({"images": images}), first.model.generator(images), atol=1e-5)
        signatures = tf.saved_model.load(first.export_dir).signatures
        self.assertAllClose(signatures["reverse"](images=images)["images"], first.model.reverse_generator(images),
                            atol=1e-5)
        # Examples: the first 8 test images of each domain (b is a's inverse), as the demo page picks them.
        test_images = np.random.RandomState(1).randint(0, 256, size=(10, 8, 8), dtype=np.uint8)[:8, ..., None]
        for name, expected in (("examples", test_images), ("reverse_examples", 255 - test_images)):
            files = signatures[name](index=tf.range(8))["images_png_bytes"].numpy()
            decoded = np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in files])
            self.assertAllClose(decoded[..., None].astype(int), expected.astype(int), atol=1, msg=name)
        with open(os.path.join(self.workdir, "losses.csv")) as f:
            self.assertEqual(f.readline().strip().split(",")[2:], list(cyclegan.CycleGAN.metric_names))
        self.assertTrue(os.path.isfile(os.path.join(self.workdir, "samples", "epoch_0001.png")))
        self.assertEqual(int(first.model.pool_a.count), 3)
        again = experiment.run(config, self.workdir, verbose=0)  # nothing left: the checkpoint's state
        for name in ("pool_a", "pool_b"):
            self.assertAllEqual(getattr(first.model, name).images, getattr(again.model, name).images)
        self.assertAllEqual(first.model.seed_generator.state, again.model.seed_generator.state)
        self.assertAllClose(again.model.g_optimizer.learning_rate, 0.0)  # decayed to 0 at the run's end
        self.assertEqual(int(again.model.d_optimizer.iterations), 2)
        # The run's checkpoint loads as its export does, both directions.
        restored = trained.load(workdir=self.workdir)
        self.assertAllClose(restored.translate(images), served.translate(images), atol=1e-5)
        self.assertAllClose(restored.reverse.translate(images), served.reverse.translate(images), atol=1e-5)

    def test_pix2pix_trains_through_fit_with_a_grid_per_epoch(self):
        # FID during training is not built for translators: skipped, not a crash.
        config = config_lib.Config(model="unet", dataset=f"pair:edges:idx:{self.data}", eval_every_epochs=1, **TINY)
        result = experiment.run(config, self.workdir, verbose=0)
        self.assertEqual(result.steps, 2)
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "eval.csv")))
        self.assertNotIn("examples", layout.read_signature_defs(result.export_dir))  # No test split, no examples.
        self.assertEqual(result.model.variant, "pix2pix")
        self.assertTrue(all(np.isfinite(values[-1]) for values in result.history.values()))
        grid = result.model.grid_images(result.model.fixed_inputs(None, {
            "input": np.zeros((4, 8, 8, 1), np.float32), "target": np.ones((4, 8, 8, 1), np.float32)}).inputs)
        self.assertEqual(grid.shape, (12, 8, 8, 1))  # input | output | target per example
        self.assertAllEqual(grid[2], np.ones((8, 8, 1)))


if __name__ == "__main__":
    tf.test.main()
