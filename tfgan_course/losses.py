"""GAN losses: pure functions on discriminator logits, and a registry of them.

Discriminators output logits, never probabilities: every loss applies the
sigmoid inside through `tf.nn.sigmoid_cross_entropy_with_logits`, the
numerically stable form of the lectures' `Sigmoid` + `BCELoss`. (With
probabilities, log(1 - D(G(z))) is log(0) = -inf as soon as D saturates.)

Every loss returns a scalar: the mean over the GLOBAL batch. Under a
`tf.distribute` strategy each replica returns its share
(`tf.nn.compute_average_loss`), so the replicas' gradients sum to the gradient
of the global mean; outside a strategy it is the plain batch mean.

Adding a loss is one pair of functions plus one line in `LOSSES`.
"""

import dataclasses
from typing import Callable

import tensorflow as tf


def _global_mean(per_example):
    """Mean of a [B, ...] tensor over the global batch: [B, ...] -> scalar float32."""
    per_example = tf.cast(per_example, tf.float32)
    per_example = tf.reshape(per_example, [tf.shape(per_example)[0], -1])
    return tf.nn.compute_average_loss(tf.reduce_mean(per_example, axis=1))


def _bce(logits, label):
    """Binary cross-entropy of sigmoid(logits) against a constant label, per element."""
    logits = tf.cast(logits, tf.float32)
    return tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), float(label)), logits=logits)


def minimax_discriminator_loss(real_logits, fake_logits):
    """The original GAN discriminator loss (Goodfellow et al., 2014).

    L_D = -E[log D(x)] - E[log(1 - D(G(z)))], the BCE of real data against
    label 1 plus fake data against label 0 (the textbook tutorial's
    errD_real + errD_fake). Its minimum, 2 log 2 at D = 1/2, is reached when
    the generator matches the data.

    Args:
      real_logits: float [B, 1], D's logits on real data.
      fake_logits: float [B, 1], D's logits on generated data.

    Returns:
      Scalar float32 >= 0.
    """
    return _global_mean(_bce(real_logits, 1.0)) + _global_mean(_bce(fake_logits, 0.0))


def minimax_generator_loss(fake_logits):
    """The original, saturating generator loss: L_G = E[log(1 - D(G(z)))].

    G minimises the same value D maximises. When D confidently rejects the
    fakes (early training) the gradient of log(1 - D) vanishes: this is the
    saturation the lectures warn about. Computed as -BCE(fake, 0), stable for
    any logit.

    Args:
      fake_logits: float [B, 1], D's logits on generated data.

    Returns:
      Scalar float32 <= 0.
    """
    return -_global_mean(_bce(fake_logits, 0.0))


def non_saturating_generator_loss(fake_logits):
    """The modified (non-saturating) generator loss: L_G = -E[log D(G(z))].

    Same fixed point as the minimax loss, but strong gradients when D rejects
    the fakes (Goodfellow et al., 2014, section 3). This is the lectures'
    `criterion(D(G(z)), lab_real)`.

    Args:
      fake_logits: float [B, 1], D's logits on generated data.

    Returns:
      Scalar float32 >= 0.
    """
    return _global_mean(_bce(fake_logits, 1.0))


# The non-saturating GAN trains D exactly as the minimax GAN does.
non_saturating_discriminator_loss = minimax_discriminator_loss


@dataclasses.dataclass(frozen=True)
class Loss:
    """A generator/discriminator loss pair.

    Attributes:
      generator: fake_logits [B, 1] -> scalar.
      discriminator: (real_logits [B, 1], fake_logits [B, 1]) -> scalar.
    """

    generator: Callable
    discriminator: Callable


LOSSES = {
    "minimax": Loss(minimax_generator_loss, minimax_discriminator_loss),
    "non_saturating": Loss(non_saturating_generator_loss, non_saturating_discriminator_loss),
}


def get(name: str) -> Loss:
    """The loss pair registered as `name`; ValueError listing valid names otherwise."""
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}; valid losses: {', '.join(sorted(LOSSES))}.")
    return LOSSES[name]
