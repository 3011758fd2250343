r"""Mode collapse on the toy mixtures: modes captured and high-quality samples per setup, over seeds.

Trains the project's toy GAN (`models/toy.py`, through `experiment.run`, the
real library path) on ring8 (8 modes) and grid25 (25 modes) with each setup
below, for several seeds, then draws --num_samples points from the generator
and scores them with `toy.mode_metrics` (a mode counts when a sample lies
within 3 std of its centre; a sample is high quality within 3 std of some
centre). Prints mean and std over seeds.

Setups (the override flags, e.g. --depth or --pack, replace every setup's own value):

  non_saturating, wgan_gp, unrolled   the lecture's net: G and D one hidden ReLU layer of 256, batch 100
  deep      non-saturating loss, G and D 3 hidden ReLU layers of 128, sampled from an EMA of G (0.999)
  pacgan    deep, D judging packs of 4 samples (PacGAN4, Lin et al., 2018), 100 packs a batch (400 samples)
  dragan    deep, plus DRAGAN's gradient penalty around perturbed real data (weight 0.1)

All use Adam 1e-3 (beta1 0.9; WGAN-GP 0.5, 0.9 and 5 critic steps), z of 2 dimensions for ring8
and 8 for grid25.

  .venv/bin/python benchmarks/mode_collapse.py --setups=deep,pacgan,dragan --mixtures=grid25 --steps=30000
  .venv/bin/python benchmarks/mode_collapse.py --setups=non_saturating,wgan_gp,unrolled --seeds=5 --steps=10000
  .venv/bin/python benchmarks/mode_collapse.py --setups=pacgan --pack=2 --batch_size=200

Each finished (mixture, setup, seed) run appends one JSON line to <--output_dir>/results.jsonl
(its Config, scores and seconds); the same command run again skips the runs whose Config is already
there, so an interrupted benchmark resumes (a run killed half-way restarts from its last checkpoint,
kept under <--output_dir>/runs/ until it finishes).
"""

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import time

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags, logging  # pylint: disable=wrong-import-position

from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position
from tfgan_course import data, experiment, toy

# The deeper toy nets of the mode-collapse literature (3-4 hidden layers of 128-512: the unrolled GAN's
# G has 2 of 128, VEEGAN's and PacGAN's G 4 of 400 and D 3 of 200): 3 hidden ReLU layers of 128 in G and
# D, sampled from a moving average of G's weights (Yazici et al., 2019).
DEEP = dict(g_depth=3, d_depth=3, g_width=128, d_width=128, g_ema_decay=0.999)
SETUPS = {
    # The lecture's net: one hidden ReLU layer of 256 in G and D.
    "non_saturating": dict(loss="non_saturating"),
    "wgan_gp": dict(loss="wasserstein", penalty="gradient", penalty_weight=0.1, d_steps=5,
                    g_beta1=0.5, d_beta1=0.5, g_beta2=0.9, d_beta2=0.9),
    # Metz et al. (2017) unroll 5 steps of Adam for their 2-D mixture.
    "unrolled": dict(loss="non_saturating", unrolled_steps=5),
    # The deeper nets.
    "deep": dict(loss="non_saturating", **DEEP),
    # PacGAN4 (Lin et al., 2018): D judges packs of 4 samples, 100 packs a batch as in the paper.
    "pacgan": dict(loss="non_saturating", pack=4, batch_size=400, **DEEP),
    # DRAGAN's gradient penalty around perturbed real data (Kodali et al., 2017). Weight 1 also covers
    # grid25, but holds ring8 (radius 1) in one blob at its centre.
    "dragan": dict(loss="non_saturating", penalty="dragan", penalty_weight=0.1, **DEEP),
}
# What every setup shares unless it or a flag says otherwise: batch 100, Adam 1e-3 (beta1 0.9).
COMMON = dict(model="toy", g_width=256, d_width=256, g_depth=1, d_depth=1, batch_size=100,
              g_learning_rate=1e-3, d_learning_rate=1e-3, g_beta1=0.9, d_beta1=0.9)

flags.DEFINE_list("setups", list(SETUPS), f"Setups to run: {', '.join(SETUPS)}.")
flags.DEFINE_list("mixtures", ["ring8", "grid25"], "Toy mixtures: ring8, grid25.")
flags.DEFINE_integer("seeds", 3, "Seeds per (mixture, setup).")
flags.DEFINE_integer("steps", 20000, "Generator steps per run.")
flags.DEFINE_integer("num_samples", 2500, "Generated samples scored per run.")
flags.DEFINE_integer("latent_dim", 0, "Size of z; 0 = 2 for ring8, 8 for grid25.")
flags.DEFINE_string("output_dir", "runs/mode_collapse", "results.jsonl (one line per finished run) and the "
                    "unfinished runs' workdirs.")
