"""InfoGAN (Chen et al., 2016; lecture 003's disentanglement): latent codes that G must keep recoverable."""

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import gan, latent, losses, replicas
from tfgan_course import spec as spec_lib


class InfoGAN(gan.GAN):
    """InfoGAN (Chen et al., 2016; lecture 003's disentanglement): latent codes G must keep recoverable.

    G's input is [z, one_hot(c_cat), c_cont] of size latent_dim + num_categories
    + num_continuous, with c_cat uniform over num_categories values and c_cont ~
    U[-1, 1]. D's body also feeds a head Q that predicts the codes of a fake:
    D returns [logits [B, 1], code_logits [B, num_categories], code_mean
    [B, num_continuous]]. Both players minimise, on top of their GAN loss,
    info_weight * L_I, where L_I = CE(c_cat, Q_cat) + 1/2 ||c_cont - Q_mean||^2
    (the negative log-likelihood of the codes under Q with a unit-variance
    Gaussian: a variational lower bound on the mutual information I(c; G(z, c))).

    Args:
      latent_dim: size of the incompressible noise z (62 in the paper's MNIST model).
      num_categories: values of the categorical code (10 for MNIST's digits), 0 = none.
      num_continuous: continuous codes (2 for MNIST's tilt and width), 0 = none.
      info_weight: lambda of the mutual-information term.
      (the rest as `GAN`).
    """

    variant = "infogan"
    metric_names = gan.GAN.metric_names + ("info_loss",)

    def __init__(self, generator, discriminator, latent_dim, num_categories=10, num_continuous=2,
                 info_weight=1.0, **kwargs):
        if num_categories < 0 or num_continuous < 0 or num_categories + num_continuous == 0:
            raise ValueError("InfoGAN needs at least one latent code: num_categories >= 1 or num_continuous >= 1.")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.num_categories = int(num_categories)
        self.num_continuous = int(num_continuous)
        self.info_weight = float(info_weight)

    def input_specs(self):
        """G's one input z = [noise, one-hot categorical code, continuous codes]."""
        return (spec_lib.latent_input(self.latent_dim, self.latent_distribution, self.num_categories,
                                      self.num_continuous),)

    def sample_codes(self, batch_size):
        """(c_cat int32 [B], c_cont float32 [B, num_continuous] in [-1, 1])."""
        rows = batch_size * replicas.count()
        categories = tf.cast(keras.random.randint((rows,), 0, max(self.num_categories, 1),
                                                  seed=self.seed_generator), tf.int32)
        continuous = keras.random.uniform((rows, self.num_continuous), -1.0, 1.0, seed=self.seed_generator)
        return replicas.global_slice(categories, batch_size), replicas.global_slice(continuous, batch_size)

    def fixed_inputs(self, z, examples=None):
        """One row per categorical value, the same noise in each column, continuous codes at 0."""
        del examples
        z = np.asarray(z, np.float32)
        rows = self.num_categories or 8
        columns = max(1, len(z) // rows)
        categories = np.repeat(np.arange(rows, dtype=np.int32) % max(self.num_categories, 1), columns)
        continuous = np.zeros([rows * columns, self.num_continuous], np.float32)
        z = latent.compose_latents(self.input_specs()[0], np.tile(z[:columns], (rows, 1)), categories, continuous)
        return latent.GridInputs({"z": z.numpy()}, columns)

    def generator_inputs(self, batch_size, real_labels):
        del real_labels
        categories, continuous = self.sample_codes(batch_size)
        g_input = latent.compose_latents(self.input_specs()[0], self.sample_z(batch_size), categories, continuous)
        return g_input, (categories, continuous)

    def adversarial_logits(self, outputs):
        return outputs[0]

    def info_loss(self, fake_outputs, codes):
        """L_I (`losses.mutual_information_loss`) of the fakes' codes under Q (a replica's share of the global mean)."""
        _, code_logits, code_mean = fake_outputs
        return losses.mutual_information_loss(*codes, code_logits, code_mean)

    def discriminator_loss(self, real_outputs, fake_outputs, condition):
        return (super().discriminator_loss(real_outputs, fake_outputs, condition)
                + self.info_weight * self.info_loss(fake_outputs, condition))

    def generator_loss(self, fake_outputs, condition):
        return (super().generator_loss(fake_outputs, condition)
                + self.info_weight * self.info_loss(fake_outputs, condition))

    def finish_step(self, real_outputs, fake_outputs, fake_outputs_after, condition):
        return {**super().finish_step(real_outputs, fake_outputs, fake_outputs_after, condition),
                "info_loss": self.info_loss(fake_outputs_after, condition) * replicas.count()}

    def get_config(self):
        return {**super().get_config(), "num_categories": self.num_categories,
                "num_continuous": self.num_continuous, "info_weight": self.info_weight}
