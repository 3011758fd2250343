"""run(config, workdir): data, models, GAN, callbacks, fit, checkpoints and export of one experiment.

A workdir holds everything a run writes:

  flags.cfg          the resolved flags (re-run with --flagfile)
  checkpoints/       G, D, both optimizers, the epoch, the random state, the fixed noise
  eval.csv           --eval_every_epochs: FID and KID every N epochs (best.json, checkpoints_best/
                     with --keep_best)
  samples/           epoch_NNNN.png grids of G(fixed noise) and progress.gif
  losses.csv         one row per generator step; losses.png, d_outputs.png
  real_vs_fake.png   a real batch beside G's samples, at the end
  sweep_*.png        InfoGAN: each latent code swept, the rest fixed
  mapping.png        1-D toy with uniform z: G's mapping against the inverse CDF
  tensorboard/       scalars and sample images
  export/<name>/<v>/ the generator as a SavedModel for TF Serving
  workers/           --distribute=multi_worker: the other workers' copies of all this
"""

import contextlib
import dataclasses
import math
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
    history: dict  # epoch means of the model's metric_names over the epochs this call trained
    steps: int  # generator steps done in total, resumed ones included
    export_dir: str  # the SavedModel version directory


# Dense families: a training step is a few small matmuls, so the per-step cost
# of entering TensorFlow from Python is a large share of it (benchmarks/README.md).
DENSE_MODELS = ("mlp", "mlp2", "cmlp", "selu", "toy")
AUTO_STEPS_PER_EXECUTION = 10


def configure_threads(inter_op_threads: int) -> None:
    """Sizes TensorFlow's inter-op thread pool; 0 keeps TensorFlow's default.

    It can only be set before TensorFlow's runtime starts (the first op or
    device query); later, in a notebook or a test, the running pool is kept.
    """
    if not inter_op_threads or tf.config.threading.get_inter_op_parallelism_threads() == inter_op_threads:
        return
    try:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)
    except RuntimeError:
        logging.info("TensorFlow is already running: --inter_op_threads=%d applies to new processes only.",
                     inter_op_threads)


def make_strategy(name: str, devices: str = "") -> tf.distribute.Strategy:
    """`none` -> the default strategy; `mirrored` -> MirroredStrategy over `devices` (comma-separated
    names such as "/gpu:0,/gpu:2"), else all GPUs, else all CPU devices; `multi_worker` ->
    MultiWorkerMirroredStrategy over the cluster in the TF_CONFIG environment variable."""
    if devices and name != "mirrored":
        raise ValueError(f"--devices lists the devices of --distribute=mirrored, not --distribute={name}.")
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--distribute=multi_worker needs the TF_CONFIG environment variable on every worker, e.g. "
                'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\' (index 1 on host2); use --distribute=mirrored '
                "for the devices of one machine.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        names = (_listed_devices(devices) if devices else
                 [d.name for d in tf.config.list_logical_devices("GPU")] or
                 [d.name for d in tf.config.list_logical_devices("CPU")])
        # On CPU devices the default collective all-reduce can launch D's and
        # G's gradient reductions in a different order on each replica and
        # abort ("Shape mismatch in the collective instance"); reducing on one
        # device has no such race.
        cpu_only = all("device:CPU" in n for n in names)
        return tf.distribute.MirroredStrategy(
            names, cross_device_ops=tf.distribute.ReductionToOneDevice() if cpu_only else None)
    raise ValueError(f"Unknown --distribute={name!r}; valid values: {', '.join(config_lib.DISTRIBUTE)}.")


