"""Text to image (StackGAN-lite): captions, the captioned data, the losses, the train step, the export and serving."""

import json
import math
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from serving import client as client_lib
from tests import fixtures, serving_fixtures
from tfgan_course import captions, data, experiment, export, losses, trained, variants
from tfgan_course import config as config_lib
from tfgan_course.gans import text_to_image
from tfgan_course.models import stackgan

NAMES = captions.FASHION_MNIST_CLASSES


def _garment(width, ink=255, pattern=False, size=28):
    """A uint8 [size, size] image: a centred 20-row block `width` wide of `ink` (a checkerboard of ink and
    ink / 2 with `pattern`) on black."""
    image = np.zeros((size, size), np.uint8)
    top, left = 4, (size - width) // 2
    block = np.full((20, width), ink, np.uint8)
    if pattern:
        block[(np.arange(20)[:, None] + np.arange(width)) % 2 == 1] = ink // 2
    image[top:top + 20, left:left + width] = block
    return image


def keras_outputs(model, names):
    """The model's layers `names` as outputs, from the same inputs."""
    return keras.Model(model.inputs, [model.get_layer(name).output for name in names])


def _tiny_config(directory, **changes):
    return config_lib.Config(dataset=f"captions:idx:{directory}", model="stackgan", image_size=28, latent_dim=12,
                             text_code_dim=4, g_width=4, d_width=4, batch_size=4, **changes)


class CaptionsTest(tf.test.TestCase):

    def test_measures_of_constructed_images(self):
        plain, patterned = _garment(10), _garment(20, ink=128, pattern=True)
        values = captions.measures(np.stack([plain, patterned]))
        self.assertAllClose(values[0], [1.0, 10 / 28, 0.0], atol=1e-6)  # Full ink, 10 of 28 columns, flat inside.
        self.assertAllClose(values[1, :2], [(128 + 64) / 2 / 255, 20 / 28], atol=2e-3)
        # Inside the checkerboard each pixel differs from its 4 neighbours by 64: |4 x 64| / 255.
        self.assertAllClose(values[1, 2], 4 * 64 / 255, atol=0.05)
        # [-1, 1] floats measure as their uint8 pixels do.
        self.assertAllClose(captions.measures(plain[None].astype(np.float32) / 127.5 - 1.0)[0], values[0], atol=1e-5)

    def test_attributes_against_per_class_medians(self):
        # Class 0: a bright narrow plain garment and a dim wide patterned one; class 1 the other way round.
        images = np.stack([_garment(8), _garment(22, ink=120, pattern=True), _garment(22, ink=120, pattern=True),
                           _garment(8)])
        labels = np.array([0, 0, 1, 1])
        thresholds = captions.fit_thresholds(images, labels, 2)
        self.assertAllEqual(captions.attributes(images, labels, thresholds),
                            [[0, 0, 0], [1, 1, 1], [1, 1, 1], [0, 0, 0]])  # dark, wide, patterned = 1
        self.assertEqual(captions.caption(captions.TRAIN_TEMPLATES[0], "coat", [1, 1, 1]), "a dark, wide, patterned coat")

    def test_captions_are_deterministic_per_image_and_use_the_split_phrasings(self):
        rng = np.random.default_rng(0)
        labels, values = rng.integers(0, 10, 50), rng.integers(0, 2, (50, 3))
        texts = captions.captions(labels, values, NAMES)
        self.assertAllEqual(captions.captions(labels, values, NAMES), texts)
        self.assertAllEqual(captions.captions(labels[:7], values[:7], NAMES), texts[:7])  # Not the batch's.
        self.assertLen({captions.template_indices([i], "train")[0] for i in range(50)}, len(captions.TRAIN_TEMPLATES))
        for text, label in zip(texts, labels):
            self.assertIn(NAMES[label], text.decode())
        test_texts = captions.captions(labels, values, NAMES, split="test")
        self.assertTrue(set(test_texts).isdisjoint(captions.every_caption(NAMES, "train")))
        # The held-out phrasings' new words are out of vocabulary; the class and attribute words are not.
        vocabulary = captions.vocabulary(NAMES)
        self.assertNotIn("picture", vocabulary)
        self.assertContainsSubset({"dark", "light", "wide", "narrow", "plain", "patterned", "tshirt", "boot"},
                                  vocabulary)

    def test_captioned_spec_yields_images_captions_labels_and_attributes(self):
        directory = fixtures.write_squares(tempfile.mkdtemp(dir=self.get_temp_dir()), num_train=40, num_test=20)
        dataset, info = data.make_dataset(f"captions:idx:{directory}", image_size=28, channels=1, batch_size=20,
                                          shuffle=False)
        self.assertEqual((info.kind, info.num_classes, info.image_shape), ("captioned", 10, (28, 28, 1)))
        batch = next(iter(dataset))
        self.assertEqual(batch["image"].shape, (20, 28, 28, 1))
        self.assertEqual(batch["caption"].dtype, tf.string)
        self.assertEqual(batch["attributes"].shape, (20, 3))
        for text, label in zip(batch["caption"].numpy(), batch["label"].numpy()):
            self.assertIn(f"class {label}", text.decode())  # An unknown source's classes are numbered.
        again = next(iter(data.make_dataset(f"captions:idx:{directory}", image_size=28, channels=1, batch_size=20,
                                            shuffle=False)[0]))
        self.assertAllEqual(again["caption"], batch["caption"])
        test = next(iter(data.make_dataset(f"captions:idx:{directory}", image_size=28, channels=1, batch_size=20,
                                           split="test", shuffle=False)[0]))
        self.assertTrue(all(text.decode().startswith(("a picture", "an image")) for text in test["caption"].numpy()))
        images, labels = data.take(dataset, 5)  # What the sample figures and FID take of captioned data.
        self.assertEqual((images.shape, labels.shape), ((5, 28, 28, 1), (5,)))

    def test_captions_of_an_unlabelled_spec_are_refused(self):
        directory = fixtures.write_squares(tempfile.mkdtemp(dir=self.get_temp_dir()), num_train=20, num_test=10,
                                           labelled=False)
        with self.assertRaisesRegex(ValueError, "captions:SPEC takes a labelled image spec"):
            data.make_dataset(f"captions:idx:{directory}", image_size=28, channels=1, batch_size=4)


