r"""Training throughput (images/s) of the lectures' GANs through tfgan_course's own training step.

What is timed: `GAN.fit()` of the compiled model that `experiment.build_gan` returns,
i.e. the project's real `GAN.train_step` (D update on a real and a fake batch, then G
update through the updated D) driven by Keras' `fit` loop, exactly as `experiment.run`
drives it, minus callbacks. Each measurement:

  1. builds the model in a fresh subprocess (this script re-invoked with a hidden
     `--worker` argument), so no two measurements share graphs, caches or thread pools;
  2. runs a short warm-up `fit` (traces the train function, fills the pipeline);
  3. times `fit(dataset, epochs=1, steps_per_epoch=STEPS, verbose=0, shuffle=False)`.

Models (settings from the lectures' flagfiles in tfgan_course/configs/):

  mlp      lecture 000's MLP GAN, 28x28x1 (mlp_fashion_mnist.cfg: batch 64, latent 100,
           widths 128, SGD lr 0.03);
  dcgan64  the DCGAN tutorial, 64x64x1 (dcgan_fashion_mnist.cfg: batch 128, nz 100,
           ngf = ndf = 64, Adam 2e-4, beta1 0.5); --channels=3 gives the tutorial's
           CelebA shape 64x64x3.

Data: "synthetic batch" is one random uniform [-1, 1] float32 batch repeated
(`Dataset.from_tensors(batch).repeat()`), so the training step, not the input pipeline,
is measured; "fashion_mnist pipeline" is `data.make_dataset("fashion_mnist", ...)`, the
real pipeline (shuffle, resize to the model's size, normalise), for reference, when the
offline copy in /usr/share/datasets/fashion-mnist exists.

Runs of the same measurement alternate between models (A B A B ...) so that slow drifts
of the machine hit every model alike; the report gives the median and min-max over runs.

Usage (a default run takes about 3-4 minutes on 2 CPU cores):

  .venv/bin/python benchmarks/train_speed.py
  .venv/bin/python benchmarks/train_speed.py --models=dcgan64 --channels=3 --runs=5 --steps=20
  .venv/bin/python benchmarks/train_speed.py --models=mlp --nopipeline
"""

import dataclasses
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from absl import app, flags

from tfgan_course import config as config_lib  # Pure Python: no TensorFlow in the parent.

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(config_lib.__file__)), "configs")


@dataclasses.dataclass(frozen=True)
class Benchmark:
    flagfile: str  # The lecture's flagfile in tfgan_course/configs/.
    overrides: dict  # Fields pinned on top of it.
    steps: int  # Default timed steps.
    warmup: int  # Warm-up steps (the first one traces).


BENCHMARKS = {
    "mlp": Benchmark("mlp_fashion_mnist.cfg", {"image_size": 28, "channels": 1}, steps=300, warmup=20),
    "dcgan64": Benchmark("dcgan_fashion_mnist.cfg", {"image_size": 64}, steps=10, warmup=2),
}

flags.DEFINE_list("models", list(BENCHMARKS), f"Models to measure, comma-separated: {', '.join(BENCHMARKS)}.")
flags.DEFINE_integer("runs", 3, "Runs (fresh subprocesses) of each synthetic-batch measurement.", lower_bound=1)
flags.DEFINE_integer("steps", 0, "Timed training steps per run; 0 = per model: " +
                     ", ".join(f"{name} {b.steps}" for name, b in BENCHMARKS.items()) + ".", lower_bound=0)
flags.DEFINE_enum("channels", "1", ["1", "3"], "Channels of dcgan64: 1 (Fashion-MNIST, grey) or 3 (CelebA "
                  "shape). mlp is always lecture 000's 28x28x1.")
flags.DEFINE_bool("pipeline", True, "Also measure through the real fashion_mnist input pipeline (if the "
                  f"offline copy in {FASHION_MNIST_DIR} exists).")
flags.DEFINE_integer("pipeline_runs", 1, "Runs of each fashion_mnist-pipeline measurement (a reference).",
                     lower_bound=1)

