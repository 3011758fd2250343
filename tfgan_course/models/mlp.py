"""The MLP GAN of lecture 000: one hidden layer each, LeakyReLU 0.2, tanh output.

D: 784 -> 128 -> 1 (100,609 parameters on 28x28x1); G: 100 -> 128 -> 784.
Initialised as PyTorch's `nn.Linear` is (weights and biases
U(-1/sqrt(fan_in), 1/sqrt(fan_in))), because the lecture's SGD learning rates
were tuned for that scale, not for Keras' Glorot default.
"""

import math

import keras
from keras import layers

DEFAULT_WIDTH = 128
KIND = "unconditional"


def dense(units, fan_in, seed, name):
    """A Dense layer initialised as PyTorch's nn.Linear(fan_in, units); its bias uses seed + 1."""
    limit = 1.0 / math.sqrt(fan_in)
    return layers.Dense(
        units,
        kernel_initializer=keras.initializers.RandomUniform(-limit, limit, seed=seed),
        bias_initializer=keras.initializers.RandomUniform(-limit, limit, seed=None if seed is None else seed + 1),
        name=name,
    )


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None):
    """z float32 [B, latent_dim] -> images float32 [B, H, W, C] in [-1, 1]."""
    pixels = math.prod(image_shape)
    z = keras.Input((latent_dim,), name="z")
    h = dense(width, latent_dim, seed, "fc1")(z)
    h = layers.LeakyReLU(0.2, name="nonlin1")(h)
    h = dense(pixels, width, None if seed is None else seed + 2, "fc2")(h)
    h = layers.Activation("tanh", dtype="float32", name="tanh")(h)
    images = layers.Reshape(image_shape, name="images")(h)
    return keras.Model(z, images, name="mlp_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """images float32 [B, H, W, C] -> logits float32 [B, 1]."""
    images = keras.Input(image_shape, name="images")
    h = layers.Flatten(name="flatten")(images)
    h = dense(width, math.prod(image_shape), seed, "fc1")(h)
    h = layers.LeakyReLU(0.2, name="nonlin1")(h)
    logits = dense(1, width, None if seed is None else seed + 2, "fc2")(h)
    logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
    return keras.Model(images, logits, name="mlp_discriminator")
