"""The context encoder (models/context_encoder.py, gans/context_encoder.py): its input, loss weights, step, run."""

import os
import tempfile

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import data, experiment, gan, inpaint, inpainting, losses, models, spec, trained, variants
from tfgan_course.gans import context_encoder
from tfgan_course.models import context_encoder as context_encoder_models

TINY = dict(model="context_encoder", image_size=8, channels=1, batch_size=4, g_width=4, d_width=4, epochs=1,
            steps_per_epoch=2, log_every_steps=0, num_fixed_samples=4)


def _model(**changes):
    config = config_lib.Config(dataset="fashion_mnist", **{**TINY, **changes})
    return variants.build(config, (config.image_size, config.image_size, 1))


class ContextEncoderPartsTest(tf.test.TestCase, parameterized.TestCase):

    def test_the_input_is_the_mean_filled_image_with_the_mask_as_a_channel(self):
        layer = context_encoder_models.MeanFill((4, 4, 1))
        layer.mean_image.assign(np.full((4, 4, 1), 0.5, np.float32))
        images = np.full((1, 4, 4, 1), -1.0, np.float32)  # Fashion-MNIST's background: a -1 fill would hide the hole.
        mask = inpainting.centre_mask((4, 4), 2)
        inputs = layer([tf.constant(images), tf.constant(mask)]).numpy()
        self.assertEqual(inputs.shape, (1, 4, 4, 2))
        self.assertAllEqual(inputs[0, :, :, 0], [[-1, -1, -1, -1], [-1, 0.5, 0.5, -1], [-1, 0.5, 0.5, -1],
                                                 [-1, -1, -1, -1]])
        self.assertAllEqual(inputs[..., 1:], mask)
        self.assertEqual(context_encoder_models.MeanFill.from_config(layer.get_config()).image_shape, (4, 4, 1))

    def test_the_channelwise_layer_connects_every_position_but_never_two_channels(self):
        layer = context_encoder_models.ChannelwiseDense(seed=3)
        inputs = np.zeros((1, 3, 3, 2), np.float32)
        inputs[0, 0, 0, 0] = 1.0  # One position of channel 0.
        outputs = layer(inputs).numpy()
        self.assertEqual([tuple(w.shape) for w in layer.weights], [(2, 9, 9), (2, 9)])  # C (h w)^2, not (C h w)^2
        self.assertAllClose(outputs[0, :, :, 0].ravel(), layer.kernel.numpy()[0, 0] + layer.bias.numpy()[0])
        self.assertAllClose(outputs[0, :, :, 1].ravel(), layer.bias.numpy()[1])  # Channel 1 saw nothing.
        rebuilt = context_encoder_models.ChannelwiseDense.from_config(layer.get_config())
        self.assertEqual(rebuilt.seed, 3)

    def test_the_overlap_band_weighs_the_known_pixels_around_the_hole(self):
        mask = inpainting.centre_mask((6, 6), 2)  # Rows and columns 2..3 missing.
        band = inpainting.overlap_band(mask, 1).numpy()[0, :, :, 0]
        expected = np.zeros((6, 6))
        expected[1:5, 1:5] = 1.0
        expected[2:4, 2:4] = 0.0
        self.assertAllEqual(band, expected)  # The 12 known pixels of the 4x4 ring.
        self.assertAllEqual(inpainting.overlap_band(mask, 0), np.zeros_like(mask))
        weights = inpainting.reconstruction_weights(mask, 1, 10.0).numpy()[0, :, :, 0]
        self.assertAllEqual(weights, mask[0, :, :, 0] + 10.0 * expected)
        # Hand-computed: error 1 on every pixel of the hole (4 pixels, weight 1) and 2 on the band (12, weight 10):
        # (4 * 1 * 1 + 12 * 10 * 4) / (4 + 120) = 484 / 124.
        targets = np.zeros((1, 6, 6, 1), np.float32)
        images = mask + 2.0 * expected[None, :, :, None]
        self.assertAllClose(losses.weighted_l2_distance(images, targets, weights[None, :, :, None]), 484.0 / 124.0)
        # Errors outside the hole and its band do not count.
        images[0, 0, 0, 0] = 5.0
        self.assertAllClose(losses.weighted_l2_distance(images, targets, weights[None, :, :, None]), 484.0 / 124.0)

    def test_square_masks_place_each_square(self):
        masks = inpainting.square_masks(tf.constant([0, 2]), tf.constant([1, 0]), (4, 5), 2).numpy()
        self.assertEqual(masks.shape, (2, 4, 5, 1))
        self.assertAllEqual(masks[0, :, :, 0], [[0, 1, 1, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
        self.assertAllEqual(masks[1, :, :, 0], [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 0, 0, 0]])

    def test_training_masks_mix_the_centre_hole_and_squares_anywhere(self):
        model = _model(hole_size=3)
        masks = model.training_masks(64).numpy()
        self.assertEqual(masks.shape, (64, 8, 8, 1))
        self.assertAllEqual(masks.sum(axis=(1, 2, 3)), np.full(64, 9.0))
        self.assertAllEqual(masks[0::2], np.broadcast_to(inpainting.centre_mask((8, 8), 3), (32, 8, 8, 1)))
        corners = {tuple(np.argwhere(m[..., 0])[0]) for m in masks[1::2]}
        self.assertGreater(len(corners), 5)  # Random squares, not one place.
        self.assertNotAllEqual(masks[1::2], model.training_masks(64).numpy()[1::2])  # New draws every step.

    def test_a_train_step_moves_both_networks_and_weighs_its_two_terms(self):
        model = _model(adversarial_weight=0.25)
        model._mean_image = lambda: np.full((8, 8, 1), 0.25, np.float32)
        model.before_training(resumed=False)
        self.assertAllEqual(model.generator.get_layer("mean_fill").mean_image, np.full((8, 8, 1), 0.25))
        g_before = [w.numpy() for w in model.generator.trainable_weights]
        d_before = [w.numpy() for w in model.discriminator.trainable_weights]
        logs = model.train_step(tf.random.stateless_uniform([4, 8, 8, 1], [0, 1], -1.0, 1.0))
        self.assertEqual(set(logs), set(model.metric_names))
        self.assertAllClose(logs["g_loss"], 0.75 * logs["reconstruction_loss"] + 0.25 * logs["adversarial_loss"])
        for before, networks in ((g_before, model.generator), (d_before, model.discriminator)):
            self.assertTrue(any(not np.array_equal(a, b.numpy()) for a, b in zip(before, networks.trainable_weights)))
        # The mean image is no trainable weight: the step leaves it.
        self.assertAllEqual(model.generator.get_layer("mean_fill").mean_image, np.full((8, 8, 1), 0.25))
        model._mean_image = lambda: np.zeros((8, 8, 1), np.float32)
        model.before_training(resumed=True)  # A resumed run keeps its checkpoint's mean.
        self.assertAllEqual(model.generator.get_layer("mean_fill").mean_image, np.full((8, 8, 1), 0.25))

    def test_spec_takes_an_image_and_its_mask(self):
        model = _model(hole_size=4)
        self.assertEqual([(i.name, i.kind, i.shape) for i in model.spec.inputs],
                         [("images", "image", (8, 8, 1)), ("mask", "mask", (8, 8, 1))])
        self.assertTrue(model.spec.inpaints and model.spec.translates)
        self.assertEqual((model.spec.variant, model.spec.state["hole_size"], model.spec.state["overlap"]),
                         ("context_encoder", 4, 1))
        self.assertEqual(spec.GeneratorSpec.from_json(model.spec.to_json()), model.spec)

    def test_get_config_round_trips(self):
        model = _model(overlap=2, overlap_weight=5.0)
        config = model.get_config()
        self.assertEqual({key: config[key] for key in ("hole_size", "overlap", "overlap_weight", "adversarial_weight")},
                         {"hole_size": 4, "overlap": 2, "overlap_weight": 5.0, "adversarial_weight": 1e-3})
        rebuilt = context_encoder.ContextEncoder.from_config(config)
        self.assertEqual(rebuilt.get_config()["overlap"], 2)
        self.assertIsInstance(rebuilt, gan.GAN)

    @parameterized.parameters(
        ("hole_size=8 must be at least 1 and smaller", {"hole_size": 8}),
        (r"--overlap must be >= 0", {"overlap": -1}),
        (r"--hole_size=3 is for the context_encoder variant, not the plain variant", {"model": "dcgan", "hole_size": 3}),
        (r"--latent_dim=8 does not apply to the context_encoder variant", {"latent_dim": 8}),
        (r"--resnet_blocks=2 is for the pix2pix or cyclegan or srresnet or srgan variants", {"resnet_blocks": 2}),
    )
    def test_bad_options_are_one_line_errors(self, pattern, changes):
        with self.assertRaisesRegex(ValueError, pattern):
            _model(**changes)

    def test_paired_data_is_refused(self):
        config = config_lib.Config(dataset="pair:edges:fashion_mnist", **TINY)
        with self.assertRaisesRegex(ValueError, "context_encoder inpaints images: it trains on an image --dataset"):
            variants.validate(config, "paired")
        with self.assertRaisesRegex(ValueError, "build_inpainter builds it"):
            models.build("context_encoder", image_shape=(8, 8, 1), latent_dim=4)
        with self.assertRaisesRegex(ValueError, "--model=dcgan is unconditional, not an inpainter: use "
                                                "--model=context_encoder"):
            models.build_inpainter("dcgan", image_shape=(8, 8, 1))


class ContextEncoderRunTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        directory = fixtures.write_idx(os.path.join(cls.root, "data"), num_images=16, size=8)
        fixtures.write_idx(directory, num_images=8, size=8, split="test", seed=1)
        cls.config = config_lib.Config(dataset=f"idx:{directory}", **TINY)
        cls.workdir = os.path.join(cls.root, "run")
        cls.result = experiment.run(cls.config, cls.workdir, verbose=0)

    def test_the_run_sets_the_training_mean_and_writes_its_grid(self):
        self.assertIsInstance(self.result.model, context_encoder.ContextEncoder)
        self.assertEqual(self.result.steps, 2)
        train_images, _, _ = data.load_examples(self.config.dataset, "train", 16, (8, 8, 1))
        self.assertAllClose(self.result.model.generator.get_layer("mean_fill").mean_image,
                            train_images.mean(axis=0), atol=1e-6)
        self.assertTrue(os.path.isfile(os.path.join(self.workdir, "samples", "epoch_0001.png")))
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "real_vs_fake.png")))  # No z to sample.
        # The export inpaints, with the first test images for the demo page.
        served = tf.saved_model.load(self.result.export_dir).signatures
        self.assertEqual(set(served), {"serving_default", "inpaint", "inpaint_png", "examples"})
        self.assertEqual(int(served["examples"](index=tf.constant([0]))["num_examples"][0]), 8)

    def test_the_restored_run_inpaints_with_known_pixels_bit_exact(self):
        restored = trained.load(workdir=self.workdir)
        self.assertTrue(restored.spec.inpaints)
        self.assertAllEqual(restored.spec.inputs, self.result.model.spec.inputs)
        images = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 1)).astype(np.float32)
        mask = inpainting.random_square_masks(3, (8, 8), 3, seed=1)
        completed = restored.inpaint(images, mask)
        self.assertAllEqual(completed[mask == 0], images[mask == 0])
        predicted = self.result.model.images({"images": images, "mask": mask})
        self.assertAllClose(completed[mask == 1], predicted[mask == 1], atol=1e-6)
        with self.assertRaisesRegex(ValueError, "no inpainter"):
            trained.TrainedGenerator(spec.GeneratorSpec([spec.latent_input(2)], [spec.output_for((2,))]),
                                     "a toy", lambda inputs: None).inpaint(images, mask)