FLAGS = flags.FLAGS

SYNTHETIC, PIPELINE = "synthetic batch", "fashion_mnist pipeline"


def load_config(name: str, channels: int) -> config_lib.Config:
    """The lecture's flagfile as a Config, with the benchmark's pinned fields (not validated:
    `config_lib.validate` imports TensorFlow, which only the workers load)."""
    bench = BENCHMARKS[name]
    types = {field.name: field.type for field in dataclasses.fields(config_lib.Config)}
    values = {}
    with open(os.path.join(CONFIG_DIR, bench.flagfile)) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("--") or "=" not in line:
                continue
            key, value = line[2:].split("=", 1)
            if key not in types:
                continue
            kind = types[key]
            values[key] = value.lower() in ("true", "1", "yes") if kind is bool else kind(value)
    overrides = dict(bench.overrides)
    if name == "dcgan64":
        overrides["channels"] = channels
    return config_lib.Config(**{**values, **overrides})


# ----------------------------------------------------------------------------- FLOPs.
#
# Counted analytically from the built networks' layer shapes: multiply-accumulates
# (MACs) of the Dense, Conv2D and Conv2DTranspose layers, per image; a FLOP is 2 MACs.
# BatchNorm, activations, losses and optimizer updates are not counted (a few % at most).
#   Dense:            in_features * units
#   Conv2D:           H_out * W_out * C_out * kh * kw * C_in
#   Conv2DTranspose:  H_in * W_in * C_in * kh * kw * C_out  (each input pixel scatters a patch)
#
# Training a network on an image costs ~3x its forward pass (forward, plus a backward
# pass of ~2x: gradients w.r.t. activations and w.r.t. weights). Per train_step, with B
# the batch size, G / D the forward MACs per image and k = d_steps (1 in both lectures):
#   each of the k D updates:  G forward on B fakes            ->  1 G   per image
#                             D forward+backward on B real
#                             and B fake images               ->  2 * 3 D
#   G update:                 D forward+backward on the last fakes  ->  3 D
#                             G backward (its forward is the one taped above) -> 2 G
#   FLOPs/step = 2 * B * (k * (G + 6 D) + 3 D + 2 G)   =  2 * B * (9 D + 3 G) for k = 1.
# The convention counts D's weight gradients in G's update too, which TensorFlow prunes
# (only D's input gradients are needed there), so this is a slight overestimate.
# For reference: mlp G = 113,152 and D = 100,480 MACs/image (0.159 GFLOP/step at B=64);
# dcgan64 (1 channel) G = 102.53 M and D = 101.72 M MACs/image (313 GFLOP/step at B=128).


def forward_macs(network) -> int:
    """MACs per image of one forward pass of a functional keras.Model."""
    import keras  # pylint: disable=import-outside-toplevel

    total = 0
    for layer in network.layers:
        if isinstance(layer, keras.layers.Dense):
            total += int(layer.input.shape[-1]) * layer.units
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            kh, kw = layer.kernel_size
            total += h * w * c_in * kh * kw * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c_out * kh * kw * int(layer.input.shape[-1]) // layer.groups
        elif layer.trainable_weights and not isinstance(layer, keras.layers.BatchNormalization):
            raise ValueError(f"No MAC count for layer {layer.name} ({type(layer).__name__}).")
    return total


def step_flops(g_macs: int, d_macs: int, batch_size: int, d_steps: int) -> int:
    """FLOPs of one train_step; see the comment above."""
    return 2 * batch_size * (d_steps * (g_macs + 6 * d_macs) + 3 * d_macs + 2 * g_macs)


# ----------------------------------------------------------------------------- Worker.


