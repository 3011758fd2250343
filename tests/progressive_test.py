"""The progressive GAN: TF-GAN's growth schedule, the paper's layers, growing through fit(), resume mid-fade, export."""

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import experiment, models, optimizers, spec, trained, variants
from tfgan_course.gans import progressive
from tfgan_course.models import pggan

# 8 px grows 4 -> 8: phase 0 (4x4) for steps 1-3, the fade-in at steps 4-5 (alphas 0.5, 1.0 never reached:
# step 3 is the fade-in's first image, alpha 0), then 8x8 from step 5 on.
TINY = dict(model="pggan", image_size=8, channels=1, batch_size=8, latent_dim=8, g_width=8, d_width=8,
            stable_images=16, transition_images=16, epochs=1, steps_per_epoch=8, log_every_steps=0,
            num_fixed_samples=8, g_learning_rate=1e-3, d_learning_rate=1e-3, g_beta1=0.0, d_beta1=0.0,
            g_beta2=0.99, d_beta2=0.99, g_ema_decay=0.9)
PHASES = [0, 0, 0, 1, 2, 2, 2, 2]
ALPHAS = [1, 1, 1, 0.5, 1, 1, 1, 1]


def _rows(workdir):
    with open(os.path.join(workdir, "losses.csv"), newline="") as f:
        return list(csv.DictReader(f))


class ScheduleTest(tf.test.TestCase):
    """The schedule is TF-GAN's progressive_gan formulas."""

    def test_resolutions_halve_down_to_at_least_four(self):
        self.assertEqual(pggan.resolutions(28), (7, 14, 28))
        self.assertEqual(pggan.resolutions(32), (4, 8, 16, 32))
        self.assertEqual(pggan.resolutions(8), (4, 8))
        self.assertEqual(pggan.resolutions(6), (6,))
        self.assertEqual(pggan.widths(128, 3), (128, 64, 32))
        self.assertEqual(pggan.widths(4, 3), (4, 4, 4))

    def test_progress_counts_stable_and_fading_images(self):
        # 100 stable, 50 fading, 3 blocks: 0 until image 100, a linear fade to 1 at 150, then 1 until 250...
        expected = {0: 0.0, 99: 0.0, 100: 0.0, 125: 0.5, 149: 0.98, 150: 1.0, 249: 1.0, 275: 1.5, 300: 2.0,
                    10_000: 2.0}
        for seen, p in expected.items():
            self.assertAllClose(pggan.progress(seen, 100, 50, 3), p, msg=f"after {seen} images")
        self.assertEqual(float(pggan.progress(123, 0, 0, 3)), 2.0)  # Flat: every block from the start.

    def test_the_alphas_cross_fade_the_two_newest_blocks(self):
        for p in np.linspace(0.0, 2.0, 17):
            g_alphas = [float(pggan.generator_alpha(b, p)) for b in (1, 2, 3)]
            self.assertAllClose(sum(g_alphas), 1.0)
            self.assertLessEqual(sum(a > 0 for a in g_alphas), 2)
        self.assertAllClose([pggan.generator_alpha(b, 0.25) for b in (1, 2, 3)], [0.75, 0.25, 0.0])
        self.assertAllClose([pggan.discriminator_alpha(b, 0.25) for b in (1, 2, 3)], [0.75, 1.0, 1.0])
        self.assertAllClose([pggan.discriminator_alpha(b, 1.0) for b in (1, 2, 3)], [0.0, 1.0, 1.0])
        self.assertEqual([int(pggan.running_blocks(p, 3)) for p in (0.0, 0.1, 1.0, 1.5, 2.0)], [1, 2, 2, 3, 3])
        self.assertEqual([int(pggan.phase(p)) for p in (0.0, 0.5, 1.0, 1.5, 2.0)], [0, 1, 2, 3, 4])
        self.assertEqual([float(pggan.fade_in(p)) for p in (0.0, 0.25, 1.0)], [1.0, 0.25, 1.0])

    def test_real_images_blend_as_the_generator_does(self):
        images = tf.random.uniform([2, 8, 8, 1], -1, 1, seed=1)
        coarse = pggan.upscale(pggan.downscale(images, 2), 2)
        self.assertAllClose(pggan.blend_real(images, 0.0, (4, 8)), coarse)
        self.assertAllClose(pggan.blend_real(images, 0.25, (4, 8)), 0.75 * coarse + 0.25 * images)
        self.assertAllClose(pggan.blend_real(images, 1.0, (4, 8)), images)


