"""The "first GAN on MNIST" of lecture 003: two hidden layers each.

G: z -> 256 -> 512 -> 784 (ReLU, ReLU, tanh); D: 784 -> 512 -> 256 -> 1
(LeakyReLU 0.2 twice; the lecture's final Sigmoid is applied inside the
losses). With width w: G z -> w -> 2w -> pixels, D pixels -> 2w -> w -> 1.
Initialised as PyTorch's `nn.Linear` is, like the lecture-000 `mlp`.

`generator_layers` and `discriminator_layers` are shared with the conditional
`cmlp`, which only widens the first layer's input by a one-hot label.
"""

import math

import keras
from keras import layers

from tfgan_course.models import mlp

DEFAULT_WIDTH = 256
KIND = "unconditional"


def _seed(seed, i):
    return None if seed is None else seed + i


def generator_layers(h, image_shape, width, seed=None):
    """h float32 [B, N] (z, or z with a label) -> images float32 [B, *image_shape] in [-1, 1]."""
    # Each `mlp.dense` uses two seeds (kernel, bias), hence the steps of 2.
    h = mlp.dense(width, h.shape[-1], _seed(seed, 0), "fc1")(h)
    h = layers.ReLU(name="relu1")(h)
    h = mlp.dense(2 * width, width, _seed(seed, 2), "fc2")(h)
    h = layers.ReLU(name="relu2")(h)
    h = mlp.dense(math.prod(image_shape), 2 * width, _seed(seed, 4), "fc3")(h)
    h = layers.Activation("tanh", dtype="float32", name="tanh")(h)
    return layers.Reshape(image_shape, name="images")(h)


def discriminator_layers(h, width, seed=None):
    """h float32 [B, N] (flattened images, or with a label) -> logits float32 [B, 1]."""
    h = mlp.dense(2 * width, h.shape[-1], _seed(seed, 0), "fc1")(h)
    h = layers.LeakyReLU(0.2, name="lrelu1")(h)
    h = mlp.dense(width, 2 * width, _seed(seed, 2), "fc2")(h)
    h = layers.LeakyReLU(0.2, name="lrelu2")(h)
    h = mlp.dense(1, width, _seed(seed, 4), "fc3")(h)
    return layers.Activation("linear", dtype="float32", name="logits")(h)


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None):
    """z float32 [B, latent_dim] -> images float32 [B, H, W, C] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    return keras.Model(z, generator_layers(z, image_shape, width, seed), name="mlp2_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """images float32 [B, H, W, C] -> logits float32 [B, 1]."""
    images = keras.Input(image_shape, name="images")
    h = layers.Flatten(name="flatten")(images)
    return keras.Model(images, discriminator_layers(h, width, seed), name="mlp2_discriminator")
