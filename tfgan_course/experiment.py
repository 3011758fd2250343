"""run(config, workdir): data, models, GAN, callbacks, fit, checkpoints and export of one experiment.

A workdir holds everything a run writes:

  flags.cfg          the resolved flags (re-run with --flagfile); a resume that changes the experiment is refused
  flags_history/     after a resume with --allow_flag_changes: each segment's flags and the step it started at
  checkpoints/       G, D, both optimizers, the epoch, the random state, the fixed noise
  eval.csv           --eval_every_epochs: FID and KID every N epochs (best.json, checkpoints_best/
                     with --keep_best)
  samples/           epoch_NNNN.png grids of G(fixed noise) and progress.gif; phase_K_SIZEpx.png (a progressive GAN)
  losses.csv         one row per generator step; losses.png, d_outputs.png (when D's outputs are logged),
                     growth.png (a progressive GAN's phase and fade-in alpha)
  real_vs_fake.png   a real batch beside G's samples, at the end
  sweep_*.png        InfoGAN: each latent code swept, the rest fixed
  mapping.png        1-D toy with uniform z: G's mapping against the inverse CDF
  tensorboard/       scalars and sample images
  export/<name>/<v>/ the generator as a SavedModel for TF Serving
  workers/           --distribute=multi_worker: the other workers' copies of all this
"""

import dataclasses
import math
import os
import shutil
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_course import callbacks, data, export, gan, latent, plots, preflight, run_flags, runtime, trained, variants
from tfgan_course import classifier as classifier_lib
from tfgan_course import config as config_lib

