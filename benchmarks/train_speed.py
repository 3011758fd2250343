r"""Training speed of the lectures' GANs: tfgan_course against the lectures' own PyTorch loops, side by side.

Project side: `GAN.fit()` of the model that `variants.build` returns, i.e. the
project's real `GAN.train_step` (D update on a real and a fake batch, then G update
through the updated D) in Keras' `fit` loop with the run's compile options
(`steps_per_execution`, `jit_compile`, mixed precision) and TensorFlow's thread set-up
(`runtime.configure_threads`), as `experiment.run` trains, minus callbacks.
PyTorch side: the lectures' loops in benchmarks/torch_peers.py.

  mlp      lecture 000's MLP GAN, 28x28x1: batch 64, latent 100, widths 128, SGD lr 0.03, BCE
           (configs/mlp_fashion_mnist.cfg);
  dcgan64  the DCGAN tutorial (lecture 002), 64x64x1: batch 128, nz 100, ngf = ndf = 64,
           Adam 2e-4 beta1 0.5, BCE (configs/dcgan_fashion_mnist.cfg); --channels=3 gives CelebA's shape.

Protocol. Both sides train on one random [-1, 1] batch reused every step, so the training
step alone is timed. Every measurement is a fresh process: build, warm-up steps (the first
traces), then timed steps. Processes alternate A B A B (project, PyTorch, project, ...)
so that drifts of the machine hit both alike; the report gives medians, min-max and the
ratio of medians. Variants of the project side (--variants) are extra rows:

  default  the project's defaults (float32)
  bf16     --mixed_precision=mixed_bfloat16
  xla      --jit_compile=true
  inter1   --inter_op_threads=1 (one op at a time, each on every core)
  spe1     --steps_per_execution=1 (the MLP's default is 10)
  fp16     --mixed_precision=mixed_float16 (for GPUs; slow on CPUs)

FLOPs and peak. FLOPs per step are counted analytically from the built networks (see
`step_flops`). The peak is cores x clock x FLOPs per cycle per core: the clock is measured
with a chain of dependent integer adds (one per cycle on every x86 core since the Pentium
4; compiled with the system's C compiler), else read from /proc/cpuinfo; FLOPs per cycle
come from the vector units (`flops_per_cycle`). bf16 rows are held against twice the fp32
peak (AVX512-BF16's dot product does two bf16 multiply-adds per fp32 lane).

Also measured: the input pipeline alone (`data.make_dataset("fashion_mnist")`, images/s it
delivers, which must be >= 10x the training rate), and each process's peak resident memory.

Usage (the default takes about 7 minutes on 2 CPU cores; PyTorch from `pip install -e .[bench]`):

  .venv/bin/python benchmarks/train_speed.py
  .venv/bin/python benchmarks/train_speed.py --models=dcgan64 --runs=5 --steps=20
  .venv/bin/python benchmarks/train_speed.py --variants=default,bf16,xla,inter1,spe1
  .venv/bin/python benchmarks/train_speed.py --notorch          # the project alone

It ends with one line per model and variant, for other tools:
  model=<name> images_per_s=<x> torch_images_per_s=<y> ratio=<x/y> pct_of_peak=<p>
"""

import dataclasses
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import machine  # benchmarks/, this script's directory
from absl import app, flags

from tfgan_course import config as config_lib  # Pure Python: no TensorFlow in the parent.

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(config_lib.__file__)), "configs")
TORCH_PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_peers.py")


@dataclasses.dataclass(frozen=True)
class Benchmark:
    flagfile: str  # The lecture's flagfile in tfgan_course/configs/.
    overrides: dict  # Fields pinned on top of it.
    steps: int  # Default timed steps.
    warmup: int  # Warm-up steps (the first one traces).


BENCHMARKS = {
    "mlp": Benchmark("mlp_fashion_mnist.cfg", {"image_size": 28, "channels": 1}, steps=1000, warmup=50),
    "dcgan64": Benchmark("dcgan_fashion_mnist.cfg", {"image_size": 64}, steps=10, warmup=2),
}
VARIANTS = {
    "default": {},
    "bf16": {"mixed_precision": "mixed_bfloat16"},
    "xla": {"jit_compile": "true"},
    "inter1": {"inter_op_threads": 1},
    "spe1": {"steps_per_execution": 1},
    "fp16": {"mixed_precision": "mixed_float16"},
}

