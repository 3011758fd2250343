"""The conditional GAN (Mirza & Osindero, 2014; lecture 003, textbook 12.5): G(z, y) and D(x, y)."""

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import gan, latent, replicas
from tfgan_course import spec as spec_lib


class ConditionalGAN(gan.GAN):
    """A conditional GAN: G(z, y) and D(x, y) for class labels y (lecture 003; textbook 12.5).

    The generator takes `[z, label]` (float32 [B, latent_dim], int32 [B]); the
    discriminator `[images, label]`. Real images come with their labels; fakes
    are drawn for labels uniform over the classes, as the textbook's tutorial
    does (`y_ = torch.rand(b_size, 1) * 10`). D's penalty, if any, sees real
    labels.

    Args:
      num_classes: the number of labels, >= 2.
      (the rest as `GAN`).
    """

    variant = "conditional"

    def __init__(self, generator, discriminator, latent_dim, num_classes, **kwargs):
        if num_classes < 2:
            raise ValueError(f"A conditional GAN needs num_classes >= 2, got {num_classes}.")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.num_classes = int(num_classes)

    def input_specs(self):
        return (*super().input_specs(), spec_lib.label_input(self.num_classes))

    def fixed_inputs(self, z, examples=None):
        """One row per class, the same noise in each column (the textbook's grid of digits)."""
        del examples
        z = np.asarray(z, np.float32)
        columns = max(1, len(z) // self.num_classes)
        labels = np.repeat(np.arange(self.num_classes, dtype=np.int32), columns)
        return latent.GridInputs({"z": np.tile(z[:columns], (self.num_classes, 1)), "label": labels}, columns)

    def sample_labels(self, batch_size):
        """int32 [batch_size] uniform over the classes (this replica's slice of the global draw)."""
        labels = keras.random.randint((batch_size * replicas.count(),), 0, self.num_classes,
                                      seed=self.seed_generator)
        return replicas.global_slice(tf.cast(labels, tf.int32), batch_size)

    def generator_inputs(self, batch_size, real_labels):
        if real_labels is None:
            raise ValueError("A conditional GAN trains on (images, labels) batches; this dataset has no labels.")
        labels = self.sample_labels(batch_size)
        return [self.sample_z(batch_size), labels], labels

    def real_condition(self, real_labels):
        return tf.cast(real_labels, tf.int32)

    def discriminate(self, images, condition, weights=None):
        return self._call_discriminator([images, condition], weights)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
