"""Small datasets the tests write themselves."""

import gzip
import os

import numpy as np


def write_idx(directory, num_images=32, size=28, split="train", seed=0):
    """Writes MNIST-format gzipped IDX images [num_images, size, size] uint8 and labels 0..9.

    Returns the directory, for an `idx:` spec.
    """
    os.makedirs(directory, exist_ok=True)
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(num_images, size, size), dtype=np.uint8)
    labels = (np.arange(num_images) % 10).astype(np.uint8)
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
        f.write(np.array([0x803, num_images, size, size], ">i4").tobytes() + images.tobytes())
    with gzip.open(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(np.array([0x801, num_images], ">i4").tobytes() + labels.tobytes())
    return directory