class LossesTest(tf.test.TestCase):

    def test_conditioning_augmentation_kl_is_the_gaussians_kl(self):
        mu = tf.constant([[0.5, -1.0], [0.0, 0.0]])
        log_sigma = tf.constant([[0.0, math.log(2.0)], [0.0, 0.0]])
        # Example 1: 1/2 [(1 + 0.25 - 1 - 0) + (4 + 1 - 1 - 2 ln 2)] / 2 dimensions; example 2 is N(0, I): 0.
        self.assertAllClose(losses.conditioning_augmentation_kl(mu, log_sigma), 0.7159264097 / 2, atol=1e-6)

    def test_matching_aware_loss_weighs_the_three_pairs(self):
        real, fake, wrong = tf.constant([[2.0], [0.0]]), tf.constant([[-1.0], [1.0]]), tf.constant([[0.5], [-3.0]])
        # mean softplus(-real) + 1/2 mean softplus(fake) + 1/2 mean softplus(wrong).
        self.assertAllClose(losses.matching_aware_discriminator_loss(real, fake, wrong), 1.0723345235, atol=1e-6)
        # Only the wrong-text pair moves when D accepts mismatched texts more.
        more = losses.matching_aware_discriminator_loss(real, fake, wrong + 1.0)
        self.assertGreater(float(more), 1.0723345235)

    def test_mismatched_texts_are_the_previous_examples(self):
        self.assertAllEqual(text_to_image.mismatched(tf.constant(["a", "b", "c"])), [b"c", b"a", b"b"])


class NetworksTest(tf.test.TestCase):
    """The text encoder's word dropout and attention pooling, and D's two text terms."""

    def test_word_dropout_replaces_words_by_the_oov_token_in_training_only(self):
        words = tf.constant([[5, 6, 1, 7, 0, 0]] * 2000)  # Three words, the OOV token 1, padding 0.
        dropout = stackgan.WordDropout(0.25, seed=3)
        self.assertAllEqual(dropout(words, training=False), words)
        dropped = dropout(words, training=True).numpy()
        for column, word in ((0, 5), (1, 6), (3, 7)):
            self.assertAllInSet(dropped[:, column], [word, 1])
        self.assertAllEqual(dropped[:, [2, 4, 5]], np.tile([1, 0, 0], (2000, 1)))  # OOV and padding stay.
        self.assertNear(np.mean(dropped[:, [0, 1, 3]] == 1), 0.25, 0.02)
        with self.assertRaisesRegex(ValueError, r"rate must be in \[0, 1\)"):
            stackgan.WordDropout(1.0)

    def test_attention_pooling_weighs_the_words_and_ignores_the_padding(self):
        embedded = tf.random.stateless_normal([2, 5, 3], seed=[1, 2])
        mask = tf.constant([[True, True, True, False, False], [True] * 5])
        pooling = stackgan.AttentionPooling(seed=0)
        pooling.build(embedded.shape)
        scores = pooling.score(embedded)[..., 0].numpy()
        for row, length in enumerate((3, 5)):
            weights = np.exp(scores[row, :length]) / np.exp(scores[row, :length]).sum()
            expected = (weights[:, None] * embedded[row, :length].numpy()).sum(axis=0)
            self.assertAllClose(pooling(embedded, mask=mask)[row], expected, atol=1e-6)
        pooling.score.set_weights([np.zeros((3, 1)), np.zeros(1)])  # Equal scores: the masked mean.
        self.assertAllClose(pooling(embedded, mask=mask)[0], tf.reduce_mean(embedded[0, :3], axis=0), atol=1e-6)

    def test_the_discriminator_adds_the_projection_of_text_and_image_features(self):
        vocabulary = captions.vocabulary(NAMES)
        d = stackgan.discriminator((28, 28, 1), width=4, seed=0, vocabulary=vocabulary)
        images = tf.random.stateless_uniform([3, 28, 28, 1], seed=[3, 4], minval=-1, maxval=1)
        inputs = [images, text_to_image.half_size(images), tf.constant(["a dark coat", "a light bag", "a coat"])]
        parts = keras_outputs(d, ["stage2_d_joint_logits", "stage2_d_features", "stage2_d_projection"])(inputs)
        joint, features, projected = (p.numpy() for p in parts)
        logits = d(inputs)[0].numpy()
        self.assertAllClose(logits, joint + np.sum(features * projected, axis=1, keepdims=True), atol=1e-4)
        self.assertGreater(np.std(np.sum(features * projected, axis=1)), 0)  # The text moves the logits.


class TrainStepTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.directory = fixtures.write_squares(tempfile.mkdtemp(), num_train=40, num_test=20)

    def test_a_step_changes_both_stages_and_both_text_encoders(self):
        config = _tiny_config(self.directory)
        dataset, info = data.make_dataset(config.dataset, image_size=28, channels=1, batch_size=4, repeat=True)
        model = variants.build(config, info.image_shape, num_classes=info.num_classes, data_kind=info.kind)
        layers = {"generator": ["g_text_encoder", "stage1_dense", "stage2_out"],
                  "discriminator": ["d_text_encoder", "stage1_d_joint_logits", "stage2_d_projection"]}
        before = {name: [w.numpy().copy() for w in getattr(model, net).get_layer(name).trainable_weights]
                  for net, names in layers.items() for name in names}
        history = model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0).history
        for net, names in layers.items():
            for name in names:
                after = getattr(model, net).get_layer(name).trainable_weights
                self.assertTrue(any(not np.allclose(b, a.numpy()) for b, a in zip(before[name], after)), name)
        self.assertContainsSubset({"d_loss", "g_loss", "kl", "D(x) mismatched", "stage1_d_loss"}, history)
        self.assertEqual([i.kind for i in model.spec.inputs], ["latent", "text"])
        self.assertEqual(model.spec.num_classes, 10)
        grid = model.fixed_inputs(np.zeros((20, 12), np.float32))
        self.assertEqual((grid.nrow, len(grid.inputs["text"])), (2, 20))  # A row of 2 per class prompt.
        self.assertEqual(model.grid_images(grid.inputs).shape, (20, 28, 28, 1))

    def test_other_data_and_other_models_are_refused_with_the_fix(self):
        with self.assertRaisesRegex(ValueError, "needs a captioned --dataset, e.g. captions:fashion_mnist"):
            variants.validate(_tiny_config(self.directory).replace(dataset="fashion_mnist"), "images")
        with self.assertRaisesRegex(ValueError, "gives captioned images, for text-to-image: use --model=stackgan"):
            variants.validate(config_lib.Config(dataset="captions:fashion_mnist", model="cdcgan"), "captioned")
        with self.assertRaisesRegex(ValueError, "--latent_dim=4 must exceed --text_code_dim=4"):
            variants.build(_tiny_config(self.directory, ).replace(latent_dim=4), (28, 28, 1), num_classes=10,
                           data_kind="captioned")