flags.DEFINE_list("models", list(BENCHMARKS), f"Models to measure: {', '.join(BENCHMARKS)}.")
flags.DEFINE_list("variants", ["default", "bf16"], f"Project-side variants: {', '.join(VARIANTS)}.")
flags.DEFINE_integer("runs", 3, "Runs (fresh processes) of each measurement.", lower_bound=1)
flags.DEFINE_integer("steps", 0, "Timed training steps per run; 0 = per model: " +
                     ", ".join(f"{name} {b.steps}" for name, b in BENCHMARKS.items()) + ".", lower_bound=0)
flags.DEFINE_enum("channels", "1", ["1", "3"], "Channels of dcgan64: 1 (Fashion-MNIST) or 3 (CelebA's shape).")
flags.DEFINE_bool("torch", True, "Run the PyTorch peers (needs torch: pip install -e .[bench]).")
flags.DEFINE_string("torch_python", "", "Python with torch installed; empty = this one.")
flags.DEFINE_bool("pipeline", True, f"Also time the fashion_mnist input pipeline alone (needs {FASHION_MNIST_DIR} "
                  "or TFDS' copy).")
FLAGS = flags.FLAGS


def load_config(name: str, channels: int, variant: str = "default") -> config_lib.Config:
    """The lecture's flagfile as a Config, with the benchmark's and the variant's fields."""
    with open(os.path.join(CONFIG_DIR, BENCHMARKS[name].flagfile)) as f:
        config = config_lib.Config.from_flagfile(f.read())
    overrides = dict(BENCHMARKS[name].overrides, **VARIANTS[variant])
    if name == "dcgan64":
        overrides["channels"] = channels
    return config.replace(**overrides)


# ----------------------------------------------------------------------------- FLOPs and peak.
#
# Multiply-accumulates (MACs) of the Dense, Conv2D and Conv2DTranspose layers, per image;
# a FLOP is 2 MACs. BatchNorm, activations, losses and optimizer updates are not counted
# (a few % at most).
#   Dense:            in_features * units
#   Conv2D:           H_out * W_out * C_out * kh * kw * C_in
#   Conv2DTranspose:  H_in * W_in * C_in * kh * kw * C_out  (each input pixel scatters a patch)
#
# Training a network on an image costs ~3x its forward pass (forward, plus a backward pass
# of ~2x: gradients w.r.t. activations and w.r.t. weights). Per train_step, with B the batch
# size, G / D the forward MACs per image and k = d_steps (1 in both lectures), the work the
# step needs:
#   each of the k D updates:  G forward on B fakes                      ->  1 G  per image
#                             D forward+backward on B real and B fakes  ->  2 * 3 D
#   G update:                 D forward on the last fakes, and its backward to the images
#                             only (D's weight gradients are not needed) -> 2 D
#                             G backward (its forward is taped above)   ->  2 G
#   FLOPs/step = 2 * B * (k * (G + 6 D) + 2 D + 2 G)   =  2 * B * (8 D + 3 G) for k = 1.
# Both sides are held to this count. TensorFlow's gradient computes just that; the PyTorch
# loops also compute D's weight gradients in G's backward (errG.backward(), 1/12 more work),
# and lecture 000's loop draws a fresh z for G's update (one more G forward).
# For reference: mlp G = 113,152 and D = 100,480 MACs/image (0.146 GFLOP/step at B=64);
# dcgan64 (1 channel) G = 102.53 M and D = 101.72 M MACs/image (287 GFLOP/step at B=128).


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
    return 2 * batch_size * (d_steps * (g_macs + 6 * d_macs) + 2 * d_macs + 2 * g_macs)


