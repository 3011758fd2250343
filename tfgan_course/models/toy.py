"""The toy GAN of lecture 001 (Fleuret), and the deeper toy nets of the mode-collapse literature.

By default one hidden ReLU layer of 100 units each, as the lecture:
G: Linear(z, 100) - ReLU - Linear(100, dim); D: Linear(dim, 100) - ReLU - Linear(100, 1).
`depth` stacks more hidden layers of the same width: the 2-D mixture experiments
of the mode-collapse papers use 2 to 4 (the unrolled GAN: 2 of 128; VEEGAN and
PacGAN: G 4 of 400, D 3 of 200). For 1-D and 2-D toy data (`toy:` dataset
specs), whose values are not in [-1, 1]: G's output is linear, not tanh.
"""

import math

import keras
from keras import layers

DEFAULT_WIDTH = 100
DEFAULT_DEPTH = 1
KIND = "unconditional"


def _hidden(h, width, depth, seed):
    """h -> `depth` Dense(width) - ReLU layers fc1..fc<depth>, the i-th seeded by seed + i - 1."""
    for i in range(depth):
        initializer = keras.initializers.GlorotUniform(None if seed is None else seed + i)
        h = layers.Dense(width, activation="relu", kernel_initializer=initializer, name=f"fc{i + 1}")(h)
    return h


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None, depth=DEFAULT_DEPTH):
    """z float32 [B, latent_dim] -> samples float32 [B, dim]."""
    z = keras.Input((latent_dim,), name="z")
    h = _hidden(z, width, depth, seed)
    samples = layers.Dense(math.prod(image_shape), dtype="float32", name="samples",
                           kernel_initializer=keras.initializers.GlorotUniform(
                               None if seed is None else seed + depth))(h)
    return keras.Model(z, layers.Reshape(image_shape, name="images")(samples), name="toy_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None, depth=DEFAULT_DEPTH):
    """samples float32 [B, dim] -> logits float32 [B, 1]."""
    samples = keras.Input(image_shape, name="samples")
    h = _hidden(layers.Flatten(name="flatten")(samples), width, depth, seed)
    logits = layers.Dense(1, dtype="float32", name="logits",
                          kernel_initializer=keras.initializers.GlorotUniform(None if seed is None else seed + depth))(h)
    return keras.Model(samples, logits, name="toy_discriminator")
