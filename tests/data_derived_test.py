"""Tests for the derived, paired and unpaired specs (data_derived.py, data_pipeline.py) on tiny fixtures."""

import os
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from tests import fixtures
from tfgan_course import data, data_derived


def _square(size=28, low=8, high=20):
    """A white square [low, high) on black: float pixels [1, size, size, 1]."""
    image = np.zeros((1, size, size, 1), np.float32)
    image[0, low:high, low:high] = 255
    return image


def _first(ds):
    return {key: value.numpy() for key, value in next(iter(ds)).items()}


class _TestCase(tf.test.TestCase):

    def _dir(self):
        return tempfile.mkdtemp(dir=self.get_temp_dir())

    def _idx(self, num_images=20):
        return fixtures.write_idx(self._dir(), num_images=num_images, size=12)


class TransformsTest(_TestCase):

    def test_edges_are_one_pixel_outlines_of_a_square(self):
        lines = data_derived.edges(_square()).numpy()[0, ..., 0] < 128  # black on white
        rows, cols = np.nonzero(lines)
        # Every black pixel is within a pixel of the square's border, and the border is drawn.
        distance = np.minimum(np.minimum(abs(rows - 8), abs(rows - 19)), np.minimum(abs(cols - 8), abs(cols - 19)))
        self.assertLessEqual(distance.max(), 1)
        inside = (rows >= 10) & (rows <= 17) & (cols >= 10) & (cols <= 17)
        self.assertFalse(inside.any())
        # One pixel thick: a row through the middle crosses the outline exactly twice, one pixel each.
        for row in range(10, 18):
            self.assertEqual(lines[row].sum(), 2, row)
            self.assertEqual(lines[:, row].sum(), 2, row)
        self.assertAllEqual(data_derived.edges(np.zeros((1, 8, 8, 3), np.float32)), np.full((1, 8, 8, 1), 255.0))

    def test_grey_and_invert(self):
        rgb = np.array([[[[255, 0, 0]]]], np.float32)
        self.assertAllClose(data_derived.grey(rgb), [[[[0.2989 * 255]]]], atol=0.1)
        self.assertAllEqual(data_derived.invert(rgb), [[[[0, 255, 255]]]])


class ClassesTest(_TestCase):

    def test_keeps_only_those_labels_and_their_values(self):
        ds, info = data.make_dataset(f"classes:3,7:idx:{self._idx()}", image_size=12, channels=1, batch_size=2,
                                     drop_remainder=False)
        labels = np.concatenate([labels for _, labels in ds])
        self.assertAllEqual(np.sort(labels), [3, 3, 7, 7])
        self.assertEqual((info.num_examples, info.num_classes, info.kind), (4, 10, "images"))

    def test_errors(self):
        directory = self._idx()
        cases = {f"classes:42:idx:{directory}": r"no examples of classes 42",
                 f"classes:x:idx:{directory}": r"takes class numbers",
                 f"classes:1:folder:{directory}": r"no readable images"}
        for spec, message in cases.items():
            with self.subTest(spec=spec), self.assertRaisesRegex(ValueError, message):
                data.make_dataset(spec, image_size=12, channels=1, batch_size=1)


