"""Runs and exports written by older code (tests/data/legacy/) still resume, evaluate, explore and serve.

tests/data/make_legacy_fixtures.py wrote them (its docstring names the commit): four tiny runs
of 2 steps each, with their checkpoints, losses.csv, flags.cfg and export. Their flags.cfg
reads the data from `idx:tests/data/legacy/data`, relative to the repository root, so these
tests work from there. Only public functions are used, as a user (or a later version of the
project) would; the legacy directory itself is only read: a resumed run trains a copy.
"""

import csv
import io
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl.testing import parameterized
from PIL import Image
from tensorflow_serving.apis import predict_pb2

from serving import model_config, predict
from serving.model_manager import ModelManager
from tfgan_course import experiment, explore, trained

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEGACY = os.path.join("tests", "data", "legacy")  # Relative: as the runs' flags.cfg name their data.
IMAGE_SHAPE = (8, 8, 1)
NUM_CLASSES = 10  # run_cmlp's labels (the fixture's 0..9).


def _images(model, z, labels=None):
    """A trained generator's images for explicit z (and labels: an int, int [N] or None)."""
    feed = {"z": np.asarray(z, np.float32)}
    if labels is not None:
        feed["label"] = np.broadcast_to(np.asarray(labels, np.int32), [len(feed["z"])])
    return model.images(feed)


class Run:
    """One legacy run: its directory (relative to the repository root) and export."""

    def __init__(self, name, model_name, conditional=False, uniform=False, infogan=False):
        self.name = name
        self.workdir = os.path.join(LEGACY, name)
        self.model_name = model_name
        self.model_dir = os.path.join(self.workdir, "export", model_name)
        self.version_dir = os.path.join(self.model_dir, "1")
        self.conditional = conditional
        self.interpolation = "lerp" if uniform else "slerp"
        self.infogan = infogan

    def labels(self, num):
        return np.arange(num, dtype=np.int32) % NUM_CLASSES if self.conditional else None


RUNS = {run.name: run for run in (
    Run("run_mlp", "legacy_mlp"),
    Run("run_cmlp", "legacy_cmlp", conditional=True),
    Run("run_infogan", "legacy_infogan", infogan=True),
    Run("run_uniform", "legacy_uniform", uniform=True),
)}
ALL_RUNS = [dict(testcase_name=name, name=name) for name in RUNS]
# A checkpoint's G and its export draw the same z per seed, hence the same images, for these runs
# (an InfoGAN's export draws N(0, I) for its codes too, its checkpoint draws the codes' own laws).
SAME_Z_RUNS = [dict(testcase_name=name, name=name) for name in ("run_mlp", "run_cmlp", "run_uniform")]


def _listing(directory):
    """{path: (size, mtime)} of every file under `directory`: what a test must not change."""
    listing = {}
    for root, _, files in os.walk(directory):
        for name in files:
            stat = os.stat(os.path.join(root, name))
            listing[os.path.join(root, name)] = (stat.st_size, stat.st_mtime_ns)
    return listing


def _steps_in_csv(workdir):
    with open(os.path.join(workdir, "losses.csv"), newline="") as f:
        return [row for row in csv.DictReader(f)]