EXPORT_EXAMPLES = 8  # Held-out inputs a translator's export serves (its `examples` signatures).


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf, or diverged finitely; the message names the step and the last good checkpoint."""


class TrainingStopped(RuntimeError):
    """Training was asked to stop (`callbacks.StopOnRequest`, e.g. on SIGTERM) and saved a checkpoint first.

    The message is one line: what stopped it, the step and checkpoint saved, and how to resume.
    """


@dataclasses.dataclass
class RunResult:
    model: gan.GAN  # the trained GAN
    history: dict  # epoch means of the model's metric_names over the epochs this call trained
    steps: int  # generator steps done in total, resumed ones included
    export_dir: str  # the SavedModel version directory


@dataclasses.dataclass
class _Data:
    """The training data of a run: its repeated stream, what it is, and an epoch's steps.

    `dataset` is the stream from step 0, built when the data is checked and, if the run starts
    there, the one `fit` reads; `from_step` gives a resume the stream from its step.
    """

    dataset: tf.data.Dataset
    stream: Callable[[int], tf.data.Dataset]  # step -> a new dataset of the batches of steps step + 1, step + 2, ...
    info: data.DataInfo
    steps_per_epoch: int
    read: bool = False  # Whether a fit read `dataset` (another fit of it would get a new shuffle order).

    def from_step(self, step: int) -> tf.data.Dataset:
        """The stream from `step` on, for a fit: `dataset` while unread at step 0, else a new one (kept as
        `dataset`, whose cache the final figures then reuse)."""
        if step or self.read:
            self.dataset = self.stream(step)
        self.read = True
        return self.dataset


@dataclasses.dataclass
class _State:
    """What a run checkpoints: the model, the finished epochs and the fixed noise of the sample grids."""

    model: gan.GAN
    epoch: tf.Variable
    fixed_z: tf.Variable
    checkpoint: tf.train.Checkpoint
    manager: tf.train.CheckpointManager
    steps_per_execution: int


def run(config: config_lib.Config, workdir: str, verbose: int = 1, extra_callbacks=(), stop=None) -> RunResult:
    """Trains `config` in `workdir` (resuming from its last checkpoint), then exports G (a translator with examples).

    Args:
      config: the experiment.
      workdir: the run's directory (see the module docstring).
      verbose: Keras' progress output: 0 silent, 1 progress bar, 2 a line per epoch.
      extra_callbacks: more Keras callbacks, run after the project's own. A run resumed mid-epoch finishes
        that epoch in a `fit` of its own before the remaining epochs' `fit`, so a callback then sees
        `on_train_begin` and `on_train_end` twice: keep end-of-run work idempotent.
      stop: a callbacks.StopOnRequest: once requested, training ends after the current step, saves a
        checkpoint there and raises TrainingStopped instead of exporting.

    Raises:
      TrainingDiverged: the losses diverged (nothing is exported).
      TrainingStopped: `stop` was requested.
    """
    variants.validate(config)
    preflight.check(config, workdir)  # What else would fail only at the end: the export's name and directory.
    runtime.configure_threads(config.inter_op_threads)  # Before anything starts TensorFlow's runtime.
    strategy = runtime.make_strategy(config.distribute, config.devices)
    workdir = _run_dir(workdir, strategy)
    flag_changes = _check_resume_flags(config, workdir)
    run_data = _load_data(config, strategy)  # Before the workdir is touched: a data error leaves nothing behind.
    variants.validate(config, run_data.info.kind)  # A translator needs translation data, and the others images.
    variants.warn_if_short(config, run_data.steps_per_epoch, run_data.info.kind)  # A progressive GAN's growth.
    _prepare_workdir(config, workdir)
    with strategy.scope():
        state = _build_state(config, run_data, workdir)
    resumed = _resume(state, workdir)
    with strategy.scope():
        state.model.before_training(resumed)  # A variant's warm start and loss networks (SRGAN's).
    _record_run(config, state, workdir, flag_changes)
    real_vectors = data.take(run_data.stream(0), config.num_fixed_samples)[0] if _is_toy(run_data) else None
    nan_guard = callbacks.NanGuard(config.divergence_max_loss, config.divergence_pinned_steps)
    best_manager = _best_manager(config, state, workdir)
    examples = _fixed_examples(config, run_data.info, state.model)
    held_out = _held_out_examples(config, run_data.info, state.model)  # Before training: a data error shows now.
    run_callbacks = _callbacks(config, run_data, state, workdir, nan_guard, best_manager, real_vectors, examples)
    history = _fit(config, run_data, state, [*run_callbacks, *([stop] if stop else []), *extra_callbacks], verbose)
    if nan_guard.failure:
        raise TrainingDiverged(
            f"Training diverged: {nan_guard.failure}. Last good checkpoint: "
            f"{state.manager.latest_checkpoint or 'none'}. Lower the learning rates or change --loss, then "
            "re-run the same command to resume from that checkpoint (or --resume=false to start over).")
    _raise_if_stopped(stop, state, workdir)
    if best_manager is not None and best_manager.latest_checkpoint:
        # --keep_best: the export (and the final figures) are of the best-scoring weights.
        state.checkpoint.restore(best_manager.latest_checkpoint).expect_partial()
        logging.info("Restored the best checkpoint by FID, %s, to export it", best_manager.latest_checkpoint)
    if not state.model.spec.translates:
        # A translator's figures are its sample grids, samples/epoch_NNNN.png (input | output | target
        # or reconstruction), written every epoch.
        _save_final_figures(state.model, run_data.dataset, config, state.fixed_z.numpy(), real_vectors, workdir)
    export_dir = export.export_generator(state.model.sampler, config.export_base or os.path.join(workdir, "export"),
                                        config.serving_name, spec=state.model.spec, reverse=state.model.reverse_sampler,
                                        **held_out)
    logging.info("Exported the generator to %s", export_dir)
    return RunResult(model=state.model, history=history, steps=int(state.model.g_optimizer.iterations.numpy()),
                     export_dir=export_dir)


def _run_dir(workdir, strategy):
    """The directory this process writes: the workdir, or a non-chief worker's own."""
    if not runtime.is_chief(strategy):
        # Every worker trains and saves (TensorFlow's multi-worker checkpointing
        # expects each to), but only the chief's files are the run's: the
        # others write beside them.
        resolver = strategy.cluster_resolver
        workdir = os.path.join(workdir, "workers", f"{resolver.task_type}_{resolver.task_id}")
    return workdir


def _check_resume_flags(config, workdir):
    """The experiment's flags changed by --allow_flag_changes ([] for none); a ValueError for a refused resume."""
    if not config.resume:
        return []
    return run_flags.check_resume(config, workdir, tf.train.latest_checkpoint(os.path.join(workdir, trained.CHECKPOINTS)),
                                  normalise=variants.without_foreign_options)


def _prepare_workdir(config, workdir):
    """Creates the workdir, cleared for --resume=false."""
    os.makedirs(workdir, exist_ok=True)
    if not config.resume:
        _clear_run(workdir)


