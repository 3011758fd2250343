"""PatchGAN discriminators (Isola et al., 2017): one logit per overlapping image patch.

D classifies each N x N patch as real or fake; N, the receptive field of one
output logit, is chosen from RECEPTIVE_FIELDS (the pix2pix paper's PixelGAN 1,
PatchGANs 16, 34 and 70, and the larger 142 and 286, the full 256 image). For
N > 1 the layout is the pix2pix/CycleGAN reference's with n stride-2 layers:

  C(w) s2 - C(2w) s2 - ... (n layers, widths doubling up to 8w) - C s1 - C(1) s1

4x4 kernels padded by 1, LeakyReLU 0.2, instance norm on all but the first
layer (n = 3 gives the 70x70 PatchGAN: 256 -> 30x30 logits). N = 1 is three
1x1 convolutions, each pixel judged alone. Instance norm makes every logit
depend a little on the whole image through the statistics; the convolutions
see exactly N x N pixels (`norm="none"` shows it).
"""

import keras
from keras import layers

from tfgan_course.models import dcgan, image_layers

NORMS = ("instance", "none")


def _field(num_down):
    """The receptive field of n stride-2 4x4 layers followed by two stride-1 4x4 layers."""
    field = 7  # the two stride-1 layers
    for _ in range(num_down):
        field = 2 * field + 2
    return field


RECEPTIVE_FIELDS = {1: 0, **{_field(n): n for n in range(1, 6)}}  # field -> stride-2 layers


def check_size(image_shape, receptive_field):
    """Raises ValueError unless a PatchGAN of `receptive_field` gives at least one logit for (H, W, C) images."""
    if receptive_field not in RECEPTIVE_FIELDS:
        raise ValueError(f"Unknown PatchGAN receptive field {receptive_field}; valid values: "
                         f"{', '.join(map(str, RECEPTIVE_FIELDS))} (--patch_size).")
    num_down = RECEPTIVE_FIELDS[receptive_field]
    smallest = 3 * 2 ** num_down if num_down else 1
    if min(image_shape[:2]) < smallest:
        fits = [str(f) for f, n in RECEPTIVE_FIELDS.items() if min(image_shape[:2]) >= (3 * 2 ** n if n else 1)]
        raise ValueError(f"A {receptive_field}x{receptive_field} PatchGAN needs images of at least {smallest}x"
                         f"{smallest}, got {image_shape[0]}x{image_shape[1]}: use --patch_size="
                         f"{' or '.join(fits)}, or a larger --image_size.")


def discriminator(image_shape, width=64, seed=None, receptive_field=70, norm="instance", name="patchgan"):
    """images float32 [B, H, W, C] in [-1, 1] -> logits float32 [B, h, w, 1], one per N x N patch.

    For pix2pix's conditional D, C is the input's and the output's channels
    concatenated (the caller concatenates).

    Args:
      image_shape: (H, W, C) of D's input.
      width: the first layer's filters (ndf, 64 in the papers).
      seed: int seed of the N(0, 0.02) initialisers, or None.
      receptive_field: N, a key of RECEPTIVE_FIELDS.
      norm: "instance" or "none".
    """
    check_size(image_shape, receptive_field)
    if norm not in NORMS:
        raise ValueError(f"Unknown PatchGAN norm {norm!r}; valid values: {', '.join(NORMS)}.")
    num_down = RECEPTIVE_FIELDS[receptive_field]
    images = keras.Input(image_shape, name="images")
    if num_down:
        # (filters, stride) of each 4x4 layer; the last gives the logits.
        plan = [(width * min(2 ** i, 8), 2) for i in range(num_down)]
        plan += [(width * min(2 ** num_down, 8), 1), (1, 1)]
        kernel = 4
    else:  # PixelGAN: 1x1 convolutions
        plan, kernel = [(width, 1), (2 * width, 1), (1, 1)], 1
    h = images
    for i, (filters, stride) in enumerate(plan):
        if kernel > 1:
            h = layers.ZeroPadding2D(1, name=f"pad{i}")(h)
        h = layers.Conv2D(filters, kernel, stride, "valid", kernel_initializer=dcgan.kernel_init(seed, i),
                          name=f"conv{i}")(h)
        if i == len(plan) - 1:
            break
        if i > 0 and norm == "instance":
            h = image_layers.instance_norm(f"norm{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"lrelu{i}")(h)
    logits = layers.Activation("linear", dtype="float32", name="logits")(h)
    return keras.Model(images, logits, name=name)
