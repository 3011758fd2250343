"""The toy GAN of lecture 004 (Toutouh): two hidden layers each, SELU in G and ELU in D.

G: Linear(z, w) - SELU - Linear(w, w) - SELU - Linear(w, dim) - SELU;
D: Linear(dim, w) - ELU - Linear(w, w) - ELU - Linear(w, 1), w = 75 (the
lecture's discriminator_hidden_size). The lecture's final Sigmoid in D is
applied inside the losses. Initialised as PyTorch's `nn.Linear` is, like
`mlp`. For vectors [B, dim] (`toy:` datasets), as `toy`.
"""

import math

import keras
from keras import layers

from tfgan_course.models import mlp

DEFAULT_WIDTH = 75
KIND = "unconditional"


def _net(h, width, outputs, activation, output_activation, output_name, seed):
    """h [B, N] -> Dense(width) - act - Dense(width) - act - Dense(outputs) - output_activation, float32 [B, outputs].

    Each `mlp.dense` uses two seeds (kernel, bias), hence the steps of 2.
    """
    for i, units in enumerate((width, width, outputs)):
        h = mlp.dense(units, h.shape[-1], None if seed is None else seed + 2 * i, f"fc{i + 1}")(h)
        last = i == 2
        h = layers.Activation(output_activation if last else activation, dtype="float32" if last else None,
                              name=output_name if last else f"{activation}{i + 1}")(h)
    return h


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None):
    """z float32 [B, latent_dim] -> samples float32 [B, dim] in (-1.7581, inf).

    SELU on the output too, as the lecture: its range is
    (-scale * alpha, inf) = (-1.7581, inf), so data below -1.758 is out of reach.
    """
    z = keras.Input((latent_dim,), name="z")
    h = _net(z, width, math.prod(image_shape), "selu", "selu", "selu3", seed)
    samples = layers.Reshape(image_shape, name="images")(h)
    return keras.Model(z, samples, name="selu_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None):
    """samples float32 [B, dim] -> logits float32 [B, 1]."""
    samples = keras.Input(image_shape, name="samples")
    h = layers.Flatten(name="flatten")(samples)
    logits = _net(h, width, 1, "elu", "linear", "logits", seed)
    return keras.Model(samples, logits, name="selu_discriminator")