def _load_data(config, strategy) -> _Data:
    replicas = strategy.num_replicas_in_sync
    if config.download:
        data.prepare(config.dataset, data_dir=config.data_dir or None)
    if config.batch_size % replicas:
        raise ValueError(f"--batch_size={config.batch_size} does not split over {replicas} replicas: "
                         f"use a multiple of {replicas}.")
    # Each train_step consumes d_steps real minibatches (see gan.py).
    images_per_step = config.batch_size * config.d_steps

    def stream(step):
        # A new dataset, read from its start: the seed fixes the stream, and the steps
        # already trained skip their batches, so a resumed run reads what the
        # uninterrupted run would have read next, not the stream's first batches again.
        return data.make_dataset(
            config.dataset, image_size=config.image_size, channels=config.channels, batch_size=images_per_step,
            data_dir=config.data_dir or None, seed=config.seed, repeat=True, start_batch=step)

    dataset, info = stream(0)
    full_epoch = info.num_examples // images_per_step
    steps_per_epoch = min(config.steps_per_epoch, full_epoch) if config.steps_per_epoch else full_epoch
    if config.steps_per_epoch > full_epoch:
        logging.warning("--steps_per_epoch=%d is more than one pass over the data: an epoch is %d steps of %d "
                        "images; raise --epochs for a longer run.", config.steps_per_epoch, full_epoch,
                        images_per_step)
    logging.info("Data %s: %d examples of shape %s; %d steps per epoch.",
                 info.source, info.num_examples, info.image_shape, steps_per_epoch)
    return _Data(dataset, lambda step: stream(step)[0], info, steps_per_epoch)


def _build_state(config, run_data, workdir) -> _State:
    """The compiled GAN and its checkpoint; call inside the strategy's scope."""
    per_execution = runtime.steps_per_execution(config, run_data.steps_per_epoch)
    model = variants.build(config, run_data.info.image_shape, total_steps=config.epochs * run_data.steps_per_epoch,
                           num_classes=run_data.info.num_classes, steps_per_execution=per_execution,
                           data_kind=run_data.info.kind, shapes=run_data.info.shapes,
                           steps_per_epoch=run_data.steps_per_epoch)
    fixed_z = tf.Variable(
        tf.random.stateless_normal([config.num_fixed_samples, config.latent_dim], seed=[config.seed, 1]),
        trainable=False, name="fixed_z")
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = model.checkpoint(epoch=epoch, fixed_z=fixed_z)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, trained.CHECKPOINTS), max_to_keep=3)
    return _State(model, epoch, fixed_z, checkpoint, manager, per_execution)


def _resume(state, workdir) -> bool:
    """Restores the run's last checkpoint, if it has one; whether it did."""
    if state.manager.latest_checkpoint:
        _restore(state.checkpoint, state.manager.latest_checkpoint, workdir)
    return bool(state.manager.latest_checkpoint)


def _record_run(config, state, workdir, flag_changes):
    """flags.cfg (the resolved flags; flags_history/ after flag_changes) and the generator's spec beside its checkpoints."""
    run_flags.record(config, workdir, flag_changes, step=int(state.model.g_optimizer.iterations.numpy()))
    os.makedirs(state.manager.directory, exist_ok=True)
    state.model.spec.write(state.manager.directory)


def _is_toy(run_data):
    """Toy data are vectors [B, dim]: plotted as "Real vs Synth" scatters, not grids."""
    return len(run_data.info.image_shape) == 1


def _best_manager(config, state, workdir):
    """--keep_best's manager of the best checkpoint by FID, with the spec beside it; None without it."""
    if not (config.eval_every_epochs and config.keep_best):
        return None
    manager = tf.train.CheckpointManager(state.checkpoint, os.path.join(workdir, "checkpoints_best"), max_to_keep=1)
    os.makedirs(manager.directory, exist_ok=True)
    state.model.spec.write(manager.directory)
    return manager


def _first_batch(config, count, split="train"):
    """The first `count` examples of a split, unshuffled and unjittered: {key: numpy [N, H, W, C]} (an image
    spec's as {"image": ...})."""
    dataset, _ = data.make_dataset(config.dataset, image_size=config.image_size, channels=config.channels,
                                   batch_size=count, split=split, data_dir=config.data_dir or None,
                                   shuffle=False, augment=False, drop_remainder=False)
    batch = next(iter(dataset))
    if not isinstance(batch, dict):
        batch = {"image": gan.split_batch(batch)[0]}
    return {key: value.numpy() for key, value in batch.items()}


