"""What the translators (pix2pix, CycleGAN, SRResNet and SRGAN) share: their spec's image input and sample grids."""

import numpy as np

from tfgan_course import latent
from tfgan_course import spec as spec_lib

# Examples in a translator's sample grid: one row each (CycleGAN: this many of each domain).
GRID_EXAMPLES = 8


def input_specs(generator) -> tuple:
    """A translator G's inputs as `spec.Input`s: its images (H, W, Cin) in [-1, 1], named as G's input."""
    return (spec_lib.image_input(generator.inputs[0].shape[1:], name=generator.inputs[0].name),)


def paired_grid_inputs(examples) -> latent.GridInputs:
    """A paired variant's sample grid inputs: the first GRID_EXAMPLES of the fixed `examples` ({"input",
    "target"} numpy batches), one row each: input | output | target."""
    count = GRID_EXAMPLES
    return latent.GridInputs({"images": examples["input"][:count], "target": examples["target"][:count]}, 3)


def paired_grid(model, inputs) -> np.ndarray:
    """`paired_grid_inputs`' rows: each input, `model.images` of it and its target (`panels`)."""
    return panels([inputs["images"], model.images({"images": inputs["images"]}), inputs["target"]])


def panels(columns) -> np.ndarray:
    """Image columns [N, H_k, W_k, C_k] (k = 1..K) -> [N * K, H, W, C]: row i holds example i's K images.

    C is the largest C_k; a grey column is tiled to it (a colourisation's grey input beside its colours).
    H and W are the largest sides; a smaller column (a low-resolution input) is enlarged by repeating
    its pixels, so the grid shows the pixels a super-resolution model started from.
    """
    channels = max(column.shape[-1] for column in columns)
    height = max(column.shape[1] for column in columns)
    resized = []
    for column in columns:
        column = np.asarray(column)
        if column.shape[-1] != channels:
            column = np.repeat(column, channels, axis=-1)
        factor = height // column.shape[1]
        resized.append(column.repeat(factor, axis=1).repeat(factor, axis=2))
    return np.stack(resized, axis=1).reshape(-1, *resized[0].shape[1:])
