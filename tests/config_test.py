"""Config validation, flagfile round trip and the serving name."""

import tensorflow as tf

from tfgan_course import config as config_lib
from tfgan_course import optimizers, variants


class ConfigTest(tf.test.TestCase):

    def test_defaults_are_valid(self):
        self.assertEqual(variants.validate(config_lib.Config()), config_lib.Config())

    def test_bad_values_name_the_flag_and_the_valid_values(self):
        cases = {
            "loss": ("wgan", r"Unknown --loss=.wgan.; valid values: began, hinge, least_squares, minimax, non_saturating, wasserstein"),
            "penalty": ("gp", r"valid values: dragan, gradient, none, r1"),
            "clip_value": (-1.0, r"--clip_value must be >= 0"),
            "optimizer": ("adamw", r"valid values: adam, rmsprop, sgd"),
            "distribute": ("tpu", r"valid values: mirrored, multi_worker, none"),
            "mixed_precision": ("float16", r"valid values: mixed_bfloat16, mixed_float16, none"),
            "jit_compile": ("yes", r"valid values: auto, false, true"),
            "steps_per_execution": (-1, r"--steps_per_execution must be >= 0"),
            "channels": (2, r"Unknown --channels=2; valid values: 1, 3"),
            "batch_size": (0, r"--batch_size must be >= 1"),
            "steps_per_epoch": (-1, r"--steps_per_epoch must be >= 0"),
            "g_learning_rate": (0.0, r"--g_learning_rate must be > 0"),
            "adam_epsilon": (0.0, r"--adam_epsilon must be > 0"),
            "pack": (0, r"--pack must be >= 1"),
            "g_depth": (-1, r"--g_depth must be >= 0"),
        }
        for option, (value, message) in cases.items():
            with self.subTest(option=option), self.assertRaisesRegex(ValueError, message):
                variants.validate(config_lib.Config().replace(**{option: value}))

    def test_optimizers_take_the_config_hyperparameters(self):
        config = config_lib.Config(g_learning_rate=1e-3, g_beta1=0.3, g_beta2=0.9, adam_epsilon=1e-8)
        adam = optimizers.make(config, "g")
        self.assertAllClose([adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon], [1e-3, 0.3, 0.9, 1e-8])
        self.assertAllClose(optimizers.make(config.replace(optimizer="sgd", momentum=0.5), "d").momentum, 0.5)

    def test_batch_size_must_be_a_multiple_of_the_pack(self):
        variants.validate(config_lib.Config(batch_size=12, pack=4))
        with self.assertRaisesRegex(ValueError, "^--batch_size=10 must be a multiple of --pack=4: D judges packs of 4"):
            variants.validate(config_lib.Config(batch_size=10, pack=4))

    def test_label_smoothing_needs_a_bce_loss(self):
        variants.validate(config_lib.Config(loss="minimax", label_smoothing=0.1))
        with self.assertRaisesRegex(ValueError, "--label_smoothing needs --loss=minimax or non_saturating, not hinge"):
            variants.validate(config_lib.Config(loss="hinge", label_smoothing=0.1))
        with self.assertRaisesRegex(ValueError, r"--label_smoothing must be in \[0, 1\)"):
            variants.validate(config_lib.Config(label_smoothing=1.0))

    def test_flagfile_lists_every_field(self):
        text = config_lib.Config(resume=False, epochs=3).to_flagfile()
        self.assertIn("--resume=false\n", text)
        self.assertIn("--epochs=3\n", text)
        self.assertLen(text.splitlines(), len(config_lib.Config.__dataclass_fields__))

    def test_experiment_changes_name_what_a_resume_may_not_change(self):
        fields = set(config_lib.Config.__dataclass_fields__)
        self.assertLessEqual(config_lib.RESUMABLE, fields)
        self.assertContainsSubset({"epochs", "resume", "allow_flag_changes", "log_every_steps", "steps_per_execution",
                                   "inter_op_threads", "model_name"}, config_lib.RESUMABLE)
        self.assertNoCommonElements({"batch_size", "g_learning_rate", "latent_dim", "seed", "dataset", "model",
                                     "num_fixed_samples", "mixed_precision"}, config_lib.RESUMABLE)
        before = config_lib.Config(batch_size=64, g_learning_rate=0.03, epochs=1, log_every_steps=1)
        after = before.replace(batch_size=32, g_learning_rate=0.3, epochs=9, log_every_steps=0, inter_op_threads=2,
                               steps_per_execution=5, allow_flag_changes=True)
        self.assertEqual(config_lib.experiment_changes(before, after),
                         [("batch_size", 64, 32), ("g_learning_rate", 0.03, 0.3)])
        self.assertEqual(config_lib.experiment_changes(before, before.replace(epochs=2)), [])

    def test_experiment_digest_follows_the_experiment_only(self):
        config = config_lib.Config(batch_size=64)
        digest = config_lib.experiment_digest(config)
        self.assertRegex(digest, "^[0-9a-f]{8}$")
        # How long and how loudly it runs is not the experiment.
        self.assertEqual(config_lib.experiment_digest(config.replace(epochs=9, log_every_steps=0)), digest)
        self.assertNotEqual(config_lib.experiment_digest(config.replace(batch_size=32)), digest)
        # The keys of kept benchmark results (loss_study.py's file names) stay what they were.
        self.assertEqual(config_lib.experiment_digest(config_lib.Config(batch_size=64, seed=1)), "2600df51")

    def test_serving_name(self):
        self.assertEqual(config_lib.Config().serving_name, "dcgan_fashion_mnist")
        self.assertEqual(config_lib.Config(model="mlp", dataset="folder:/data/celeba/").serving_name, "mlp_celeba")
        self.assertEqual(config_lib.Config(model_name="mine").serving_name, "mine")
        self.assertEqual(config_lib.Config(model="srresnet", variant="srgan", dataset="lowres:4:fashion_mnist")
                         .serving_name, "srresnet_srgan_fashion_mnist")
        self.assertEqual(config_lib.Config(model="srresnet", dataset="lowres:4:fashion_mnist").serving_name,
                         "srresnet_fashion_mnist")


if __name__ == "__main__":
    tf.test.main()
