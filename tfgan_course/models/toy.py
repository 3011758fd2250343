"""The toy GAN of lecture 001 (Fleuret): one hidden ReLU layer of 100 units each.

G: Linear(z, 100) - ReLU - Linear(100, dim); D: Linear(dim, 100) - ReLU - Linear(100, 1).
For 1-D and 2-D toy data (`toy:` dataset specs), whose values are not in
[-1, 1]: G's output is linear, not tanh.
"""

import math

import keras
from keras import layers

DEFAULT_WIDTH = 100
KIND = "unconditional"


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None):
    """z float32 [B, latent_dim] -> samples float32 [B, dim]."""
    z = keras.Input((latent_dim,), name="z")
    h = layers.Dense(width, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed),
                     name="fc1")(z)
    samples = layers.Dense(math.prod(image_shape), dtype="float32", name="samples",
                           kernel_initializer=keras.initializers.GlorotUniform(
                               None if seed is None else seed + 1))(h)
    return keras.Model(z, layers.Reshape(image_shape, name="images")(samples), name="toy_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """samples float32 [B, dim] -> logits float32 [B, 1]."""
    samples = keras.Input(image_shape, name="samples")
    h = layers.Flatten(name="flatten")(samples)
    h = layers.Dense(width, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed),
                     name="fc1")(h)
    logits = layers.Dense(1, dtype="float32", name="logits",
                          kernel_initializer=keras.initializers.GlorotUniform(None if seed is None else seed + 1))(h)
    return keras.Model(samples, logits, name="toy_discriminator")
