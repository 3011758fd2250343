"""The variant registry: selection, validation across registries, and a new variant added in a few lines."""

import os
import tempfile
from unittest import mock

import tensorflow as tf

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import experiment, gan, run_flags, spec, trained, variants
from tfgan_course.gans import began

TINY = dict(model="mlp", image_size=8, channels=1, batch_size=4, latent_dim=8, g_width=8, d_width=8,
            epochs=1, steps_per_epoch=2, log_every_steps=0, num_fixed_samples=8)


class HingeTwinGAN(gan.GAN):
    """A stand-in for a new variant: G's loss scaled by 2, logged as an extra value."""

    variant = "twin"
    metric_names = gan.GAN.metric_names + ("twice_g_loss",)

    def generator_loss(self, fake_outputs, condition):
        return 2.0 * super().generator_loss(fake_outputs, condition)

    def finish_step(self, real_outputs, fake_outputs, fake_outputs_after, condition):
        logs = super().finish_step(real_outputs, fake_outputs, fake_outputs_after, condition)
        return {**logs, "twice_g_loss": 2.0 * self.loss_pair.generator(fake_outputs_after)}


class VariantsTest(tf.test.TestCase):

    def test_auto_picks_the_family_variant_and_began_for_its_loss(self):
        for changes, name in (({}, "plain"), ({"model": "cmlp"}, "conditional"), ({"model": "infogan"}, "infogan"),
                              ({"loss": "began"}, "began"), ({"variant": "began"}, "began")):
            with self.subTest(changes):
                self.assertEqual(variants.variant_name(config_lib.Config(**changes)), name)

    def test_mismatches_are_one_clear_error(self):
        cases = [({"model": "cmlp", "loss": "began"}, "began variant trains unconditional model families"),
                 ({"variant": "conditional"}, "trains conditional model families; --model=dcgan is unconditional"),
                 ({"variant": "began", "loss": "hinge"}, "trains with --loss=began, not --loss=hinge"),
                 ({"variant": "plain", "loss": "began"}, "needs the began variant's discriminator"),
                 ({"variant": "stylegan"}, "Unknown --variant='stylegan'; valid values: auto, began"),
                 ({"loss": "hinge", "label_smoothing": 0.1}, "--label_smoothing needs --loss=minimax"),
                 ({"model": "cmlp", "pack": 2}, "--pack=2 needs the plain variant .* not the conditional variant"),
                 ({"model": "infogan", "pack": 2}, "--pack=2 needs the plain variant .* not the infogan variant"),
                 ({"loss": "began", "pack": 2}, "--pack=2 needs the plain variant .* not the began variant")]
        for changes, message in cases:
            with self.subTest(changes):
                with self.assertRaisesRegex(ValueError, message):
                    variants.validate(config_lib.Config(**changes))

    def test_a_run_recorded_before_a_default_changed_still_loads_and_resumes(self):
        # A flags.cfg records every option: one a variant does not take, recorded at an old default, is
        # not that run's experiment (here StackGAN's KL weight and PGGAN's phases in a plain run).
        workdir = tempfile.mkdtemp()
        recorded = config_lib.Config(**TINY, kl_weight=5.0, stable_images=7)
        with open(os.path.join(workdir, "flags.cfg"), "w") as f:
            f.write(recorded.to_flagfile())
        with self.assertRaisesRegex(ValueError, "--stable_images=7 is for the progressive variant"):
            variants.validate(recorded)
        self.assertEqual(trained.run_config(workdir), config_lib.Config(**TINY))
        self.assertEqual(run_flags.check_resume(config_lib.Config(**TINY), workdir, "ckpt-2",
                                                normalise=variants.without_foreign_options), [])
        with self.assertRaisesRegex(ValueError, "--kl_weight: was 5.0, now 2.0"):
            run_flags.check_resume(config_lib.Config(**TINY), workdir, "ckpt-2")
        # An option the variant takes is kept: it is the experiment.
        stackgan = config_lib.Config(**{**TINY, "model": "stackgan"}, kl_weight=5.0, stable_images=7)
        self.assertEqual((variants.without_foreign_options(stackgan).kl_weight,
                          variants.without_foreign_options(stackgan).stable_images), (5.0, 30_000))

    def test_the_build_records_the_spec(self):
        model = variants.build(config_lib.Config(**TINY, loss="began"), (8, 8, 1))
        self.assertIsInstance(model, began.BEGAN)
        self.assertEqual((model.spec.variant, model.spec.family, model.spec.output.shape),
                         ("began", "mlp", (8, 8, 1)))

    def test_a_new_variant_is_a_subclass_and_one_registry_line(self):
        """The design check: a variant trains, checkpoints, logs, exports and loads through every consumer."""
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        data_dir = fixtures.write_idx(os.path.join(root, "data"), num_images=16, size=8)
        twin = variants.Variant(HingeTwinGAN, "unconditional", lambda config, num_classes: ({}, {}))
        with mock.patch.dict(variants.VARIANTS, {"twin": twin}):
            config = config_lib.Config(**TINY, dataset=f"idx:{data_dir}", variant="twin")
            result = experiment.run(config, os.path.join(root, "run"), verbose=0)
            self.assertIsInstance(result.model, HingeTwinGAN)
            self.assertIn("twice_g_loss", result.history)
            with open(os.path.join(root, "run", "losses.csv")) as f:
                self.assertIn("twice_g_loss", f.readline())
            from_run = trained.load(workdir=os.path.join(root, "run"))
        self.assertEqual(from_run.spec.variant, "twin")
        from_export = trained.load(export_dir=result.export_dir)
        self.assertEqual(spec.read(os.path.join(result.export_dir, "assets.extra")), from_run.spec)
        self.assertAllClose(from_run.sample(3, seed=5), from_export.sample(3, seed=5), atol=1e-5)

    def test_a_packed_run_resumes_exports_and_loads(self):
        """PacGAN changes D only: the checkpoint holds the packed D, the export and its spec are G's."""
        workdir = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run")
        config = config_lib.Config(dataset="toy:ring8", model="toy", latent_dim=2, g_width=8, d_width=8, g_depth=2,
                                   d_depth=2, pack=2, batch_size=4, epochs=1, steps_per_epoch=1, log_every_steps=0,
                                   num_fixed_samples=8)
        experiment.run(config, workdir, verbose=0)
        result = experiment.run(config.replace(epochs=2), workdir, verbose=0)
        self.assertEqual(result.steps, 2)
        self.assertEqual(result.model.discriminator.inputs[0].shape, (None, 4))
        from_run, from_export = trained.load(workdir=workdir), trained.load(export_dir=result.export_dir)
        self.assertEqual(from_run.spec, from_export.spec)
        self.assertEqual(from_export.spec.output.shape, (2,))
        self.assertAllClose(from_run.sample(3, seed=5), from_export.sample(3, seed=5), atol=1e-5)


if __name__ == "__main__":
    tf.test.main()
