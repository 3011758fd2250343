"""How a run uses the machine: distribution strategy, devices, the chief worker, threads, steps per
execution and the dtype policy (the measurements behind the defaults are in benchmarks/README.md)."""

import contextlib
import os

import keras
import tensorflow as tf
from absl import logging

from tfgan_course import config as config_lib

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
