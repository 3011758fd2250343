r"""A small "Are GANs Created Equal?" (Lucic et al., 2018): FID per loss, same DCGAN, budget and seeds.

Lecture 004's loss table comes from that study. Each row here is one of the
project's `tfgan_course/configs/loss_*_fashion_mnist.cfg` flagfiles (minimax,
non-saturating, least squares, WGAN with clipping, WGAN-GP, DRAGAN, BEGAN,
hinge: the DCGAN at 28x28, BEGAN's D an autoencoder), trained through
`experiment.run` for the same number of generator steps per seed, then scored by
`evaluate.evaluate` (FID in the domain classifier's feature space, N generated
against N real training images). The last row is the real-vs-real baseline: N
test images against the same N training images.

  .venv/bin/python benchmarks/loss_study.py                         # 8 losses x 3 seeds x 2,000 steps of batch 64
  .venv/bin/python benchmarks/loss_study.py --losses=non_saturating,wgan_gp --steps=300 --seeds=1

Finished runs' scores are kept in --results_dir (default benchmarks/results/loss_study, in the repository,
so another machine trains only what is missing) and reused by the same command, so the full study
(several hours on 2 CPU cores) can be interrupted and resumed; a run's key ends with a digest of its experiment's
flags, so a config edited since trains and scores again. Each run trains in its own directory under
--output_dir (its samples, losses.csv and scores stay there), checkpointed every 100 steps: a run
interrupted mid-training resumes from its last checkpoint.

It ends with one line per loss: `loss=<name> fid_mean=<x> fid_std=<y> seeds=<n> steps=<s> num_samples=<N>`.
"""

import glob
import json
import math
import os
import sys
import time

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags, logging  # pylint: disable=wrong-import-position

from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position
from tfgan_course import data, evaluate, experiment, trained

CONFIG_DIR = os.path.join(os.path.dirname(experiment.__file__), "configs")
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "loss_study")
CONFIGS = {os.path.basename(path)[len("loss_"):-len("_fashion_mnist.cfg")]: path
           for path in sorted(glob.glob(os.path.join(CONFIG_DIR, "loss_*_fashion_mnist.cfg")))}

flags.DEFINE_list("losses", list(CONFIGS), f"Rows to run: {', '.join(CONFIGS)}.")
flags.DEFINE_integer("seeds", 3, "Seeds per loss.")
flags.DEFINE_integer("steps", 2000, "Generator steps per run (the same budget for every loss).")
flags.DEFINE_integer("batch_size", 64, "Batch size of every run (Lucic et al. use 64; the configs' own is 128).")
flags.DEFINE_integer("num_samples", 5000, "Generated and real images per FID (equal N everywhere).")
flags.DEFINE_enum("mixed_precision", "none", ["none", "mixed_bfloat16", "mixed_float16"],
                  "Train every run under this policy: compares sample quality against float32 at the same budget.")
flags.DEFINE_string("output_dir", "runs/loss_study", "Each run's workdir is output_dir/<loss>_seed<k>_...: "
                    "an interrupted run resumes there from its last checkpoint.")
flags.DEFINE_string("dataset", "", "Data spec; empty = the configs' (Fashion-MNIST).")
flags.DEFINE_string("results_dir", RESULTS_DIR, "Each finished run's scores are kept here as JSON and reused "
                    "when the study is run again with the same settings, so a study of several hours survives "
                    "interruptions; empty = keep nothing.")
FLAGS = flags.FLAGS