class ContextEncoderEvaluationTest(tf.test.TestCase):

    def test_inpaint_scores_a_context_encoder_run_beside_the_baselines(self):
        root = self.get_temp_dir()
        directory = fixtures.write_squares(os.path.join(root, "squares"), num_train=300, num_test=40)
        config = config_lib.Config(dataset=f"idx:{directory}", **{**TINY, "image_size": 28, "batch_size": 8})
        workdir = os.path.join(root, "run")
        experiment.run(config, workdir, verbose=0)
        scores = inpaint.run(workdir, num_images=16, batch_size=5, classifier_epochs=2,
                             cache_dir=os.path.join(root, "classifiers"))
        self.assertEqual((scores["num_images"], scores["mask"]), (16, "centre 14x14"))
        self.assertEqual(list(scores["scores"]), ["mean fill", "diffusion fill", "context encoder", "original"])
        for key in ("hole_psnr", "psnr", "ssim", "accuracy", "fid", "kid", "seconds"):
            self.assertTrue(np.isfinite(scores["scores"]["context encoder"][key]), key)
        # Known pixels exact (the evaluation checks it): the whole image's error is the hole's diluted 4-fold.
        self.assertAllClose(scores["scores"]["context encoder"]["psnr"] - scores["scores"]["context encoder"]["hole_psnr"],
                            10 * np.log10(4), atol=1e-6)
        self.assertEqual(scores["fills"]["context encoder"]["hole_size"], 14)
        self.assertTrue(os.path.isfile(os.path.join(workdir, "inpaint", "samples.png")))