def worker(spec: dict) -> dict:
    """One measurement in this (fresh) process; returns the JSON-able result."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_course import data, experiment  # pylint: disable=import-outside-toplevel

    config = config_lib.validate(load_config(spec["model"], spec["channels"]))
    image_shape = (config.image_size, config.image_size, config.channels)
    images_per_step = config.batch_size * config.d_steps  # Real images consumed per step.

    t0 = time.perf_counter()
    model = experiment.build_gan(config, image_shape)
    if spec["data"] == SYNTHETIC:
        batch = tf.random.stateless_uniform((images_per_step, *image_shape), seed=[config.seed, 7],
                                            minval=-1.0, maxval=1.0, dtype=tf.float32)
        dataset = tf.data.Dataset.from_tensors(batch).repeat()
    else:
        dataset, _ = data.make_dataset("fashion_mnist", image_size=config.image_size,
                                       channels=config.channels, batch_size=images_per_step,
                                       seed=config.seed, repeat=True)
    build_s = time.perf_counter() - t0

    def fit(steps):
        start = time.perf_counter()
        history = model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        # Reading a variable waits for every queued op: the steps are done.
        iterations = int(model.g_optimizer.iterations.numpy())
        return time.perf_counter() - start, iterations, history.history

    warmup_s, _, _ = fit(spec["warmup"])
    seconds, iterations, history = fit(spec["steps"])
    if iterations != spec["warmup"] + spec["steps"]:
        raise RuntimeError(f"expected {spec['warmup'] + spec['steps']} steps, the optimizer did {iterations}")
    losses = {name: float(values[-1]) for name, values in history.items() if name in ("d_loss", "g_loss")}

    g_macs, d_macs = forward_macs(model.generator), forward_macs(model.discriminator)
    flops = step_flops(g_macs, d_macs, config.batch_size, config.d_steps)
    return {
        **spec,
        "image_shape": list(image_shape),
        "batch_size": config.batch_size,
        "images_per_step": images_per_step,
        "optimizer": config.optimizer,
        "seconds": seconds,
        "images_per_s": images_per_step * spec["steps"] / seconds,
        "ms_per_step": 1000.0 * seconds / spec["steps"],
        "g_macs": g_macs,
        "d_macs": d_macs,
        "flops_per_step": flops,
        "gflops_per_s": flops * spec["steps"] / seconds / 1e9,
        "build_s": build_s,
        "warmup_s": warmup_s,
        "losses": losses,
        "tf_version": tf.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
    }


def run_worker(spec: dict) -> dict:
    """Runs `spec` in a fresh subprocess; returns its result (the JSON line on its stdout)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            if proc.returncode == 0 and "images_per_s" in result:
                return result
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
    raise RuntimeError(f"worker {spec} failed (exit code {proc.returncode}):\n{tail}")


# ----------------------------------------------------------------------------- Report.


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def summarize(results: list) -> dict:
    ips = [r["images_per_s"] for r in results]
    ms = statistics.median(r["ms_per_step"] for r in results)
    first = results[0]
    return {
        "runs": len(results),
        "ips_median": statistics.median(ips),
        "ips_min": min(ips),
        "ips_max": max(ips),
        "ms_median": ms,
        "gflop_per_step": first["flops_per_step"] / 1e9,
        # Achieved rate at the median step time.
        "gflops_per_s": first["flops_per_step"] / (ms / 1000.0) / 1e9,
    }