def budget(config, steps):
    """config with epochs x steps_per_epoch = steps, each epoch at most one pass over the data."""
    _, info = data.make_dataset(config.dataset, image_size=config.image_size, channels=config.channels,
                                batch_size=1, repeat=False)
    full_epoch = info.num_examples // (config.batch_size * config.d_steps)
    # The fewest equal epochs of at most one pass each (steps itself always divides).
    epochs = next(e for e in range(math.ceil(steps / full_epoch), steps + 1) if steps % e == 0)
    return config.replace(epochs=epochs, steps_per_epoch=steps // epochs)


def run_key(name, config):
    """The run's readable name plus a digest of its experiment (the Config fields outside RESUMABLE that differ
    from the defaults): a flagfile edited since (BEGAN's gamma, say) makes a new key, so stale scores and
    checkpoints are never reused, while a new Config field with a default leaves every key as it was."""
    key = f"{name}_seed{config.seed}_steps{FLAGS.steps}_batch{config.batch_size}_n{FLAGS.num_samples}"
    if FLAGS.dataset:
        key += "_" + "".join(c if c.isalnum() else "-" for c in FLAGS.dataset)
    if config.mixed_precision != "none":
        key += "_" + config.mixed_precision
    return f"{key}_{config_lib.experiment_digest(config)}"


def run_once(name, config):
    """Trains and scores one (loss, seed) run, or reads its scores from --results_dir if it already ran."""
    key = run_key(name, config)
    path = os.path.join(FLAGS.results_dir, key + ".json") if FLAGS.results_dir else None
    if path and os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    workdir = os.path.join(FLAGS.output_dir, key)
    result = experiment.run(config, workdir, verbose=0)  # Resumes from the run's last checkpoint, if any.
    assert result.steps == FLAGS.steps, (result.steps, FLAGS.steps)
    scored = evaluate.evaluate(trained.from_run(workdir), config.dataset, os.path.join(workdir, "eval"),
                               FLAGS.num_samples)
    if path:
        os.makedirs(FLAGS.results_dir, exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump(scored, f, indent=1)
        os.replace(path + ".tmp", path)  # A run interrupted mid-write leaves no half a result.
    return scored


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    unknown = set(FLAGS.losses) - set(CONFIGS)
    if unknown:
        raise app.UsageError(f"Unknown --losses {sorted(unknown)}; valid: {', '.join(CONFIGS)}.")
    print(f"Loss study on {FLAGS.dataset or 'the configs dataset (Fashion-MNIST)'}: {FLAGS.steps} generator steps "
          f"of batch {FLAGS.batch_size} per run, {FLAGS.seeds} seeds, FID at N = {FLAGS.num_samples} generated vs "
          f"N real training images in the domain classifier's feature space; policy {FLAGS.mixed_precision}; "
          f"TensorFlow {tf.__version__}.")
    print(f"{'loss':16} {'FID':>18} {'KID':>10} {'precision':>10} {'recall':>8} {'s/run':>7}", flush=True)
    summary, baseline = [], None
    for name in FLAGS.losses:
        with open(CONFIGS[name]) as f:
            base = config_lib.Config.from_flagfile(f.read())
        if FLAGS.dataset:
            base = base.replace(dataset=FLAGS.dataset)
        scores, start = [], time.time()
        for seed in range(FLAGS.seeds):
            config = budget(base.replace(seed=seed, batch_size=FLAGS.batch_size, log_every_steps=0,
                                         checkpoint_every_steps=100, mixed_precision=FLAGS.mixed_precision),
                            FLAGS.steps)
            scored = run_once(name, config)
            scores.append(scored["generated"])
            baseline = scored["real_vs_real"]
        fid = np.array([s["fid"] for s in scores])
        print(f"{name:16} {fid.mean():9.2f} +- {fid.std():6.2f} {np.mean([s['kid'] for s in scores]):10.4f} "
              f"{np.mean([s['precision'] for s in scores]):10.3f} {np.mean([s['recall'] for s in scores]):8.3f} "
              f"{(time.time() - start) / FLAGS.seeds:7.0f}", flush=True)
        summary.append(f"loss={name} fid_mean={fid.mean():.3f} fid_std={fid.std():.3f} seeds={FLAGS.seeds} "
                       f"steps={FLAGS.steps} batch_size={FLAGS.batch_size} num_samples={FLAGS.num_samples}")
    print(f"{'real vs real':16} {baseline['fid']:9.2f} {'':9} {baseline['kid']:10.4f} {baseline['precision']:10.3f} "
          f"{baseline['recall']:8.3f}")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(app.run(main))