class LegacyRunsTest(tf.test.TestCase, parameterized.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._cwd = os.getcwd()
        os.chdir(REPO)
        cls._listing = _listing(LEGACY)

    @classmethod
    def tearDownClass(cls):
        try:
            changed = sorted(set(_listing(LEGACY).items()) ^ set(cls._listing.items()))
            assert not changed, f"A test changed the committed legacy fixtures: {changed[:5]}"
        finally:
            os.chdir(cls._cwd)
            super().tearDownClass()

    def test_fixtures_are_complete(self):
        for run in RUNS.values():
            for name in ("flags.cfg", "losses.csv", "checkpoints/checkpoint", "checkpoints/ckpt-2.index"):
                self.assertTrue(os.path.isfile(os.path.join(run.workdir, name)), f"{run.workdir}/{name}")
            self.assertTrue(os.path.isfile(os.path.join(run.version_dir, "saved_model.pb")), run.version_dir)
            self.assertEqual(trained.run_config(run.workdir).dataset, "idx:tests/data/legacy/data")

    @parameterized.named_parameters(*ALL_RUNS)
    def test_resumes_from_step_2(self, name):
        run = RUNS[name]
        copy = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), name)
        shutil.copytree(run.workdir, copy)
        old_rows = _steps_in_csv(copy)
        self.assertEqual([int(row["step"]) for row in old_rows], [1, 2])
        config = trained.run_config(copy)
        self.assertEqual((config.epochs, config.steps_per_epoch), (1, 2))

        result = experiment.run(config.replace(epochs=2), copy, verbose=0)

        self.assertEqual(result.steps, 4)
        self.assertEqual(int(result.model.d_optimizer.iterations), 4)
        # A fresh start would also end at step 4, but after training two epochs, not the second only.
        self.assertLen(result.history["d_loss"], 1)
        rows = _steps_in_csv(copy)
        self.assertEqual([int(row["step"]) for row in rows], [1, 2, 3, 4])
        self.assertEqual(rows[:2], old_rows)  # The old rows are kept, not rewritten.
        self.assertEqual(sorted(os.listdir(os.path.join(copy, "export", run.model_name))), ["1", "2"])
        self.assertTrue(np.all(np.isfinite(result.model.generate(2, label=None, seed=0))))

    @parameterized.named_parameters(*ALL_RUNS)
    def test_loads_for_evaluation(self, name):
        run = RUNS[name]
        labels = run.labels(4)
        for generated in (trained.from_run(run.workdir), trained.from_export(run.model_dir),
                          trained.from_export(run.version_dir)):
            with self.subTest(generated.description):
                self.assertEqual(tuple(generated.spec.output.shape), IMAGE_SHAPE)
                images = np.asarray(generated.sample(4, 0, labels))
                self.assertEqual(images.shape, (4, *IMAGE_SHAPE))
                self.assertAllInRange(images, -1.0, 1.0)

    @parameterized.named_parameters(*SAME_Z_RUNS)
    def test_checkpoint_and_export_draw_the_same_images(self, name):
        run = RUNS[name]
        from_workdir = explore.load(workdir=run.workdir)
        from_export = explore.load(export_dir=run.model_dir)
        z = from_workdir.latents_for_seeds([3, 4, 5])
        self.assertAllClose(z, from_export.latents_for_seeds([3, 4, 5]))
        label = 1 if run.conditional else None
        self.assertAllClose(_images(from_workdir, z, label), _images(from_export, z, label), atol=1e-5)
        if run.interpolation == "slerp":  # evaluate's export sampler draws N(0, I) z, as generate does.
            labels = run.labels(3)
            self.assertAllClose(trained.from_run(run.workdir).sample(3, 7, labels),
                                trained.from_export(run.model_dir).sample(3, 7, labels), atol=1e-5)

    @parameterized.named_parameters(*ALL_RUNS)
    def test_loads_for_exploration(self, name):
        run = RUNS[name]
        out_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
        label = {"label": 1} if run.conditional else {}
        for source, model in (("workdir", explore.load(workdir=run.workdir)),
                              ("export", explore.load(export_dir=run.model_dir))):
            with self.subTest(source):
                self.assertEqual(model.spec.conditional, run.conditional)
                self.assertEqual(model.spec.num_classes, NUM_CLASSES if run.conditional else 0)
                self.assertEqual(model.spec.interpolation, run.interpolation)
                out = os.path.join(out_dir, f"{source}.png")
                written = explore.explore(model, "interpolate", out, seeds=[1, 2], steps=3, **label)
                self.assertEqual(list(written), [out])
                self.assertEqual(written[out].shape, (1, 3, *IMAGE_SHAPE))
                self.assertTrue(os.path.isfile(out))
        if run.infogan:
            written = explore.explore(explore.load(workdir=run.workdir), "codes", os.path.join(out_dir, "codes.png"),
                                      seeds=[0], steps=3)
            self.assertCountEqual([os.path.basename(path) for path in written],
                                  ["codes_c1.png", "codes_categorical.png"])

    def test_uniform_export_interpolates_with_lerp(self):
        run = RUNS["run_uniform"]
        model = explore.load(export_dir=run.model_dir)
        self.assertEqual(model.spec.interpolation, "lerp")
        z = model.latents_for_seeds([1, 2])
        self.assertAllInRange(z, 0.0, 1.0)  # U[0, 1), recognised from the sample signature.
        strip = explore.explore(model, "interpolate", os.path.join(self.get_temp_dir(), "lerp.png"), seeds=[1, 2],
                                steps=3)
        (images,) = strip.values()
        # The middle image is G at the straight midpoint of the two z.
        self.assertAllClose(images[0, 1], _images(model, (z[:1] + z[1:]) / 2)[0], atol=1e-5)

    @parameterized.named_parameters(*ALL_RUNS)
    def test_serves_the_sample_signature(self, name):
        run = RUNS[name]
        manager = ModelManager(poll_seconds=0)  # Replays the export's warmup records at load.
        self.addCleanup(manager.stop)
        manager.start(model_config.single_model_config(run.model_name, run.model_dir))
        servable = manager.lookup(run.model_name)
        self.assertEqual(servable.version, 1)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = run.model_name
        request.model_spec.signature_name = "sample"
        request.inputs["seed"].CopyFrom(tf.make_tensor_proto(np.array([0, 1, 2], np.int64)))
        if run.conditional:
            request.inputs["label"].CopyFrom(tf.make_tensor_proto(run.labels(3)))
        response = predict.predict(servable, request)
        self.assertEqual(response.model_spec.signature_name, "sample")
        images = tf.make_ndarray(response.outputs["images_uint8"])
        self.assertEqual(images.dtype, np.uint8)
        self.assertEqual(images.shape, (3, *IMAGE_SHAPE))
        pngs = tf.make_ndarray(response.outputs["images_png_bytes"])
        self.assertEqual(pngs.shape, (3,))
        for png, image in zip(pngs, images):
            self.assertAllEqual(np.asarray(Image.open(io.BytesIO(png))).reshape(IMAGE_SHAPE), image)
        if not run.infogan:  # The image served for a seed is the one explore draws for it.
            model = explore.load(workdir=run.workdir)
            expected = _images(model, model.latents_for_seeds([0, 1, 2]), run.labels(3))
            expected = np.round((np.clip(expected, -1, 1) + 1) * 127.5)
            self.assertLessEqual(np.abs(expected - images.astype(np.float64)).max(), 1.0)


if __name__ == "__main__":
    tf.test.main()
