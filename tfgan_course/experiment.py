"""run(config, workdir): data, models, GAN, callbacks, fit, checkpoints and export of one experiment.

A workdir holds everything a run writes:

  flags.cfg          the resolved flags (re-run with --flagfile)
  checkpoints/       G, D, both optimizers, the epoch, the random state, the fixed noise
  samples/           epoch_NNNN.png grids of G(fixed noise) and progress.gif
  losses.csv         one row per generator step; losses.png, d_outputs.png
  real_vs_fake.png   a real batch beside G's samples, at the end
  tensorboard/       scalars and sample images
  export/<name>/<v>/ the generator as a SavedModel for TF Serving
"""

import dataclasses
import os
import shutil

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_course import callbacks, config as config_lib, data, export, gan, models, optimizers, plots


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf; the message names the step and the last good checkpoint."""


@dataclasses.dataclass
class RunResult:
    model: gan.GAN  # the trained GAN
    history: dict  # epoch means of gan.METRIC_NAMES over the epochs this call trained
    steps: int  # generator steps done in total, resumed ones included
    export_dir: str  # the SavedModel version directory


def make_strategy(name: str) -> tf.distribute.Strategy:
    """`none` -> the default strategy; `mirrored` -> MirroredStrategy over all GPUs (else all CPUs)."""
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        # On CPU devices the default collective all-reduce can launch D's and
        # G's gradient reductions in a different order on each replica and
        # abort ("Shape mismatch in the collective instance"); reducing on one
        # device has no such race.
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    raise ValueError(f"Unknown --distribute={name!r}; valid values: mirrored, none.")


def build_gan(config: config_lib.Config, image_shape, total_steps: int = 1) -> gan.GAN:
    """The compiled GAN of `config`; call inside the strategy's scope.

    `total_steps` (the run's generator steps) is what --instance_noise anneals
    over unless --instance_noise_steps says otherwise.
    """
    generator, discriminator = models.build(
        config.model, image_shape=image_shape, latent_dim=config.latent_dim,
        g_width=config.g_width, d_width=config.d_width, seed=config.seed)
    model = gan.GAN(generator, discriminator, latent_dim=config.latent_dim,
                    d_steps=config.d_steps, seed=config.seed, ema_decay=config.g_ema_decay)
    model.compile(d_optimizer=optimizers.make(config, "d"), g_optimizer=optimizers.make(config, "g"),
                  loss=config.loss, penalty=config.penalty, penalty_weight=config.penalty_weight,
                  clip_value=config.clip_value, label_smoothing=config.label_smoothing,
                  instance_noise=config.instance_noise,
                  instance_noise_steps=config.instance_noise_steps or max(total_steps, 1),
                  d_weight_decay=config.d_weight_decay)
    return model


def run(config: config_lib.Config, workdir: str, verbose: int = 1, extra_callbacks=()) -> RunResult:
    """Trains `config` in `workdir` (resuming from its last checkpoint), then exports G.

    Args:
      config: the experiment.
      workdir: the run's directory (see the module docstring).
      verbose: Keras' progress output: 0 silent, 1 progress bar, 2 a line per epoch.
      extra_callbacks: more Keras callbacks, run after the project's own.
    """
    config_lib.validate(config)
    os.makedirs(workdir, exist_ok=True)
    checkpoint_dir = os.path.join(workdir, "checkpoints")
    if not config.resume:
        _clear_run(workdir)

    strategy = make_strategy(config.distribute)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(f"--batch_size={config.batch_size} does not split over {replicas} replicas: "
                         f"use a multiple of {replicas}.")
    # Each train_step consumes d_steps real minibatches (see gan.py).
    dataset, info = data.make_dataset(
        config.dataset, image_size=config.image_size, channels=config.channels,
        batch_size=config.batch_size * config.d_steps, data_dir=config.data_dir or None,
        seed=config.seed, repeat=True)
    full_epoch = info.num_examples // (config.batch_size * config.d_steps)
    steps_per_epoch = min(config.steps_per_epoch, full_epoch) if config.steps_per_epoch else full_epoch
    logging.info("Data %s: %d examples of shape %s; %d steps per epoch.",
                 info.source, info.num_examples, info.image_shape, steps_per_epoch)

    with strategy.scope():
        model = build_gan(config, info.image_shape, total_steps=config.epochs * steps_per_epoch)
        fixed_z = tf.Variable(
            tf.random.stateless_normal([config.num_fixed_samples, config.latent_dim], seed=[config.seed, 1]),
            trainable=False, name="fixed_z")
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        checkpoint = model.checkpoint(epoch=epoch, fixed_z=fixed_z)
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=3)
    if manager.latest_checkpoint:
        _restore(checkpoint, manager.latest_checkpoint, workdir)
    with open(os.path.join(workdir, "flags.cfg"), "w") as f:
        f.write(config.to_flagfile())

    # Toy data are vectors [B, dim]: plotted as "Real vs Synth" scatters, not grids.
    is_toy = len(info.image_shape) == 1
    real_vectors = _real_examples(dataset, config.num_fixed_samples) if is_toy else None

    nan_guard = callbacks.NanGuard()
    run_callbacks = [
        nan_guard,
        # Before the checkpointer: a step's row is on disk before its checkpoint,
        # so a kill between the two cannot leave the log a step short.
        callbacks.LossLog(os.path.join(workdir, "losses.csv"), workdir),
        callbacks.Checkpointer(manager, epoch, config.checkpoint_every_steps),
        callbacks.SampleGrid(fixed_z.numpy(), os.path.join(workdir, "samples"),
                             os.path.join(workdir, "tensorboard", "samples"), real_samples=real_vectors),
        keras.callbacks.TensorBoard(os.path.join(workdir, "tensorboard"), write_graph=False),
    ]
    if config.log_every_steps:
        run_callbacks.append(callbacks.StatsLine(config.log_every_steps, config.epochs, steps_per_epoch))
    run_callbacks += list(extra_callbacks)

    history = {}

    def fit(first_epoch, last_epoch, steps):
        result = model.fit(dataset, initial_epoch=first_epoch, epochs=last_epoch, steps_per_epoch=steps,
                           callbacks=run_callbacks, verbose=verbose, shuffle=False)
        for name, values in result.history.items():
            history.setdefault(name, []).extend(values)

    first_epoch, offset = divmod(int(model.g_optimizer.iterations.numpy()), steps_per_epoch)
    if offset and first_epoch < config.epochs:
        # A run killed mid-epoch first finishes that epoch's remaining steps.
        fit(first_epoch, first_epoch + 1, steps_per_epoch - offset)
        first_epoch += 1
    if first_epoch < config.epochs and not nan_guard.failure:
        fit(first_epoch, config.epochs, steps_per_epoch)

    if nan_guard.failure:
        raise TrainingDiverged(
            f"Training diverged: {nan_guard.failure}. Last good checkpoint: "
            f"{manager.latest_checkpoint or 'none'}. Lower the learning rates or change --loss, then "
            "re-run the same command to resume from that checkpoint (or --resume=false to start over).")

    fake_batch = model.sampler(fixed_z, training=False).numpy()
    if is_toy:
        plots.save_real_vs_synth(real_vectors, fake_batch, os.path.join(workdir, "real_vs_fake.png"))
    else:
        real_batch = _real_examples(dataset, config.num_fixed_samples)
        plots.save_real_vs_fake(real_batch, fake_batch, os.path.join(workdir, "real_vs_fake.png"))

    export_base = config.export_base or os.path.join(workdir, "export")
    export_dir = export.export_generator(model.sampler, export_base, config.serving_name)
    logging.info("Exported the generator to %s", export_dir)
    return RunResult(model=model, history=history, steps=int(model.g_optimizer.iterations.numpy()), export_dir=export_dir)


def _restore(checkpoint, path, workdir):
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        raise ValueError(
            f"Cannot resume from {path}: it was written by a different model or optimizer "
            f"({type(error).__name__}: {str(error)[:300]}). Compare with {workdir}/flags.cfg, or start over "
            "with --resume=false or a new --workdir.") from error
    logging.info("Resumed from %s", path)


def _real_examples(dataset, count):
    """The first `count` real examples (fewer if batches run out): numpy [<=count, ...]."""
    batches, total = [], 0
    for data in dataset:
        batches.append(gan.real_images_of(data).numpy())
        total += len(batches[-1])
        if total >= count:
            break
    return np.concatenate(batches)[:count]


def _clear_run(workdir):
    """Removes a previous run's checkpoints, samples and loss log (exports are versioned, so kept)."""
    for name in ("checkpoints", "samples", "tensorboard"):
        shutil.rmtree(os.path.join(workdir, name), ignore_errors=True)
    for name in ("losses.csv", "losses.png", "d_outputs.png", "real_vs_fake.png"):
        if os.path.exists(os.path.join(workdir, name)):
            os.remove(os.path.join(workdir, name))
