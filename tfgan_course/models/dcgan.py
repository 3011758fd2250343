"""DCGAN (Radford et al., 2016) exactly as the lectures' PyTorch tutorial builds it.

4x4 kernels with stride 2, BatchNorm everywhere but G's output and D's input,
ReLU in G and LeakyReLU 0.2 in D, tanh output, no biases, weights N(0, 0.02)
and BatchNorm gamma N(1, 0.02). For 64x64 (nz=100, ngf=ndf=64):

  G: z -> 4x4x(8ngf) -> 8x8x(4ngf) -> 16x16x(2ngf) -> 32x32x(ngf) -> 64x64xC
  D: 64x64xC -> 32x32x(ndf) -> 16x16x(2ndf) -> 8x8x(4ndf) -> 4x4x(8ndf) -> 1

Other sizes follow the same rules with fewer or more blocks: the smallest map
is 4x4 (32, 64, 128, ...) or 7x7 (28, 56, ...), where G's first transposed
convolution and D's last convolution use a kernel as large as that map.

Beyond the tutorial, two options: G may upsample by resize-convolution
(`upsample="nearest"` or `"bilinear"`, Odena et al., 2016) instead of
transposed convolutions, and D may use LayerNormalization (`norm="layer"`,
as WGAN-GP's critic) or no normalisation instead of BatchNorm.
"""

import math

import keras
import tensorflow as tf
from keras import layers

DEFAULT_WIDTH = 64
KIND = "unconditional"
NORMS = ("batch", "layer", "none")  # D's normalisation
UPSAMPLINGS = ("transposed", "nearest", "bilinear")  # G's stride-2 layers


def _blocks(size, family="dcgan"):
    """(smallest map size, number of stride-2 layers) for an image side `size`."""
    for start in (4, 7):
        ratio = size / start
        if ratio >= 2 and ratio == 2 ** round(math.log2(ratio)):
            return start, round(math.log2(ratio))
    raise ValueError(
        f"{family} needs square images of side 4*2^k or 7*2^k (28, 32, 56, 64, 128, ...), got {size}; "
        "set --image_size accordingly.")


def layout(image_shape, family="dcgan"):
    """(side, channels, smallest map side, number of stride-2 layers) of square (H, W, C) images.

    A ValueError naming `family` for other shapes.
    """
    height, width, channels = image_shape
    if height != width:
        raise ValueError(f"{family} needs square images, got {height}x{width}.")
    return (height, channels) + _blocks(height, family)


def kernel_init(seed, i):
    """DCGAN's weight initialiser N(0, 0.02), seeded by seed + i."""
    return keras.initializers.RandomNormal(0.0, 0.02, seed=None if seed is None else seed + i)


def batch_norm(seed, i, name, gamma_mean=1.0):
    """BatchNormalization as PyTorch's BatchNorm2d, gamma N(gamma_mean, 0.02) seeded by seed + 100 + i."""
    # PyTorch's BatchNorm2d momentum 0.1 and eps 1e-5, in Keras' convention.
    # Under a multi-replica strategy the statistics are those of the global
    # batch, so N replicas train exactly as one device on the same batch.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=replicas > 1,
        gamma_initializer=keras.initializers.RandomNormal(
            gamma_mean, 0.02, seed=None if seed is None else seed + 100 + i),
        name=name)


def _upsample(h, filters, upsample, seed, i):
    """h [B, S, S, F] -> [B, 2S, 2S, filters] by a stride-2 transposed convolution or a resize-convolution."""
    if upsample == "transposed":
        return layers.Conv2DTranspose(filters, 4, 2, "same", use_bias=False,
                                      kernel_initializer=kernel_init(seed, i), name=f"deconv{i}")(h)
    # Odena et al. (2016): a 4x4 stride-2 transposed convolution overlaps
    # unevenly and paints checkerboards (lecture 003); resizing first and then
    # convolving with stride 1 spreads every input pixel evenly.
    h = layers.UpSampling2D(2, interpolation=upsample, name=f"upsample{i}")(h)
    return layers.Conv2D(filters, 3, 1, "same", use_bias=False,
                         kernel_initializer=kernel_init(seed, i), name=f"conv{i}")(h)


def _normalize(h, norm, seed, i):
    """D's normalisation after conv{i}: "batch" (DCGAN), "layer" (WGAN-GP's critic) or "none"."""
    if norm == "batch":
        return batch_norm(seed, i, f"bn{i}")(h)
    if norm == "layer":
        # Per example over H, W and C: a gradient penalty on D(x) per example
        # is meaningless when BatchNorm mixes the examples of a batch
        # (Gulrajani et al., 2017).
        return layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5, name=f"ln{i}")(h)
    return h


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None, upsample="transposed"):
    """z float32 [B, latent_dim] -> images float32 [B, H, W, C] in [-1, 1].

    `upsample`: "transposed" (DCGAN's 4x4 stride-2 transposed convolutions) or
    "nearest"/"bilinear" (a resize then a 3x3 convolution, for every stride-2
    layer; the first 1x1 -> start layer stays transposed).
    """
    _, channels, start, num_up = layout(image_shape)
    z = keras.Input((latent_dim,), name="z")
    h = layers.Reshape((1, 1, latent_dim), name="z_map")(z)
    filters = width * 2 ** (num_up - 1)
    h = layers.Conv2DTranspose(filters, start, 1, "valid", use_bias=False,
                               kernel_initializer=kernel_init(seed, 0), name="deconv0")(h)
    for i in range(1, num_up + 1):
        h = batch_norm(seed, i, f"bn{i - 1}")(h)
        h = layers.ReLU(name=f"relu{i - 1}")(h)
        last = i == num_up
        filters = channels if last else filters // 2
        h = _upsample(h, filters, upsample, seed, i)
    images = layers.Activation("tanh", dtype="float32", name="images")(h)
    return keras.Model(z, images, name="dcgan_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None, norm="batch"):
    """images float32 [B, H, W, C] -> logits float32 [B, 1].

    `norm`: "batch" (DCGAN), "layer" (per-example LayerNormalization over
    H, W, C, as WGAN-GP's critic) or "none".
    """
    _, _, start, num_down = layout(image_shape)
    images = keras.Input(image_shape, name="images")
    h = images
    for i in range(num_down):
        normalized = i > 0  # DCGAN rule: no BatchNorm on D's input layer.
        # DCGAN has no biases, as BatchNorm's beta (or LayerNorm's) replaces
        # them; without a norm the layers it followed get theirs back.
        h = layers.Conv2D(width * 2 ** i, 4, 2, "same", use_bias=normalized and norm == "none",
                          kernel_initializer=kernel_init(seed, i), name=f"conv{i}")(h)
        if normalized:
            h = _normalize(h, norm, seed, i)
        h = layers.LeakyReLU(0.2, name=f"lrelu{i}")(h)
    h = layers.Conv2D(1, start, 1, "valid", use_bias=False,
                      kernel_initializer=kernel_init(seed, num_down), name=f"conv{num_down}")(h)
    logits = layers.Flatten(dtype="float32", name="logits")(h)
    return keras.Model(images, logits, name="dcgan_discriminator")