class PairTest(_TestCase):

    def _pairs(self, spec, **kwargs):
        args = dict(image_size=12, channels=1, batch_size=8, shuffle=False)
        return data.make_dataset(spec, **{**args, **kwargs})

    def test_the_same_jitter_moves_both_images(self):
        directory = fixtures.write_idx(self._idx(), num_images=8, size=12, split="test")
        spec = f"pair:invert:idx:{directory}"
        jittered = _first(self._pairs(spec)[0])
        plain = _first(self._pairs(spec, augment=False)[0])
        # invert maps x to -x in [-1, 1], and resizing, cropping and flipping are linear: an
        # aligned pair stays exact negatives.
        self.assertAllClose(jittered["input"], -jittered["target"], atol=1e-5)
        self.assertAllClose(plain["input"], -plain["target"], atol=1e-6)
        self.assertNotAllClose(jittered["target"], plain["target"])
        self.assertAllEqual(jittered["label"], plain["label"])
        # The test split is never jittered.
        test_pairs = [_first(self._pairs(spec, split="test", augment=augment)[0]) for augment in (True, False)]
        self.assertAllEqual(test_pairs[0]["target"], test_pairs[1]["target"])

    def test_start_batch_continues_jittered_pairs_and_unpaired_domains(self):
        # A resumed translator's stream: the same images and the same jitter as the uninterrupted run's.
        directory = self._idx()
        for spec in (f"pair:invert:idx:{directory}", f"unpaired:idx:{directory}|grey:idx:{directory}"):
            def batches(start_batch, count, spec=spec):
                ds, _ = self._pairs(spec, batch_size=4, shuffle=True, seed=2, repeat=True, start_batch=start_batch)
                return [{key: value.numpy() for key, value in batch.items()} for batch in ds.take(count)]

            stream, resumed = batches(0, 9), batches(6, 3)  # 5 batches a pass
            for expected, actual in zip(stream[6:], resumed, strict=True):
                for key in expected:
                    self.assertAllClose(expected[key], actual[key], msg=f"{spec} {key}")

    def test_contract_input_keeps_the_transforms_channels(self):
        ds, info = self._pairs(f"pair:edges:idx:{self._idx()}", channels=3)
        batch = _first(ds)
        self.assertEqual((info.kind, info.image_shape, info.num_classes), ("paired", (12, 12, 3), 10))
        self.assertEqual(info.shapes, {"input": (12, 12, 1), "target": (12, 12, 3)})
        self.assertEqual({key: value.shape for key, value in batch.items()},
                         {"input": (8, 12, 12, 1), "target": (8, 12, 12, 3), "label": (8,)})
        self.assertEqual((batch["input"].dtype, batch["label"].dtype), (np.float32, np.int32))
        self.assertBetween(batch["input"].min(), -1, 1)
        # As an image spec, the same edges are converted to the requested channels.
        _, image_info = self._pairs(f"edges:idx:{self._idx()}", channels=3)
        self.assertEqual((image_info.kind, image_info.image_shape), ("images", (12, 12, 3)))

    def test_errors_are_one_line_naming_the_fix(self):
        directory = self._idx()
        cases = {f"pair:blur:idx:{directory}": r"unknown transform 'blur'; pair:TRANSFORM:SPEC takes one of "
                                                r"edges, grey, invert$",
                 f"edges:pair:grey:idx:{directory}": r"is a paired spec; this form takes an image spec$",
                 "pair:edges:": r"missing the image spec",
                 f"unpaired:idx:{directory}": r"takes two image specs separated by one '\|'"}
        for spec, message in cases.items():
            with self.subTest(spec=spec), self.assertRaisesRegex(ValueError, message) as raised:
                self._pairs(spec)
            self.assertNotIn("\n", str(raised.exception))


