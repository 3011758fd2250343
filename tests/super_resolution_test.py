"""SRResNet and SRGAN (gans/super_resolution.py, gans/warm_start.py): training, the warm start, the content losses."""

import csv
import os
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf

from tests import fixtures
from tfgan_course import classifier, evaluate, experiment, spec, trained, variants
from tfgan_course import config as config_lib
from tfgan_course.gans import super_resolution

TINY = dict(model="srresnet", image_size=8, channels=1, batch_size=2, g_width=2, d_width=2, resnet_blocks=1,
            epochs=1, steps_per_epoch=2, log_every_steps=0, num_fixed_samples=4)


def _rows(workdir):
    with open(os.path.join(workdir, "losses.csv")) as f:
        return list(csv.DictReader(f))


class SuperResolutionTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        data = fixtures.write_idx(os.path.join(cls.root, "data"), num_images=16, size=8)
        fixtures.write_idx(data, num_images=8, size=8, split="test")
        cls.config = config_lib.Config(dataset=f"lowres:2:idx:{data}", **TINY)
        # One SRResNet run that the SRGAN tests start from.
        cls.srresnet_dir = os.path.join(cls.root, "srresnet")
        cls.srresnet = experiment.run(cls.config, cls.srresnet_dir, verbose=0)

    def _dir(self):
        return tempfile.mkdtemp(dir=self.get_temp_dir())

    def test_srresnet_trains_g_on_mse_only_and_writes_an_upscaler_spec(self):
        model = self.srresnet.model
        self.assertIsInstance(model, super_resolution.SRResNet)
        self.assertEqual(self.srresnet.steps, 2)
        self.assertEqual(list(_rows(self.srresnet_dir)[0])[2:], ["g_loss", "content_loss"])
        saved = spec.read(os.path.join(self.srresnet_dir, spec.CHECKPOINTS))
        self.assertEqual((saved.family, saved.variant, saved.state), ("srresnet", "srresnet",
                                                                      {"scale": 2, "content_loss": "mse"}))
        self.assertEqual((saved.input("image").shape, saved.output.shape), ((4, 4, 1), (8, 8, 1)))
        # D is built, never trained: its weights are the fresh D's.
        fresh = variants.build(self.config, (8, 8, 1), data_kind="paired",
                               shapes={"input": (4, 4, 1), "target": (8, 8, 1)})
        for a, b in zip(model.discriminator.weights, fresh.discriminator.weights):
            self.assertAllEqual(a, b)
        self.assertTrue(os.path.isfile(os.path.join(self.srresnet_dir, "samples", "epoch_0001.png")))
        self.assertFalse(os.path.exists(os.path.join(self.srresnet_dir, "d_outputs.png")))  # No D outputs to draw.
        # The export upscales: 4x4 in, 8x8 out, and the loader of trained generators reads it.
        loaded = trained.load(export_dir=self.srresnet.export_dir)
        self.assertEqual(loaded.translate(np.zeros((3, 4, 4, 1), np.float32)).shape, (3, 8, 8, 1))

    def test_srgan_starts_from_the_srresnet_and_adds_a_weighted_adversarial_term(self):
        config = self.config.replace(variant="srgan", init_from=self.srresnet_dir, adversarial_weight=0.5)
        model = variants.build(config, (8, 8, 1), data_kind="paired", shapes={"input": (4, 4, 1), "target": (8, 8, 1)})
        model.before_training(resumed=False)
        for a, b in zip(model.generator.weights, self.srresnet.model.generator.weights):
            self.assertAllEqual(a, b)
        # A resumed run keeps its own weights.
        fresh = variants.build(config, (8, 8, 1), data_kind="paired", shapes={"input": (4, 4, 1), "target": (8, 8, 1)})
        before = [w.numpy() for w in fresh.generator.weights]
        fresh.before_training(resumed=True)
        self.assertAllEqual(before[0], fresh.generator.weights[0])

        workdir = self._dir()
        result = experiment.run(config, workdir, verbose=0)
        self.assertIsInstance(result.model, super_resolution.SRGAN)
        for row in _rows(workdir):
            self.assertAllClose(float(row["g_loss"]),
                                float(row["content_loss"]) + 0.5 * float(row["adversarial_loss"]), rtol=1e-5)
        self.assertEqual(spec.read(os.path.join(workdir, spec.CHECKPOINTS)).variant, "srgan")
        self.assertTrue(os.path.isfile(os.path.join(workdir, "d_outputs.png")))

    def test_get_config_round_trips(self):
        srgan = variants.build(self.config.replace(variant="srgan", adversarial_weight=0.5, init_from="somewhere"),
                               (8, 8, 1), data_kind="paired", shapes={"input": (4, 4, 1), "target": (8, 8, 1)})
        for model in (self.srresnet.model, srgan):
            config = model.get_config()
            self.assertEqual(type(model).from_config(config).get_config(), config)
        self.assertEqual((srgan.get_config()["adversarial_weight"], srgan.get_config()["init_from"]), (0.5, "somewhere"))

    def test_init_from_errors_are_one_line(self):
        missing = os.path.join(self._dir(), "nothing")
        other = self.config.replace(g_width=3, variant="srgan")
        shapes = {"input": (4, 4, 1), "target": (8, 8, 1)}
        for config, pattern in (
                (self.config.replace(variant="srgan", init_from=missing),
                 rf"--init_from={missing}: no checkpoint there; pass the --workdir of a finished SRResNet run"),
                (other.replace(init_from=self.srresnet_dir),
                 rf"--init_from={self.srresnet_dir}: its generator's weights do not fit this one \(other --g_width")):
            model = variants.build(config, (8, 8, 1), data_kind="paired", shapes=shapes)
            with self.subTest(pattern), self.assertRaisesRegex(ValueError, pattern) as raised:
                model.before_training(resumed=False)
            self.assertNotIn("\n", str(raised.exception))
        # A run of other sizes is named by its spec.
        bigger = self.config.replace(dataset=self.config.dataset.replace("lowres:2", "lowres:4"), image_size=8,
                                     variant="srgan", init_from=self.srresnet_dir)
        model = variants.build(bigger, (8, 8, 1), data_kind="paired", shapes={"input": (2, 2, 1), "target": (8, 8, 1)})
        with self.assertRaisesRegex(ValueError, r"its generator is --model=srresnet from \(4, 4, 1\) to \(8, 8, 1\), "
                                                r"this run's --model=srresnet from \(2, 2, 1\)"):
            model.before_training(resumed=False)

    def test_variant_choice_and_option_errors(self):
        self.assertEqual(variants.variant_name(self.config, "paired"), "srresnet")
        cases = (
            (self.config.replace(adversarial_weight=0.1), "--adversarial_weight=0.1 is for the srgan or context_encoder "
                                                          "variants, not the srresnet variant"),
            (self.config.replace(penalty="gradient"), "--penalty=gradient does not apply to the srresnet variant"),
            (self.config.replace(patch_size=16), "--patch_size=16 is for the pix2pix or cyclegan variants"),
            (self.config.replace(content_loss="vgg"), r"Unknown --content_loss='vgg'; valid values: features, mse"),
            (self.config.replace(model="unet", variant="pix2pix", content_loss="features"),
             "--content_loss=features is for the srresnet or srgan variants"))
        for config, pattern in cases:
            with self.subTest(pattern), self.assertRaisesRegex(ValueError, pattern):
                variants.validate(config, "paired")
        with self.assertRaisesRegex(ValueError, r"--model=srresnet upscales images: it needs low- and high-resolution "
                                                r"pairs, e.g. --dataset=lowres:4:fashion_mnist"):
            variants.validate(self.config, "unpaired")