def _fixed_examples(config, info, model):
    """The data's first examples ({key: numpy [N, H, W, C]}), which a translator's sample grids translate
    (an inpainter's complete) every epoch; None for the other generators."""
    if info.shapes is None and not model.spec.inpaints:
        return None
    return _first_batch(config, config.num_fixed_samples)


def _held_out_examples(config, info, model):
    """A translator's or an inpainter's export's examples: the first EXPORT_EXAMPLES inputs of the test split,
    unjittered ({"examples": ..., and for a reverse direction "reverse_examples": ...}); {} for other
    generators, or with a logged warning when the data has no readable test split."""
    if info.shapes is None and not model.spec.inpaints:
        return {}
    try:
        batch = _first_batch(config, EXPORT_EXAMPLES, split="test")
    except (ValueError, OSError) as e:
        logging.warning("The export will have no examples signature (the demo page offers drawing and upload "
                        "only): the test split of %s cannot be read: %s", config.dataset, e)
        return {}
    forward, backward = {"paired": ("input", "target"), "unpaired": ("a", "b")}.get(info.kind, ("image", None))
    held_out = {"examples": batch[forward]}
    if model.reverse_sampler is not None:
        held_out["reverse_examples"] = batch[backward]
    return held_out


def _callbacks(config, run_data, state, workdir, nan_guard, best_manager, real_vectors, examples):
    """The project's callbacks, in the order they must run."""
    run_callbacks = [
        nan_guard,
        # Before the checkpointer: a step's row is on disk before its checkpoint,
        # so a kill between the two cannot leave the log a step short.
        callbacks.LossLog(os.path.join(workdir, "losses.csv"), workdir),
        callbacks.Checkpointer(state.manager, state.epoch, config.checkpoint_every_steps, guard=nan_guard),
        callbacks.SampleGrid(state.model.fixed_inputs(state.fixed_z.numpy(), examples), os.path.join(workdir, "samples"),
                             os.path.join(workdir, "tensorboard", "samples"), real_samples=real_vectors),
    ]
    if state.model.schedule_names:  # A progressive GAN: a grid per phase at its resolution, growth.png.
        run_callbacks.append(callbacks.GrowthLog(state.fixed_z.numpy(), os.path.join(workdir, "samples"), workdir,
                                                 os.path.join(workdir, "losses.csv")))
    if config.eval_every_epochs and state.model.spec.translates:
        logging.warning("--eval_every_epochs: FID during training is not available for image-to-image translators "
                        "yet; skipped.")
    elif config.eval_every_epochs:
        # Before TensorBoard, which then records the epoch's FID and KID.
        run_callbacks.append(_sample_quality(config, run_data.info, workdir, best_manager))
    run_callbacks.append(keras.callbacks.TensorBoard(os.path.join(workdir, "tensorboard"), write_graph=False))
    if config.log_every_steps:
        run_callbacks.append(callbacks.StatsLine(config.log_every_steps, config.epochs, run_data.steps_per_epoch))
    return run_callbacks


def _fit(config, run_data, state, run_callbacks, verbose) -> dict:
    """Keras' fit over the epochs still to train; a run killed mid-epoch first finishes that epoch."""
    model, steps_per_epoch, history = state.model, run_data.steps_per_epoch, {}

    def fit(first_epoch, last_epoch, steps):
        # gcd: the rest of an epoch that a run with other settings left must not
        # be overrun by Keras' executions.
        wanted = math.gcd(steps, state.steps_per_execution)
        if model.steps_per_execution != wanted:
            model.steps_per_execution = wanted
            model.train_function = None  # Retraced for the new count.
        step = int(model.g_optimizer.iterations.numpy())  # One batch per step (of batch_size x d_steps images).
        result = model.fit(run_data.from_step(step), initial_epoch=first_epoch, epochs=last_epoch, steps_per_epoch=steps,
                           callbacks=run_callbacks, verbose=verbose, shuffle=False)
        for name, values in result.history.items():
            history.setdefault(name, []).extend(values)

    first_epoch, offset = divmod(int(model.g_optimizer.iterations.numpy()), steps_per_epoch)
    if offset and first_epoch < config.epochs:
        fit(first_epoch, first_epoch + 1, steps_per_epoch - offset)
        first_epoch += 1
    if first_epoch < config.epochs and not model.stop_training:  # Stopped by the NaN guard or a request.
        fit(first_epoch, config.epochs, steps_per_epoch)
    return history


