"""BEGAN (Berthelot et al., 2017; lecture 004's loss table): D is an autoencoder, k_t balances the players."""

import tensorflow as tf

from tfgan_course import gan, losses, replicas


class BEGAN(gan.GAN):
    """BEGAN (Berthelot et al., 2017; lecture 004's loss table): D is an autoencoder.

    D returns each image's reconstruction energy L(v) = mean |v - AE(v)| [B, 1]
    (see `models/began.py`). With k_t in [0, 1]:

      L_D = L(x) - k_t L(G(z))        L_G = L(G(z))
      k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)
      M_global = L(x) + |gamma L(x) - L(G(z))|   (the convergence measure)

    gamma = E[L(G(z))] / E[L(x)] is the diversity ratio: lower gamma, sharper
    but less diverse samples. The losses are `losses.began_*`; k_t and M_global
    are logged every step.

    Args:
      gamma: the diversity ratio, in (0, 1].
      lambda_k: the proportional gain of k_t's control (0.001 in the paper).
      (the rest as `GAN`).
    """

    variant = "began"
    d_outputs = "energies"
    metric_names = ("d_loss", "g_loss", "L(x)", "L(G(z))", "k_t", "M_global")

    def __init__(self, generator, discriminator, latent_dim, gamma=0.5, lambda_k=0.001, **kwargs):
        if not 0 < gamma <= 1:
            raise ValueError(f"BEGAN's gamma must be in (0, 1], got {gamma}.")
        if lambda_k < 0:
            raise ValueError(f"BEGAN's lambda_k must be >= 0, got {lambda_k}.")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.gamma = float(gamma)
        self.lambda_k = float(lambda_k)
        # Every replica computes the same update from all-reduced energies.
        self.k = tf.Variable(0.0, trainable=False, name="k_t",
                             aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def compile(self, d_optimizer, g_optimizer, loss="began", **kwargs):
        super().compile(d_optimizer, g_optimizer, loss=loss, **kwargs)

    def discriminator_loss(self, real_outputs, fake_outputs, condition):
        del condition
        return losses.began_discriminator_loss(real_outputs, fake_outputs, k=self.k)

    def finish_step(self, real_outputs, fake_outputs, fake_outputs_after, condition):
        del fake_outputs, condition
        # Global means: every replica's share, summed.
        real_energy, fake_energy = replicas.sum_across([losses.began_generator_loss(real_outputs),
                                                        losses.began_generator_loss(fake_outputs_after)])
        balance = self.gamma * real_energy - fake_energy
        k_t = self.k.assign(tf.clip_by_value(self.k + self.lambda_k * balance, 0.0, 1.0))
        return {"L(x)": real_energy, "L(G(z))": fake_energy, "k_t": k_t,
                "M_global": real_energy + tf.abs(balance)}

    def checkpoint(self, **extra):
        return super().checkpoint(k_t=self.k, **extra)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "lambda_k": self.lambda_k}
