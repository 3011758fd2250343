"""What pix2pix and CycleGAN share: the image input of their spec and their sample grids' panels."""

import numpy as np

from tfgan_course import spec as spec_lib

# Examples in a translator's sample grid: one row each (CycleGAN: this many of each domain).
GRID_EXAMPLES = 8


def input_specs(generator) -> tuple:
    """A translator G's inputs as `spec.Input`s: its images (H, W, Cin) in [-1, 1], named as G's input."""
    return (spec_lib.image_input(generator.inputs[0].shape[1:], name=generator.inputs[0].name),)


def panels(columns) -> np.ndarray:
    """Image columns [N, H, W, C_k] (k = 1..K) -> [N * K, H, W, C]: row i holds example i's K images.

    C is the largest C_k; a grey column is tiled to it (a colourisation's grey input beside its colours).
    """
    channels = max(column.shape[-1] for column in columns)
    columns = [np.asarray(c) if c.shape[-1] == channels else np.repeat(np.asarray(c), channels, axis=-1)
               for c in columns]
    return np.stack(columns, axis=1).reshape(-1, *columns[0].shape[1:])