def _listed_devices(devices: str) -> list[str]:
    """Full names of comma-separated devices such as "/gpu:0,GPU:1"; a ValueError names the visible ones."""
    known = [d.name for d in tf.config.list_logical_devices()]
    names = []
    for device in (d.strip() for d in devices.split(",") if d.strip()):
        # "/gpu:0" and "GPU:0" both name /job:localhost/replica:0/task:0/device:GPU:0.
        short = "device:" + device.lower().lstrip("/").replace("device:", "")
        match = [full for full in known if full.lower().endswith(short)]
        if not match:
            raise ValueError(f"--devices: no device {device!r} here; visible: "
                             f"{', '.join(sorted(n.split('device:')[-1] for n in known))}.")
        names.append(match[0])
    return names


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this process is a non-chief worker of a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    # Without a "chief" task, worker 0 is the chief (TensorFlow's convention).
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def steps_per_execution(config: config_lib.Config, steps_per_epoch: int) -> int:
    """--steps_per_execution, checked to divide an epoch; for 0, the auto choice.

    Auto: dense models take the largest divisor of the epoch up to 10; conv
    models, whose steps are long enough that Python's share is small, take 1;
    multi-worker runs always take 1.
    """
    if config.distribute == "multi_worker":
        if config.steps_per_execution > 1:
            raise ValueError("--distribute=multi_worker runs one step per execution: TensorFlow's cross-worker "
                             "collectives fail inside Keras' multi-step loop. Drop --steps_per_execution.")
        return 1
    if config.steps_per_execution:
        if steps_per_epoch % config.steps_per_execution:
            divisors = [d for d in range(1, min(steps_per_epoch, 100) + 1) if steps_per_epoch % d == 0]
            raise ValueError(f"--steps_per_execution={config.steps_per_execution} does not divide the "
                             f"{steps_per_epoch} steps of an epoch; use one of {divisors} (or change "
                             "--steps_per_epoch).")
        return config.steps_per_execution
    if config.model not in DENSE_MODELS:
        return 1
    return max(d for d in range(1, AUTO_STEPS_PER_EXECUTION + 1) if steps_per_epoch % d == 0)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Builds layers under Keras' `name` policy ("none" = float32), restoring the global one after.

    Layers keep the policy they were built with, so a policy is needed while
    models are built only, and other models of the process stay float32.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32" if name == "none" else name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def build_gan(config: config_lib.Config, image_shape, total_steps: int = 1, num_classes: int = 0,
              steps_per_execution: int = 1) -> gan.GAN:
    """The compiled GAN of `config`; call inside the strategy's scope.

    Its layers compute under --mixed_precision's policy (weights, G's images and
    D's logits stay float32); `steps_per_execution` and --jit_compile go to
    Keras' `compile`.

    The model family picks the GAN class: a conditional family (cmlp, cdcgan)
    gives a `gan.ConditionalGAN` over `num_classes` labels, infogan a
    `gan.InfoGAN`, and --loss=began a `gan.BEGAN` with an autoencoder D.
    `total_steps` (the run's generator steps) is what --instance_noise anneals
    over unless --instance_noise_steps says otherwise.
    """
    kind = models.MODELS[config.model].KIND
    began = config.loss == "began"
    if kind == "conditional" and num_classes < 2:
        raise ValueError(f"--model={config.model} is conditional: it needs labelled data (e.g. "
                         f"--dataset=tfds:mnist, or idx:DIR with a labels file); {config.dataset} has no labels.")
    if began and kind != "unconditional":
        raise ValueError(f"--loss=began trains unconditional models only, not --model={config.model}.")
    codes = (config.info_categories, config.info_continuous) if kind == "infogan" else (0, 0)
    with dtype_policy(config.mixed_precision):
        model = _build_networks(config, image_shape, num_classes, kind, began, codes)
    model.compile(d_optimizer=optimizers.make(config, "d"), g_optimizer=optimizers.make(config, "g"),
                  loss=config.loss, penalty=config.penalty, penalty_weight=config.penalty_weight,
                  clip_value=config.clip_value, label_smoothing=config.label_smoothing,
                  instance_noise=config.instance_noise,
                  instance_noise_steps=config.instance_noise_steps or max(total_steps, 1),
                  d_weight_decay=config.d_weight_decay, steps_per_execution=steps_per_execution,
                  jit_compile={"auto": "auto", "true": True, "false": False}[config.jit_compile])
    return model


