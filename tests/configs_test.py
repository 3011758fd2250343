"""Every flagfile in tfgan_course/configs/ parses, names its lecture, and trains 2 steps.

Parameterized over the folder, so a new config is tested without touching this file.
"""

import glob
import os
import re
import tempfile
from unittest import mock

import tensorflow as tf
from absl.testing import parameterized

from tests import fixtures
from tfgan_course import data_sources, experiment, models, train

CONFIG_DIR = train.CONFIG_DIR
CONFIGS = sorted(glob.glob(os.path.join(CONFIG_DIR, "*.cfg")))
# The image sources a translation spec is built on, which the tests replace by a fixture (emoji: by
# fixture packages in a cache of the test's own).
_SOURCES = re.compile(r"\b(fashion_mnist|mnist10k|mnist|fontdigits(:\d+)?)\b")
_EMOJI = [f"1f6{i:02x}" for i in range(24)]


def _fixture_spec(spec, directory):
    """A config's data spec with its image sources replaced by the labelled IDX fixture in `directory`.

    A translation spec keeps its form (pair:..., unpaired:...|...), so the config trains what it says;
    any other spec becomes idx:DIR.
    """
    if spec.startswith(("pair:", "unpaired:", "emoji:", "lowres:", "captions:")):
        return _SOURCES.sub(f"idx:{directory}", spec)
    return f"idx:{directory}"


class ConfigsTest(tf.test.TestCase, parameterized.TestCase):

    def test_the_folder_has_the_lecture_configs(self):
        names = {os.path.basename(path)[:-len(".cfg")] for path in CONFIGS}
        self.assertContainsSubset({"dcgan_fashion_mnist", "mlp_fashion_mnist"}, names)

    def test_load_config_by_name_is_the_flagfile(self):
        path = os.path.join(CONFIG_DIR, "wgan_gp_mnist.cfg")
        self.assertEqual(train.load_config("wgan_gp_mnist", "--epochs=1"),
                         train.parse_config([f"--flagfile={path}", "--epochs=1"]))
        self.assertIn("dcgan_fashion_mnist", train.config_names())
        with self.assertRaisesRegex(ValueError, "Unknown config 'nope'; valid configs: .*dcgan_fashion_mnist"):
            train.load_config("nope")

    @parameterized.parameters(*CONFIGS)
    def test_config_names_its_lecture_and_trains_two_steps(self, path):
        with open(path) as f:
            first_line = f.readline()
        self.assertRegex(first_line, r"^# (Lecture \d{3}|Beyond lecture \d{3})", "first comment names the lecture")
        config = train.parse_config([f"--flagfile={path}"])
        if not config.dataset.startswith("toy:"):  # Toy data are generated, images come from fixtures.
            data = fixtures.write_idx(tempfile.mkdtemp(dir=self.get_temp_dir()), num_images=64)
            config = config.replace(dataset=_fixture_spec(config.dataset, data))
            self._emoji_cache()
        family_options = getattr(models.MODELS[config.model], "OPTIONS", {})
        # Tiny overrides: the config's model, loss and optimisation, on small data and widths.
        tiny = config.replace(batch_size=2 * config.pack, epochs=1, steps_per_epoch=2, g_width=4, d_width=4,
                              num_fixed_samples=4, log_every_steps=0,
                              lr_decay_epochs=min(config.lr_decay_epochs, 1),
                              **({"resnet_blocks": 1} if "resnet_blocks" in family_options else {}),
                              # SRGAN's warm start and perceptual loss need an SRResNet run and a classifier of
                              # learnable data: super_resolution_test.py trains both.
                              **({"init_from": "", "content_loss": "mse"} if config.variant == "srgan" else {}))
        workdir = tempfile.mkdtemp(dir=self.get_temp_dir())
        result = experiment.run(tiny, workdir, verbose=0)
        self.assertEqual(result.steps, 2)
        self.assertTrue(all(tf.math.is_finite(values[-1]) for values in result.history.values()))
        # Each variant's own figures and logs.
        translates = result.model.spec.translates  # Translators and inpainters take images: no latent figures.
        expected = ["samples/epoch_0001.png"] if translates else ["real_vs_fake.png", "samples/epoch_0001.png"]
        if config.model == "infogan":
            expected += [f"sweep_c{j + 1}.png" for j in range(config.info_continuous)] + ["sweep_categorical.png"]
        if config.latent_dim == 1 and config.latent_distribution == "uniform":
            expected.append("mapping.png")
        for name in expected:
            self.assertTrue(os.path.isfile(os.path.join(workdir, name)), name)
        with open(os.path.join(workdir, "losses.csv")) as f:
            self.assertEqual(f.readline().strip().split(",")[2:], list(result.model.metric_names))

    def _emoji_cache(self):
        """A cache of the test's own with fixture emoji packages (tests never download)."""
        cache = tempfile.mkdtemp(dir=self.get_temp_dir())
        for style in ("google", "twitter"):
            fixtures.write_emoji(os.path.join(cache, "npm"), style, _EMOJI, lambda i: (10 * i, 100, 200))
        patch = mock.patch.dict(os.environ, {data_sources.CACHE_ENV: cache})
        patch.start()
        self.addCleanup(patch.stop)

    def test_parse_config_starts_from_the_defaults_each_time(self):
        first = train.parse_config(["--epochs=7", "--model=mlp"])
        second = train.parse_config(["--loss=minimax"])
        self.assertEqual((first.epochs, first.model), (7, "mlp"))
        self.assertEqual((second.epochs, second.model, second.loss), (5, "dcgan", "minimax"))


if __name__ == "__main__":
    tf.test.main()
