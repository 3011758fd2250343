"""The evaluator: the CLI on a tiny training run, exports, FID during training, --keep_best, bad input."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf

from tests import fixtures
from tfgan_course import classifier, data, evaluate, experiment, spec, trained, variants
from tfgan_course import config as config_lib


class EvaluateTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        cls.cache_dir = os.path.join(cls.root, "cache")
        cls.data_dir = fixtures.write_squares(os.path.join(cls.root, "squares"))
        cls.config = config_lib.Config(dataset=f"idx:{cls.data_dir}", model="mlp", image_size=28, epochs=2,
                                       steps_per_epoch=3, batch_size=16, g_width=8, d_width=8, num_fixed_samples=4,
                                       log_every_steps=0)
        cls.workdir = os.path.join(cls.root, "run")
        cls.result = experiment.run(cls.config, cls.workdir, verbose=0)

    def test_cli_writes_eval_json_and_the_report(self):
        env = dict(os.environ, TFGAN_COURSE_CACHE=self.cache_dir)
        result = subprocess.run(
            [sys.executable, "-m", "tfgan_course.evaluate", f"--workdir={self.workdir}", "--num_samples=100"],
            capture_output=True, text=True, timeout=600, check=False, env=env)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with open(os.path.join(self.workdir, "eval", "eval.json")) as f:
            scores = json.load(f)
        self.assertEqual((scores["num_real"], scores["num_generated"]), (100, 100))
        self.assertGreaterEqual(scores["classifier"]["test_accuracy"], 0.9)
        # The squares are no KNOWN_DATASETS dataset: a classifier of their own at the run's 28x28.
        self.assertRegex(scores["classifier"]["key"], rf"^squares-[0-9a-f]{{8}}_28x28x1_v{classifier.VERSION}$")
        self.assertEqual(scores["images"], {"generated_shape": [28, 28, 1], "scored_shape": [28, 28, 1],
                                            "scored_as": "28x28 as they are"})
        for name in ("fid", "kid", "kid_std", "precision", "recall", "classifier_score", "class_kl",
                     "checkerboard_energy"):
            self.assertTrue(np.isfinite(scores["generated"][name]), name)
        self.assertBetween(scores["real_vs_real"]["checkerboard_energy"], 0.0, 1.0)
        # Five steps of an 8-unit MLP are far from the data; test images are not.
        self.assertGreater(scores["generated"]["fid"], 10 * scores["real_vs_real"]["fid"])
        self.assertEqual(scores["real_vs_real"]["classes_covered"], 10)
        for name in ("report.md", "nearest_neighbours.png", "class_histogram.png"):
            self.assertTrue(os.path.isfile(os.path.join(self.workdir, "eval", name)), name)
        self.assertIn("| FID |", result.stdout)
        self.assertIn("| checkerboard energy |", result.stdout)

    def test_an_export_scores_like_its_checkpoint(self):
        output_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
        generated = trained.from_export(os.path.dirname(self.result.export_dir))
        self.assertEqual(generated.spec.output.shape, (28, 28, 1))
        scores = evaluate.evaluate(generated, self.config.dataset, output_dir, num_samples=50,
                                   cache_dir=self.cache_dir)
        self.assertTrue(np.isfinite(scores["generated"]["fid"]))
        from_checkpoint = trained.from_run(self.workdir)
        self.assertEqual(generated.spec, from_checkpoint.spec)
        self.assertAllClose(generated.sample(4, 3, None), from_checkpoint.sample(4, 3, None), atol=1e-5)

    def test_a_larger_run_of_a_known_dataset_is_scored_at_the_native_size(self):
        output_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
        # The perfect 56x56 generator: it makes the very test images evaluate draws, at 56x56 as the data
        # pipeline gives them, so its FID is the real-vs-real baseline's.
        perfect_images, _, _ = data.load_examples(self.config.dataset, "test", 50, (56, 56, 1), seed=0)
        generator_spec = spec.GeneratorSpec([spec.Input("z", "latent", (8,), distribution="normal", noise_dim=8)],
                                            [spec.Output("images", "image", (56, 56, 1), value_range=(-1, 1))])
        perfect = trained.TrainedGenerator(generator_spec, "the test split at 56x56",
                                           lambda inputs: perfect_images[:len(inputs["z"])])
        # Known like Fashion-MNIST: 28x28 natively, so one 28x28 classifier scores every resolution.
        with mock.patch.dict(classifier.KNOWN_DATASETS, {"squares": classifier.KnownDataset(28, 0.0)}):
            scores = evaluate.evaluate(perfect, self.config.dataset, output_dir, num_samples=50,
                                       cache_dir=tempfile.mkdtemp(dir=self.get_temp_dir()), classifier_epochs=1)
        self.assertEqual(scores["images"], {"generated_shape": [56, 56, 1], "scored_shape": [28, 28, 1],
                                            "scored_as": "56x56 area-downsampled to 28x28"})
        record = scores["classifier"]
        self.assertEqual((record["key"], record["input_shape"], record["any_size"], record["version"]),
                         (f"squares_28x28x1_v{classifier.VERSION}", [28, 28, 1], True, classifier.VERSION))
        self.assertEqual((record["epochs"], record["seed"]), (1, 0))
        self.assertGreater(record["train_seconds"], 0)
        self.assertAllClose(scores["generated"]["fid"], scores["real_vs_real"]["fid"], rtol=1e-4)
        with open(os.path.join(output_dir, "report.md")) as f:
            report = f.read()
        self.assertIn(f"Classifier `squares_28x28x1_v{classifier.VERSION}`: 28x28x1 input", report)
        self.assertIn("Images scored at 56x56 area-downsampled to 28x28, generated and real alike", report)

    def test_bad_input(self):
        empty = tempfile.mkdtemp(dir=self.get_temp_dir())
        with self.assertRaisesRegex(ValueError, "not a training run: it has no flags.cfg"):
            trained.from_run(empty)
        with open(os.path.join(empty, "flags.cfg"), "w") as f:
            f.write(self.config.to_flagfile())
        with self.assertRaisesRegex(ValueError, "holds no checkpoint yet"):
            trained.from_run(empty)
        with self.assertRaisesRegex(ValueError, "neither a SavedModel"):
            trained.from_export(empty)
        other = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run")
        shutil.copytree(os.path.join(self.workdir, "checkpoints"), os.path.join(other, "checkpoints"))
        with open(os.path.join(other, "flags.cfg"), "w") as f:
            f.write(self.config.replace(g_width=2 * self.config.g_width).to_flagfile())
        with self.assertRaisesRegex(ValueError, r"does not fit the networks that .*flags.cfg builds today .*"
                                                r"Load the run's export with --export_dir=\.\.\. instead"):
            trained.from_run(other)
        generated = trained.from_run(self.workdir)
        unlabelled = fixtures.write_squares(tempfile.mkdtemp(dir=self.get_temp_dir()), labelled=False)
        with self.assertRaisesRegex(ValueError, "no labels"):
            evaluate.evaluate(generated, f"idx:{unlabelled}", empty, num_samples=20, cache_dir=self.cache_dir)
        toy_spec = spec.GeneratorSpec([spec.Input("z", "latent", (2,), distribution="normal", noise_dim=2)],
                                      [spec.Output("images", "points", (2,))])
        toy = trained.TrainedGenerator(toy_spec, "a toy generator", lambda inputs: np.zeros([len(inputs["z"]), 2]))
        with self.assertRaisesRegex(ValueError, "toy vectors"):
            evaluate.evaluate(toy, self.config.dataset, empty, num_samples=20, cache_dir=self.cache_dir)

    def test_fid_during_training_and_keep_best(self):
        os.environ["TFGAN_COURSE_CACHE"] = self.cache_dir
        try:
            workdir = tempfile.mkdtemp(dir=self.get_temp_dir())
            config = self.config.replace(epochs=3, eval_every_epochs=1, eval_num_samples=40, keep_best=True)
            result = experiment.run(config, workdir, verbose=0)
        finally:
            del os.environ["TFGAN_COURSE_CACHE"]
        self.assertLen(result.history["fid"], 3)
        with open(os.path.join(workdir, "eval.csv")) as f:
            rows = f.read().splitlines()
        self.assertEqual(rows[0], "step,epoch,num_samples,fid,kid,kid_std")
        self.assertLen(rows, 4)
        with open(os.path.join(workdir, "best.json")) as f:
            best = json.load(f)
        self.assertAlmostEqual(best["fid"], min(result.history["fid"]))
        self.assertTrue(tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints_best")))

    def test_keep_best_needs_evaluation(self):
        with self.assertRaisesRegex(ValueError, "--keep_best needs --eval_every_epochs"):
            variants.validate(config_lib.Config(keep_best=True))

    def test_flagfile_round_trip(self):
        self.assertEqual(config_lib.Config.from_flagfile(self.config.to_flagfile()), self.config)
        with self.assertRaisesRegex(ValueError, "Unknown flag --colour"):
            config_lib.Config.from_flagfile("--colour=red\n")


if __name__ == "__main__":
    tf.test.main()
