"""DCGAN (Radford et al., 2016) exactly as the lectures' PyTorch tutorial builds it.

4x4 kernels with stride 2, BatchNorm everywhere but G's output and D's input,
ReLU in G and LeakyReLU 0.2 in D, tanh output, no biases, weights N(0, 0.02)
and BatchNorm gamma N(1, 0.02). For 64x64 (nz=100, ngf=ndf=64):

  G: z -> 4x4x(8ngf) -> 8x8x(4ngf) -> 16x16x(2ngf) -> 32x32x(ngf) -> 64x64xC
  D: 64x64xC -> 32x32x(ndf) -> 16x16x(2ndf) -> 8x8x(4ndf) -> 4x4x(8ndf) -> 1

Other sizes follow the same rules with fewer or more blocks: the smallest map
is 4x4 (32, 64, 128, ...) or 7x7 (28, 56, ...), where G's first transposed
convolution and D's last convolution use a kernel as large as that map.
"""

import math

import keras
import tensorflow as tf
from keras import layers

DEFAULT_WIDTH = 64


def _blocks(size):
    """(smallest map size, number of stride-2 layers) for an image side `size`."""
    for start in (4, 7):
        ratio = size / start
        if ratio >= 2 and ratio == 2 ** round(math.log2(ratio)):
            return start, round(math.log2(ratio))
    raise ValueError(
        f"dcgan needs square images of side 4*2^k or 7*2^k (28, 32, 56, 64, 128, ...), got {size}; "
        "set --image_size accordingly.")


def _check_square(image_shape):
    height, width, channels = image_shape
    if height != width:
        raise ValueError(f"dcgan needs square images, got {height}x{width}.")
    return height, channels


def _kernel_init(seed, i):
    return keras.initializers.RandomNormal(0.0, 0.02, seed=None if seed is None else seed + i)


def _batch_norm(seed, i, name):
    # PyTorch's BatchNorm2d momentum 0.1 and eps 1e-5, in Keras' convention.
    # Under a multi-replica strategy the statistics are those of the global
    # batch, so N replicas train exactly as one device on the same batch.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=replicas > 1,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02, seed=None if seed is None else seed + 100 + i),
        name=name)


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None):
    """z float32 [B, latent_dim] -> images float32 [B, H, W, C] in [-1, 1]."""
    size, channels = _check_square(image_shape)
    start, num_up = _blocks(size)
    z = keras.Input((latent_dim,), name="z")
    h = layers.Reshape((1, 1, latent_dim), name="z_map")(z)
    filters = width * 2 ** (num_up - 1)
    h = layers.Conv2DTranspose(filters, start, 1, "valid", use_bias=False,
                               kernel_initializer=_kernel_init(seed, 0), name="deconv0")(h)
    for i in range(1, num_up + 1):
        h = _batch_norm(seed, i, f"bn{i - 1}")(h)
        h = layers.ReLU(name=f"relu{i - 1}")(h)
        last = i == num_up
        filters = channels if last else filters // 2
        h = layers.Conv2DTranspose(filters, 4, 2, "same", use_bias=False,
                                   kernel_initializer=_kernel_init(seed, i), name=f"deconv{i}")(h)
    images = layers.Activation("tanh", dtype="float32", name="images")(h)
    return keras.Model(z, images, name="dcgan_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """images float32 [B, H, W, C] -> logits float32 [B, 1]."""
    size, _ = _check_square(image_shape)
    start, num_down = _blocks(size)
    images = keras.Input(image_shape, name="images")
    h = images
    for i in range(num_down):
        h = layers.Conv2D(width * 2 ** i, 4, 2, "same", use_bias=False,
                          kernel_initializer=_kernel_init(seed, i), name=f"conv{i}")(h)
        if i > 0:  # DCGAN rule: no BatchNorm on D's input layer.
            h = _batch_norm(seed, i, f"bn{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"lrelu{i}")(h)
    h = layers.Conv2D(1, start, 1, "valid", use_bias=False,
                      kernel_initializer=_kernel_init(seed, num_down), name=f"conv{num_down}")(h)
    logits = layers.Flatten(dtype="float32", name="logits")(h)
    return keras.Model(images, logits, name="dcgan_discriminator")
