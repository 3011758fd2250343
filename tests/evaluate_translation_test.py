"""Scoring translators: a perfect and a blind translator on tiny paired and unpaired fixtures of squares."""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from tests import fixtures
from tfgan_course import classifier, evaluate_translation, export, models

SIZE = fixtures.SQUARES_SIZE
# The squares of classes 0-4 sit 13 rows above those of classes 5-9 (fixtures.write_squares).
_ROW_STEP = 13


def _down(images):
    """Moves every image 13 rows down (wrapping): a square of class c becomes one of class c + 5."""
    return np.roll(images, _ROW_STEP, axis=1)


def _up(images):
    return np.roll(images, -_ROW_STEP, axis=1)


class EvaluateTranslationTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        temp_dir = tf.compat.v1.test.get_temp_dir()
        cls.squares = "idx:" + fixtures.write_squares(tempfile.mkdtemp(dir=temp_dir))
        # Shared, so each classifier trains once for all the tests.
        cls.cache_dir = tempfile.mkdtemp(dir=temp_dir)

    def _evaluate(self, translate, spec, samples=("samples.png",), **kwargs):
        output_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
        result = evaluate_translation.evaluate(translate, spec, output_dir, image_size=SIZE, channels=1,
                                               num_samples=100, cache_dir=self.cache_dir, classifier_epochs=3,
                                               **kwargs)
        with open(os.path.join(output_dir, "eval.json")) as f:
            self.assertEqual(json.load(f), result)
        self.assertCountEqual(os.listdir(output_dir), ["eval.json", "report.md", *samples])
        with open(os.path.join(output_dir, "report.md")) as f:
            return result, f.read()

    def test_paired_perfect_translator_beside_the_input_and_a_baseline(self):
        # pair:invert's input is the negated target: negating it back is perfect (to float rounding).
        result, report = self._evaluate(lambda x: -x, f"pair:invert:{self.squares}",
                                        baselines={"grey": lambda x: np.zeros_like(x)})
        scores = result["scores"]
        self.assertEqual(list(scores), ["translator", "grey", "input", "real"])
        self.assertEqual(result["num_examples"], 100)
        perfect, given = scores["translator"], scores["input"]
        self.assertLess(perfect["l1"], 1e-5)
        self.assertEqual(perfect["psnr"], evaluate_translation.MAX_PSNR_DB)
        self.assertAllClose(perfect["ssim"], 1.0, atol=1e-5)
        self.assertGreater(given["l1"], 0.5)
        self.assertLess(given["psnr"], 10)
        self.assertLess(given["ssim"], 0)
        self.assertGreater(scores["grey"]["psnr"], given["psnr"])  # The mean grey is nearer than the negative.
        # The FCN-score: the squares' classifier, labels from the dataset.
        self.assertEqual(result["classifier"]["dataset"], self.squares)
        self.assertRegex(result["classifier"]["key"], rf"-[0-9a-f]{{8}}_28x28x1_v{classifier.VERSION}$")
        self.assertGreaterEqual(scores["real"]["accuracy"], 0.9)
        self.assertAllClose(perfect["accuracy"], scores["real"]["accuracy"])
        self.assertLess(given["accuracy"], 0.5)
        self.assertLess(perfect["fid"], 1e-3)
        self.assertGreater(given["fid"], 10 * scores["real"]["fid"])
        self.assertNotIn("l1", scores["real"])
        self.assertIn("| translator | 0.0000 | 100.00 | 1.0000 |", report)
        self.assertIn("| real | - | - | - |", report)

    def test_paired_without_labels_has_no_classifier(self):
        unlabelled = "idx:" + fixtures.write_squares(tempfile.mkdtemp(dir=self.get_temp_dir()), num_train=20,
                                                     num_test=10, labelled=False)
        result, report = self._evaluate(lambda x: -x, f"pair:invert:{unlabelled}")
        self.assertIsNone(result["classifier"])
        self.assertEqual(list(result["scores"]), ["translator", "input"])
        self.assertNotIn("accuracy", result["scores"]["translator"])
        self.assertIn("classifier: none, the targets are unlabelled", report)

    def test_super_resolution_beside_bicubic(self):
        spec = f"lowres:4:{self.squares}"

        def nearest(x):  # Each low-resolution pixel as a 4x4 block: a translator of the right shape.
            return np.repeat(np.repeat(x, 4, axis=1), 4, axis=2)

        result, report = self._evaluate(nearest, spec)
        scores = result["scores"]
        self.assertEqual(list(scores), ["translator", "bicubic", "real"])
        self.assertEqual(result["shapes"], {"input": [7, 7, 1], "target": [28, 28, 1]})
        self.assertIn("| bicubic |", report)
        # The bicubic row is the PSNR and SSIM of bicubically enlarged inputs, which TF's own functions agree with.
        data_, _ = evaluate_translation.data.make_dataset(spec, image_size=SIZE, channels=1, batch_size=100,
                                                          split="test", shuffle=True, seed=0, augment=False)
        batch = next(iter(data_))
        bicubic = evaluate_translation.bicubic_upscale(batch["input"].numpy(), (28, 28, 1))
        self.assertAllClose(bicubic, tf.clip_by_value(tf.image.resize(batch["input"], [28, 28], "bicubic"), -1, 1))
        pixels = [(images + 1) / 2 for images in (bicubic, batch["target"])]
        self.assertAllClose(scores["bicubic"]["psnr"], float(tf.reduce_mean(tf.image.psnr(*pixels, 1.0))), atol=1e-3)
        self.assertAllClose(scores["bicubic"]["ssim"], float(tf.reduce_mean(tf.image.ssim(*pixels, 1.0))), atol=1e-4)
        self.assertGreater(scores["bicubic"]["psnr"], scores["translator"]["psnr"])  # Smoother than blocks here.
        self.assertIn("accuracy", scores["bicubic"])
        self.assertIsNone(result["loss_network"])

    def test_a_translator_is_never_scored_by_the_classifier_of_its_loss(self):
        spec = f"lowres:4:{self.squares}"
        loss_network = {"dataset": self.squares, "seed": classifier.LOSS_SEED, "layer": classifier.LOSS_LAYER}
        def bicubic(x):
            return evaluate_translation.bicubic_upscale(x, (28, 28, 1))

        result, _ = self._evaluate(bicubic, spec, loss_network=loss_network)
        self.assertEqual(result["loss_network"], loss_network)
        self.assertNotEqual(result["classifier"]["seed"], classifier.LOSS_SEED)
        with self.assertRaisesRegex(ValueError, r"was trained with seed 0, the seed of the classifier its content "
                                                r"loss compared features in: its accuracy and FID would measure the "
                                                r"loss it minimised"):
            self._evaluate(bicubic, spec, loss_network={**loss_network, "seed": 0})

    def test_unpaired_translator_that_moves_the_square_to_the_other_row(self):
        spec = f"unpaired:classes:0,1,2,3,4:{self.squares}|classes:5,6,7,8,9:{self.squares}"
        result, report = self._evaluate(_down, spec, ("samples_a_to_b.png", "samples_b_to_a.png"), translate_back=_up)
        self.assertEqual(result["classifiers"]["domains"]["dataset"], spec)
        # The domains' classes differ: no label to keep; both are labelled by the squares' classifier.
        self.assertFalse(result["labels_kept_scored"])
        self.assertEqual(result["classifiers"]["a"]["key"], result["classifiers"]["b"]["key"])
        for direction in ("a_to_b", "b_to_a"):
            scores = result[direction]["scores"]
            self.assertEqual(result[direction]["feature_space"], result["classifiers"]["b"]["key"])
            self.assertGreaterEqual(scores["translator"]["target_rate"], 0.9, direction)
            self.assertGreaterEqual(scores["real"]["target_rate"], 0.9, direction)
            self.assertLessEqual(scores["input"]["target_rate"], 0.1, direction)
            self.assertLess(scores["translator"]["fid"], scores["input"]["fid"] / 2, direction)
            self.assertNotIn("labels_kept", scores["translator"])
            self.assertEqual(result[direction]["cycle_l1"], 0.0)  # Rolling down then up is exact.
            self.assertGreater(result[direction]["identity_l1"], 0.1)  # It moves a target image too.
        self.assertIn("## a to b", report)
        self.assertIn("- cycle L1: 0.0000", report)

    def test_unpaired_labels_kept(self):
        # Squares against inverted squares, both labelled 0-9: negation keeps each label.
        result, _ = self._evaluate(lambda x: -x, f"unpaired:{self.squares}|invert:{self.squares}",
                                   ("samples_a_to_b.png",))
        self.assertTrue(result["labels_kept_scored"])
        self.assertNotIn("b_to_a", result)
        scores = result["a_to_b"]["scores"]
        self.assertGreaterEqual(scores["translator"]["labels_kept"], 0.9)
        self.assertGreaterEqual(scores["real"]["labels_kept"], 0.9)
        self.assertGreaterEqual(scores["translator"]["target_rate"], 0.9)
        self.assertNotIn("cycle_l1", result["a_to_b"])
        self.assertGreater(result["a_to_b"]["identity_l1"], 0.5)

    def test_unlabelled_cyclegan_folders_use_the_two_domains_classifier(self):
        # Dark noise (domain A) and bright noise (domain B), RGB: brightening is the translation.
        directory = tempfile.mkdtemp(dir=self.get_temp_dir())
        rng = np.random.default_rng(0)
        for folder, count in (("trainA", 64), ("trainB", 64), ("testA", 12), ("testB", 16)):
            os.makedirs(os.path.join(directory, folder))
            low = 0 if folder.endswith("A") else 160
            for i in range(count):
                pixels = rng.integers(low, low + 96, (16, 16, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(os.path.join(directory, folder, f"{i}.png"))
        output_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
        result = evaluate_translation.evaluate(lambda x: x + 1.25, f"cyclegan:{directory}", output_dir, image_size=16,
                                               channels=3, translate_back=lambda x: x - 1.25,
                                               cache_dir=self.cache_dir, classifier_epochs=3)
        self.assertEqual(result["num_examples"], 12)  # The smaller test domain's, on both sides.
        self.assertEqual((result["classifiers"]["a"], result["classifiers"]["b"]), (None, None))
        for direction in ("a_to_b", "b_to_a"):
            scores = result[direction]
            self.assertEqual(scores["feature_space"], result["classifiers"]["domains"]["key"])
            self.assertGreaterEqual(scores["scores"]["translator"]["target_rate"], 0.9, direction)
            self.assertLessEqual(scores["scores"]["input"]["target_rate"], 0.1, direction)
            self.assertLess(scores["cycle_l1"], 0.05, direction)  # Clipping at +-1 loses a little.

    def test_bad_input(self):
        output_dir = self.get_temp_dir()
        kwargs = dict(image_size=SIZE, channels=1, cache_dir=self.cache_dir)
        with self.assertRaisesRegex(ValueError, "is a images spec: translators are scored on paired specs"):
            evaluate_translation.evaluate(lambda x: x, self.squares, output_dir, **kwargs)
        with self.assertRaisesRegex(ValueError, "is a paired spec"):
            evaluate_translation.evaluate(lambda x: x, f"pair:invert:{self.squares}", output_dir,
                                          translate_back=lambda x: x, **kwargs)
        with self.assertRaisesRegex(ValueError, r"the translator turned images \(100, 28, 28, 1\) into "
                                                r"\(100, 28, 28, 3\); expected \(100, 28, 28, 1\)"):
            evaluate_translation.evaluate(lambda x: np.tile(x, [1, 1, 1, 3]), f"pair:invert:{self.squares}",
                                          output_dir, num_samples=100, **kwargs)

    def test_the_evaluate_command_scores_a_cyclegan_export_both_ways(self):
        # The spec of test_unpaired_labels_kept, whose classifiers (3 epochs, the shared cache) it reuses.
        # An untrained CycleGAN pair exported as a run exports it: the command reads its spec and both
        # directions from the export alone (training is translation_gans_test's).
        dataset = f"unpaired:{self.squares}|invert:{self.squares}"
        nets = [models.build_translator("resnet", input_shape=(SIZE, SIZE, 1), output_shape=(SIZE, SIZE, 1),
                                        conditional=False, g_width=2, seed=seed, resnet_blocks=1, patch_size=1)[0]
                for seed in (0, 1)]
        reverse_spec = export.spec_of(nets[1])
        forward_spec = dataclasses.replace(export.spec_of(nets[0]), variant="cyclegan", dataset=dataset,
                                           state={"reverse": json.loads(reverse_spec.to_json())})
        export_dir = export.export_generator(nets[0], self.get_temp_dir(), "cyclegan", spec=forward_spec,
                                             reverse=nets[1])
        result = subprocess.run(
            [sys.executable, "-m", "tfgan_course.evaluate", f"--export_dir={export_dir}", "--num_samples=20",
             "--classifier_epochs=3", f"--cache_dir={self.cache_dir}"], capture_output=True, text=True, timeout=600,
            check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with open(os.path.join(export_dir, "eval", "eval.json")) as f:
            scores = json.load(f)
        self.assertEqual((scores["kind"], scores["dataset"]), ("unpaired", dataset))
        self.assertIn("cycle", result.stdout.lower())  # Both directions: the export's reverse signature answered.

if __name__ == "__main__":
    tf.test.main()