def _raise_if_stopped(stop, state, workdir):
    """TrainingStopped if `stop` was requested: training ended early, at a checkpoint."""
    if stop is None or stop.reason is None:
        return
    step = int(state.model.g_optimizer.iterations.numpy())
    flagfile = os.path.join(workdir, "flags.cfg")
    raise TrainingStopped(
        f"Stopped by {stop.reason} at step {step}, checkpoint {state.manager.latest_checkpoint or 'none'}: to resume, "
        f"re-run the same command (or python -m tfgan_course.train --flagfile={flagfile} --workdir={workdir}).")


def _sample_quality(config, info, workdir, best_manager):
    """The SampleQuality callback of --eval_every_epochs: the domain classifier and real features, once."""
    if len(info.image_shape) != 3:
        raise ValueError("--eval_every_epochs scores images; toy data are scored by benchmarks/mode_collapse.py.")
    domain = classifier_lib.load_or_train(config.dataset, image_size=config.image_size, channels=config.channels,
                                          data_dir=config.data_dir or None, seed=config.seed)
    logging.info("FID and KID in the features of the domain classifier %s (%.2f%% test accuracy), images scored at %s",
                 domain.key, 100 * domain.test_accuracy,
                 classifier_lib.describe_resize(info.image_shape, domain.image_shape))
    # At the run's size, resized by the classifier as the samples are: evaluate.evaluate says why.
    images, labels, _ = data.load_examples(config.dataset, "train", config.eval_num_samples, info.image_shape,
                                             config.data_dir or None, config.seed)
    features, _ = domain.features_and_logits(images)
    return callbacks.SampleQuality(domain, features, labels, config.eval_every_epochs, workdir, best_manager,
                                   seed=config.seed)


def _save_final_figures(model, dataset, config, fixed_z, real_vectors, workdir):
    """real_vs_fake.png, plus what the generator's spec asks for: InfoGAN's code sweeps, the 1-D mapping."""
    fixed_inputs = model.fixed_inputs(fixed_z)
    fake_batch = model.images(fixed_inputs.inputs)
    if real_vectors is not None:
        plots.save_real_vs_synth(real_vectors, fake_batch, os.path.join(workdir, "real_vs_fake.png"))
        if fake_batch.shape[1] == 1 and config.latent_dim == 1 and config.latent_distribution == "uniform":
            # Textbook 12.2.2: G should learn X = F^{-1}(Z) for uniform Z.
            u = np.linspace(0.001, 0.999, 500, dtype=np.float32)[:, None]
            mapping = model.sampler(u, training=False).numpy()[:, 0]
            plots.save_learned_mapping(u[:, 0], mapping, real_vectors[:, 0], os.path.join(workdir, "mapping.png"))
        return
    real_batch = data.take(dataset, config.num_fixed_samples)[0]
    plots.save_real_vs_fake(real_batch, fake_batch, os.path.join(workdir, "real_vs_fake.png"),
                            nrow=fixed_inputs.nrow)
    latent_input = model.spec.latent
    if latent_input is not None and latent_input.categorical + latent_input.continuous:
        for name, sweep in latent.code_sweeps(latent_input, fixed_z[0]).items():
            plots.save_image_grid(model.images(sweep.inputs), os.path.join(workdir, f"sweep_{name}.png"),
                                  nrow=sweep.nrow, title=sweep.title)


def _restore(checkpoint, path, workdir):
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        raise ValueError(
            f"Cannot resume from {path}: it was written by a different model or optimizer "
            f"({type(error).__name__}: {str(error)[:300]}). Compare with {workdir}/flags.cfg, or start over "
            "with --resume=false or a new --workdir.") from error
    logging.info("Resumed from %s", path)


def _clear_run(workdir):
    """Removes a previous run's checkpoints, samples and loss log (exports are versioned, so kept)."""
    for name in ("checkpoints", "checkpoints_best", "samples", "tensorboard", run_flags.HISTORY_DIR):
        shutil.rmtree(os.path.join(workdir, name), ignore_errors=True)
    for name in ("losses.csv", "losses.png", "d_outputs.png", "real_vs_fake.png", "eval.csv", "best.json"):
        if os.path.exists(os.path.join(workdir, name)):
            os.remove(os.path.join(workdir, name))