_CLOCK_C = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
  /* 16 dependent adds per iteration: each needs the previous result, so the loop
     runs at one add per cycle, and the loop counter's work hides in parallel. */
  long n = 100000000L, x = 0;
  struct timespec a, b;
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
      __asm__ volatile(
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
    if (s < best) best = s;
  }
  printf("%f\n", 16.0 * n / best / 1e9);
  return x == 0;
}
"""


def clock_ghz() -> tuple[float, str]:
    """(GHz, how it was found): measured with dependent adds, else /proc/cpuinfo's 'cpu MHz'."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler and platform.machine() in ("x86_64", "AMD64"):
        with tempfile.TemporaryDirectory() as tmp:
            source, binary = os.path.join(tmp, "clock.c"), os.path.join(tmp, "clock")
            with open(source, "w") as f:
                f.write(_CLOCK_C)
            built = subprocess.run([compiler, "-O1", "-o", binary, source], capture_output=True, check=False)
            if built.returncode == 0:
                ran = subprocess.run([binary], capture_output=True, text=True, check=False)
                try:
                    return float(ran.stdout.strip()), "measured: 1.6e9 dependent adds, best of 5"
                except ValueError:
                    pass
    mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", _read("/proc/cpuinfo"))]
    if mhz:
        return max(mhz) / 1000.0, "/proc/cpuinfo 'cpu MHz' (may be the base clock, not the boost)"
    return float("nan"), "unknown"


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def flops_per_cycle() -> tuple[int, str]:
    """fp32 FLOPs per cycle per core of this x86 CPU's vector units, and why."""
    info = _read("/proc/cpuinfo")
    cpu_flags = machine.cpu_flags()
    vendor = (re.search(r"vendor_id\s*:\s*(\S+)", info) or [None, ""])[1]
    family = int((re.search(r"cpu family\s*:\s*(\d+)", info) or [None, "0"])[1])
    fma = "fma" in cpu_flags
    if vendor == "AuthenticAMD" and family == 25 and "avx512f" in cpu_flags:
        return 32, "AMD Zen 4: 2 FMA pipes x 256 bits (AVX-512 runs as two 256-bit halves) = 8 fp32 lanes x 2 x 2"
    if vendor == "AuthenticAMD" and family >= 26 and "avx512f" in cpu_flags:
        return 64, "AMD Zen 5: 2 FMA pipes x 512 bits = 16 fp32 lanes x 2 x 2"
    if "avx512f" in cpu_flags:
        return 64, "AVX-512 with 2 FMA units x 512 bits = 16 fp32 lanes x 2 x 2 (1-FMA Xeons reach half)"
    if "avx2" in cpu_flags and fma:
        return 32, "AVX2: 2 FMA units x 256 bits = 8 fp32 lanes x 2 x 2"
    return 8, "SSE: 4 fp32 lanes x 2 (no FMA)"


# ----------------------------------------------------------------------------- Workers.


def project_worker(spec: dict) -> dict:
    """One project-side measurement in this (fresh) process."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import resource  # pylint: disable=import-outside-toplevel

    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_course import runtime, variants  # pylint: disable=import-outside-toplevel

    config = variants.validate(load_config(spec["model"], spec["channels"], spec["variant"]))
    runtime.configure_threads(config.inter_op_threads)  # As experiment.run does, before anything runs.
    image_shape = (config.image_size, config.image_size, config.channels)
    images_per_step = config.batch_size * config.d_steps  # Real images consumed per step.
    steps, warmup = spec["steps"], spec["warmup"]
    per_execution = runtime.steps_per_execution(config, steps)
    if warmup % per_execution:
        warmup += per_execution - warmup % per_execution

    t0 = time.perf_counter()
    model = variants.build(config, image_shape, steps_per_execution=per_execution)
    batch = tf.random.stateless_uniform((images_per_step, *image_shape), seed=[config.seed, 7],
                                        minval=-1.0, maxval=1.0, dtype=tf.float32)
    # Without autotuning: on this dataset tf.data's autotune thread sleeps in doubling periods,
    # and `fit` returns only when it wakes (measured: a 12 s fit ended at 20.47 s).
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_tensors(batch).repeat().with_options(options)
    build_s = time.perf_counter() - t0

    def fit(count):
        start = time.perf_counter()
        history = model.fit(dataset, epochs=1, steps_per_epoch=count, verbose=0, shuffle=False)
        # Reading a variable waits for every queued op: the steps are done.
        iterations = int(model.g_optimizer.iterations.numpy())
        return time.perf_counter() - start, iterations, history.history

    warmup_s, _, _ = fit(warmup)
    seconds, iterations, history = fit(steps)
    if iterations != warmup + steps:
        raise RuntimeError(f"expected {warmup + steps} steps, the optimizer did {iterations}")
    g_macs, d_macs = forward_macs(model.generator), forward_macs(model.discriminator)
    return {
        **spec,
        "side": "project",
        "image_shape": list(image_shape),
        "batch_size": config.batch_size,
        "seconds": seconds,
        "images_per_s": images_per_step * steps / seconds,
        "ms_per_step": 1000.0 * seconds / steps,
        "flops_per_step": step_flops(g_macs, d_macs, config.batch_size, config.d_steps),
        "steps_per_execution": per_execution,
        "jit_compile": bool(model.jit_compile),
        "build_s": build_s,
        "warmup_s": warmup_s,
        "losses": {name: float(values[-1]) for name, values in history.items() if name in ("d_loss", "g_loss")},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "device": ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                            for gpu in tf.config.list_physical_devices("GPU")) or "cpu",
    }


def pipeline_worker(spec: dict) -> dict:
    """Images/s that the real fashion_mnist pipeline delivers alone, at the model's size and batch."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    from tfgan_course import data, runtime  # pylint: disable=import-outside-toplevel

    config = load_config(spec["model"], spec["channels"])
    runtime.configure_threads(config.inter_op_threads)
    dataset, _ = data.make_dataset("fashion_mnist", image_size=config.image_size, channels=config.channels,
                                   batch_size=config.batch_size, seed=config.seed, repeat=True)
    iterator = iter(dataset)
    for _ in range(5):  # Fills the shuffle buffer and the prefetch.
        next(iterator)
    batches, start = 0, time.perf_counter()
    while time.perf_counter() - start < spec["seconds"]:
        next(iterator)
        batches += 1
    seconds = time.perf_counter() - start
    return {**spec, "side": "pipeline", "images_per_s": batches * config.batch_size / seconds}


