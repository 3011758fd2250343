"""GAN(keras.Model) and its variants: alternating discriminator and generator updates in `train_step`.

One `train_step` is the minibatch algorithm of the lectures (Goodfellow et
al., 2014, Algorithm 1, as the textbook's DCGAN tutorial runs it):

  repeat d_steps (k) times:
      x ~ data, z ~ p(z);  update D to minimise L_D(D(x), D(G(z)))
  update G to minimise L_G(D(G(z))) on the last z, through the updated D

Each `train_step` therefore consumes d_steps real minibatches: the dataset's
batches hold d_steps * batch_size images, split here.

The variants change only what goes into and comes out of the networks, through
the hooks of `GAN`: `generator_inputs`, `real_condition`, `discriminate`,
`adversarial_logits`, `discriminator_loss`, `generator_loss` and `finish_step`:

  ConditionalGAN  G(z, y), D(x, y) (Mirza & Osindero, 2014; lecture 003, textbook 12.5)
  InfoGAN         G(z, c), D(x) -> (logit, Q(c|x)), mutual-information loss (Chen et al., 2016)
  BEGAN           D an autoencoder, energies, the k_t control and M_global (Berthelot et al., 2017)
"""

import copy
import dataclasses
import functools
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import losses

LATENT_DISTRIBUTIONS = ("normal", "uniform")


@dataclasses.dataclass(frozen=True)
class GridInputs:
    """Generator inputs for a figure, and how many images a row of it holds.

    Attributes:
      inputs: what `GAN.sampler` takes (z, [z, labels], or z with codes), numpy.
      nrow: images per row of the grid.
      title: the figure's title, or None.
    """

    inputs: Any
    nrow: int
    title: str | None = None


def split_batch(data):
    """A dataset element -> (images, labels or None): `images` or `(images, labels)`."""
    if isinstance(data, (tuple, list)):
        return data[0], data[1]
    return data, None


def _replicas():
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context else 1


def _multi_worker():
    """True inside a MultiWorkerMirroredStrategy that spans several workers (Keras' own test)."""
    extended = tf.distribute.get_strategy().extended
    return getattr(extended, "_in_multi_worker_mode", lambda: False)()  # pylint: disable=protected-access


