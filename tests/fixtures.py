"""Small datasets the tests write themselves."""

import gzip
import io
import os

import numpy as np
from PIL import Image

SQUARES_SIZE = 28


def write_idx(directory, num_images=32, size=28, split="train", seed=0):
    """Writes MNIST-format gzipped IDX images [num_images, size, size] uint8 and labels 0..9.

    The images are random noise: nothing to learn. Returns the directory, for an `idx:` spec.
    """
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(num_images, size, size), dtype=np.uint8)
    labels = (np.arange(num_images) % 10).astype(np.uint8)
    _write_idx(directory, "train" if split == "train" else "t10k", images, labels)
    return directory


def write_squares(directory, num_train=600, num_test=200, labelled=True, seed=0):
    """Writes a learnable 10-class IDX set: class c is a bright 5x5 square at spot c of a 2x5 grid.

    28x28 uint8 images on a noisy dark background, train and test splits (labels
    files only when `labelled`). Returns the directory, for an `idx:` spec.
    """
    rng = np.random.RandomState(seed)
    for prefix, num_images in (("train", num_train), ("t10k", num_test)):
        labels = rng.permutation(np.arange(num_images) % 10).astype(np.uint8)
        images = rng.randint(0, 40, (num_images, SQUARES_SIZE, SQUARES_SIZE)).astype(np.uint8)
        for image, label in zip(images, labels):
            row, col = 3 + 13 * (label // 5), 1 + 5 * (label % 5)
            image[row:row + 5, col:col + 5] = rng.randint(180, 256, (5, 5))
        _write_idx(directory, prefix, images, labels if labelled else None)
    return directory


def _write_idx(directory, prefix, images, labels=None):
    """Gzipped IDX files <prefix>-images-idx3-ubyte.gz (uint8 [N, H, W]) and, with labels, -labels-idx1-."""
    os.makedirs(directory, exist_ok=True)
    with gzip.open(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
        f.write(np.array([0x803, *images.shape], ">i4").tobytes() + images.tobytes())
    if labels is not None:
        with gzip.open(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(np.array([0x801, len(labels)], ">i4").tobytes() + labels.astype(np.uint8).tobytes())


def write_emoji(root, style, names, colour):
    """emoji-datasource-<style>/img/<style>/64/<name>.png under an npm root: 8x8 RGBA, opaque `colour(i)`
    centre for the i-th name, transparent border, one half-transparent black corner pixel."""
    directory = os.path.join(root, f"emoji-datasource-{style}", "img", style, "64")
    os.makedirs(directory)
    for i, name in enumerate(names):
        rgba = np.zeros((8, 8, 4), np.uint8)
        rgba[2:6, 2:6] = (*colour(i), 255)
        rgba[0, 0] = (0, 0, 0, 128)  # half-transparent black over white: mid grey
        Image.fromarray(rgba, "RGBA").save(os.path.join(directory, f"{name}.png"))


def png_bytes(array):
    """uint8 [H, W] or [H, W, C] (C = 3 or 4) -> the bytes of a PNG file of it."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()
