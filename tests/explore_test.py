"""python -m tfgan_course.explore on tiny untrained exports and checkpoints: every mode, its files, its errors."""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import explore, export, gan, latent, models, variants
from tfgan_course.gans import infogan


def _perturb(generator, scale=0.05):
    """Moves G's weights away from a fresh build's (and, at a large scale, from images that ignore z)."""
    rng = np.random.RandomState(1)
    for weight in generator.trainable_weights:
        weight.assign(weight + scale * rng.normal(size=weight.shape).astype(np.float32))
    return generator


def _save_run(workdir, config, num_classes=0):
    """A training run's flags.cfg and one checkpoint, without training: the GAN whose weights it holds."""
    model = variants.build(config, (config.image_size, config.image_size, config.channels),
                                 num_classes=num_classes)
    # Only a real restore reproduces this model's images.
    _perturb(model.generator)
    model.checkpoint().save(os.path.join(workdir, "checkpoints", "ckpt"))
    with open(os.path.join(workdir, "flags.cfg"), "w") as f:
        f.write(config.to_flagfile())
    return model


def _uint8(images):
    return export.to_uint8(images).numpy().astype(np.int32)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tfgan_course.explore", *args], capture_output=True, text=True,
                          timeout=300, check=False)


class ExploreTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        generator, _ = models.build("mlp", image_shape=(8, 8, 1), latent_dim=8, g_width=8, seed=0)
        cls.export_dir = os.path.dirname(export.export_generator(generator, cls.root, "mlp"))
        cls.exported = explore.load(export_dir=cls.export_dir)
        cls.signatures = tf.saved_model.load(os.path.join(cls.export_dir, "1")).signatures
        conditional, _ = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=8, g_width=8, seed=0, num_classes=3)
        cls.cmlp_export = os.path.dirname(export.export_generator(conditional, cls.root, "cmlp", num_classes=3))
        data_dir = fixtures.write_idx(os.path.join(cls.root, "idx"), num_images=20)
        tiny = config_lib.Config(dataset=f"idx:{data_dir}", image_size=8, latent_dim=4, g_width=4, d_width=4)
        cls.info_run = os.path.join(cls.root, "infogan_run")
        cls.info_gan = _save_run(cls.info_run, tiny.replace(model="infogan", info_categories=3, info_continuous=1))
        cls.cmlp_run = os.path.join(cls.root, "cmlp_run")
        cls.cmlp_gan = _save_run(cls.cmlp_run, tiny.replace(model="cmlp"), num_classes=10)

    def out(self, name):
        return os.path.join(self.get_temp_dir(), name)

    def sampled(self, seeds, signatures=None, label=None):
        """The export's `sample` signature's images for `seeds`: uint8 as int32 [N, H, W, C]."""
        feed = {"seed": tf.constant(seeds, tf.int64)}
        if label is not None:
            feed["label"] = tf.fill([len(seeds)], label)
        return (signatures or self.signatures)["sample"](**feed)["images_uint8"].numpy().astype(np.int32)

    def test_an_export_is_driven_through_its_signatures(self):
        model = self.exported
        self.assertEqual((model.spec.latent.size, model.spec.conditional, model.spec.num_classes,
                          model.spec.interpolation), (8, False, 0, "slerp"))
        # A seed names the z the sample signature draws (and answers as its output z).
        sampled_z = self.signatures["sample"](seed=tf.constant([5, 9], tf.int64))["z"]
        self.assertAllEqual(model.latents_for_seeds([5, 9]), sampled_z)
        self.assertAllEqual(model.latents_for_seeds([5, 9]), latent.seeded_z([5, 9], 8))
        self.assertAllClose(_uint8(model.images({"z": model.latents_for_seeds([5, 9])})), self.sampled([5, 9]),
                            atol=1)

    def test_seeds_of_a_uniform_z_export_and_an_infogan_export(self):
        generator, discriminator = models.build("mlp", image_shape=(8, 8, 1), latent_dim=8, g_width=8, seed=0)
        uniform = gan.GAN(generator, discriminator, latent_dim=8, latent_distribution="uniform")
        model = explore.load(export_dir=export.export_generator(generator, self.root, "uniform",
                                                                spec=uniform.generator_spec()))
        self.assertEqual(model.spec.interpolation, "lerp")
        self.assertAllEqual(model.latents_for_seeds([2, 3]), uniform.seeded_inputs(tf.constant([2, 3])))
        generator, discriminator = models.build("infogan", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0,
                                                codes=(3, 1))
        # An untrained InfoGAN G draws ~0 for every input, which any z would match: move its weights.
        _perturb(generator, scale=0.5)
        info = infogan.InfoGAN(generator, discriminator, latent_dim=4, num_categories=3, num_continuous=1)
        info_export = export.export_generator(generator, self.root, "info", spec=info.generator_spec())
        model = explore.load(export_dir=info_export)
        # The spec says where the codes are: a seed names what the sample signature draws.
        self.assertEqual((model.spec.latent.size, model.spec.latent.categorical, model.spec.interpolation),
                         (8, 3, "slerp"))
        self.assertAllEqual(model.latents_for_seeds([2, 3]), info.seeded_inputs(tf.constant([2, 3])))
        swept = explore.codes(model, self.out("codes.png"), seeds=[2], steps=3)
        self.assertLen(swept, 2)  # c1 and categorical, from an export.

    def test_interpolation_strip_and_gif_run_from_seed_to_seed(self):
        out = self.out("interpolate.png")
        written = explore.interpolate(self.exported, out, seeds=[3, 7, 11], steps=5, gif=True)
        gif = self.out("interpolate.gif")
        self.assertEqual(list(written), [out, gif])
        strip = written[out]
        self.assertEqual(strip.shape, (2, 5, 8, 8, 1))
        self.assertAllClose(_uint8(strip[:, 0]), self.sampled([3, 7]), atol=1)
        self.assertAllClose(_uint8(strip[:, -1]), self.sampled([7, 11]), atol=1)
        self.assertNotAllClose(strip[0, 2], strip[0, 0])
        # The same path the export's interpolate signature serves.
        z = self.exported.latents_for_seeds([3, 7, 11])
        served = self.signatures["interpolate"](z_start=z[:-1], z_end=z[1:], num_steps=tf.constant([5, 5]))
        self.assertAllClose(strip, served["images"], atol=1e-5)
        with Image.open(out) as image:
            self.assertEqual(image.format, "PNG")
        with Image.open(gif) as animation:
            self.assertEqual(animation.n_frames, 9)  # 2 paths of 5, sharing seed 7's frame
            self.assertGreaterEqual(min(animation.size), 128)
        self.assertEqual(written[gif].shape, (9, 8, 8, 1))
        lerp = explore.interpolate(self.exported, out, seeds=[3, 7], steps=5, interpolation="lerp")[out]
        self.assertNotAllClose(lerp[0, 2], strip[0, 2])

    def test_arithmetic_draws_the_mean_z_combination(self):
        out = self.out("arithmetic.png")
        drawn = explore.arithmetic(self.exported, out, concept_a=[1, 2], concept_b=[3], concept_c=[4, 5, 6])[out]
        z = latent.seeded_z(list(range(1, 7)), 8).numpy()
        result = z[0:2].mean(0) - z[2] + z[3:6].mean(0)
        serve = self.signatures["serving_default"]
        self.assertAllClose(drawn[3], serve(z=tf.constant(result[None]))["images"][0], atol=1e-6)
        self.assertAllClose(drawn[1], serve(z=tf.constant(z[2:3]))["images"][0], atol=1e-6)
        self.assertTrue(os.path.isfile(out))

    def test_grid_is_centered_on_the_seed(self):
        out = self.out("grid.png")
        images = explore.grid(self.exported, out, seeds=[4], dims=[2, 5], span=1.0, steps=3)[out]
        self.assertEqual(images.shape, (3, 3, 8, 8, 1))
        self.assertAllClose(_uint8(images[1, 1][None]), self.sampled([4]), atol=1)
        self.assertNotAllClose(images[0, 1], images[2, 1])
        self.assertNotAllClose(images[1, 0], images[1, 2])
        z = self.exported.latents_for_seeds([4])[0]
        z[5] += 1.0  # Middle row, last column: the second dim at +span.
        self.assertAllClose(images[1, 2], self.exported.images({"z": z[None]})[0], atol=1e-6)
        randomly = explore.grid(self.exported, out, seeds=[4], random_directions=True, steps=3)[out]
        self.assertAllClose(randomly[1, 1], images[1, 1], atol=1e-6)
        self.assertNotAllClose(randomly[0, 0], images[0, 0])

    def test_class_sweep_keeps_z_and_changes_the_label(self):
        model = explore.load(export_dir=self.cmlp_export)  # generator.json says 3 classes
        self.assertEqual(model.spec.num_classes, 3)
        out = self.out("classes.png")
        images = explore.classes(model, out, seeds=[2, 8])[out]
        self.assertEqual(images.shape, (2, 3, 8, 8, 1))
        signatures = tf.saved_model.load(os.path.join(self.cmlp_export, "1")).signatures
        for label in range(3):
            self.assertAllClose(_uint8(images[:, label]), self.sampled([2, 8], signatures, label), atol=1)
        self.assertNotAllClose(images[0, 0], images[0, 1])
        self.assertNotAllClose(images[0, 1], images[0, 2])
        self.assertTrue(os.path.isfile(out))

    def test_a_conditional_checkpoint_knows_its_classes(self):
        model = explore.load(workdir=self.cmlp_run)
        self.assertEqual((model.spec.conditional, model.spec.num_classes), (True, 10))
        out = self.out("classes.png")
        images = explore.classes(model, out, seeds=[6])[out]
        self.assertEqual(images.shape, (1, 10, 8, 8, 1))
        for label in (0, 9):
            self.assertAllClose(images[0, label], self.cmlp_gan.generate(1, label=label, seed=6)[0], atol=1e-6)
        with self.assertRaisesRegex(ValueError, "--label 10 is out of range: .* has classes 0..9"):
            explore.interpolate(model, out, seeds=[1, 2], label=10)
        with self.assertRaisesRegex(ValueError, "is conditional: pass --label, the class in 0..9"):
            explore.grid(model, out)
        with self.assertRaisesRegex(ValueError, "checkpoint .* has none in its spec"):
            explore.codes(model, out)

    def test_code_sweeps_of_an_infogan_checkpoint(self):
        model = explore.load(workdir=self.info_run)
        self.assertEqual(model.spec.latent.size, 4 + 3 + 1)  # noise, one-hot category, continuous code
        out = self.out("codes.png")
        written = explore.codes(model, out, seeds=[5], steps=4, span=1.0)
        c1, categorical = self.out("codes_c1.png"), self.out("codes_categorical.png")
        self.assertEqual(sorted(written), sorted([c1, categorical]))
        self.assertEqual(written[c1].shape, (3, 4, 8, 8, 1))  # categorical values x continuous steps
        self.assertEqual(written[categorical].shape, (1, 3, 8, 8, 1))
        noise = self.info_gan.seeded_inputs(tf.constant([5])).numpy()[0, :4]
        sweep = latent.code_sweeps(self.info_gan.input_specs()[0], noise, steps=4, span=1.0)["c1"]
        expected = self.info_gan.images(sweep.inputs)
        self.assertAllClose(written[c1].reshape(expected.shape), expected, atol=1e-6)
        self.assertNotAllClose(written[c1][0, 0], written[c1][0, -1])
        for path in written:
            self.assertTrue(os.path.isfile(path), path)
        # Seeds name what generate draws, codes included: the path's ends are the seeds' samples.
        strip = explore.interpolate(model, out, seeds=[1, 2], steps=3)[out]
        self.assertAllClose(strip[0, [0, -1]], np.concatenate([self.info_gan.generate(1, seed=s) for s in (1, 2)]),
                            atol=1e-5)

    def export_without_description(self):
        """A copy of the cmlp export as written before generator.json existed."""
        old = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "cmlp")
        shutil.copytree(self.cmlp_export, old)
        os.remove(os.path.join(old, "1", "assets.extra", "generator.json"))
        return old

    def test_what_a_model_cannot_do(self):
        out = self.out("x.png")
        cases = [
            (lambda: explore.codes(self.exported, out), "has none in its spec"),
            (lambda: explore.classes(self.exported, out), "takes none"),
            (lambda: explore.classes(explore.load(export_dir=self.export_without_description()), out),
             "pass --num_classes"),
            (lambda: explore.load(export_dir=self.export_dir, num_classes=3), "--num_classes is for conditional"),
            (lambda: explore.grid(self.exported, out, dims=[0, 8]), r"out of range: z has 8 dimensions"),
            (lambda: explore.grid(self.exported, out, dims=[0, 1], random_directions=True), "not both"),
            (lambda: explore.grid(self.exported, out, direction_seed=3), "with --random_directions only"),
            (lambda: explore.grid(self.exported, out, seeds=[1, 2]), "exactly 1 seed"),
            (lambda: explore.interpolate(self.exported, out, seeds=[3]), "at least 2 seed"),
            (lambda: explore.interpolate(self.exported, out), "needs at least 2 seed"),
            (lambda: explore.interpolate(self.exported, out, seeds=[3, 4], label=1), "takes no --label"),
            (lambda: explore.arithmetic(self.exported, out, concept_a=[1], concept_b=[2]), "--concept_c"),
            (lambda: explore.explore(self.exported, "zoom", out), "valid modes: interpolate, arithmetic"),
        ]
        for call, message in cases:
            with self.assertRaisesRegex(ValueError, message):
                call()
        self.assertFalse(os.path.exists(out))

    def test_cli(self):
        out = self.out("cli.png")
        result = _cli(f"--export_dir={self.export_dir}", "--mode=interpolate", "--seeds=3,7", "--steps=4", "--gif",
                      f"--out={out}")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn(f"Wrote {out}", result.stdout)
        with Image.open(out.replace(".png", ".gif")) as animation:
            self.assertEqual(animation.n_frames, 4)
        result = _cli(f"--export_dir={self.export_dir}", "--mode=codes")
        self.assertEqual(result.returncode, 1)
        self.assertIn("error: --mode=codes sweeps an InfoGAN's latent codes", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_cli_usage_errors(self):
        # Answered before TensorFlow loads: no model is needed to see these.
        for args, message in (
                (["--mode=grid"], "exactly one of --workdir"),
                ([f"--workdir={self.info_run}", f"--export_dir={self.export_dir}", "--mode=grid"], "exactly one of"),
                ([f"--export_dir={self.export_dir}"], "--mode is required"),
                ([f"--export_dir={self.export_dir}", "--mode=interpolate"], "--mode=interpolate needs --seeds"),
                ([f"--export_dir={self.export_dir}", "--mode=grid", "--gif"], "--gif is for --mode=interpolate"),
                ([f"--export_dir={self.export_dir}", "--mode=grid", "--dims=a,b"], "--dims takes integers")):
            result = _cli(*args)
            self.assertEqual(result.returncode, 2, args)
            self.assertTrue(result.stderr.startswith("error: "), result.stderr)
            self.assertIn(message, result.stderr.splitlines()[0])
            self.assertNotIn("Traceback", result.stderr)
        result = _cli("--help")  # absl exits 1 after printing the help, as for every entry point here.
        for mode in explore.MODES:
            self.assertIn(f"--mode={mode}", result.stdout)


if __name__ == "__main__":
    tf.test.main()