def run_process(command: list, spec: dict) -> dict:
    """Runs a measurement in a fresh process; returns the JSON line it prints last."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    proc = subprocess.run([*command, json.dumps(spec)], env=env, capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{") and proc.returncode == 0:
            return json.loads(line)
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
    raise RuntimeError(f"measurement {spec} failed (exit code {proc.returncode}):\n{tail}")


# ----------------------------------------------------------------------------- Report.


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def median_ips(results):
    return statistics.median(r["images_per_s"] for r in results)


def spread(results):
    ips = [r["images_per_s"] for r in results]
    return f"{min(ips):.1f}-{max(ips):.1f}"


def print_table(header, rows, left=1):
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for n, row in enumerate([header, *rows]):
        print("  ".join(str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def check_torch(python: str) -> str:
    """The Python to run the PyTorch peers with, or a UsageError saying how to get one."""
    probe = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True,
                           check=False)
    if probe.returncode:
        raise app.UsageError(f"PyTorch is not importable by {python}: install the benchmark extra with "
                             "`.venv/bin/pip install -e .[bench]`, pass --torch_python=/path/to/python-with-torch, "
                             "or measure the project alone with --notorch.")
    return probe.stdout.strip()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    models = list(dict.fromkeys(m.strip() for m in FLAGS.models if m.strip()))
    variants = list(dict.fromkeys(v.strip() for v in FLAGS.variants if v.strip()))
    for option, values, valid in (("models", models, BENCHMARKS), ("variants", variants, VARIANTS)):
        unknown = [v for v in values if v not in valid]
        if unknown or not values:
            raise app.UsageError(f"--{option}: unknown {unknown or 'empty'}; valid: {', '.join(valid)}.")
    channels = int(FLAGS.channels)
    torch_python = FLAGS.torch_python or sys.executable
    torch_version = check_torch(torch_python) if FLAGS.torch else None
    steps = {m: FLAGS.steps or BENCHMARKS[m].steps for m in models}

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ghz, clock_how = clock_ghz()
    per_cycle, per_cycle_how = flops_per_cycle()
    peak = cores * ghz * per_cycle  # GFLOP/s, fp32
    print("tfgan_course training speed against the lectures' PyTorch loops (images/s of real images consumed).")
    print(f"machine: {machine.cpu_model()}, {cores} cores; Python {platform.python_version()}, TensorFlow "
          f"{version('tensorflow')}, Keras {version('keras')}, PyTorch {torch_version or 'not run'}.")
    print(f"fp32 peak: {cores} cores x {ghz:.2f} GHz ({clock_how}) x {per_cycle} FLOP/cycle ({per_cycle_how}) "
          f"= {peak:.0f} GFLOP/s; bf16 rows against 2x that.")
    print(f"protocol: fresh process per run, warm-up then timed steps ({', '.join(f'{m} {steps[m]}' for m in models)}), "
          f"{FLAGS.runs} runs alternating project/PyTorch, one reused random batch.", flush=True)

    project_cmd = [sys.executable, os.path.abspath(__file__), "--worker"]
    torch_cmd = [torch_python, TORCH_PEERS]
    results, started = {}, time.perf_counter()

    def measure(key, command, spec):
        try:
            result = run_process(command, spec)
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from error
        results.setdefault(key, []).append(result)
        print(f"  [{time.perf_counter() - started:6.0f}s] {key[0]:8s} {key[1]:11s} run {spec.get('run', 0) + 1}: "
              f"{result['images_per_s']:9.1f} images/s" +
              (f", {result['ms_per_step']:8.2f} ms/step, peak RSS {result['peak_rss_mb']:.0f} MB"
               if "ms_per_step" in result else ""), file=sys.stderr, flush=True)

    for run in range(FLAGS.runs):
        for m in models:
            spec = {"model": m, "channels": channels, "steps": steps[m], "warmup": BENCHMARKS[m].warmup, "run": run}
            for variant in variants:
                measure((m, variant), project_cmd, {**spec, "variant": variant})
                if FLAGS.torch and variant == variants[0]:
                    measure((m, "pytorch"), torch_cmd, spec)
    if FLAGS.pipeline and (os.path.isdir(FASHION_MNIST_DIR) or os.environ.get("TFDS_DATA_DIR")):
        for m in models:
            measure((m, "pipeline"), project_cmd + ["--pipeline"], {"model": m, "channels": channels, "seconds": 10})

    rows, lines = [], []
    for m in models:
        torch_ips = median_ips(results[(m, "pytorch")]) if FLAGS.torch else float("nan")
        if FLAGS.torch:
            t = results[(m, "pytorch")]
            ms = statistics.median(r["ms_per_step"] for r in t)
            flops = results[(m, variants[0])][0]["flops_per_step"]  # The same count for both sides.
            gflops = flops / (ms / 1000.0) / 1e9
            rows.append([m, "pytorch", f"{torch_ips:.1f}", spread(t), "1.00", f"{ms:.2f}", f"{flops / 1e9:.3f}",
                         f"{gflops:.1f}", f"{100.0 * gflops / peak:.1f}", f"{max(r['peak_rss_mb'] for r in t):.0f}"])
        for variant in variants:
            r = results[(m, variant)]
            ips = median_ips(r)
            ms = statistics.median(x["ms_per_step"] for x in r)
            gflops = r[0]["flops_per_step"] / (ms / 1000.0) / 1e9
            variant_peak = peak * (2 if VARIANTS[variant].get("mixed_precision") == "mixed_bfloat16" else 1)
            pct = 100.0 * gflops / variant_peak
            rows.append([m, variant, f"{ips:.1f}", spread(r), f"{ips / torch_ips:.2f}", f"{ms:.2f}",
                         f"{r[0]['flops_per_step'] / 1e9:.3f}", f"{gflops:.1f}", f"{pct:.1f}",
                         f"{max(x['peak_rss_mb'] for x in r):.0f}"])
            name = m if variant == "default" else f"{m}-{variant}"
            lines.append(f"model={name} images_per_s={ips:.1f} torch_images_per_s={torch_ips:.1f} "
                         f"ratio={ips / torch_ips:.2f} pct_of_peak={pct:.1f}")
    print()
    print_table(["model", "side", "images/s", "min-max", "vs torch", "ms/step", "GFLOP/step", "GFLOP/s",
                 "% peak", "peak RSS MB"], rows, left=2)
    for m in models:
        if (m, "pipeline") in results:
            delivered = median_ips(results[(m, "pipeline")])
            training = median_ips(results[(m, variants[0])])
            config = load_config(m, channels)
            print(f"input pipeline alone ({m}: fashion_mnist at {config.image_size}px, batch "
                  f"{config.batch_size}): {delivered:.0f} images/s = {delivered / training:.1f}x "
                  f"the {variants[0]} training rate")
    devices = sorted({r.get("device", "cpu") for runs in results.values() for r in runs if "device" in r})
    print(f"devices: {', '.join(devices)}; (total {time.perf_counter() - started:.0f}s)")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(project_worker(json.loads(sys.argv[2]))), flush=True)
    elif len(sys.argv) == 4 and sys.argv[1:3] == ["--worker", "--pipeline"]:
        print(json.dumps(pipeline_worker(json.loads(sys.argv[3]))), flush=True)
    else:
        app.run(main)