def _global_batch_slice(values, batch_size):
    """This replica's slice of `values` drawn for the global batch [R * batch_size, ...]."""
    context = tf.distribute.get_replica_context()
    if not context or context.num_replicas_in_sync == 1:
        return values
    start = context.replica_id_in_sync_group * batch_size
    return values[start:start + batch_size]


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
      latent_distribution: "normal" (z ~ N(0, I), the DCGAN default) or
        "uniform" (z ~ U[0, 1), lecture 004's `torch.rand` and textbook 12.2.2).
      unrolled_steps: k > 0 computes G's loss through a copy of D advanced k
        optimizer steps ahead, differentiating through those steps (unrolled
        GAN, Metz et al., 2017; lecture 004 and textbook 12.7's remedy for mode
        collapse); 0 = off.
    """

    metric_names = ("d_loss", "g_loss", "D(x)", "D(G(z)) before", "D(G(z)) after")

    def __init__(self, generator, discriminator, latent_dim, d_steps=1, seed=0, ema_decay=0.0,
                 latent_distribution="normal", unrolled_steps=0, **kwargs):
        super().__init__(**kwargs)
        if d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}.")
        if not 0 <= ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}.")
        if latent_distribution not in LATENT_DISTRIBUTIONS:
            raise ValueError(f"Unknown latent_distribution {latent_distribution!r}; valid values: "
                             f"{', '.join(LATENT_DISTRIBUTIONS)}.")
        if unrolled_steps < 0:
            raise ValueError(f"unrolled_steps must be >= 0, got {unrolled_steps}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.d_steps = int(d_steps)
        self.seed = int(seed)
        self.ema_decay = float(ema_decay)
        self.latent_distribution = latent_distribution
        self.unrolled_steps = int(unrolled_steps)
        self.ema_generator = None
        if self.ema_decay:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="gan_seed")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        # Both networks are built functional models: there is nothing left to
        # build, and Keras must not trace `call` on a batch of images to find out.
        self.built = True

    @property
    def sampler(self):
        """The generator to sample and export with: the EMA generator when there is one."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def call(self, inputs, training=False):
        """The generator's inputs (z float32 [B, latent_dim] for this class) -> images, from `sampler`."""
        return self.sampler(inputs, training=training)

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
        if (self.loss_pair.discriminator is losses.began_discriminator_loss) != isinstance(self, BEGAN):
            raise ValueError("The began loss needs energies from an autoencoder D: use it with the BEGAN class "
                             "(--loss=began), and the BEGAN class with it only.")
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
        # Keras hands callbacks the logs of the last step of each execution
        # only; every step's values also go here, row (step - 1) % N, so the
        # loss log keeps one row per step (`recent_steps`).
        self.step_record = tf.Variable(
            tf.zeros([max(int(kwargs.get("steps_per_execution", 1)), 1), len(self.metric_names)]),
            trainable=False, name="step_record", aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: both networks in __init__, both optimizers in `compile`.

        Under a strategy, Keras' own version (TF backend) draws a batch from the
        training data, averages it across replicas and traces the model on it;
        under MultiWorkerMirroredStrategy that average fails on the eager
        PerReplica batch.
        """
        del iterator, data_batch

    @property
    def metrics(self):
        # Listed here so Keras resets them at each epoch.
        return list(self.trackers.values())

    def sample_z(self, batch_size):
        """z float32 [batch_size, latent_dim] ~ `latent_distribution`, from the model's seed generator.

        Under a strategy with R replicas, noise is drawn for the global batch
        and each replica takes its slice, so R replicas see exactly the noise
        one device would see (a shared seed would give every replica the same z).
        """
        shape = (batch_size * _replicas(), self.latent_dim)
        if self.latent_distribution == "uniform":
            z = keras.random.uniform(shape, 0.0, 1.0, seed=self.seed_generator)
        else:
            z = keras.random.normal(shape, seed=self.seed_generator)
        return _global_batch_slice(z, batch_size)

    def fixed_inputs(self, z):
        """The sample grid's inputs for fixed noise z [N, latent_dim] (8 images a row here)."""
        return GridInputs(np.asarray(z, np.float32), 8)

    def generate(self, num_samples, label=None, seed=0):
        """num_samples images [N, H, W, C] in [-1, 1] from `sampler`, for a seed (and a class label)."""
        if label is not None:
            raise ValueError("This GAN is not conditional: it takes no label.")
        return self.sampler(self._seeded_z(num_samples, seed), training=False).numpy()

    def _seeded_z(self, num_samples, seed):
        shape = [num_samples, self.latent_dim]
        if self.latent_distribution == "uniform":
            return tf.random.stateless_uniform(shape, seed=[seed, 0])
        return tf.random.stateless_normal(shape, seed=[seed, 0])

    def _seeded_input(self, seed):
        """G's input (without a label) for one image from `seed`: float32 [1, input size]."""
        return self._seeded_z(1, seed)

    def seeded_inputs(self, seeds):
        """seeds int64 [B] -> G's inputs (without labels) float32 [B, input size], one image per seed.

        Row i is what `generate(1, seed=seeds[i])` feeds G, so an export's `sample`
        signature and `generate` agree. Works in graph mode (the export traces it).
        """
        return tf.map_fn(lambda seed: self._seeded_input(seed)[0], tf.cast(seeds, tf.int64),
                         fn_output_signature=tf.float32)

    @property
    def interpolation(self):
        """The latent path for this z: "slerp" for Gaussian z (its mass lies near a sphere), else "lerp"."""
        return "lerp" if self.latent_distribution == "uniform" else "slerp"

    # The hooks a variant overrides. A `condition` is whatever ties a fake or
    # real batch to extra inputs (labels, latent codes); None here.

    def generator_inputs(self, batch_size, real_labels):
        """(G's inputs for a batch of fakes, their condition for D); `real_labels` [B] int32 or None."""
        del real_labels
        return self.sample_z(batch_size), None

    def real_condition(self, real_labels):
        """The condition D sees with real images (their labels for a conditional GAN)."""
        del real_labels
        return None

    def discriminate(self, images, condition, weights=None):
        """D's outputs on `images` with `condition`; `weights` = D's trainable weights to use instead."""
        del condition
        return self._call_discriminator(images, weights)

    def adversarial_logits(self, outputs):
        """D's real/fake logits [B, 1] among its outputs."""
        return outputs

    def discriminator_loss(self, real_outputs, fake_outputs, condition):
        """D's loss (the replica's share of the global mean)."""
        del condition
        return self.loss_pair.discriminator(self.adversarial_logits(real_outputs),
                                            self.adversarial_logits(fake_outputs))

    def generator_loss(self, fake_outputs, condition):
        """G's loss (the replica's share of the global mean)."""
        del condition
        return self.loss_pair.generator(self.adversarial_logits(fake_outputs))

    def finish_step(self, real_outputs, fake_outputs, fake_outputs_after, condition):
        """After both updates: updates a variant's own state (BEGAN's k_t) and returns the step's other logs.

        Here D's mean outputs, as the textbook prints them: D(x), and D(G(z))
        before / after D's update.
        """
        del condition
        return {
            "D(x)": tf.sigmoid(self.adversarial_logits(real_outputs)),
            "D(G(z)) before": tf.sigmoid(self.adversarial_logits(fake_outputs)),
            "D(G(z)) after": tf.sigmoid(self.adversarial_logits(fake_outputs_after)),
        }

    def train_step(self, data):
        images, labels = split_batch(data)
        real_batches = tf.split(images, self.d_steps)
        label_batches = [None] * self.d_steps if labels is None else tf.split(labels, self.d_steps)
        batch_size = real_batches[0].shape[0] or tf.shape(real_batches[0])[0]
        for step, (real_images, real_labels) in enumerate(zip(real_batches, label_batches)):
            g_inputs, condition = self.generator_inputs(batch_size, real_labels)
            real_condition = self.real_condition(real_labels)
            if step == self.d_steps - 1:
                # The last fakes also feed G's update, as in the textbook: record
                # G's forward pass once, for them only.
                with tf.GradientTape() as g_tape:
                    fake_images = self.generator(g_inputs, training=True)
            else:
                fake_images = self.generator(g_inputs, training=True)
            with tf.GradientTape() as d_tape:
                real_outputs = self.discriminate(self._with_instance_noise(real_images), real_condition)
                fake_outputs = self.discriminate(
                    self._with_instance_noise(tf.stop_gradient(fake_images)), condition)
                d_loss = self.discriminator_loss(real_outputs, fake_outputs, condition)
                if self.penalty is not None:
                    d_loss += self.penalty_weight * self.penalty(
                        functools.partial(self._penalised_logits, condition=real_condition),
                        real_images, tf.stop_gradient(fake_images), seed=self.seed_generator)
                if self.d_weight_decay:
                    # Scaled by 1/replicas: the replicas' gradients are summed.
                    d_loss += self.d_weight_decay * tf.nn.scale_regularization_loss(
                        tf.add_n([tf.nn.l2_loss(w) for w in self.discriminator.trainable_variables]))
                scaled_d_loss = self.d_optimizer.scale_loss(d_loss)  # x the loss scale under mixed_float16
            self._apply(self.d_optimizer, d_tape.gradient(scaled_d_loss, self.discriminator.trainable_variables),
                        self.discriminator.trainable_variables)

        with g_tape:
            d_weights = None
            if self.unrolled_steps:
                d_weights = self._unrolled_weights(real_images, real_condition, fake_images, condition)
            fake_outputs_after = self.discriminate(self._with_instance_noise(fake_images), condition, d_weights)
            g_loss = self.generator_loss(fake_outputs_after, condition)
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss)
        self._apply(self.g_optimizer, g_tape.gradient(scaled_g_loss, self.generator.trainable_variables),
                    self.generator.trainable_variables)
        if self.ema_generator is not None:
            # BatchNorm's moving statistics are averaged too, so the EMA generator
            # normalises with statistics that match its weights.
            for average, weight in zip(self.ema_generator.weights, self.generator.weights):
                average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * weight)

        # Losses are a replica's share of the global mean: scale them back to
        # the replica's mean, then average replicas (equal local batches).
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        step_values = {"d_loss": d_loss * replicas, "g_loss": g_loss * replicas,
                       **self.finish_step(real_outputs, fake_outputs, fake_outputs_after, condition)}
        context = tf.distribute.get_replica_context()
        logs = {}
        for name in self.metric_names:
            value = tf.reduce_mean(tf.cast(step_values[name], tf.float32))
            self.trackers[name].update_state(value)
            logs[name] = context.all_reduce(tf.distribute.ReduceOp.MEAN, value) if context else value
        row = tf.cast((self.g_optimizer.iterations - 1) % tf.shape(self.step_record, out_type=tf.int64)[0], tf.int32)
        self.step_record.assign(tf.tensor_scatter_nd_update(
            self.step_record, [[row]], [tf.stack([logs[name] for name in self.metric_names])]))
        if _multi_worker():
            # Keras averages a multi-worker step's outputs along axis 0 across
            # workers: give the (already averaged) scalars that axis.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        # This step's values, as the textbook prints them; the epoch's logs
        # (history, CSV, TensorBoard) take the trackers' epoch means instead.
        return logs

    @staticmethod
    def _apply(optimizer, grads, variables):
        """optimizer.apply_gradients, counting a step that loss scaling skipped.

        Under mixed_float16 both optimizers are `keras.optimizers.LossScaleOptimizer`s:
        they unscale the gradients, and on an overflow skip the update and halve
        the scale without advancing `iterations`. The run's step count is G's
        `iterations` (callbacks, checkpoints and resumes read it), so a skipped
        step is counted here: it still consumed its batches.
        """
        optimizer.apply_gradients(zip(grads, variables))
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            skipped = tf.logical_not(optimizer.check_finite(grads))
            optimizer.iterations.assign_add(tf.cast(skipped, optimizer.iterations.dtype))

    def recent_steps(self, first, last):
        """{step: {metric name: value}} for the steps first..last of the current execution (Python ints).

        Only the last `steps_per_execution` steps are held; older ones are left out.
        """
        record = self.step_record.numpy()
        first = max(first, last - len(record) + 1, 1)
        return {step: dict(zip(self.metric_names, map(float, record[(step - 1) % len(record)])))
                for step in range(first, last + 1)}

    def _call_discriminator(self, inputs, weights=None):
        if weights is None:
            return self.discriminator(inputs, training=True)
        outputs, _ = self.discriminator.stateless_call(
            weights, [tf.convert_to_tensor(v) for v in self.discriminator.non_trainable_variables],
            inputs, training=True)
        return outputs

    def _penalised_logits(self, images, training=True, condition=None):
        del training
        return self.adversarial_logits(self.discriminate(images, condition))

    def _with_instance_noise(self, images):
        """images + N(0, sigma^2), sigma annealed linearly from `instance_noise` to 0."""
        if not self.instance_noise:
            return images
        progress = tf.cast(self.g_optimizer.iterations, tf.float32) / self.instance_noise_steps
        stddev = self.instance_noise * tf.maximum(0.0, 1.0 - progress)
        return images + stddev * keras.random.normal(tf.shape(images), seed=self.seed_generator)

    def _unrolled_weights(self, real_images, real_condition, fake_images, condition):
        """D's trainable weights after `unrolled_steps` more updates on this batch, differentiable in G.

        The updates replay D's optimizer: Adam from its current moments and step
        count (as Metz et al. unroll Adam), any other optimizer as plain gradient
        descent at its learning rate. The fakes are not stopped, so G's gradient
        includes how D would react to G: the term that fights mode collapse. D's
        penalty, weight decay and clipping are left out of the lookahead.
        """
        variables = self.discriminator.trainable_variables
        weights = [tf.convert_to_tensor(v) for v in variables]
        # Under mixed_float16 D's optimizer wraps the Adam that holds the moments.
        optimizer = getattr(self.d_optimizer, "inner_optimizer", self.d_optimizer)
        adam = isinstance(optimizer, keras.optimizers.Adam)
        if adam:
            index = optimizer._get_variable_index  # pylint: disable=protected-access
            moments = [tf.convert_to_tensor(optimizer._momentums[index(v)]) for v in variables]  # pylint: disable=protected-access
            velocities = [tf.convert_to_tensor(optimizer._velocities[index(v)]) for v in variables]  # pylint: disable=protected-access
        learning_rate = tf.cast(optimizer.learning_rate, tf.float32)
        context = tf.distribute.get_replica_context()
        for step in range(self.unrolled_steps):
            with tf.GradientTape() as tape:
                tape.watch(weights)
                d_loss = self.discriminator_loss(self.discriminate(real_images, real_condition, weights),
                                                 self.discriminate(fake_images, condition, weights), condition)
            grads = tape.gradient(d_loss, weights)
            if context and context.num_replicas_in_sync > 1:
                grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            if not adam:
                weights = [w - learning_rate * g for w, g in zip(weights, grads)]
                continue
            t = tf.cast(optimizer.iterations + 1 + step, tf.float32)
            alpha = learning_rate * tf.sqrt(1 - optimizer.beta_2 ** t) / (1 - optimizer.beta_1 ** t)
            moments = [m + (g - m) * (1 - optimizer.beta_1) for m, g in zip(moments, grads)]
            velocities = [v + (tf.square(g) - v) * (1 - optimizer.beta_2) for v, g in zip(velocities, grads)]
            # sqrt's derivative is infinite at 0 (a weight with no gradient yet);
            # the tiny offset keeps the second-order gradient finite.
            weights = [w - alpha * m / (tf.sqrt(v + 1e-20) + optimizer.epsilon)
                       for w, m, v in zip(weights, moments, velocities)]
        return weights

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
            "latent_distribution": self.latent_distribution,
            "unrolled_steps": self.unrolled_steps,
        }

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)  # Keras deserialisation consumes the dicts.
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class ConditionalGAN(GAN):
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

    def __init__(self, generator, discriminator, latent_dim, num_classes, **kwargs):
        if num_classes < 2:
            raise ValueError(f"A conditional GAN needs num_classes >= 2, got {num_classes}.")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.num_classes = int(num_classes)

    def fixed_inputs(self, z):
        """One row per class, the same noise in each column (the textbook's grid of digits)."""
        z = np.asarray(z, np.float32)
        columns = max(1, len(z) // self.num_classes)
        labels = np.repeat(np.arange(self.num_classes, dtype=np.int32), columns)
        return GridInputs([np.tile(z[:columns], (self.num_classes, 1)), labels], columns)

    def generate(self, num_samples, label=None, seed=0):
        """num_samples images of class `label`: an int, int [num_samples] (one each), or None (random)."""
        if label is None:
            labels = tf.random.stateless_uniform([num_samples], seed=[seed, 1], maxval=self.num_classes,
                                                 dtype=tf.int32)
        else:
            labels = np.broadcast_to(np.asarray(label, np.int32), [num_samples])
            if labels.min() < 0 or labels.max() >= self.num_classes:
                raise ValueError(f"label {label} is out of range: this GAN has classes 0..{self.num_classes - 1}.")
        return self.sampler([self._seeded_z(num_samples, seed), tf.constant(labels)], training=False).numpy()

    def sample_labels(self, batch_size):
        """int32 [batch_size] uniform over the classes (this replica's slice of the global draw)."""
        labels = keras.random.randint((batch_size * _replicas(),), 0, self.num_classes, seed=self.seed_generator)
        return _global_batch_slice(tf.cast(labels, tf.int32), batch_size)

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


class InfoGAN(GAN):
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

    metric_names = GAN.metric_names + ("info_loss",)

    def __init__(self, generator, discriminator, latent_dim, num_categories=10, num_continuous=2,
                 info_weight=1.0, **kwargs):
        if num_categories < 0 or num_continuous < 0 or num_categories + num_continuous == 0:
            raise ValueError("InfoGAN needs at least one latent code: num_categories >= 1 or num_continuous >= 1.")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.num_categories = int(num_categories)
        self.num_continuous = int(num_continuous)
        self.info_weight = float(info_weight)

    @property
    def input_dim(self):
        """Size of G's input: noise plus codes."""
        return self.latent_dim + self.num_categories + self.num_continuous

    def sample_codes(self, batch_size):
        """(c_cat int32 [B], c_cont float32 [B, num_continuous] in [-1, 1])."""
        rows = batch_size * _replicas()
        categories = tf.cast(keras.random.randint((rows,), 0, max(self.num_categories, 1),
                                                  seed=self.seed_generator), tf.int32)
        continuous = keras.random.uniform((rows, self.num_continuous), -1.0, 1.0, seed=self.seed_generator)
        return _global_batch_slice(categories, batch_size), _global_batch_slice(continuous, batch_size)

    def generator_input(self, z, categories, continuous):
        """[z, one_hot(categories), continuous]: float32 [B, input_dim]."""
        z = tf.convert_to_tensor(z, tf.float32)
        return tf.concat([z, tf.one_hot(categories, self.num_categories, dtype=tf.float32),
                          tf.cast(continuous, tf.float32)], axis=1)

    def fixed_inputs(self, z):
        """One row per categorical value, the same noise in each column, continuous codes at 0."""
        z = np.asarray(z, np.float32)
        rows = self.num_categories or 8
        columns = max(1, len(z) // rows)
        categories = np.repeat(np.arange(rows, dtype=np.int32) % max(self.num_categories, 1), columns)
        continuous = np.zeros([rows * columns, self.num_continuous], np.float32)
        return GridInputs(self.generator_input(np.tile(z[:columns], (rows, 1)), categories, continuous).numpy(),
                          columns)

    def code_sweeps(self, z, steps=10, span=2.0):
        """Figures of each continuous code swept over [-span, span] (columns), per categorical value (rows).

        As in the InfoGAN paper's figure 2: one noise vector z [latent_dim],
        every other continuous code 0, so what changes along a row is the
        swept code alone. A model with no categorical code sweeps one row.

        Returns:
          {"c1": GridInputs, ...} for continuous codes c1..cN, plus "categorical"
          (every categorical value for the one z) when there is a categorical code.
        """
        z = np.asarray(z, np.float32).reshape(1, -1)
        rows = max(self.num_categories, 1)
        categories = np.repeat(np.arange(rows, dtype=np.int32), steps)
        sweeps = {}
        for j in range(self.num_continuous):
            continuous = np.zeros([rows * steps, self.num_continuous], np.float32)
            continuous[:, j] = np.tile(np.linspace(-span, span, steps, dtype=np.float32), rows)
            sweeps[f"c{j + 1}"] = GridInputs(
                self.generator_input(np.repeat(z, rows * steps, 0), categories, continuous).numpy(), steps,
                f"continuous code c{j + 1} from {-span:g} to {span:g} (columns), categorical code (rows)")
        if self.num_categories:
            categories = np.arange(self.num_categories, dtype=np.int32)
            continuous = np.zeros([self.num_categories, self.num_continuous], np.float32)
            sweeps["categorical"] = GridInputs(
                self.generator_input(np.repeat(z, self.num_categories, 0), categories, continuous).numpy(),
                self.num_categories, "categorical code, one value per column")
        return sweeps

    def generate(self, num_samples, label=None, seed=0):
        """num_samples images with random codes, or categorical code `label`, for a seed."""
        return self.sampler(self._seeded_codes_input(num_samples, seed, label), training=False).numpy()

    def _seeded_codes_input(self, num_samples, seed, label=None):
        """[z, one_hot(c_cat), c_cont] float32 [num_samples, input_dim] from `seed` (c_cat = `label` if given)."""
        categories, continuous = (tf.random.stateless_uniform([num_samples], seed=[seed, 1],
                                                              maxval=max(self.num_categories, 1), dtype=tf.int32),
                                  tf.random.stateless_uniform([num_samples, self.num_continuous], seed=[seed, 2],
                                                              minval=-1.0, maxval=1.0))
        if label is not None:
            if not 0 <= int(label) < self.num_categories:
                raise ValueError(f"label {label} is out of range: the categorical code has "
                                 f"{self.num_categories} values.")
            categories = tf.fill([num_samples], tf.constant(int(label), tf.int32))
        return self.generator_input(self._seeded_z(num_samples, seed), categories, continuous)

    def _seeded_input(self, seed):
        return self._seeded_codes_input(1, seed)

    def generator_inputs(self, batch_size, real_labels):
        del real_labels
        categories, continuous = self.sample_codes(batch_size)
        return self.generator_input(self.sample_z(batch_size), categories, continuous), (categories, continuous)

    def adversarial_logits(self, outputs):
        return outputs[0]

    def info_loss(self, fake_outputs, codes):
        """L_I: the codes' negative log-likelihood under Q (replica's share of the global mean)."""
        _, code_logits, code_mean = fake_outputs
        categories, continuous = codes
        per_example = tf.zeros_like(categories, tf.float32)
        if self.num_categories:
            per_example += tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=categories, logits=tf.cast(code_logits, tf.float32))
        if self.num_continuous:
            per_example += 0.5 * tf.reduce_sum(tf.square(continuous - tf.cast(code_mean, tf.float32)), axis=1)
        return tf.nn.compute_average_loss(per_example)

    def discriminator_loss(self, real_outputs, fake_outputs, condition):
        return (super().discriminator_loss(real_outputs, fake_outputs, condition)
                + self.info_weight * self.info_loss(fake_outputs, condition))

    def generator_loss(self, fake_outputs, condition):
        return (super().generator_loss(fake_outputs, condition)
                + self.info_weight * self.info_loss(fake_outputs, condition))

    def finish_step(self, real_outputs, fake_outputs, fake_outputs_after, condition):
        return {**super().finish_step(real_outputs, fake_outputs, fake_outputs_after, condition),
                "info_loss": self.info_loss(fake_outputs_after, condition) * _replicas()}

    def get_config(self):
        return {**super().get_config(), "num_categories": self.num_categories,
                "num_continuous": self.num_continuous, "info_weight": self.info_weight}


class BEGAN(GAN):
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
        context = tf.distribute.get_replica_context()
        real_energy = losses.began_generator_loss(real_outputs)
        fake_energy = losses.began_generator_loss(fake_outputs_after)
        if context and context.num_replicas_in_sync > 1:
            real_energy, fake_energy = context.all_reduce(tf.distribute.ReduceOp.SUM, [real_energy, fake_energy])
        balance = self.gamma * real_energy - fake_energy
        k_t = self.k.assign(tf.clip_by_value(self.k + self.lambda_k * balance, 0.0, 1.0))
        return {"L(x)": real_energy, "L(G(z))": fake_energy, "k_t": k_t,
                "M_global": real_energy + tf.abs(balance)}

    def checkpoint(self, **extra):
        return super().checkpoint(k_t=self.k, **extra)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "lambda_k": self.lambda_k}
