"""pix2pix's U-Net generator (Isola et al., 2017) and its conditional PatchGAN discriminator.

G is an encoder-decoder whose decoder layer i also sees encoder layer i
(a skip connection: the outline of an edge map reaches the output directly).
For 256x256 images (depth 8, w = 64), the paper's appendix:

  encoder  C64 - C128 - C256 - C512 - C512 - C512 - C512 - C512      (256 -> 1x1)
  decoder  CD512 - CD512 - CD512 - C512 - C256 - C128 - C64 - C(out), tanh

4x4 convolutions of stride 2, LeakyReLU 0.2 in the encoder and ReLU in the
decoder, "D" a dropout of 0.5 in the innermost decoder blocks. Normalisation
is instance norm (the reference's BatchNorm at batch size 1), none on the
first and innermost encoder layers (a 1x1 map has no statistics). Dropout is
off at inference, so G is deterministic when served.

D judges concat(input, output or target) [B, H, W, Cin + Cout] with a PatchGAN
(`patchgan.py`): pix2pix's conditional discriminator.
"""

import keras
from keras import layers

from tfgan_course.models import dcgan, image_layers, patchgan

DEFAULT_WIDTH = 64
KIND = "translator"
OPTIONS = {"unet_depth": "depth"}  # flag -> generator argument (models.build_translator)
D_OPTIONS = {"patch_size": "receptive_field"}  # flag -> the PatchGAN's argument
SCALES = (1,)  # Keeps the image size.
MAX_DEPTH = 8  # pix2pix's: 256 -> 1x1
MIN_DEPTH = 3
DROPOUT_BLOCKS = 3  # the innermost decoder blocks with dropout 0.5 (the paper's CD512 x 3)


def depth_for(image_shape, depth=0):
    """The U-Net's number of stride-2 layers for (H, W, C) images: `depth`, or 0 = as deep as H and W allow.

    Auto: the largest d <= MAX_DEPTH with H and W divisible by 2^d (256 -> 8,
    the paper's; 32 -> 5). A ValueError naming the fix when H, W cannot take `depth`
    or allow fewer than MIN_DEPTH layers.
    """
    height, width = image_shape[:2]
    if depth < 0:
        raise ValueError(f"--unet_depth must be >= 0 (0 = from the image size), got {depth}.")
    if depth:
        if height % 2 ** depth or width % 2 ** depth:
            raise ValueError(f"A U-Net of depth {depth} needs H and W divisible by 2^{depth} = {2 ** depth}, got "
                             f"{height}x{width}: use --image_size={_round_up(max(height, width), 2 ** depth)} or a "
                             "smaller --unet_depth.")
        return depth
    auto = 0
    while auto < MAX_DEPTH and not height % 2 ** (auto + 1) and not width % 2 ** (auto + 1):
        auto += 1
    if auto < MIN_DEPTH:
        raise ValueError(f"The U-Net needs H and W divisible by 2^{MIN_DEPTH} = {2 ** MIN_DEPTH} at least, got "
                         f"{height}x{width}: use --image_size={_round_up(max(height, width), 2 ** MIN_DEPTH)} (e.g. "
                         "32 for 28x28 digits).")
    return auto


def _round_up(value, multiple):
    return -(-value // multiple) * multiple


def generator(image_shape, output_channels, width=DEFAULT_WIDTH, seed=None, depth=0):
    """images float32 [B, H, W, Cin] in [-1, 1] -> images float32 [B, H, W, output_channels] in [-1, 1].

    Args:
      image_shape: (H, W, Cin) of the input images; H and W divisible by 2^depth.
      output_channels: Cout.
      width: the first layer's filters (ngf); layer i has width * min(2^i, 8).
      seed: int seed of the N(0, 0.02) initialisers, or None.
      depth: stride-2 layers in the encoder (and decoder); 0 = `depth_for(image_shape)`.
    """
    depth = depth_for(image_shape, depth)
    images = keras.Input(tuple(image_shape), name="images")
    h, skips = images, []
    for i in range(depth):
        if i > 0:
            h = layers.LeakyReLU(0.2, name=f"down_lrelu{i}")(h)
        h = layers.Conv2D(width * min(2 ** i, 8), 4, 2, "same", kernel_initializer=dcgan.kernel_init(seed, i),
                          name=f"down{i}")(h)
        if 0 < i < depth - 1:
            h = image_layers.instance_norm(f"down_norm{i}")(h)
        skips.append(h)
    dropouts = min(DROPOUT_BLOCKS, depth - 2)  # the outermost two decoder blocks never drop
    for i in reversed(range(1, depth)):
        h = layers.ReLU(name=f"up_relu{i}")(h)
        h = layers.Conv2DTranspose(width * min(2 ** (i - 1), 8), 4, 2, "same",
                                   kernel_initializer=dcgan.kernel_init(seed, 2 * depth - i), name=f"up{i}")(h)
        h = image_layers.instance_norm(f"up_norm{i}")(h)
        if i >= depth - dropouts:
            h = layers.Dropout(0.5, seed=seed, name=f"up_dropout{i}")(h)
        h = layers.Concatenate(name=f"skip{i}")([skips[i - 1], h])
    h = layers.ReLU(name="up_relu0")(h)
    h = layers.Conv2DTranspose(output_channels, 4, 2, "same", kernel_initializer=dcgan.kernel_init(seed, 2 * depth),
                               name="up0")(h)
    outputs = layers.Activation("tanh", dtype="float32", name="translated")(h)
    return keras.Model(images, outputs, name="unet_generator")


# A PatchGAN: [B, H, W, C] -> logits [B, h, w, 1] (pix2pix's C = Cin + Cout, the caller concatenates).
discriminator = patchgan.discriminator
