"""The DCGAN-64 step (batch 128) along each path that quality_vs_peer.py trains through, one fresh process per case.

  fit_const            the project's GAN.fit() on one constant batch, no callbacks (train_speed.py's protocol)
  fit_real             the same on real Fashion-MNIST batches (the tf.data pipeline of experiment.run)
  fit_real_noautotune  the same with tf.data's autotuning off
  run_nocb             experiment.run with its callbacks removed but the divergence guard
  run                  experiment.run as a real run trains (every callback)
  torch_real           the lectures' PyTorch loop on the same real batches (TensorFlow's pipeline in its process)
  torch_real_quiet     the same with TensorFlow's thread pools and tf.data at one thread
  torch_const          the PyTorch loop on one constant batch

Each prints one RESULT line: median and mean seconds per step over STEPS steps after WARMUP.
Run it on idle cores only; timings taken beside other jobs say nothing (benchmarks/README.md):

  .venv/bin/python benchmarks/step_paths.py                       # every case in turn
  .venv/bin/python benchmarks/step_paths.py --case=run,torch_real,run,torch_real
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

STEPS, WARMUP = 20, 4  # per process: about a minute each on 2 cores
CASES = ["fit_const", "fit_real", "fit_real_noautotune", "run_nocb", "run", "torch_real", "torch_real_quiet",
         "torch_const"]


class Stamps:
    def __init__(self):
        self.times = []


def make_stamp_callback(stamps):
    import keras

    class StampCallback(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            stamps.times.append(time.perf_counter())

    return StampCallback()


def per_step(times):
    """Median seconds per step over the stamps after the warm-up."""
    import numpy as np
    t = np.array(times[WARMUP:])
    return float(np.median(np.diff(t))), float((t[-1] - t[0]) / (len(t) - 1))


def project_fit(real, autotune=True):
    import numpy as np
    import peer_dcgan
    import tensorflow as tf

    from tfgan_course import runtime, variants
    config = variants.validate(peer_dcgan.project_config(0, STEPS + WARMUP, {}))
    runtime.configure_threads(config.inter_op_threads)
    model = variants.build(config, (64, 64, 1), steps_per_execution=1)
    if real:
        dataset = peer_dcgan._dataset(0)
        if not autotune:
            options = tf.data.Options()
            options.autotune.enabled = False
            dataset = dataset.with_options(options)
    else:
        batch = tf.random.uniform((128, 64, 64, 1), -1.0, 1.0)
        options = tf.data.Options()
        options.autotune.enabled = False
        dataset = tf.data.Dataset.from_tensors(batch).repeat().with_options(options)
    model.fit(dataset, epochs=1, steps_per_epoch=WARMUP, verbose=0)
    stamps = Stamps()
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=STEPS, verbose=0, callbacks=[make_stamp_callback(stamps)])
    int(model.g_optimizer.iterations.numpy())
    total = (time.perf_counter() - start) / STEPS
    return {"median": float(np.median(np.diff(stamps.times))), "mean_total": total}


def project_run(callbacks_on):
    import peer_dcgan

    from tfgan_course import experiment
    if not callbacks_on:
        experiment._callbacks = lambda config, run_data, state, workdir, nan_guard, *a: [nan_guard]
    stamps = Stamps()
    with tempfile.TemporaryDirectory() as workdir:
        experiment.run(peer_dcgan.project_config(0, STEPS + WARMUP, {}), workdir, verbose=0,
                       extra_callbacks=[make_stamp_callback(stamps)])
    median, mean = per_step(stamps.times)
    return {"median": median, "mean_total": mean}


def torch_loop(real, quiet_tf=False):
    import torch
    if quiet_tf:
        import tensorflow as tf
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)

    import peer_dcgan
    import torch_peers
    torch.manual_seed(0)
    state = torch_peers.DcganState(batch_size=128, nz=100, nc=1)
    if real:
        dataset = peer_dcgan._dataset(0)
        if quiet_tf:
            options = tf.data.Options()
            options.autotune.enabled = False
            options.threading.private_threadpool_size = 1
            dataset = dataset.with_options(options)
        batches = dataset.as_numpy_iterator()
        def next_batch():
            images = next(batches)
            images = images[0] if isinstance(images, tuple) else images
            return torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    else:
        fixed = torch.rand(128, 1, 64, 64) * 2 - 1
        next_batch = lambda: fixed  # noqa: E731
    times = []
    for _ in range(STEPS + WARMUP):
        state.step(next_batch())
        times.append(time.perf_counter())
    median, mean = per_step(times)
    return {"median": median, "mean_total": mean, "torch_threads": torch.get_num_threads()}


def one(case):
    if case == "fit_const":
        return project_fit(real=False)
    if case == "fit_real":
        return project_fit(real=True)
    if case == "fit_real_noautotune":
        return project_fit(real=True, autotune=False)
    if case == "run":
        return project_run(True)
    if case == "run_nocb":
        return project_run(False)
    if case == "torch_real":
        return torch_loop(True)
    if case == "torch_real_quiet":
        return torch_loop(True, quiet_tf=True)
    if case == "torch_const":
        return torch_loop(False)
    raise ValueError(case)


if __name__ == "__main__":
    args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
    if "one" in args:
        start = time.perf_counter()
        result = one(args["one"])
        result["process_s"] = time.perf_counter() - start
        print("RESULT " + json.dumps({"case": args["one"], **result}), flush=True)
        sys.exit(0)
    for case in args.get("case", ",".join(CASES)).split(","):
        out = subprocess.run([sys.executable, __file__, f"--one={case}"], capture_output=True, text=True)
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        print(lines[-1] if lines else f"{case} FAILED\n{out.stderr[-3000:]}", flush=True)