def _build_networks(config, image_shape, num_classes, kind, began, codes) -> gan.GAN:
    """G, D and the GAN class of build_gan, uncompiled."""
    generator, discriminator = models.build(
        config.model, image_shape=image_shape, latent_dim=config.latent_dim,
        g_width=config.g_width, d_width=config.d_width, seed=config.seed,
        num_classes=num_classes if kind == "conditional" else 0, codes=codes,
        d_norm=config.d_norm, g_upsample=config.g_upsample, autoencoder=began)
    common = dict(latent_dim=config.latent_dim, d_steps=config.d_steps, seed=config.seed,
                  ema_decay=config.g_ema_decay, latent_distribution=config.latent_distribution,
                  unrolled_steps=config.unrolled_steps)
    if kind == "conditional":
        model = gan.ConditionalGAN(generator, discriminator, num_classes=num_classes, **common)
    elif kind == "infogan":
        model = gan.InfoGAN(generator, discriminator, num_categories=config.info_categories,
                            num_continuous=config.info_continuous, info_weight=config.info_weight, **common)
    elif began:
        model = gan.BEGAN(generator, discriminator, gamma=config.began_gamma, lambda_k=config.began_lambda_k,
                          **common)
    else:
        model = gan.GAN(generator, discriminator, **common)
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
    configure_threads(config.inter_op_threads)  # Before anything starts TensorFlow's runtime.
    strategy = make_strategy(config.distribute, config.devices)
    if not is_chief(strategy):
        # Every worker trains and saves (TensorFlow's multi-worker checkpointing
        # expects each to), but only the chief's files are the run's: the
        # others write beside them.
        resolver = strategy.cluster_resolver
        workdir = os.path.join(workdir, "workers", f"{resolver.task_type}_{resolver.task_id}")
    os.makedirs(workdir, exist_ok=True)
    checkpoint_dir = os.path.join(workdir, "checkpoints")
    if not config.resume:
        _clear_run(workdir)

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
    if config.steps_per_epoch > full_epoch:
        logging.warning("--steps_per_epoch=%d is more than one pass over the data: an epoch is %d steps of %d "
                        "images; raise --epochs for a longer run.", config.steps_per_epoch, full_epoch,
                        config.batch_size * config.d_steps)
    logging.info("Data %s: %d examples of shape %s; %d steps per epoch.",
                 info.source, info.num_examples, info.image_shape, steps_per_epoch)

    with strategy.scope():
        per_execution = steps_per_execution(config, steps_per_epoch)
        model = build_gan(config, info.image_shape, total_steps=config.epochs * steps_per_epoch,
                          num_classes=info.num_classes, steps_per_execution=per_execution)
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
    real_vectors = data.take(dataset, config.num_fixed_samples)[0] if is_toy else None

    quality, best_manager = None, None
    if config.eval_every_epochs:
        if config.keep_best:
            best_manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, "checkpoints_best"),
                                                      max_to_keep=1)
        quality = _sample_quality(config, info, workdir, best_manager)

    nan_guard = callbacks.NanGuard()
    run_callbacks = [
        nan_guard,
        # Before the checkpointer: a step's row is on disk before its checkpoint,
        # so a kill between the two cannot leave the log a step short.
        callbacks.LossLog(os.path.join(workdir, "losses.csv"), workdir),
        callbacks.Checkpointer(manager, epoch, config.checkpoint_every_steps),
        callbacks.SampleGrid(model.fixed_inputs(fixed_z.numpy()), os.path.join(workdir, "samples"),
                             os.path.join(workdir, "tensorboard", "samples"), real_samples=real_vectors),
        # Before TensorBoard, which then records the epoch's FID and KID.
        *([quality] if quality else []),
        keras.callbacks.TensorBoard(os.path.join(workdir, "tensorboard"), write_graph=False),
    ]
    if config.log_every_steps:
        run_callbacks.append(callbacks.StatsLine(config.log_every_steps, config.epochs, steps_per_epoch))
    run_callbacks += list(extra_callbacks)

    history = {}

    def fit(first_epoch, last_epoch, steps):
        # gcd: the rest of an epoch that a run with other settings left must not
        # be overrun by Keras' executions.
        wanted = math.gcd(steps, per_execution)
        if model.steps_per_execution != wanted:
            model.steps_per_execution = wanted
            model.train_function = None  # Retraced for the new count.
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

    if best_manager is not None and best_manager.latest_checkpoint:
        # --keep_best: the export (and the final figures) are of the best-scoring weights.
        checkpoint.restore(best_manager.latest_checkpoint).expect_partial()
        logging.info("Restored the best checkpoint by FID, %s, to export it", best_manager.latest_checkpoint)
    _save_final_figures(model, dataset, config, fixed_z.numpy(), real_vectors, workdir)

    export_base = config.export_base or os.path.join(workdir, "export")
    export_dir = export.export_generator(model.sampler, export_base, config.serving_name,
                                        seeded_inputs=model.seeded_inputs, interpolation=model.interpolation,
                                        num_classes=getattr(model, "num_classes", 0),
                                        description={"model": config.model, "dataset": config.dataset,
                                                     "latent_distribution": model.latent_distribution})
    logging.info("Exported the generator to %s", export_dir)
    return RunResult(model=model, history=history, steps=int(model.g_optimizer.iterations.numpy()), export_dir=export_dir)


def _sample_quality(config, info, workdir, best_manager):
    """The SampleQuality callback of --eval_every_epochs: the domain classifier and real features, once."""
    from tfgan_course import classifier as classifier_lib  # pylint: disable=import-outside-toplevel

    if len(info.image_shape) != 3:
        raise ValueError("--eval_every_epochs scores images; toy data are scored by benchmarks/mode_collapse.py.")
    domain = classifier_lib.load_or_train(config.dataset, image_size=config.image_size, channels=config.channels,
                                          data_dir=config.data_dir or None, seed=config.seed)
    images, labels, _ = data.load_examples(config.dataset, "train", config.eval_num_samples, info.image_shape,
                                             config.data_dir or None, config.seed)
    features, _ = domain.features_and_logits(images)
    return callbacks.SampleQuality(domain, features, labels, config.eval_every_epochs, workdir, best_manager,
                                   seed=config.seed)


def _save_final_figures(model, dataset, config, fixed_z, real_vectors, workdir):
    """real_vs_fake.png, plus the variant's own figures: InfoGAN's code sweeps, the 1-D mapping."""
    fixed_inputs = model.fixed_inputs(fixed_z)
    fake_batch = model.sampler(fixed_inputs.inputs, training=False).numpy()
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
    if isinstance(model, gan.InfoGAN):
        for name, sweep in model.code_sweeps(fixed_z[0]).items():
            images = model.sampler(sweep.inputs, training=False).numpy()
            plots.save_image_grid(images, os.path.join(workdir, f"sweep_{name}.png"), nrow=sweep.nrow,
                                  title=sweep.title)


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
    for name in ("checkpoints", "checkpoints_best", "samples", "tensorboard"):
        shutil.rmtree(os.path.join(workdir, name), ignore_errors=True)
    for name in ("losses.csv", "losses.png", "d_outputs.png", "real_vs_fake.png", "eval.csv", "best.json"):
        if os.path.exists(os.path.join(workdir, name)):
            os.remove(os.path.join(workdir, name))