class LowresTest(_TestCase):

    def _pairs(self, spec, **kwargs):
        return data.make_dataset(spec, **{**dict(image_size=12, channels=1, batch_size=4, shuffle=False), **kwargs})

    def test_area_input_is_the_block_means_of_the_target_rounded(self):
        for factor, size in ((4, 12), (2, 12)):
            with self.subTest(factor=factor):
                ds, info = self._pairs(f"lowres:{factor}:idx:{self._idx()}", augment=False, image_size=size)
                batch = _first(ds)
                self.assertEqual((info.kind, info.shapes), ("paired", {"input": (size // factor, size // factor, 1),
                                                                       "target": (size, size, 1)}))
                pixels = (batch["target"] + 1) * 127.5
                blocks = pixels.reshape(4, size // factor, factor, size // factor, factor, 1).mean(axis=(2, 4))
                self.assertAllClose((batch["input"] + 1) * 127.5, np.round(blocks), atol=1e-3)
                self.assertEqual(batch["label"].shape, (4,))

    def test_bicubic_is_chosen_by_name_and_differs_from_area(self):
        directory = self._idx()
        area = _first(self._pairs(f"lowres:4:idx:{directory}", augment=False)[0])
        bicubic, info = self._pairs(f"lowres:4:bicubic:idx:{directory}", augment=False)
        self.assertEqual(info.source, f"lowres:4:bicubic:idx:{directory}")
        self.assertAllEqual(_first(bicubic)["target"], area["target"])
        self.assertNotAllClose(_first(bicubic)["input"], area["input"])

    def test_train_split_is_only_flipped_so_the_pair_stays_aligned(self):
        directory = self._idx()
        for seed in range(3):
            batch = _first(self._pairs(f"lowres:4:idx:{directory}", seed=seed)[0])
            pixels = (batch["target"] + 1) * 127.5
            blocks = pixels.reshape(4, 3, 4, 3, 4, 1).mean(axis=(2, 4))
            self.assertAllClose((batch["input"] + 1) * 127.5, np.round(blocks), atol=0.51)
        plain = _first(self._pairs(f"lowres:4:idx:{directory}", augment=False)[0])["target"]
        flipped = [np.allclose(t, p[:, ::-1]) and not np.allclose(t, p) for t, p in zip(batch["target"], plain)]
        self.assertTrue(any(flipped))

    def test_target_spec_and_errors(self):
        self.assertEqual(data_derived.target_spec("lowres:4:bicubic:classes:1:fashion_mnist"), "classes:1:fashion_mnist")
        self.assertEqual(data_derived.target_spec("pair:edges:fashion_mnist"), "fashion_mnist")
        directory = self._idx()
        cases = {f"lowres:3:idx:{directory}": r"takes a factor F of 2, 4, 8 and a METHOD of area, bicubic",
                 f"lowres:8:idx:{directory}": r"--image_size=12 is not divisible by 8: .* use --image_size=8$",
                 f"lowres:4:pair:grey:idx:{directory}": r"is a paired spec; this form takes an image spec$"}
        for spec, message in cases.items():
            with self.subTest(spec=spec), self.assertRaisesRegex(ValueError, message) as raised:
                self._pairs(spec)
            self.assertNotIn("\n", str(raised.exception))


class Pix2pixTest(_TestCase):

    def _write(self, folder, count, width=24, height=12):
        """Side-by-side pairs: A (left) grey level 10 * i, B (right) 255 - that."""
        os.makedirs(folder)
        for i in range(count):
            image = np.zeros((height, width, 3), np.uint8)
            image[:, :width // 2] = 10 * i
            image[:, width // 2:] = 255 - 10 * i
            Image.fromarray(image).save(os.path.join(folder, f"{i}.png"))

    def test_directions_splits_and_jitter(self):
        directory = self._dir()
        self._write(os.path.join(directory, "train"), 4)
        self._write(os.path.join(directory, "val"), 2)
        args = dict(image_size=8, channels=1, batch_size=2, shuffle=False, augment=False)
        ds, info = data.make_dataset(f"pix2pix:{directory}", **args)
        self.assertEqual((info.kind, info.num_examples, info.source), ("paired", 4, f"pix2pix:AtoB:{directory}"))
        batch = _first(ds)
        self.assertAllClose(batch["input"][:, 0, 0, 0], np.array([0, 10]) / 127.5 - 1)
        self.assertAllClose(batch["target"][:, 0, 0, 0], np.array([255, 245]) / 127.5 - 1)
        reverse = _first(data.make_dataset(f"pix2pix:BtoA:{directory}", **args)[0])
        self.assertAllClose(reverse["input"], batch["target"])
        _, test_info = data.make_dataset(f"pix2pix:{directory}", **{**args, "split": "test"})
        self.assertEqual(test_info.num_examples, 2)  # val/ stands in for test/
        jittered = _first(data.make_dataset(f"pix2pix:{directory}", **{**args, "augment": True})[0])
        self.assertAllClose(jittered["input"], -jittered["target"], atol=1e-5)

    def test_odd_width_and_missing_folder(self):
        directory = self._dir()
        self._write(os.path.join(directory, "train"), 1, width=25)
        with self.assertRaisesRegex(ValueError, r"0.png is 25x12: an odd width cannot split into equal A\|B halves"):
            data.make_dataset(f"pix2pix:{directory}", image_size=8, channels=1, batch_size=1)
        with self.assertRaisesRegex(ValueError, r"no test or val folder in .*pix2pix:DIR reads pix2pix's layout"):
            data.make_dataset(f"pix2pix:{directory}", image_size=8, channels=1, batch_size=1, split="test")


class UnpairedTest(_TestCase):

    def test_domains_are_independent_with_their_own_channels(self):
        directory = self._idx()
        folder = os.path.join(self._dir(), "b")
        os.makedirs(folder)
        for i in range(3):
            Image.fromarray(np.full((12, 12, 3), (80 * i, 0, 255), np.uint8)).save(os.path.join(folder, f"{i}.png"))
        spec = f"unpaired:grey:idx:{directory}|folder:{folder}"
        ds, info = data.make_dataset(spec, image_size=12, channels=3, batch_size=2, augment=False)
        self.assertEqual((info.kind, info.num_examples, info.image_shape), ("unpaired", 20, (12, 12, 1)))
        self.assertEqual(info.shapes, {"a": (12, 12, 1), "b": (12, 12, 3)})
        batches = [{key: value.numpy() for key, value in batch.items()} for batch in ds]
        self.assertLen(batches, 10)  # an epoch is the larger domain's; the 3 folder images cycle
        self.assertEqual(set(batches[0]), {"a", "a_label", "b"})
        self.assertEqual((batches[0]["a"].shape, batches[0]["b"].shape), ((2, 12, 12, 1), (2, 12, 12, 3)))
        b_images = np.concatenate([batch["b"][:, 0, 0, 0] for batch in batches])
        self.assertLen(np.unique(b_images), 3)

        # The same source as both domains: each domain is shuffled with its own seed.
        same = f"unpaired:idx:{directory}|idx:{directory}"
        labels = [(batch["a_label"], batch["b_label"])
                  for batch in data.make_dataset(same, image_size=12, channels=1, batch_size=20)[0]]
        self.assertNotAllEqual(*labels[0])
        self.assertAllEqual(np.sort(labels[0][0]), np.sort(labels[0][1]))

    def test_cyclegan_folders(self):
        directory = self._dir()
        for domain in ("trainA", "trainB"):
            os.makedirs(os.path.join(directory, domain))
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(os.path.join(directory, domain, "x.png"))
        _, info = data.make_dataset(f"cyclegan:{directory}", image_size=8, channels=3, batch_size=1)
        self.assertEqual((info.kind, info.source),
                         ("unpaired", f"unpaired:folder:{directory}/trainA|folder:{directory}/trainB"))
        with self.assertRaisesRegex(ValueError, r"testA or .*testB; cyclegan:DIR reads the CycleGAN datasets' layout"):
            data.make_dataset(f"cyclegan:{directory}", image_size=8, channels=3, batch_size=1, split="test")


class DomainsTest(tf.test.TestCase):

    def test_each_domain_as_an_image_spec(self):
        self.assertEqual(data_derived.domains("unpaired:classes:7:fashion_mnist|invert:idx:/d", "test"),
                         ["classes:7:fashion_mnist", "invert:idx:/d"])
        self.assertEqual(data_derived.domains("cyclegan:/data/h2z", "train"),
                         ["folder:/data/h2z/trainA", "folder:/data/h2z/trainB"])
        with self.assertRaisesRegex(ValueError, r"only the domains of unpaired:SPEC_A\|SPEC_B and cyclegan:DIR"):
            data_derived.domains("tfds:cycle_gan/horse2zebra", "test")


if __name__ == "__main__":
    tf.test.main()
