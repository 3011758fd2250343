"""GAN(keras.Model): alternating discriminator and generator updates in `train_step`.

One `train_step` is the minibatch algorithm of the lectures (Goodfellow et
al., 2014, Algorithm 1, as the textbook's DCGAN tutorial runs it):

  repeat d_steps (k) times:
      x ~ data, z ~ p(z);  update D to minimise L_D(D(x), D(G(z)))
  update G to minimise L_G(D(G(z))) on the last z, through the updated D

Each `train_step` therefore consumes d_steps real minibatches: the dataset's
batches hold d_steps * batch_size images, split here.

The variants (`gans/`: conditional, InfoGAN, BEGAN) change only what goes into
and comes out of the networks, through the hooks of `GAN`: `input_specs`,
`generator_inputs`, `real_condition`, `discriminate`, `adversarial_logits`,
`discriminator_loss`, `generator_loss` and `finish_step`. The unrolled GAN
(`gans/unrolled.py`) is a lookahead any of them can use (`unrolled_steps`);
PacGAN's packing (`pack`) is the base `discriminate`'s. The translators
(`gans/pix2pix.py`, `gans/cyclegan.py`) have their own `train_step` on batches
of images, reusing D's update, the logging and the checkpoint; their sample
grids come from `fixed_inputs(z, examples)` and `grid_images`, and CycleGAN's
two generators and two discriminators are its optimizers' `g_variables` and
`d_variables`.
Distribution plumbing is in `replicas.py`, the per-step log in `step_record.py`.
"""

import contextlib
import copy
import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf

from tfgan_course import latent, losses, replicas, step_record
from tfgan_course import spec as spec_lib
from tfgan_course.gans import unrolled


def split_batch(data):
    """A dataset element -> (images, labels or None): `images` or `(images, labels)`."""
    if isinstance(data, (tuple, list)):
        return data[0], data[1]
    return data, None


def pack_samples(samples, pack):
    """PacGAN's packing: samples [B, ..., C] -> [B / pack, ..., pack * C].

    Each `pack` consecutive samples become one, concatenated along the last
    axis (a vector's features, an image's channels): pack i holds samples
    i * pack .. i * pack + pack - 1, sample j's values at [j * C, (j + 1) * C).
    """
    if pack == 1:
        return samples
    if samples.shape[0] is not None and samples.shape[0] % pack:
        raise ValueError(f"A batch of {samples.shape[0]} samples is not a whole number of packs of {pack} "
                         "(under --distribute, each replica's batch must be).")
    *inner, channels = samples.shape[1:]
    rank = len(samples.shape)
    grouped = tf.reshape(samples, [-1, pack, *inner, channels])
    grouped = tf.transpose(grouped, [0, *range(2, rank), 1, rank])  # [B / pack, ..., pack, C]
    return tf.reshape(grouped, [-1, *inner, pack * channels])


