"""The conditional GAN of lecture 003: `mlp2` with a one-hot label as extra input.

G: [z, one_hot(y)] -> 256 -> 512 -> 784; D: [x, one_hot(y)] -> 512 -> 256 -> 1
(Mirza & Osindero, 2014, in the lecture's layout: the label is concatenated to
the input of the first layer of each network and nowhere else).
"""

import keras
from keras import layers

from tfgan_course.models import mlp2

DEFAULT_WIDTH = mlp2.DEFAULT_WIDTH
KIND = "conditional"


def label_input():
    """The class-label input shared by the conditional families: int32 [B]."""
    return keras.Input((), dtype="int32", name="label")


def generator(image_shape, latent_dim, width=DEFAULT_WIDTH, seed=None, num_classes=10):
    """[z float32 [B, latent_dim], label int32 [B] in [0, num_classes)] -> images float32 [B, H, W, C] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    label = label_input()
    h = layers.Concatenate(name="z_label")([z, keras.ops.one_hot(label, num_classes)])
    return keras.Model([z, label], mlp2.generator_layers(h, image_shape, width, seed), name="cmlp_generator")


def discriminator(image_shape, width=DEFAULT_WIDTH, seed=None, num_classes=10):
    """[images float32 [B, H, W, C], label int32 [B] in [0, num_classes)] -> logits float32 [B, 1]."""
    images = keras.Input(image_shape, name="images")
    label = label_input()
    h = layers.Flatten(name="flatten")(images)
    h = layers.Concatenate(name="images_label")([h, keras.ops.one_hot(label, num_classes)])
    return keras.Model([images, label], mlp2.discriminator_layers(h, width, seed), name="cmlp_discriminator")
