"""Semantic inpainting: masks, importance weights, losses, the latent search, the fills, the hole metrics, the CLI."""

import json
import os
import subprocess
import sys
import types

import numpy as np
import tensorflow as tf
from PIL import Image

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import experiment, inpaint, inpainting, losses, metrics, models, spec


def _images(n=3, size=8, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype(np.float32)


class MaskTest(tf.test.TestCase):

    def test_centre_mask(self):
        mask = inpainting.centre_mask((28, 28), 14)
        self.assertEqual((mask.shape, mask.dtype), ((1, 28, 28, 1), np.float32))
        self.assertEqual(mask.sum(), 196)
        self.assertTrue((mask[0, 7:21, 7:21] == 1).all())
        with self.assertRaisesRegex(ValueError, "smaller than the 28x28 images"):
            inpainting.centre_mask((28, 28), 28)

    def test_random_squares_are_seeded_and_inside(self):
        mask = inpainting.random_square_masks(50, (12, 12), 4, count=2, seed=3)
        self.assertEqual(mask.shape, (50, 12, 12, 1))
        self.assertTrue(np.isin(mask, (0, 1)).all())
        missing = mask.sum(axis=(1, 2, 3))
        self.assertTrue(((missing >= 16) & (missing <= 32)).all())
        self.assertAllEqual(mask, inpainting.random_square_masks(50, (12, 12), 4, count=2, seed=3))
        self.assertNotAllEqual(mask, inpainting.random_square_masks(50, (12, 12), 4, count=2, seed=4))

    def test_png_mask_and_bad_masks(self):
        drawn = np.zeros((8, 6), np.uint8)
        drawn[2:4, 1:5] = 255
        path = os.path.join(self.get_temp_dir(), "mask.png")
        Image.fromarray(drawn).save(path)
        mask = inpainting.mask_from_png(path, (8, 6))
        self.assertAllEqual(mask[0, :, :, 0], drawn / 255)
        with self.assertRaisesRegex(ValueError, r"is 6x8 pixels but the images are 8x8: draw it at 8x8"):
            inpainting.mask_from_png(path, (8, 8))
        with self.assertRaisesRegex(ValueError, "shape"):
            inpainting.check_mask(np.ones((1, 8, 8)), (8, 8, 1))
        with self.assertRaisesRegex(ValueError, "0 .known. and 1 .missing. only"):
            inpainting.check_mask(np.full((1, 8, 8, 1), 0.5), (8, 8, 1))
        for full in (np.zeros((1, 8, 8, 1)), np.ones((1, 8, 8, 1))):
            with self.assertRaisesRegex(ValueError, "a missing pixel .1. and a known one .0."):
                inpainting.check_mask(full, (8, 8, 1))
        with self.assertRaisesRegex(ValueError, "use centre or random, or the path of an existing PNG file"):
            inpaint.make_mask("circle", 4, (8, 8, 1))


class LossTest(tf.test.TestCase):

    def test_importance_weights_on_a_hand_made_mask(self):
        mask = np.zeros((1, 10, 10, 1), np.float32)
        mask[0, 4, 4] = mask[0, 4, 5] = 1.0
        weights = inpainting.importance_weights(mask).numpy()[0, :, :, 0]
        expected = np.zeros((10, 10))
        expected[1:8, 1:8] += 1 / 49   # the 7x7 windows that hold (4, 4)
        expected[1:8, 2:9] += 1 / 49   # and (4, 5)
        expected[4, 4] = expected[4, 5] = 0.0  # missing pixels weigh nothing
        self.assertAllClose(weights, expected)
        corner = np.zeros((1, 10, 10, 1), np.float32)
        corner[0, 0, 0] = 1.0  # beyond the image the window counts known pixels: still out of 49
        self.assertAllClose(inpainting.importance_weights(corner)[0, 1, 1, 0], 1 / 49)

    def test_contextual_and_prior_losses_by_hand(self):
        images = np.zeros((2, 2, 2, 1), np.float32)
        fakes = np.array([[[[0.5], [-1.0]], [[0.0], [2.0]]], [[[1.0], [1.0]], [[1.0], [1.0]]]], np.float32)
        weights = np.array([[[[1.0], [0.5]], [[0.0], [0.25]]]], np.float32)
        self.assertAllClose(inpainting.contextual_loss(fakes, images, weights), [0.5 + 0.5 + 0.5, 1.75])
        logits = np.array([[0.0], [2.0], [-3.0]], np.float32)
        self.assertAllClose(inpainting.prior_loss(logits), np.log(1 - 1 / (1 + np.exp(-logits[:, 0]))), atol=1e-6)
        self.assertAllClose(inpainting.prior_loss([[80.0]]), [-80.0])  # stable where sigmoid rounds to 1
        self.assertAllClose(inpainting.prior_loss(logits, d_probabilities=False), [0.0, -2.0, 3.0])


class FillTest(tf.test.TestCase):

    def test_composite_is_exact_on_known_pixels(self):
        images, fill = _images(), _images(seed=1)
        images[0, 0, 0, 0] = -0.0
        mask = inpainting.random_square_masks(3, (8, 8), 3, seed=0)
        completed = inpainting.composite(images, mask, fill)
        known = mask[..., 0] == 0
        self.assertEqual(completed[..., 0][known].tobytes(), images[..., 0][known].tobytes())
        self.assertAllEqual(completed[..., 0][~known], fill[..., 0][~known])

    def test_diffusion_fill_restores_a_harmonic_image_and_poisson_its_guide(self):
        ramp = np.tile(np.linspace(-1, 1, 12, dtype=np.float32), (12, 1))[None, :, :, None]
        mask = inpainting.centre_mask((12, 12), 6)
        corrupted = inpainting.composite(ramp, mask, 0.0)
        diffused, iterations = inpainting.poisson_fill(corrupted, mask)
        self.assertAllClose(diffused, ramp, atol=1e-4)  # a linear ramp is harmonic: the diffusion gives it back
        self.assertLess(iterations, inpainting._POISSON_MAX_ITERATIONS)
        images = _images(2, 12)
        blended, _ = inpainting.poisson_fill(inpainting.composite(images, mask, 0.0), mask, guide=images)
        self.assertAllClose(blended, images, atol=1e-4)  # the guide's own gradients and border: the guide
        offset, _ = inpainting.poisson_fill(inpainting.composite(images, mask, 0.0), mask, guide=images + 0.3)
        self.assertAllClose(offset, images, atol=1e-4)  # a constant offset has no gradient: it is blended away

    def test_hole_psnr_ignores_known_pixels(self):
        originals = _images(2, 8)
        mask = inpainting.centre_mask((8, 8), 4)
        filled = inpainting.composite(originals, mask, np.clip(originals + 0.2, -1, 1))
        hole = metrics.masked_psnr(filled, originals, mask)
        noisy_known = inpainting.composite(_images(2, 8, seed=5), mask, filled)  # every known pixel changed
        self.assertAllClose(metrics.masked_psnr(noisy_known, originals, mask), hole)
        exact = originals.copy()
        exact[:, 2:6, 2:6] = np.clip(originals[:, 2:6, 2:6] + 0.2, -1, 1)
        self.assertAllClose(hole, metrics.masked_psnr(exact, originals, mask))
        shifted = np.full((1, 8, 8, 1), 0.2, np.float32)
        self.assertAllClose(metrics.masked_psnr(shifted, np.zeros_like(shifted), mask), [20.0])  # 0.1 of the range
        self.assertGreater(metrics.psnr(shifted, np.zeros_like(shifted))[0], 0)
        self.assertEqual(metrics.masked_psnr(originals, originals, mask)[0], np.inf)


class SearchTest(tf.test.TestCase):

    def _networks(self):
        return models.build("mlp", image_shape=(8, 8, 1), latent_dim=8, g_width=16, d_width=8, seed=0)

    def test_the_search_lowers_the_contextual_loss_and_keeps_z_in_the_distribution(self):
        generator, discriminator = self._networks()
        for distribution in ("normal", "uniform"):
            inpainter = inpainting.SemanticInpainter(generator, discriminator, spec.latent_input(8, distribution),
                                                     learning_rate=0.05)
            targets = generator(inpainter.initial_latents(4, seed=7)).numpy()  # images G can make exactly
            mask = inpainting.centre_mask((8, 8), 4)
            result = inpainter.search(targets, mask, iterations=60, seed=0, batch_size=3)
            self.assertEqual((result.z.shape, result.images.shape, result.history.shape), ((4, 8), (4, 8, 8, 1), (61, 2)))
            self.assertLess(result.contextual_loss.mean(), 0.5 * result.initial_contextual_loss.mean(), distribution)
            self.assertAllClose(result.history[0, 0], result.initial_contextual_loss.mean(), rtol=1e-5)
            self.assertAllClose(result.history[-1, 0], result.contextual_loss.mean(), rtol=1e-5)
            if distribution == "normal":
                self.assertAllClose(np.linalg.norm(result.z, axis=1), np.full(4, np.sqrt(8)), rtol=1e-5)
            else:
                self.assertTrue(((result.z >= 0) & (result.z <= 1)).all())

    def test_refusals(self):
        generator, discriminator = self._networks()
        with self.assertRaisesRegex(ValueError, "InfoGAN codes"):
            inpainting.SemanticInpainter(generator, discriminator, spec.latent_input(6, categorical=2))
        image = spec.output_for((8, 8, 1))
        cases = {
            "toy vectors": spec.GeneratorSpec([spec.latent_input(2)], [spec.output_for((2,))]),
            "image-to-image translator": spec.GeneratorSpec([spec.image_input((8, 8, 1))], [image]),
            "conditional GAN": spec.GeneratorSpec([spec.latent_input(8), spec.label_input(3)], [image]),
            "InfoGAN codes": spec.GeneratorSpec([spec.latent_input(6, categorical=2)], [image]),
        }
        for message, generator_spec in cases.items():
            model = types.SimpleNamespace(spec=generator_spec, loss_pair=losses.get("non_saturating"))
            with self.assertRaisesRegex(ValueError, message):
                inpaint.semantic_inpainter(model, 0.003, 0.01)
        began = types.SimpleNamespace(spec=spec.GeneratorSpec([spec.latent_input(8)], [image]),
                                      loss_pair=losses.get("began"))
        with self.assertRaisesRegex(ValueError, "BEGAN"):
            inpaint.semantic_inpainter(began, 0.003, 0.01)


class CommandLineTest(tf.test.TestCase):

    def test_a_tiny_run_end_to_end(self):
        root = self.get_temp_dir()
        data_dir = fixtures.write_squares(os.path.join(root, "squares"), num_train=300, num_test=40)
        config = config_lib.Config(dataset=f"idx:{data_dir}", model="mlp", image_size=28, epochs=1, steps_per_epoch=3,
                                   batch_size=16, latent_dim=8, g_width=8, d_width=8, num_fixed_samples=4,
                                   log_every_steps=0)
        workdir = os.path.join(root, "run")
        experiment.run(config, workdir, verbose=0)
        env = dict(os.environ, TFGAN_COURSE_CACHE=os.path.join(root, "cache"))
        command = [sys.executable, "-m", "tfgan_course.inpaint", f"--workdir={workdir}", "--num_images=16",
                   "--iterations=5", "--batch_size=8", "--classifier_epochs=2"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with open(os.path.join(workdir, "inpaint", "eval.json")) as f:
            scores = json.load(f)
        self.assertEqual((scores["num_images"], scores["mask"], scores["hole_pixels_per_image"]),
                         (16, "centre 14x14", 196.0))
        self.assertEqual(list(scores["scores"]),
                         ["mean fill", "diffusion fill", "semantic", "semantic + Poisson blend", "original"])
        for row in ("mean fill", "diffusion fill", "semantic", "semantic + Poisson blend"):
            for key in ("hole_psnr", "psnr", "ssim", "accuracy", "fid", "kid", "seconds"):
                self.assertTrue(np.isfinite(scores["scores"][row][key]), (row, key))
            # The known pixels are exact, so the whole image's error is the hole's, diluted 4-fold: +6 dB.
            self.assertAllClose(scores["scores"][row]["psnr"] - scores["scores"][row]["hole_psnr"],
                                10 * np.log10(4), atol=1e-6)
        self.assertEqual(scores["fills"]["semantic"]["iterations"], 5)
        self.assertEqual(scores["fills"]["semantic"]["prior"], "log(1 - D(G(z)))")
        self.assertIn("| semantic + Poisson blend |", result.stdout)
        for name in ("report.md", "samples.png"):
            self.assertTrue(os.path.isfile(os.path.join(workdir, "inpaint", name)), name)
        with self.assertRaisesRegex(ValueError, r"^--mask='nowhere.png': use centre or random, or the path of an "
                                    r"existing PNG file of the images' size, 28x28 \(white = missing\).$"):
            inpaint.run(workdir, mask="nowhere.png")