def unpack_samples(packed, pack):
    """The inverse of `pack_samples`: [B / pack, ..., pack * C] -> [B, ..., C]."""
    if pack == 1:
        return packed
    *inner, channels = packed.shape[1:]
    rank = len(packed.shape)
    grouped = tf.reshape(packed, [-1, *inner, pack, channels // pack])
    grouped = tf.transpose(grouped, [0, rank - 1, *range(1, rank - 1), rank])  # [B / pack, pack, ..., C]
    return tf.reshape(grouped, [-1, *inner, channels // pack])


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
      ema_warmup: the decay after t G steps is min(ema_decay, (1 + t) / (10 + t)), as
        tf.train.ExponentialMovingAverage's with num_updates: a short run's average forgets
        its initial weights.
      latent_distribution: "normal" (z ~ N(0, I), the DCGAN default) or
        "uniform" (z ~ U[0, 1), lecture 004's `torch.rand` and textbook 12.2.2).
      unrolled_steps: k > 0 computes G's loss through a copy of D advanced k
        optimizer steps ahead, differentiating through those steps (unrolled
        GAN, Metz et al., 2017; lecture 004 and textbook 12.7's remedy for mode
        collapse); 0 = off.
      pack: m > 1 makes D judge packs of m samples, real or fake, concatenated
        along the last axis (PacGAN, Lin et al., 2018: a pack of fakes from a
        collapsed G gives itself away); D must be built for such inputs
        (`models.build(..., pack=m)`) and each batch must hold whole packs.
        1 = off.
    """

    variant = "plain"  # The name `variants.VARIANTS` registers this class under.
    d_outputs = "logits"  # What D gives: the kind of loss pair (`losses.Loss.d_outputs`) it trains with.
    metric_names = ("d_loss", "g_loss", "D(x)", "D(G(z)) before", "D(G(z)) after")
    networks = ("generator", "discriminator")  # The Keras models among the constructor's arguments.
    # Logged values that follow a schedule rather than the networks (the progressive GAN's phase and fade-in
    # alpha): losses.csv has them, the loss and D-output plots do not, and the run plots its growth.
    schedule_names = ()

    def __init__(self, generator, discriminator, latent_dim, d_steps=1, seed=0, ema_decay=0.0,
                 latent_distribution="normal", unrolled_steps=0, pack=1, ema_warmup=False, **kwargs):
        super().__init__(**kwargs)
        if d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}.")
        if not 0 <= ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}.")
        if latent_distribution not in spec_lib.LATENT_DISTRIBUTIONS:
            raise ValueError(f"Unknown latent_distribution {latent_distribution!r}; valid values: "
                             f"{', '.join(spec_lib.LATENT_DISTRIBUTIONS)}.")
        if unrolled_steps < 0:
            raise ValueError(f"unrolled_steps must be >= 0, got {unrolled_steps}.")
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}.")
        if pack > 1 and discriminator.inputs[0].shape[-1] != pack * generator.outputs[0].shape[-1]:
            raise ValueError(f"pack={pack} needs a D built for packed inputs (last axis {pack} x "
                             f"{generator.outputs[0].shape[-1]}), got D's input {discriminator.inputs[0].shape}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.d_steps = int(d_steps)
        self.seed = int(seed)
        self.ema_decay = float(ema_decay)
        self.ema_warmup = bool(ema_warmup)
        self.latent_distribution = latent_distribution
        self.unrolled_steps = int(unrolled_steps)
        self.pack = int(pack)
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

    @property
    def reverse_sampler(self):
        """A translator's other direction, exported beside `sampler` (a CycleGAN's F: B -> A); None here."""
        return None

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
        if self.loss_pair.d_outputs != self.d_outputs:
            raise ValueError(f"This loss takes D's {self.loss_pair.d_outputs}, but the {self.variant} GAN's D gives "
                             f"{self.d_outputs}: BEGAN (--loss=began) and its autoencoder D go together only.")
        if label_smoothing:
            if self.loss_pair.discriminator is not losses.minimax_discriminator_loss:
                raise ValueError("label_smoothing needs a BCE discriminator loss (minimax or non_saturating).")
            self.loss_pair = dataclasses.replace(self.loss_pair, discriminator=functools.partial(
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
            for variable in self.d_variables:
                variable.constraint = lambda w, c=float(clip_value): tf.clip_by_value(w, -c, c)
        self.d_optimizer.build(self.d_variables)
        self.g_optimizer.build(self.g_variables)
        self.step_record = step_record.StepRecord(self.metric_names, kwargs.get("steps_per_execution", 1))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: both networks in __init__, both optimizers in `compile`.

        Under a strategy, Keras' own version (TF backend) draws a batch from the
        training data, averages it across replicas and traces the model on it;
        under MultiWorkerMirroredStrategy that average fails on the eager
        PerReplica batch.
        """
        del iterator, data_batch

    @property
    def g_variables(self):
        """The weights G's optimizer trains (a variant with two generators trains both)."""
        return self.generator.trainable_variables

    @property
    def d_variables(self):
        """The weights D's optimizer trains (a variant with two discriminators trains both)."""
        return self.discriminator.trainable_variables

    @property
    def metrics(self):
        # Listed here so Keras resets them at each epoch.
        return list(self.trackers.values())

    def before_training(self, resumed: bool) -> None:
        """Called once before `fit`, after a resume restored the checkpoint (`resumed`) or not: what a variant
        loads for training only (SRGAN's starting weights and loss network). Nothing here."""
        del resumed

    def input_specs(self) -> tuple:
        """G's inputs as `spec.Input`s, in G's order: here the latent z [latent_dim]."""
        return (spec_lib.latent_input(self.latent_dim, self.latent_distribution),)

    def generator_spec(self, family: str = "", dataset: str = "") -> spec_lib.GeneratorSpec:
        """What the trained G takes and gives (see `spec.py`), for the model `family` trained on `dataset`."""
        output = spec_lib.output_for(self.generator.outputs[0].shape[1:])
        return spec_lib.GeneratorSpec(inputs=self.input_specs(), outputs=(output,), family=family,
                                      variant=self.variant, dataset=dataset)

    def images(self, inputs: dict):
        """{input name: array} (one entry per G input) -> `sampler`'s outputs, numpy [N, ...]."""
        ordered = [inputs[tensor.name] for tensor in self.sampler.inputs]
        return self.sampler(ordered[0] if len(ordered) == 1 else ordered, training=False).numpy()

    def generate(self, num_samples, label=None, seed=0):
        """num_samples images [N, H, W, C] in [-1, 1] from `sampler`, for a seed.

        `label`: a conditional GAN's class (an int, int [N], or None for random classes),
        an InfoGAN's categorical code; a ValueError for the others.
        """
        return self.images(latent.draw_inputs(self.input_specs(), num_samples, seed, label))

    def seeded_inputs(self, seeds):
        """seeds int64 [B] -> G's latent inputs float32 [B, D], one image per seed.

        Row i is what `generate(1, seed=seeds[i])` feeds G, so an export's `sample`
        signature and `generate` agree. Works in graph mode (the export traces it).
        """
        return latent.seeded_latents(self.input_specs()[0], seeds)

    def sample_z(self, batch_size):
        """z float32 [batch_size, latent_dim] ~ `latent_distribution`, from the model's seed generator.

        Under a strategy with R replicas, noise is drawn for the global batch
        and each replica takes its slice, so R replicas see exactly the noise
        one device would see (a shared seed would give every replica the same z).
        """
        shape = (batch_size * replicas.count(), self.latent_dim)
        if self.latent_distribution == "uniform":
            z = keras.random.uniform(shape, 0.0, 1.0, seed=self.seed_generator)
        else:
            z = keras.random.normal(shape, seed=self.seed_generator)
        return replicas.global_slice(z, batch_size)

    def fixed_inputs(self, z, examples=None):
        """The sample grid's inputs for fixed noise z [N, latent_dim] (8 images a row here).

        `examples`: a translator's fixed data examples ({"input", "target"} or {"a", "b"} numpy
        batches), which it translates instead of drawing from z; None for the other variants.
        """
        del examples
        return latent.GridInputs({"z": np.asarray(z, np.float32)}, 8)

    def grid_images(self, inputs: dict):
        """The sample grid's images for `fixed_inputs(...).inputs`: here G's samples (a translator adds its inputs)."""
        return self.images(inputs)

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
        """D's outputs on `images` with `condition`; `weights` = D's trainable weights to use instead.

        With `pack` m, D sees the images packed m-fold and gives one output per pack: [B / m, 1].
        """
        del condition
        return self._call_discriminator(pack_samples(images, self.pack), weights)

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
            # The last fakes also feed G's update, as in the textbook: record
            # G's forward pass once, for them only.
            g_tape = tf.GradientTape() if step == self.d_steps - 1 else None
            with g_tape or contextlib.nullcontext():
                fake_images = self.generator(g_inputs, training=True)
            real_outputs, fake_outputs, d_loss = self._update_discriminator(
                real_images, real_condition, fake_images, condition)

        with g_tape:
            d_weights = None
            if self.unrolled_steps:
                d_weights = unrolled.lookahead_weights(self, real_images, real_condition, fake_images, condition)
            fake_outputs_after = self.discriminate(self._with_instance_noise(fake_images), condition, d_weights)
            g_loss = self.generator_loss(fake_outputs_after, condition)
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss)
        self._apply(self.g_optimizer, g_tape.gradient(scaled_g_loss, self.generator.trainable_variables),
                    self.generator.trainable_variables)
        self._update_ema()

        # Losses are a replica's share of the global mean: scale them back to
        # the replica's mean, then average replicas (equal local batches).
        step_values = {"d_loss": d_loss * replicas.count(), "g_loss": g_loss * replicas.count(),
                       **self.finish_step(real_outputs, fake_outputs, fake_outputs_after, condition)}
        # This step's values, as the textbook prints them; the epoch's logs
        # (history, CSV, TensorBoard) take the trackers' epoch means instead.
        return self._log_step(step_values)

    def _update_discriminator(self, real_images, real_condition, fake_images, condition):
        """One D update on a real and a fake batch -> (D's real outputs, fake outputs, D's loss)."""
        with tf.GradientTape() as d_tape:
            real_outputs = self.discriminate(self._with_instance_noise(real_images), real_condition)
            fake_outputs = self.discriminate(self._with_instance_noise(tf.stop_gradient(fake_images)), condition)
            d_loss = self.discriminator_loss(real_outputs, fake_outputs, condition)
            if self.penalty is not None:
                # On D's inputs: packs (real and fake packed apart), one interpolation and norm per pack.
                d_loss += self.penalty_weight * self.penalty(
                    functools.partial(self._penalised_logits, condition=real_condition),
                    pack_samples(real_images, self.pack), tf.stop_gradient(pack_samples(fake_images, self.pack)),
                    seed=self.seed_generator)
            if self.d_weight_decay:
                # Scaled by 1/replicas: the replicas' gradients are summed.
                d_loss += self.d_weight_decay * tf.nn.scale_regularization_loss(
                    tf.add_n([tf.nn.l2_loss(w) for w in self.discriminator.trainable_variables]))
            scaled_d_loss = self.d_optimizer.scale_loss(d_loss)  # x the loss scale under mixed_float16
        self._apply(self.d_optimizer, d_tape.gradient(scaled_d_loss, self.discriminator.trainable_variables),
                    self.discriminator.trainable_variables)
        return real_outputs, fake_outputs, d_loss

    def _update_ema(self):
        if self.ema_generator is not None:
            decay = tf.constant(self.ema_decay)
            if self.ema_warmup:
                steps = tf.cast(self.g_optimizer.iterations, tf.float32)
                decay = tf.minimum(decay, (1.0 + steps) / (10.0 + steps))
            # BatchNorm's moving statistics are averaged too, so the EMA generator
            # normalises with statistics that match its weights.
            for average, weight in zip(self.ema_generator.weights, self.generator.weights):
                average.assign(decay * average + (1.0 - decay) * weight)

    def _log_step(self, step_values):
        """Updates the epoch trackers and the step record; returns the step's logs (replica means)."""
        logs = {}
        for name in self.metric_names:
            value = tf.reduce_mean(tf.cast(step_values[name], tf.float32))
            self.trackers[name].update_state(value)
            logs[name] = replicas.mean_across(value)
        self.step_record.write(self.g_optimizer.iterations, logs)
        return replicas.as_step_outputs(logs)

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
        return self.step_record.read(first, last)

    def _call_discriminator(self, inputs, weights=None):
        if weights is None:
            return self.discriminator(inputs, training=True)
        outputs, _ = self.discriminator.stateless_call(
            weights, [tf.convert_to_tensor(v) for v in self.discriminator.non_trainable_variables],
            inputs, training=True)
        return outputs

    def _penalised_logits(self, packed_images, training=True, condition=None):
        del training
        # `discriminate` packs again: the gradient is the one w.r.t. D's packed input.
        return self.adversarial_logits(self.discriminate(unpack_samples(packed_images, self.pack), condition))

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
            "latent_distribution": self.latent_distribution,
            "unrolled_steps": self.unrolled_steps,
            "pack": self.pack,
            "ema_warmup": self.ema_warmup,
        }

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)  # Keras deserialisation consumes the dicts.
        for key in cls.networks:
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