# Flags that override every setup's own value: flag -> (type, the Config fields it sets, help). Unset = the setup's.
OVERRIDES = {
    "depth": (int, ("g_depth", "d_depth"), "Hidden layers of G and D (1 = the lecture's)."),
    "width": (int, ("g_width", "d_width"), "Hidden units of G and D."),
    "pack": (int, ("pack",), "PacGAN: samples per pack D judges."),
    "batch_size": (int, ("batch_size",), "Batch size in samples (a multiple of the pack)."),
    "learning_rate": (float, ("g_learning_rate", "d_learning_rate"), "Adam learning rate of G and D."),
    "beta1": (float, ("g_beta1", "d_beta1"), "Adam beta1 of G and D."),
    "ema_decay": (float, ("g_ema_decay",), "Sample from a moving average of G's weights with this decay; 0 = off."),
    "penalty_weight": (float, ("penalty_weight",), "Weight of the setup's penalty (WGAN-GP's 0.1 is small: the toy "
                       "data span [-4, 4])."),
}
for _name, (_kind, _, _help) in OVERRIDES.items():
    (flags.DEFINE_integer if _kind is int else flags.DEFINE_float)(_name, None, _help + " Default: each setup's.")
FLAGS = flags.FLAGS


def _overrides():
    """The Config fields that this command's override flags set."""
    return {field: FLAGS[flag].value for flag, (_, fields, _) in OVERRIDES.items() if FLAGS[flag].value is not None
            for field in fields}


def make_config(mixture, setup, seed):
    """The Config of one run: COMMON, the setup, the override flags; --steps as whole epochs of the toy data."""
    fields = {**COMMON, **SETUPS[setup], **_overrides()}
    # An epoch is one pass over the toy data set: steps = epochs * steps_per_epoch exactly.
    images_per_step = fields["batch_size"] * fields.get("d_steps", 1)
    steps_per_epoch = data.TOY_EXAMPLES // images_per_step
    while FLAGS.steps % steps_per_epoch:
        steps_per_epoch -= 1  # Shorter epochs, each at most one pass.
    return config_lib.Config(
        dataset=f"toy:{mixture}", latent_dim=FLAGS.latent_dim or (2 if mixture == "ring8" else 8), seed=seed,
        epochs=FLAGS.steps // steps_per_epoch, steps_per_epoch=steps_per_epoch, num_fixed_samples=1000,
        log_every_steps=0, **fields)


def run_one(config, workdir):
    """Trains one toy GAN (resuming from `workdir`'s checkpoint, if any) and returns its toy.ModeMetrics."""
    result = experiment.run(config, workdir, verbose=0)
    assert result.steps == FLAGS.steps, (result.steps, FLAGS.steps)
    samples = result.model.generate(FLAGS.num_samples, seed=config.seed)
    return toy.mode_metrics(samples, toy.MIXTURES[config.dataset.split(":")[1]]())


def read_results(path):
    """{config key: result line} of the runs finished so far."""
    results = {}
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    results[record["key"]] = record
    return results


def run_or_reuse(mixture, setup, seed, done, results_path):
    """One run's result line: from `done` when its Config already ran, else trained now and appended."""
    config = make_config(mixture, setup, seed)
    key = hashlib.sha256(f"{config.to_flagfile()}--num_samples={FLAGS.num_samples}".encode()).hexdigest()[:16]
    if key in done:
        return done[key]
    workdir = os.path.join(FLAGS.output_dir, "runs", f"{mixture}_{setup}_seed{seed}_{key}")
    start = time.time()
    metrics = run_one(config, workdir)
    record = {"key": key, "mixture": mixture, "setup": setup, "seed": seed, "steps": FLAGS.steps,
              "seconds": round(time.time() - start, 1), **dataclasses.asdict(metrics),
              "config": dataclasses.asdict(config)}
    with open(results_path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
    done[key] = record
    shutil.rmtree(workdir, ignore_errors=True)
    return record


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # Each run's checkpoint and export lines.
    unknown = set(FLAGS.setups) - set(SETUPS)
    if unknown:
        raise app.UsageError(f"Unknown --setups {sorted(unknown)}; valid: {', '.join(SETUPS)}.")
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    results_path = os.path.join(FLAGS.output_dir, "results.jsonl")
    done = read_results(results_path)
    print(f"Mode coverage of the toy GAN, {FLAGS.steps} generator steps per run, {FLAGS.seeds} seeds each, "
          f"{FLAGS.num_samples} samples scored per run; overrides {_overrides() or 'none'}; "
          f"TensorFlow {tf.__version__}; results in {results_path}.")
    print(f"{'mixture':8} {'setup':15} {'G x D nets':>16} {'batch':>5} {'lr':>7} {'modes captured':>18} "
          f"{'high quality %':>16} {'reverse KL':>11} {'s/run':>6}")
    for mixture in FLAGS.mixtures:
        for setup in FLAGS.setups:
            records = [run_or_reuse(mixture, setup, seed, done, results_path) for seed in range(FLAGS.seeds)]
            config = records[0]["config"]
            nets = f"{config['g_depth']}x{config['g_width']} {config['d_depth']}x{config['d_width']}"
            modes = np.array([r["modes_captured"] for r in records])
            quality = 100 * np.array([r["high_quality"] for r in records])
            kl = np.array([r["reverse_kl"] for r in records])
            print(f"{mixture:8} {setup:15} {nets:>16} {config['batch_size']:5d} {config['g_learning_rate']:7.0e} "
                  f"{modes.mean():7.2f} +- {modes.std():4.2f} of {records[0]['num_modes']:2d} "
                  f"{quality.mean():8.1f} +- {quality.std():4.1f} {kl.mean():11.3f} "
                  f"{np.mean([r['seconds'] for r in records]):6.0f}", flush=True)


if __name__ == "__main__":
    sys.exit(app.run(main))