class LayersTest(tf.test.TestCase):

    def test_equalised_layers_scale_n01_weights_by_the_he_constant(self):
        conv = pggan.EqualizedConv2D(32, 3, seed=0)
        x = tf.random.normal([2, 5, 5, 4], seed=0)
        y = conv(x)
        self.assertAllClose(tf.math.reduce_std(conv.kernel), 1.0, atol=0.1)
        self.assertAllClose(y, tf.nn.conv2d(x, conv.kernel * float(np.sqrt(2.0 / (3 * 3 * 4))), 1, "SAME"))
        dense = pggan.EqualizedDense(3, gain=1.0, seed=0)
        self.assertAllClose(dense(tf.ones([1, 16])), tf.ones([1, 16]) @ dense.kernel / 4.0)

    def test_pixel_norm_gives_each_pixel_unit_root_mean_square(self):
        x = tf.random.normal([2, 3, 3, 5], seed=2) * 7.0
        self.assertAllClose(tf.reduce_mean(tf.square(pggan.pixel_norm(x)), axis=-1), tf.ones([2, 3, 3]), atol=1e-4)

    def test_minibatch_stddev_averages_each_strided_group_of_four(self):
        x = np.random.default_rng(0).normal(size=(8, 2, 2, 3)).astype(np.float32)
        out = pggan.minibatch_stddev(tf.constant(x)).numpy()
        self.assertEqual(out.shape, (8, 2, 2, 4))
        self.assertAllClose(out[..., :3], x)
        for i in range(8):
            group = x[i % 2::2]  # Images 0, 2, 4, 6 and 1, 3, 5, 7.
            self.assertAllClose(out[i, ..., 3], np.full((2, 2), np.sqrt(group.var(axis=0) + 1e-8).mean()), atol=1e-5)
        self.assertEqual(pggan.minibatch_stddev(tf.constant(x[:6])).shape, (6, 2, 2, 4))  # Groups of 3.

    def test_blocks_not_running_are_not_computed_and_a_stable_phase_is_blocky(self):
        generator, discriminator = models.build("pggan", image_shape=(16, 16, 1), latent_dim=8, g_width=8,
                                                d_width=8, seed=0)
        for network, names in ((generator, ("block3_conv", "block3_to_rgb")), (discriminator, ("block3_",))):
            for weight in network.weights:
                if any(name in weight.path for name in names):
                    weight.assign(tf.fill(weight.shape, np.nan))
        z = tf.random.normal([4, 8], seed=3)
        for p, size in ((0.0, 4), (0.5, 8), (1.0, 8)):
            pggan.set_progress([generator, discriminator], p)
            images = generator(z)
            self.assertTrue(np.isfinite(images.numpy()).all() and np.isfinite(discriminator(images).numpy()).all())
            self.assertAllClose(pggan.upscale(pggan.downscale(images, 16 // size), 16 // size), images)
        pggan.set_progress([generator, discriminator], 1.5)  # Block 3 fades in: its NaNs show.
        self.assertTrue(np.isnan(generator(z).numpy()).all())


class TrainingPartsTest(tf.test.TestCase):

    def test_restartable_adam_after_a_restart_is_a_fresh_adam(self):
        rng = np.random.default_rng(0)
        restarted, fresh = keras.Variable(np.ones(3, np.float32)), keras.Variable(np.ones(3, np.float32))
        adam = optimizers.RestartableAdam(1e-2, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
        adam.build([restarted])
        for _ in range(5):
            adam.apply_gradients([(tf.constant(rng.normal(size=3), tf.float32), restarted)])
        adam.restart()
        fresh.assign(restarted)
        new_adam = keras.optimizers.Adam(1e-2, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
        new_adam.build([fresh])
        for _ in range(4):
            gradient = tf.constant(rng.normal(size=3), tf.float32)
            adam.apply_gradients([(gradient, restarted)])
            new_adam.apply_gradients([(gradient, fresh)])
        self.assertAllClose(restarted, fresh, atol=1e-6)
        self.assertEqual((int(adam.iterations), int(adam.restarted_at)), (9, 5))

    def test_the_gradient_penalty_does_not_jump_when_a_block_starts_to_fade_in(self):
        model = variants.build(config_lib.Config(**TINY), (8, 8, 1))
        real = tf.random.uniform([8, 8, 8, 1], -1, 1, seed=4)
        fake = tf.random.uniform([8, 8, 8, 1], -1, 1, seed=5)
        penalties = []
        # The last step at 4x4 (one block) and the first of the fade to 8x8 (two, the new one at weight 1e-6).
        for p, blocks in ((0.0, 1), (1e-6, 2)):
            pggan.set_progress(model.growing_networks, p)
            model.seed_generator = keras.random.SeedGenerator(7)  # The same interpolation weights for both.
            with pggan.running([model.discriminator], blocks):
                penalties.append(float(model._gradient_penalty(real, fake)))  # pylint: disable=protected-access
        # Measured at the running resolution, the second would be taken in units half as large (D's norm
        # doubled) against the same target of 1.
        self.assertGreater(penalties[0], 0.01)
        self.assertAllClose(penalties[0], penalties[1], rtol=1e-4)

    def test_the_variant_is_chosen_and_its_fixed_parts_refused(self):
        config = config_lib.Config(**TINY)
        self.assertEqual(variants.variant_name(config), "progressive")
        self.assertEqual(variants.loss_name(config), "wasserstein")
        for flag, message in ((dict(penalty="gradient"), "--penalty=gradient does not apply to the progressive"),
                              (dict(mixed_precision="mixed_bfloat16"), "--mixed_precision=mixed_bfloat16 does not"),
                              (dict(d_steps=5), "--d_steps=5 does not apply"),
                              (dict(model="dcgan", stable_images=5), "--stable_images=5 is for the progressive")):
            with self.assertRaisesRegex(ValueError, message):
                variants.validate(config.replace(**flag))
        with self.assertRaisesRegex(ValueError, "trains with Adam, restarted at each new resolution"):
            variants.build(config.replace(optimizer="rmsprop"), (8, 8, 1))
        self.assertIsNone(variants.warn_if_short(config, 4))
        self.assertRegex(variants.warn_if_short(config, 3), r"^This run trains on 24 real images, but growing "
                                                            r"through 4 -> 8 takes 32 .* Raise --epochs")


class GrowingRunTest(tf.test.TestCase):
    """One tiny run through fit(); the resume test kills another one mid-fade."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        cls.data = fixtures.write_idx(os.path.join(cls.root, "data"), num_images=64, size=8)
        cls.config = config_lib.Config(dataset=f"idx:{cls.data}", **TINY)
        cls.workdir = os.path.join(cls.root, "run")
        cls.result = experiment.run(cls.config, cls.workdir, verbose=0)

    def test_a_run_grows_logs_its_phases_and_restarts_adam_once_per_new_block(self):
        model, rows = self.result.model, _rows(self.workdir)
        self.assertIsInstance(model, progressive.ProgressiveGAN)
        self.assertEqual(list(rows[0])[2:], list(progressive.ProgressiveGAN.metric_names))
        self.assertEqual([int(float(row["phase"])) for row in rows], PHASES)
        self.assertAllClose([float(row["alpha"]) for row in rows], ALPHAS)
        self.assertEqual(int(model.images_seen.numpy()), 8 * 8)
        # Both optimizers restarted before step 4's update, the first to fade block 2 in.
        self.assertEqual([int(o.restarted_at.numpy()) for o in (model.d_optimizer, model.g_optimizer)], [3, 3])
        for network in model.growing_networks:
            self.assertEqual(float(pggan.growing_layer(network).progress.numpy()), 1.0)
        for name in ("samples/phase_0_4px.png", "samples/phase_1_8px.png", "samples/phase_2_8px.png",
                     "growth.png", "losses.png"):
            self.assertTrue(os.path.isfile(os.path.join(self.workdir, name)), name)
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "d_outputs.png")))  # A critic's scores.
        # The checkpoint holds every weight of the three networks (the resume and `evaluate --workdir` read it).
        restored, _ = trained.restore_gan(self.workdir)
        for network in ("generator", "discriminator", "ema_generator"):
            for saved, weight in zip(getattr(restored, network).weights, getattr(model, network).weights):
                self.assertAllEqual(saved, weight, msg=f"{network} {weight.path}")
        self.assertEqual(spec.read(os.path.join(self.workdir, spec.CHECKPOINTS)).state,
                         {"resolutions": [4, 8], "stable_images": 16, "transition_images": 16})

    def test_the_export_samples_the_ema_generator_at_full_size(self):
        loaded = trained.load(export_dir=self.result.export_dir)
        images = loaded.sample(4, seed=1)
        self.assertEqual(images.shape, (4, 8, 8, 1))
        self.assertAllClose(images, self.result.model.generate(4, seed=1), atol=1e-5)

    def test_a_run_killed_mid_fade_resumes_exactly_where_it_was(self):
        workdir = os.path.join(self.root, "killed")
        flags = [f"--{name}={value}" for name, value in TINY.items()]
        command = [sys.executable, "-m", "tfgan_course.train", f"--workdir={workdir}", f"--dataset=idx:{self.data}",
                   *flags, "--checkpoint_every_steps=1", "--steps_per_execution=1", "--verbosity=-1"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(process.kill)
        def saved_step():
            # The manager's state file, not ckpt-4.index: it names a checkpoint only once its files are whole.
            latest = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
            return int(latest.rsplit("-", 1)[1]) if latest else 0

        deadline = time.time() + 180
        while time.time() < deadline and saved_step() < 4:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)  # In the fade-in (step 4 done) or just after it.
        process.wait()
        self.assertGreaterEqual(saved_step(), 4)
        resumed = experiment.run(self.config, workdir, verbose=0)
        rows = _rows(workdir)
        self.assertEqual([int(row["step"]) for row in rows], list(range(1, 9)))
        self.assertEqual([int(float(row["phase"])) for row in rows], PHASES)
        self.assertAllClose([float(row["alpha"]) for row in rows], ALPHAS)
        self.assertEqual(int(resumed.model.images_seen.numpy()), 8 * 8)
        # The restart before step 4 was checkpointed: the resumed run did not restart Adam again.
        self.assertEqual(int(resumed.model.g_optimizer.restarted_at.numpy()), 3)