def print_table(rows: list) -> None:
    header = ["model", "data", "image", "batch", "steps", "runs", "images/s median", "images/s min-max",
              "ms/step median", "GFLOP/step", "GFLOP/s"]
    lines = [header]
    for row in rows:
        s = row["summary"]
        lines.append([
            row["model"], row["data"], "x".join(map(str, row["image_shape"])), str(row["batch_size"]),
            str(row["steps"]), str(s["runs"]), f"{s['ips_median']:.1f}",
            f"{s['ips_min']:.1f}-{s['ips_max']:.1f}", f"{s['ms_median']:.2f}", f"{s['gflop_per_step']:.3f}",
            f"{s['gflops_per_s']:.2f}",
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    left = {0, 1, 2}
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    models = [m.strip() for m in FLAGS.models if m.strip()]
    unknown = [m for m in models if m not in BENCHMARKS]
    if unknown or not models:
        raise app.UsageError(f"--models: unknown {unknown or 'empty'}; valid: {', '.join(BENCHMARKS)}.")
    models = list(dict.fromkeys(models))
    channels = int(FLAGS.channels)
    steps = {m: FLAGS.steps or BENCHMARKS[m].steps for m in models}
    configs = {m: load_config(m, channels) for m in models}
    pipeline = FLAGS.pipeline and os.path.isdir(FASHION_MNIST_DIR)

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print("tfgan_course training-step throughput: images/s of GAN.fit() on the project's train_step "
          "(experiment.build_gan), one D update on a real + a fake batch and one G update per step.")
    print(f"machine: {cpu_model()}, {usable} usable of {cores} logical cores; Python {platform.python_version()}, "
          f"TensorFlow {version('tensorflow')}, Keras {version('keras')}; no GPU used (CPU run).")
    for m in models:
        c = configs[m]
        opt = (f"adam lr {c.g_learning_rate:g}/{c.d_learning_rate:g} beta1 {c.g_beta1:g}"
               if c.optimizer == "adam" else f"{c.optimizer} lr {c.g_learning_rate:g}/{c.d_learning_rate:g}")
        print(f"  {m}: model={c.model} {c.image_size}x{c.image_size}x{c.channels}, batch {c.batch_size}, "
              f"latent {c.latent_dim}, widths {c.g_width or 'default'}/{c.d_width or 'default'}, {opt}, "
              f"loss {c.loss}, d_steps {c.d_steps} (from configs/{BENCHMARKS[m].flagfile})")
    data_note = (f"{SYNTHETIC} x {FLAGS.runs} runs" +
                 (f", {PIPELINE} x {FLAGS.pipeline_runs} run(s)" if pipeline else
                  f"; {PIPELINE} skipped ({'--nopipeline' if not FLAGS.pipeline else FASHION_MNIST_DIR + ' missing'})"))
    print(f"protocol: each run a fresh subprocess, warm-up fit ({', '.join(f'{m} {BENCHMARKS[m].warmup}' for m in models)} "
          f"steps) then a timed fit of ({', '.join(f'{m} {steps[m]}' for m in models)}) steps; "
          f"{data_note}; runs alternate across models.")
    print("FLOPs: analytic Dense/Conv MACs x 2, training = 3x forward per network pass "
          "(2*B*(9*D + 3*G) per step); GFLOP/s at the median step time.", flush=True)

    schedule = [(SYNTHETIC, run) for run in range(FLAGS.runs)]
    if pipeline:
        schedule += [(PIPELINE, run) for run in range(FLAGS.pipeline_runs)]
    results = {}
    started = time.perf_counter()
    for data_name, run in schedule:
        for m in models:
            spec = {"model": m, "data": data_name, "channels": channels, "steps": steps[m],
                    "warmup": BENCHMARKS[m].warmup, "run": run}
            try:
                result = run_worker(spec)
            except RuntimeError as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
            results.setdefault((m, data_name), []).append(result)
            print(f"  [{time.perf_counter() - started:6.1f}s] {m:8s} {data_name:22s} run {run + 1}: "
                  f"{result['images_per_s']:9.1f} images/s, {result['ms_per_step']:8.2f} ms/step "
                  f"(build {result['build_s']:.1f}s, warm-up {result['warmup_s']:.1f}s, "
                  f"d_loss {result['losses'].get('d_loss', float('nan')):.3f})", file=sys.stderr, flush=True)

    rows = []
    for m in models:
        for data_name in (SYNTHETIC, PIPELINE):
            if (m, data_name) in results:
                runs = results[(m, data_name)]
                rows.append({**runs[0], "summary": summarize(runs)})
    print()
    print_table(rows)
    print(f"(total {time.perf_counter() - started:.0f}s; images/s counts the real images each step consumes; "
          f"the summary lines below are the {SYNTHETIC} measurements)")
    for m in models:
        s = summarize(results[(m, SYNTHETIC)])
        print(f"model={m} images_per_s={s['ips_median']:.1f} ms_per_step={s['ms_median']:.2f} "
              f"runs={s['runs']} gflops_per_s={s['gflops_per_s']:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))), flush=True)
    else:
        app.run(main)
