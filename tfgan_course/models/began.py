"""BEGAN's discriminator: an autoencoder whose output is its L1 reconstruction error.

Berthelot et al. (2017): D(x) = L(x) = mean |x - decoder(encoder(x))|, the
per-example energy BEGAN's loss compares between real and generated images.
The convolutional autoencoder follows the paper's figure 1 (3x3
convolutions, ELU, n, 2n, 3n, ... channels, stride-2 downsampling,
nearest-neighbour upsampling, a linear embedding h), sized by `dcgan`'s rule
(smallest map 4x4 or 7x7). `dense_discriminator` is a small dense autoencoder
for the MLP families. No BatchNorm: every energy must depend on its own
example only.
"""

import itertools
import math

import keras
from keras import layers

from tfgan_course.models import dcgan

DEFAULT_WIDTH = 64
DEFAULT_EMBEDDING = 64


def _init(seed, i):
    return keras.initializers.GlorotUniform(None if seed is None else seed + i)


def _energy_model(images, reconstruction, name):
    """The keras.Model images -> energies float32 [B, 1] = mean over pixels of |images - reconstruction|."""
    axes = tuple(range(1, len(images.shape)))
    energies = keras.ops.mean(keras.ops.abs(images - reconstruction), axis=axes)
    energies = layers.Reshape((1,), dtype="float32", name="energies")(energies)
    return keras.Model(images, energies, name=name)


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None, embedding_dim=DEFAULT_EMBEDDING):
    """images float32 [B, H, W, C] -> energies float32 [B, 1], >= 0 (L1 reconstruction errors).

    Square images of side 4*2^k or 7*2^k, as `dcgan`. `width` is the paper's n.
    """
    _, channels, start, levels = dcgan.layout(image_shape, "began")
    seeds = itertools.count()  # seed + 0, 1, 2, ... for the layers in order

    def conv(filters, name, strides=1):
        return layers.Conv2D(filters, 3, strides, "same", activation="elu",
                             kernel_initializer=_init(seed, next(seeds)), name=name)

    images = keras.Input(image_shape, name="images")
    h = conv(width, "enc_conv0")(images)
    for level in range(levels + 1):
        h = conv(width * (level + 1), f"enc{level}_conv1")(h)
        h = conv(width * (level + 1), f"enc{level}_conv2")(h)
        if level < levels:  # Down to the next level, n more channels.
            h = conv(width * (level + 2), f"enc{level}_down", strides=2)(h)
    h = layers.Flatten(name="flatten")(h)
    embedding = layers.Dense(embedding_dim, kernel_initializer=_init(seed, next(seeds)), name="embedding")(h)
    h = layers.Dense(start * start * width, kernel_initializer=_init(seed, next(seeds)), name="dec_fc")(embedding)
    h = layers.Reshape((start, start, width), name="dec_map")(h)
    for level in range(levels + 1):
        h = conv(width, f"dec{level}_conv1")(h)
        h = conv(width, f"dec{level}_conv2")(h)
        if level < levels:
            h = layers.UpSampling2D(2, interpolation="nearest", name=f"dec{level}_up")(h)
    # Linear, not tanh: the paper's decoder ends with a plain convolution.
    reconstruction = layers.Conv2D(channels, 3, 1, "same", dtype="float32", kernel_initializer=_init(seed, next(seeds)),
                                   name="reconstruction")(h)
    return _energy_model(images, reconstruction, "began_discriminator")


def dense_discriminator(image_shape, width, seed=None, embedding_dim=DEFAULT_EMBEDDING):
    """images float32 [B, *image_shape] -> energies float32 [B, 1], >= 0: a dense autoencoder's L1 errors.

    pixels -> width (ELU) -> embedding_dim -> width (ELU) -> pixels, for the
    MLP families, whose images may have any shape.
    """
    pixels = math.prod(image_shape)
    images = keras.Input(image_shape, name="images")
    h = layers.Flatten(name="flatten")(images)
    for i, (units, activation, name) in enumerate(((width, "elu", "enc_fc"), (embedding_dim, None, "embedding"),
                                                   (width, "elu", "dec_fc"), (pixels, None, "dec_out"))):
        h = layers.Dense(units, activation=activation, kernel_initializer=_init(seed, i), name=name)(h)
    reconstruction = layers.Reshape(image_shape, dtype="float32", name="reconstruction")(h)
    return _energy_model(images, reconstruction, "began_dense_discriminator")


def reconstruction_model(discriminator):
    """images -> reconstructions (same shape) of a BEGAN `discriminator`, sharing its weights, e.g. for plots."""
    return keras.Model(discriminator.input, discriminator.get_layer("reconstruction").output,
                       name=f"{discriminator.name}_reconstruction")
