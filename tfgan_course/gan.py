"""GAN(keras.Model): alternating discriminator and generator updates in `train_step`.

One `train_step` is the minibatch algorithm of the lectures (Goodfellow et
al., 2014, Algorithm 1, as the textbook's DCGAN tutorial runs it):

  repeat d_steps (k) times:
      x ~ data, z ~ N(0, I);  update D to minimise L_D(D(x), D(G(z)))
  update G to minimise L_G(D(G(z))) on the last z, through the updated D

Each `train_step` therefore consumes d_steps real minibatches: the dataset's
batches hold d_steps * batch_size images, split here.
"""

import copy
import functools

import keras
import tensorflow as tf

from tfgan_course import losses

METRIC_NAMES = ("d_loss", "g_loss", "D(x)", "D(G(z)) before", "D(G(z)) after")


def real_images_of(data):
    """The images of a dataset element: `images` or `(images, labels)`."""
    return data[0] if isinstance(data, (tuple, list)) else data


class GAN(keras.Model):
    """A generator and a discriminator trained against each other with `fit()`.

    Args:
      generator: keras.Model, z float32 [B, latent_dim] -> images [B, H, W, C] in [-1, 1].
      discriminator: keras.Model, images [B, H, W, C] -> logits [B, 1].
      latent_dim: size of z.
      d_steps: discriminator updates per generator update (the lectures' k).
      seed: int seed of the model's `SeedGenerator` (all of z's randomness).
      ema_decay: > 0 keeps an exponential moving average of G's weights,
        `ema_generator`, updated after every G step and used for sampling and
        export (Yazici et al., 2019; beyond the lectures); 0 = off.
    """

    def __init__(self, generator, discriminator, latent_dim, d_steps=1, seed=0, ema_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        if d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}.")
        if not 0 <= ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.d_steps = int(d_steps)
        self.seed = int(seed)
        self.ema_decay = float(ema_decay)
        self.ema_generator = None
        if self.ema_decay:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="gan_seed")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}
        # Both networks are built functional models: there is nothing left to
        # build, and Keras must not trace `call` on a batch of images to find out.
        self.built = True

    @property
    def sampler(self):
        """The generator to sample and export with: the EMA generator when there is one."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def call(self, z, training=False):
        """z float32 [B, latent_dim] -> images [B, H, W, C] in [-1, 1], from `sampler`."""
        return self.sampler(z, training=training)

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", penalty="none", penalty_weight=10.0,
                clip_value=0.0, label_smoothing=0.0, instance_noise=0.0, instance_noise_steps=0,
                d_weight_decay=0.0, **kwargs):
        """Sets the two optimizers, the loss and D's regularisers.

        Both optimizers are built here, so call this inside the distribution
        strategy's scope: their slot variables must exist before `fit`.

        Args:
          d_optimizer, g_optimizer: keras optimizers.
          loss: a `losses.LOSSES` name or a `losses.Loss`.
          penalty: a `losses.PENALTIES` name added to D's loss ("gradient" for WGAN-GP).
          penalty_weight: its weight (the lectures' lambda = 10 for WGAN-GP).
          clip_value: > 0 clips every D weight to [-clip_value, clip_value] after each
            update (the original WGAN's critic); 0 = off.
          label_smoothing: s > 0 trains D against real labels 1 - s (one-sided label
            smoothing; minimax and non-saturating losses only).
          instance_noise: stddev of Gaussian noise added to every input of D, annealed
            linearly to 0 over `instance_noise_steps` generator steps (Sonderby et al.,
            2017; lecture 004's "noise on D's inputs").
          d_weight_decay: weight of 1/2 sum(w^2) over D's weights added to D's loss
            (lecture 004's "penalising D's weights").
        """
        # G's optimizer doubles as Keras' `model.optimizer`: its iteration
        # count is the training step that callbacks and TensorBoard read.
        super().compile(optimizer=g_optimizer, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_pair = losses.get(loss) if isinstance(loss, str) else loss
        if label_smoothing:
            if self.loss_pair.discriminator is not losses.minimax_discriminator_loss:
                raise ValueError("label_smoothing needs a BCE discriminator loss (minimax or non_saturating).")
            self.loss_pair = losses.Loss(self.loss_pair.generator, functools.partial(
                losses.minimax_discriminator_loss, real_label=1.0 - float(label_smoothing)))
        if instance_noise and instance_noise_steps < 1:
            raise ValueError("instance_noise needs instance_noise_steps >= 1, the steps to anneal it over.")
        self.instance_noise = float(instance_noise)
        self.instance_noise_steps = int(instance_noise_steps)
        self.d_weight_decay = float(d_weight_decay)
        self.penalty = losses.get_penalty(penalty)
        self.penalty_weight = float(penalty_weight)
        if clip_value < 0:
            raise ValueError(f"clip_value must be >= 0, got {clip_value}.")
        if clip_value:
            # Keras' optimizers apply variable constraints right after each
            # update, on every replica: the WGAN clip is exactly that.
            for variable in self.discriminator.trainable_variables:
                variable.constraint = lambda w, c=float(clip_value): tf.clip_by_value(w, -c, c)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        # Listed here so Keras resets them at each epoch.
        return list(self.trackers.values())

    def sample_z(self, batch_size):
        """z float32 [batch_size, latent_dim] ~ N(0, I) from the model's seed generator.

        Under a strategy with R replicas, noise is drawn for the global batch
        and each replica takes its slice, so R replicas see exactly the noise
        one device would see (a shared seed would give every replica the same z).
        """
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context else 1
        z = keras.random.normal((batch_size * replicas, self.latent_dim), seed=self.seed_generator)
        if replicas == 1:
            return z
        start = context.replica_id_in_sync_group * batch_size
        return z[start:start + batch_size]

    def train_step(self, data):
        real_batches = tf.split(real_images_of(data), self.d_steps)
        batch_size = real_batches[0].shape[0] or tf.shape(real_batches[0])[0]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        for step, real_images in enumerate(real_batches):
            z = self.sample_z(batch_size)
            if step == self.d_steps - 1:
                # The last fakes also feed G's update, as in the textbook: record
                # G's forward pass once, for them only.
                with tf.GradientTape() as g_tape:
                    fake_images = self.generator(z, training=True)
            else:
                fake_images = self.generator(z, training=True)
            with tf.GradientTape() as d_tape:
                real_logits = self.discriminator(self._with_instance_noise(real_images), training=True)
                fake_logits = self.discriminator(self._with_instance_noise(tf.stop_gradient(fake_images)),
                                                 training=True)
                d_loss = self.loss_pair.discriminator(real_logits, fake_logits)
                if self.penalty is not None:
                    d_loss += self.penalty_weight * self.penalty(
                        self.discriminator, real_images, tf.stop_gradient(fake_images), seed=self.seed_generator)
                if self.d_weight_decay:
                    # Scaled by 1/replicas: the replicas' gradients are summed.
                    d_loss += self.d_weight_decay * tf.nn.scale_regularization_loss(
                        tf.add_n([tf.nn.l2_loss(w) for w in self.discriminator.trainable_variables]))
            d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))

        with g_tape:
            fake_logits_after = self.discriminator(self._with_instance_noise(fake_images), training=True)
            g_loss = self.loss_pair.generator(fake_logits_after)
        g_grads = g_tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        if self.ema_generator is not None:
            # BatchNorm's moving statistics are averaged too, so the EMA generator
            # normalises with statistics that match its weights.
            for average, weight in zip(self.ema_generator.weights, self.generator.weights):
                average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * weight)

        # Losses are a replica's share of the global mean: scale them back to
        # the replica's mean, then average replicas (equal local batches).
        step_values = {
            "d_loss": d_loss * replicas,
            "g_loss": g_loss * replicas,
            "D(x)": tf.sigmoid(real_logits),
            "D(G(z)) before": tf.sigmoid(fake_logits),
            "D(G(z)) after": tf.sigmoid(fake_logits_after),
        }
        context = tf.distribute.get_replica_context()
        logs = {}
        for name, value in step_values.items():
            value = tf.reduce_mean(tf.cast(value, tf.float32))
            self.trackers[name].update_state(value)
            logs[name] = context.all_reduce(tf.distribute.ReduceOp.MEAN, value) if context else value
        # This step's values, as the textbook prints them; the epoch's logs
        # (history, CSV, TensorBoard) take the trackers' epoch means instead.
        return logs

    def _with_instance_noise(self, images):
        """images + N(0, sigma^2), sigma annealed linearly from `instance_noise` to 0."""
        if not self.instance_noise:
            return images
        progress = tf.cast(self.g_optimizer.iterations, tf.float32) / self.instance_noise_steps
        stddev = self.instance_noise * tf.maximum(0.0, 1.0 - progress)
        return images + stddev * keras.random.normal(tf.shape(images), seed=self.seed_generator)

    def checkpoint(self, **extra):
        """A tf.train.Checkpoint of both networks, both optimizers and the random state."""
        if self.ema_generator is not None:
            extra["ema_generator"] = self.ema_generator
        return tf.train.Checkpoint(
            generator=self.generator, discriminator=self.discriminator,
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
            seed=self.seed_generator.state, **extra)

    def get_config(self):
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "d_steps": self.d_steps,
            "seed": self.seed,
            "ema_decay": self.ema_decay,
        }

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)  # Keras deserialisation consumes the dicts.
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