class PerceptualLossTest(tf.test.TestCase):
    """The features content loss trains against a classifier of its own seed, never the one that scores."""

    def test_srgan_compares_features_of_the_loss_seeds_classifier(self):
        cache = tempfile.mkdtemp(dir=self.get_temp_dir())
        patch = mock.patch.dict(os.environ, {classifier.CACHE_ENV: cache})
        patch.start()
        self.addCleanup(patch.stop)
        data = fixtures.write_squares(tempfile.mkdtemp(dir=self.get_temp_dir()))
        spec_ = f"idx:{data}"
        scoring = classifier.load_or_train(spec_, image_size=28, channels=1, epochs=2)
        # Trained here for 2 epochs (100% on the squares), the run below finds it in the cache.
        loss = classifier.loss_network(spec_, image_size=28, channels=1, epochs=2)
        self.assertEqual((scoring.seed, loss.seed), (0, classifier.LOSS_SEED))
        self.assertNotEqual(scoring.key, loss.key)
        self.assertNotAllClose(scoring.model.get_layer("conv0").kernel, loss.model.get_layer("conv0").kernel)

        config = config_lib.Config(dataset=f"lowres:4:{spec_}", content_loss="features",
                                   **{**TINY, "image_size": 28})
        workdir = tempfile.mkdtemp(dir=self.get_temp_dir())
        result = experiment.run(config, workdir, verbose=0)
        self.assertEqual(result.model.spec.state["loss_network"],
                         {"dataset": spec_, "seed": classifier.LOSS_SEED, "layer": classifier.LOSS_LAYER})
        # The content loss it logged is the feature distance in the loss network, not in the scoring one.
        images = result.model.generator(np.zeros((2, 7, 7, 1), np.float32), training=False)
        extract = classifier.feature_maps(loss)
        self.assertEqual(extract(images).shape, (2, 12, 12, 64))
        self.assertNotAllClose(extract(images), classifier.feature_maps(scoring)(images))
        self.assertTrue(np.isfinite(float(_rows(workdir)[-1]["content_loss"])))
        # `evaluate` scores the run with the seed-0 classifier, beside bicubic, naming the loss's network.
        score, _ = evaluate._translator_scorer()
        scores = score(trained.load(workdir=workdir), config.dataset, os.path.join(workdir, "eval"), 20)
        self.assertEqual((scores["classifier"]["key"], scores["classifier"]["seed"]), (scoring.key, 0))
        self.assertEqual(scores["loss_network"], result.model.spec.state["loss_network"])
        self.assertEqual(list(scores["scores"]), ["translator", "bicubic", "real"])


if __name__ == "__main__":
    tf.test.main()
