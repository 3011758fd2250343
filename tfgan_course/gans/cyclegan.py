"""CycleGAN (Zhu et al., 2017; textbook 12.6, lecture 000): two translators trained on unpaired domains."""

import dataclasses
import json

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import gan, latent, losses, replicas
from tfgan_course.gans import history_pool, translation


class CycleGAN(gan.GAN):
    """CycleGAN: G: A -> B and F: B -> A, each fooling a PatchGAN, each undoing the other.

    On unpaired batches {"a": [B, H, W, Ca], "b": [B, H, W, Cb]} in [-1, 1], one
    `train_step` is the reference's: G and F together, then D_A and D_B together.

      L_G = gan(D_B(G(a))) + gan(D_A(F(b)))                                   adversarial
          + lambda (|F(G(a)) - a|_1 + |G(F(b)) - b|_1)                        cycle
          + lambda_id lambda (|G(b) - b|_1 + |F(a) - a|_1)                     identity
      L_D_B = 1/2 d(D_B(b), D_B(pool_B(G(a)))),  L_D_A = 1/2 d(D_A(a), D_A(pool_A(F(b))))

    gan and d are --loss's pair (least squares by default, the paper's; here
    Mao et al.'s form with its factor 1/2, so G's adversarial term weighs half the
    paper's E[(D(G(a)) - 1)^2] against lambda: cycle_weight 5 is the paper's balance
    of lambda = 10); D sees fakes through a history pool of
    `pool_size` (`history_pool.py`). The identity term keeps colours (the paper's
    Monet -> photo); it needs Ca = Cb. Every term is logged.

    `generator` is G (A -> B, the spec's and the export's direction) and
    `discriminator` D_B; `reverse_generator` F and `reverse_discriminator` D_A.
    G's optimizer trains G and F, D's optimizer D_A and D_B.

    Args:
      generator, reverse_generator: keras.Models, [B, H, W, Ca] -> [B, H, W, Cb] and back, in [-1, 1].
      discriminator, reverse_discriminator: keras.Models, B's and A's images -> logits [B, h, w, 1].
      cycle_weight: lambda (10 in the paper).
      identity_weight: lambda_id, a fraction of lambda (0.5 in the paper); 0 = off.
      pool_size: fakes per history pool (50 in the paper); 0 = none.
      seed: the model's SeedGenerator seed (the pools' draws).
    """

    variant = "cyclegan"
    metric_names = ("d_loss", "g_loss", "d_a_loss", "d_b_loss", "gan_ab_loss", "gan_ba_loss", "cycle_a_loss",
                    "cycle_b_loss", "identity_a_loss", "identity_b_loss")
    networks = ("generator", "discriminator", "reverse_generator", "reverse_discriminator")

    def __init__(self, generator, discriminator, reverse_generator, reverse_discriminator, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, seed=0, **kwargs):
        for name, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight),
                            ("pool_size", pool_size)):
            if value < 0:
                raise ValueError(f"CycleGAN's {name} must be >= 0, got {value}.")
        shape_a, shape_b = generator.inputs[0].shape[1:], generator.outputs[0].shape[1:]
        if identity_weight and shape_a[-1] != shape_b[-1]:
            raise ValueError(f"CycleGAN's identity loss compares G(b) with b: it needs domains with the same channels, "
                             f"got {shape_a[-1]} and {shape_b[-1]}; set identity_weight=0.")
        super().__init__(generator, discriminator, latent_dim=0, seed=seed, **kwargs)
        self.reverse_generator = reverse_generator
        self.reverse_discriminator = reverse_discriminator
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_size = int(pool_size)
        self.pool_a = history_pool.HistoryPool(self.pool_size, shape_a, name="pool_a")
        self.pool_b = history_pool.HistoryPool(self.pool_size, shape_b, name="pool_b")

    @property
    def reverse_sampler(self):
        """F: B -> A, exported as the `reverse` signatures."""
        return self.reverse_generator

    @property
    def g_variables(self):
        return self.generator.trainable_variables + self.reverse_generator.trainable_variables

    @property
    def d_variables(self):
        return self.discriminator.trainable_variables + self.reverse_discriminator.trainable_variables

    def input_specs(self):
        return translation.input_specs(self.generator)

    def generator_spec(self, family="", dataset=""):
        """G's spec (A -> B); its `state` holds "direction" and F's spec as a dict under "reverse"."""
        reverse = self.reverse_spec(family, dataset)
        forward = super().generator_spec(family, dataset)
        return dataclasses.replace(forward, state={"direction": "a_to_b", "reverse": json.loads(reverse.to_json())})

    def reverse_spec(self, family="", dataset=""):
        """F's spec (B -> A), to export F as a generator of its own."""
        forward = super().generator_spec(family, dataset)
        output = dataclasses.replace(forward.output, shape=self.reverse_generator.outputs[0].shape[1:])
        return dataclasses.replace(forward, inputs=translation.input_specs(self.reverse_generator),
                                   outputs=(output,), state={"direction": "b_to_a"})

    def fixed_inputs(self, z, examples=None):
        """GRID_EXAMPLES of each domain of the fixed unpaired `examples`: rows a | G(a) | F(G(a)), then b | F(b) | G(F(b))."""
        del z
        count = translation.GRID_EXAMPLES
        return latent.GridInputs({"a": examples["a"][:count], "b": examples["b"][:count]}, 3)

    def grid_images(self, inputs):
        def translate(network, images):
            return network(images, training=False).numpy()

        fake_b = translate(self.generator, inputs["a"])
        fake_a = translate(self.reverse_generator, inputs["b"])
        return np.concatenate([translation.panels([inputs["a"], fake_b, translate(self.reverse_generator, fake_b)]),
                               translation.panels([inputs["b"], fake_a, translate(self.generator, fake_a)])])

    def _generator_losses(self, real_a, real_b):
        """G's and F's forward passes -> ({term name: loss}, total loss, fake_a, fake_b)."""
        fake_b = self.generator(real_a, training=True)
        fake_a = self.reverse_generator(real_b, training=True)
        terms = {
            "gan_ab_loss": self.loss_pair.generator(self.discriminator(fake_b, training=True)),
            "gan_ba_loss": self.loss_pair.generator(self.reverse_discriminator(fake_a, training=True)),
            "cycle_a_loss": losses.l1_distance(self.reverse_generator(fake_b, training=True), real_a),
            "cycle_b_loss": losses.l1_distance(self.generator(fake_a, training=True), real_b),
            "identity_a_loss": tf.constant(0.0),
            "identity_b_loss": tf.constant(0.0),
        }
        if self.identity_weight:
            terms["identity_a_loss"] = losses.l1_distance(self.reverse_generator(real_a, training=True), real_a)
            terms["identity_b_loss"] = losses.l1_distance(self.generator(real_b, training=True), real_b)
        total = (terms["gan_ab_loss"] + terms["gan_ba_loss"]
                 + self.cycle_weight * (terms["cycle_a_loss"] + terms["cycle_b_loss"])
                 + self.identity_weight * self.cycle_weight * (terms["identity_a_loss"] + terms["identity_b_loss"]))
        return terms, total, fake_a, fake_b

    def _discriminator_losses(self, real_a, real_b, fake_a, fake_b):
        """D_A's and D_B's halved losses on real images and pooled fakes -> {"d_a_loss", "d_b_loss"}."""
        pooled_a = self.pool_a.query(tf.stop_gradient(fake_a), self.seed_generator)
        pooled_b = self.pool_b.query(tf.stop_gradient(fake_b), self.seed_generator)
        return {
            "d_a_loss": 0.5 * self.loss_pair.discriminator(self.reverse_discriminator(real_a, training=True),
                                                           self.reverse_discriminator(pooled_a, training=True)),
            "d_b_loss": 0.5 * self.loss_pair.discriminator(self.discriminator(real_b, training=True),
                                                           self.discriminator(pooled_b, training=True)),
        }

    def train_step(self, data):
        real_a, real_b = data["a"], data["b"]
        with tf.GradientTape() as g_tape:
            terms, g_loss, fake_a, fake_b = self._generator_losses(real_a, real_b)
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss)
        self._apply(self.g_optimizer, g_tape.gradient(scaled_g_loss, self.g_variables), self.g_variables)
        with tf.GradientTape() as d_tape:
            terms.update(self._discriminator_losses(real_a, real_b, fake_a, fake_b))
            d_loss = terms["d_a_loss"] + terms["d_b_loss"]
            scaled_d_loss = self.d_optimizer.scale_loss(d_loss)
        self._apply(self.d_optimizer, d_tape.gradient(scaled_d_loss, self.d_variables), self.d_variables)
        values = {"d_loss": d_loss, "g_loss": g_loss, **terms}
        return self._log_step({name: value * replicas.count() for name, value in values.items()})

    def checkpoint(self, **extra):
        """GAN's checkpoint plus F, D_A and both pools (their images and fill counts: a resume is exact)."""
        return super().checkpoint(reverse_generator=self.reverse_generator,
                                  reverse_discriminator=self.reverse_discriminator,
                                  pool_a=self.pool_a, pool_b=self.pool_b, **extra)

    def get_config(self):
        config = super().get_config()
        for key in ("latent_dim", "d_steps", "ema_decay", "ema_warmup", "latent_distribution", "unrolled_steps",
                    "pack"):
            config.pop(key)
        for key in ("reverse_generator", "reverse_discriminator"):
            config[key] = keras.saving.serialize_keras_object(getattr(self, key))
        return {**config, "cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                "pool_size": self.pool_size}
