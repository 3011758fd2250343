"""The progressive GAN (Karras et al., 2018): G and D grow from a small resolution to the full one while they train."""

import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import gan, losses, optimizers, replicas
from tfgan_course.models import pggan

DRIFT_WEIGHT = 0.001  # The paper's epsilon_drift.


def restartable(optimizer):
    """`optimizer` as an `optimizers.RestartableAdam` (the same configuration); a ValueError if it is not Adam."""
    if isinstance(optimizer, optimizers.RestartableAdam):
        return optimizer
    if type(optimizer) is not keras.optimizers.Adam:
        raise ValueError(f"The progressive GAN trains with Adam, restarted at each new resolution (--optimizer=adam, "
                         f"without --mixed_precision=mixed_float16); got {type(optimizer).__name__}.")
    return optimizers.RestartableAdam.from_config(optimizer.get_config())


class ProgressiveGAN(gan.GAN):
    """PGGAN: WGAN-GP on networks that grow, one resolution at a time, by the number of real images seen.

    One `train_step` on a batch x of full-size real images [B, H, W, C] in [-1, 1]:

      p = progress(images seen)             TF-GAN's schedule (`models/pggan.py`); both networks' `progress`
      x~ = sum_b alpha_b(p) up(down(x))     real images blended as G's output is (TF-GAN's blend_images)
      L_D = E[D(G(z))] - E[D(x~)] + lambda E[(||grad D(x^)|| - 1)^2] + 0.001 E[D(x~)^2]
      L_G = -E[D(G(z))]                     through the updated D
      images seen += the global batch

    The gradient penalty is measured on the full-size images D takes, as the paper's code and TF-GAN
    measure it (their networks, too, take full-size images whatever the resolution): so its target
    does not change units when a block starts to fade in. D's and G's Adam restart when a new block
    starts to fade in (`optimizers.RestartableAdam`), and G's EMA (`ema_decay`, 0.999 in the paper)
    gives the samples and the export. `images_seen` and the optimizers' restarts are checkpointed, so
    a resumed run continues mid-fade exactly.

    Args:
      generator, discriminator: `models.pggan` networks (their sizes must agree).
      latent_dim: z's size.
      stable_images, transition_images: real images per stable phase and per fade-in (both 0:
        every block from the start, i.e. the same networks trained flat).
      seed, ema_decay, latent_distribution: as `GAN`'s; the others (d_steps, unrolled_steps, pack)
        must keep their defaults.
    """

    variant = "progressive"
    metric_names = ("d_loss", "g_loss", "wasserstein_loss", "penalty_loss", "drift_loss", "phase", "alpha")
    schedule_names = ("phase", "alpha")

    def __init__(self, generator, discriminator, latent_dim, stable_images=30_000, transition_images=30_000,
                 d_steps=1, unrolled_steps=0, pack=1, **kwargs):
        if (d_steps, unrolled_steps, pack) != (1, 0, 1):
            raise ValueError("The progressive GAN takes one D step per G step, no unrolling and no packing.")
        if stable_images < 0 or transition_images < 0:
            raise ValueError(f"stable_images and transition_images must be >= 0, got {stable_images} and "
                             f"{transition_images}.")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.sizes = pggan.growing_layer(generator).sizes
        if pggan.growing_layer(discriminator).sizes != self.sizes:
            raise ValueError(f"G grows through {self.sizes} and D through {pggan.growing_layer(discriminator).sizes}.")
        self.stable_images = int(stable_images)
        self.transition_images = int(transition_images)
        self.images_seen = keras.Variable(0, dtype="int64", trainable=False, name="images_seen",
                                          aggregation="only_first_replica")
        # The running blocks when the optimizers last restarted: one more block restarts them.
        self.optimizer_blocks = keras.Variable(1, dtype="int32", trainable=False, name="optimizer_blocks",
                                               aggregation="only_first_replica")

    @property
    def growing_networks(self):
        return [network for network in (self.generator, self.discriminator, self.ema_generator) if network is not None]

    def generator_spec(self, family="", dataset=""):
        """The latent generator's spec, its state the growth: resolutions and the images per phase."""
        spec = super().generator_spec(family, dataset)
        return dataclasses.replace(spec, state={"resolutions": list(self.sizes), "stable_images": self.stable_images,
                                                "transition_images": self.transition_images})

    def compile(self, d_optimizer, g_optimizer, loss="wasserstein", **kwargs):
        """As `GAN.compile`, with Adam made restartable and the Wasserstein loss (WGAN-GP's)."""
        super().compile(restartable(d_optimizer), restartable(g_optimizer), loss=loss, **kwargs)

    def growth_state(self) -> dict:
        """{"progress", "phase", "alpha", "size"} of the model now (Python numbers), for callbacks and logs."""
        p = pggan.progress(self.images_seen, self.stable_images, self.transition_images, len(self.sizes))
        return {"progress": float(p), "phase": int(pggan.phase(p)), "alpha": float(pggan.fade_in(p)),
                "size": pggan.native_size(float(p), self.sizes)}

    def train_step(self, data):
        real_images, _ = gan.split_batch(data)
        p = pggan.progress(self.images_seen, self.stable_images, self.transition_images, len(self.sizes))
        running = pggan.running_blocks(p, len(self.sizes))
        self._restart_optimizers_if_grown(running)
        pggan.set_progress(self.growing_networks, p)
        real_images = pggan.blend_real(real_images, p, self.sizes)
        # One update traced per block count; the switch runs the one of this step's.
        updates = [functools.partial(self._update, real_images, blocks) for blocks in range(1, len(self.sizes) + 1)]
        values = tf.switch_case(running - 1, updates)
        self._update_ema()
        batch_size = real_images.shape[0] or tf.shape(real_images)[0]
        self.images_seen.assign_add(tf.cast(batch_size * replicas.count(), tf.int64))

        count = replicas.count()
        return self._log_step({**{name: value * count for name, value in values.items()},
                               "phase": pggan.phase(p), "alpha": pggan.fade_in(p)})

    def _update(self, real_images, blocks):
        """One D and one G update with `blocks` blocks running: {the losses' names: a replica's share}."""
        with pggan.running([self.generator, self.discriminator], blocks):
            batch_size = real_images.shape[0] or tf.shape(real_images)[0]
            with tf.GradientTape() as g_tape:
                fake_images = self.generator(self.sample_z(batch_size), training=True)

            with tf.GradientTape() as d_tape:
                real_scores = self.discriminator(real_images, training=True)
                fake_scores = self.discriminator(tf.stop_gradient(fake_images), training=True)
                wasserstein = self.loss_pair.discriminator(real_scores, fake_scores)
                penalty = self._gradient_penalty(real_images, fake_images)
                drift = losses.drift_penalty(real_scores)
                d_loss = wasserstein + self.penalty_weight * penalty + DRIFT_WEIGHT * drift
            self._apply_all(self.d_optimizer, d_tape, d_loss, self.d_variables)

            with g_tape:
                g_loss = self.loss_pair.generator(self.discriminator(fake_images, training=True))
            self._apply_all(self.g_optimizer, g_tape, g_loss, self.g_variables)
        return {"d_loss": d_loss, "g_loss": g_loss, "wasserstein_loss": wasserstein, "penalty_loss": penalty,
                "drift_loss": drift}

    def _apply_all(self, optimizer, tape, loss, variables):
        # The blocks not running get zero gradients (Adam then leaves them), not None (which Keras warns of).
        gradients = tape.gradient(loss, variables)
        self._apply(optimizer, [tf.zeros(v.shape, v.dtype) if g is None else g for g, v in zip(gradients, variables)],
                    variables)

    def _gradient_penalty(self, real_images, fake_images):
        """WGAN-GP's penalty on the full-size images (a replica's share).

        Not at the running resolution: D sees x there through an s-fold average pooling, so a norm in
        those units would be s times the full-size one, and its target would jump 2x at the first step
        of every fade-in, while D is still the previous stage's function and both Adams restart.
        """
        return losses.gradient_penalty(self.discriminator, real_images, tf.stop_gradient(fake_images),
                                       seed=self.seed_generator)

    def _restart_optimizers_if_grown(self, running):
        def restart():
            self.d_optimizer.restart()
            self.g_optimizer.restart()
            self.optimizer_blocks.assign(running)
            return tf.constant(True)

        tf.cond(running > self.optimizer_blocks, restart, lambda: tf.constant(False))

    def _update_ema(self):
        super()._update_ema()
        if self.ema_generator is not None:
            # The average of the progress is not a progress: the EMA generator runs the current one.
            pggan.set_progress([self.ema_generator], pggan.growing_layer(self.generator).progress)

    def checkpoint(self, **extra):
        return super().checkpoint(images_seen=self.images_seen, optimizer_blocks=self.optimizer_blocks, **extra)

    def native_images(self, images: np.ndarray, size: int) -> np.ndarray:
        """G's full-size images [N, H, W, C] at the resolution `size` they were made at (exact: pixels repeat)."""
        return pggan.at_native_size(images, size)

    def get_config(self):
        config = super().get_config()
        for key in ("d_steps", "unrolled_steps", "pack"):
            config.pop(key)
        return {**config, "stable_images": self.stable_images, "transition_images": self.transition_images}

