"""Tests for tfgan_course.plots."""

import math
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf
from PIL import Image

from tfgan_course import plots

PAD = round(0.3 * 255)


def _images(n, size=8, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype(np.float32)


class ImageGridTest(tf.test.TestCase):

    def test_shape_full_grid_grayscale(self):
        grid = plots.image_grid(_images(64, size=8, channels=1))
        self.assertEqual(grid.shape, (8 * 10 + 2, 8 * 10 + 2, 3))
        self.assertEqual(grid.dtype, np.uint8)

    def test_shape_partial_last_row_rgb(self):
        grid = plots.image_grid(_images(5, size=8, channels=3), nrow=4)
        self.assertEqual(grid.shape, (2 * 10 + 2, 4 * 10 + 2, 3))
        # Cells 6..8 of the second row are empty and filled with pad_value.
        np.testing.assert_array_equal(grid[12:, 12:], PAD)

    def test_accepts_tf_tensor(self):
        grid = plots.image_grid(tf.constant(_images(4, channels=3)), nrow=2)
        self.assertEqual(grid.shape, (22, 22, 3))

    def test_value_range_is_fixed_and_clipped(self):
        images = np.stack([np.full((4, 4, 1), v, np.float32) for v in (-1.0, 1.0, -3.0, 7.0)])
        grid = plots.image_grid(images, nrow=4, padding=2)
        cells = [grid[2:6, 2 + 6 * i:6 + 6 * i] for i in range(4)]
        for cell, expected in zip(cells, (0, 255, 0, 255)):
            np.testing.assert_array_equal(cell, expected)

    def test_pad_pixels(self):
        grid = plots.image_grid(-np.ones((4, 3, 3, 1), np.float32), nrow=2, padding=2)
        border = np.ones(grid.shape[:2], bool)
        for r in range(2):
            for c in range(2):
                border[2 + 5 * r:5 + 5 * r, 2 + 5 * c:5 + 5 * c] = False
        np.testing.assert_array_equal(grid[border], PAD)
        np.testing.assert_array_equal(grid[~border], 0)

    def test_bad_shapes_raise(self):
        for shape in [(8, 8, 1), (2, 8, 8, 2), (2, 8, 8, 4), (0, 8, 8, 1), (1, 2, 8, 8, 1)]:
            with self.subTest(shape=shape):
                with self.assertRaisesRegex(ValueError, r"\[N, H, W, C\]"):
                    plots.image_grid(np.zeros(shape, np.float32))


class ImportTest(tf.test.TestCase):

    def test_import_does_not_load_pyplot(self):
        # pyplot selects a backend and keeps global figures; importing plots
        # must not touch a notebook user's matplotlib state.
        code = "import tfgan_course.plots, sys; assert 'matplotlib.pyplot' not in sys.modules"
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        result = subprocess.run([sys.executable, "-c", code], cwd=root,
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)


class SaveTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.get_temp_dir()

    def tearDown(self):
        # Every writer must leave no temp file behind.
        for root, _, files in os.walk(self.dir):
            self.assertEmpty([f for f in files if f.endswith(".tmp")], root)
        super().tearDown()

    def _assert_image(self, path, size=None, frames=1):
        self.assertGreater(os.path.getsize(path), 0)
        with Image.open(path) as im:
            im.load()
            if size is not None:
                self.assertEqual(im.size, size)
            self.assertEqual(getattr(im, "n_frames", 1), frames)

    def test_save_image_grid_raw_and_titled(self):
        raw = os.path.join(self.dir, "new", "sub", "grid.png")  # parents created
        plots.save_image_grid(_images(16), raw, nrow=4)
        self._assert_image(raw, size=(42, 42))
        with Image.open(raw) as im:
            np.testing.assert_array_equal(np.asarray(im), plots.image_grid(_images(16), nrow=4))
        titled = os.path.join(self.dir, "titled.png")
        plots.save_image_grid(_images(16), titled, nrow=4, title="Epoch 3")
        self._assert_image(titled)

    def test_save_gif(self):
        grids = [plots.image_grid(_images(4, seed=i), nrow=2) for i in range(3)]
        path = os.path.join(self.dir, "progress.gif")
        plots.save_gif(grids, path, duration_ms=100)
        self._assert_image(path, size=(22, 22), frames=3)
        with Image.open(path) as im:
            self.assertEqual(im.info.get("loop"), 0)

    def test_save_gif_rejects_bad_frames(self):
        path = os.path.join(self.dir, "bad.gif")
        with self.assertRaises(ValueError):
            plots.save_gif([], path)
        with self.assertRaises(ValueError):
            plots.save_gif([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)], path)
        self.assertFalse(os.path.exists(path))

    def test_save_real_vs_fake(self):
        path = os.path.join(self.dir, "real_vs_fake.png")
        plots.save_real_vs_fake(_images(8, channels=3), _images(8, channels=3, seed=1), path)
        self._assert_image(path)

    def test_save_generator_gradients(self):
        path = os.path.join(self.dir, "saturation.png")
        p = np.linspace(0.01, 0.99, 50)
        plots.save_generator_gradients(p, {"minimax": -p, "non_saturating": p - 1}, path)
        self._assert_image(path)

    def test_save_loss_curves(self):
        path = os.path.join(self.dir, "losses.png")
        plots.save_loss_curves({"d_loss": [1.3, 1.0, 0.8], "g_loss": [0.7, 1.5, 2.0]}, path)
        self._assert_image(path)

    def test_save_loss_curves_missing_keys(self):
        path = os.path.join(self.dir, "empty.png")
        plots.save_loss_curves({"other": [1.0]}, path)
        self._assert_image(path)
        partial = os.path.join(self.dir, "partial.png")
        plots.save_loss_curves({"d_loss": [1.0, math.nan, 0.5]}, partial)
        self._assert_image(partial)

    def test_save_discriminator_outputs(self):
        path = os.path.join(self.dir, "d_outputs.png")
        history = {"step": [10.0, 20.0], "D(x)": [0.9, 0.7],
                   "D(G(z)) before": [0.1, 0.3], "D(G(z)) after": [0.2, 0.4]}
        plots.save_discriminator_outputs(history, path)
        self._assert_image(path)

    def test_failed_write_leaves_nothing(self):
        path = os.path.join(self.dir, "losses.notaformat")
        with self.assertRaises(ValueError):
            plots.save_loss_curves({"d_loss": [1.0]}, path)
        self.assertFalse(os.path.exists(path))

    def test_read_losses_csv_round_trip(self):
        path = os.path.join(self.dir, "losses.csv")
        with open(path, "w") as f:
            f.write('epoch,d_loss,g_loss,D(x),"D(G(z)) before"\n'
                    "1,1.25,0.75,0.9,0.1\n"
                    "2,nan,bad,,0.2\n"
                    "3,0.5,2\n\n")
        history = plots.read_losses_csv(path)
        self.assertEqual(list(history), ["epoch", "d_loss", "g_loss", "D(x)", "D(G(z)) before"])
        self.assertEqual(history["epoch"], [1.0, 2.0, 3.0])
        self.assertEqual(history["d_loss"][::2], [1.25, 0.5])
        self.assertEqual(history["g_loss"][::2], [0.75, 2.0])
        for column, row in [("d_loss", 1), ("g_loss", 1), ("D(x)", 1), ("D(x)", 2),
                            ("D(G(z)) before", 2)]:
            self.assertTrue(math.isnan(history[column][row]), (column, row))
        # What was read plots directly, with the epoch column as x axis.
        plots.save_loss_curves(history, os.path.join(self.dir, "from_csv.png"))

    def test_read_losses_csv_empty_raises(self):
        path = os.path.join(self.dir, "empty.csv")
        open(path, "w").close()
        with self.assertRaises(ValueError):
            plots.read_losses_csv(path)


if __name__ == "__main__":
    tf.test.main()