class TextExportTest(tf.test.TestCase):
    """The export's signatures in process and through the embedded server (gRPC and REST)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        directory = fixtures.write_squares(tempfile.mkdtemp(), num_train=8, num_test=4)
        cls.model = variants.build(_tiny_config(directory), (28, 28, 1), num_classes=10, data_kind="captioned")
        cls.base = tempfile.mkdtemp()
        cls.path = export.export_generator(cls.model.sampler, cls.base, "t2i", spec=cls.model.spec)
        cls.serve = tf.saved_model.load(cls.path).signatures
        cls.server, cls.clients = serving_fixtures.serve_exports(cls.base)

    @classmethod
    def tearDownClass(cls):
        serving_fixtures.stop_serving(cls.server, cls.clients)
        super().tearDownClass()

    def test_signatures_answer_as_the_generator(self):
        export.check_signatures(self.path)
        prompts = tf.constant(["a dark, wide, patterned class 3", "a light bag with zzyzx words"])  # OOV words too.
        z = tf.random.stateless_normal([2, 12], seed=[1, 2])
        expected = self.model.sampler([z, prompts], training=False)
        self.assertAllClose(self.serve["serving_default"](text=prompts, z=z)["images"], expected, atol=1e-5)
        answer = self.serve["generate"](text=prompts, seed=tf.constant([5, 6], tf.int64))
        self.assertEqual(answer["images_uint8"].shape, (2, 28, 28, 1))
        one = self.serve["generate"](text=prompts[1:], seed=tf.constant([6], tf.int64))
        self.assertAllEqual(one["images_uint8"][0], answer["images_uint8"][1])  # Not the batch's.
        loaded = trained.from_export(self.path)
        self.assertEqual(loaded.spec, self.model.spec)
        self.assertEqual(loaded.prompted(["a plain coat", "a bag"], seed=3).shape, (2, 28, 28, 1))
        with self.assertRaisesRegex(ValueError, r"makes images from text: draw them with prompted\(prompts, seed\)"):
            loaded.sample(2)

    def test_an_empty_prompt_is_invalid(self):
        for prompt in ("", "  ", "?!"):
            with self.subTest(prompt), self.assertRaisesRegex(tf.errors.InvalidArgumentError, "at least one word"):
                self.serve["generate"](text=tf.constant(["a coat", prompt]), seed=tf.constant([0, 1], tf.int64))

    def test_served_over_grpc_and_rest(self):
        expected = self.serve["generate"](text=tf.constant(["a dark coat", "a bag"]),
                                          seed=tf.constant([7, 8], tf.int64))["images_uint8"].numpy()
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                images, _ = client_lib.generate(client, "t2i", ["a dark coat", "a bag"], seed=7)
                self.assertAllEqual(images, expected)
                with self.assertRaisesRegex(client_lib.ServingError, "at least one word") as raised:
                    client_lib.generate(client, "t2i", [""])
                self.assertIn(raised.exception.code, ("INVALID_ARGUMENT", "HTTP 400"))
        self.assertTrue(os.path.isfile(os.path.join(self.path, "assets.extra", "tf_serving_warmup_requests")))


class EvaluateTextToImageTest(tf.test.TestCase):
    """Two-step runs of StackGAN-lite and the cDCGAN on captioned squares, scored on the test split's prompts."""

    def test_both_generators_are_scored_on_the_held_out_prompts(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        directory = fixtures.write_squares(os.path.join(root, "squares"), num_train=200, num_test=200)
        steps = {"epochs": 1, "steps_per_epoch": 2, "num_fixed_samples": 4, "log_every_steps": 0}
        text_run = experiment.run(_tiny_config(directory, **steps), os.path.join(root, "t2i"), verbose=0)
        baseline = config_lib.Config(dataset=f"idx:{directory}", model="cdcgan", image_size=28, latent_dim=8, g_width=4,
                                     d_width=4, batch_size=4, **steps)
        experiment.run(baseline, os.path.join(root, "cdcgan"), verbose=0)
        generators = {"stackgan": trained.from_run(os.path.join(root, "t2i")),
                      "cdcgan": trained.from_run(os.path.join(root, "cdcgan"))}
        self.assertEqual(generators["stackgan"].spec, text_run.model.spec)
        # evaluate's command line picks the text-to-image scorer by the spec.
        command = [sys.executable, "-m", "tfgan_course.evaluate", f"--workdir={root}/t2i",
                   f"--baseline_workdir={root}/cdcgan", "--num_samples=200"]
        env = dict(os.environ, TFGAN_COURSE_CACHE=os.path.join(root, "cache"))
        process = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
        self.assertEqual(process.returncode, 0, process.stderr[-3000:])
        self.assertIn("| attribute agreement |", process.stdout)
        with open(os.path.join(root, "t2i", "eval", "eval.json")) as f:
            result = json.load(f)
        self.assertEqual(result["num_prompts"], 200)
        self.assertTrue(result["examples"][0].startswith(("a picture", "an image")))  # Held-out phrasings.
        self.assertEqual(list(result["results"]), ["text-to-image", "class-conditional baseline", "test images"])
        test_images = result["results"]["test images"]
        self.assertEqual(test_images["attribute_agreement"], 1.0)  # Their captions were measured on them.
        self.assertGreater(test_images["prompt_class_accuracy"], 0.5)  # A classifier of 200 squares; chance 0.1.
        for name in ("text-to-image", "class-conditional baseline"):
            scores = result["results"][name]
            for key in ("prompt_class_accuracy", "attribute_agreement", "recall", "fid", "mean_class_fid"):
                self.assertTrue(np.isfinite(scores[key]), (name, key))
        self.assertTrue(os.path.isfile(os.path.join(root, "t2i", "eval", "report.md")))
