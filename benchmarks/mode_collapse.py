r"""Mode collapse on the toy mixtures: modes captured and high-quality samples per loss, over seeds.

Trains the project's toy GAN (`models/toy.py`, through `experiment.run`, the
real library path) on ring8 (8 modes) and grid25 (25 modes) with each setup
below (non-saturating, WGAN-GP, the unrolled GAN), for several seeds, then
draws --num_samples points from the generator and scores them with
`toy.mode_metrics` (a mode counts when a sample lies within 3 std of its
centre; a sample is high quality within 3 std of some centre). Prints mean and
std over seeds.

  .venv/bin/python benchmarks/mode_collapse.py                      # ~25 minutes on 2 cores
  .venv/bin/python benchmarks/mode_collapse.py --seeds=5 --steps=10000 --setups=wgan_gp,unrolled
"""

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags, logging  # pylint: disable=wrong-import-position

from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position
from tfgan_course import data, experiment, toy

SETUPS = {
    "non_saturating": dict(loss="non_saturating"),
    "wgan_gp": dict(loss="wasserstein", penalty="gradient", d_steps=5,
                    g_beta1=0.5, d_beta1=0.5, g_beta2=0.9, d_beta2=0.9),
    # Metz et al. (2017) unroll 5 steps of Adam for their 2-D mixture.
    "unrolled": dict(loss="non_saturating", unrolled_steps=5),
}

flags.DEFINE_list("setups", list(SETUPS), f"Setups to run: {', '.join(SETUPS)}.")
flags.DEFINE_float("penalty_weight", 0.1, "WGAN-GP's lambda (small: the toy data span [-4, 4]).")
flags.DEFINE_list("mixtures", ["ring8", "grid25"], "Toy mixtures: ring8, grid25.")
flags.DEFINE_integer("seeds", 3, "Seeds per (mixture, setup).")
flags.DEFINE_integer("steps", 20000, "Generator steps per run.")
flags.DEFINE_integer("batch_size", 100, "Batch size.")
flags.DEFINE_integer("width", 256, "Hidden units of G and D.")
flags.DEFINE_integer("num_samples", 2500, "Generated samples scored per run.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate of G and D.")
flags.DEFINE_float("beta1", 0.9, "Adam beta1 of G and D (the WGAN-GP setup keeps its own 0.5).")
flags.DEFINE_integer("latent_dim", 0, "Size of z; 0 = 2 for ring8, 8 for grid25.")
FLAGS = flags.FLAGS


def run_one(mixture, setup, seed, workdir):
    """Trains one toy GAN and returns its toy.ModeMetrics."""
    # An epoch is one pass over the toy data set: steps = epochs * steps_per_epoch exactly.
    images_per_step = FLAGS.batch_size * SETUPS[setup].get("d_steps", 1)
    steps_per_epoch = data.TOY_EXAMPLES // images_per_step
    if FLAGS.steps % steps_per_epoch:
        raise ValueError(f"--steps={FLAGS.steps} is not a whole number of epochs of {steps_per_epoch} steps "
                         f"({images_per_step} samples a step over {data.TOY_EXAMPLES} toy samples).")
    config = config_lib.Config(
        dataset=f"toy:{mixture}", model="toy", latent_dim=FLAGS.latent_dim or (2 if mixture == "ring8" else 8),
        g_width=FLAGS.width, d_width=FLAGS.width, batch_size=FLAGS.batch_size, seed=seed,
        g_learning_rate=FLAGS.learning_rate, d_learning_rate=FLAGS.learning_rate,
        epochs=FLAGS.steps // steps_per_epoch, steps_per_epoch=steps_per_epoch, num_fixed_samples=1000,
        log_every_steps=0, penalty_weight=FLAGS.penalty_weight,
        **{"g_beta1": FLAGS.beta1, "d_beta1": FLAGS.beta1, **SETUPS[setup]})
    result = experiment.run(config, workdir, verbose=0)
    assert result.steps == FLAGS.steps, (result.steps, FLAGS.steps)
    z = tf.random.stateless_normal([FLAGS.num_samples, config.latent_dim], seed=[seed, 7])
    samples = result.model.sampler(z, training=False).numpy()
    return toy.mode_metrics(samples, toy.MIXTURES[mixture]())


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # Each run's checkpoint and export lines.
    print(f"Mode coverage of the toy GAN (G and D: one hidden ReLU layer of {FLAGS.width}), "
          f"{FLAGS.steps} generator steps of batch {FLAGS.batch_size}, {FLAGS.seeds} seeds each, "
          f"{FLAGS.num_samples} samples scored per run; TensorFlow {tf.__version__}.")
    print(f"{'mixture':8} {'setup':15} {'modes captured':>18} {'high quality %':>16} {'reverse KL':>12} "
          f"{'s/run':>6}")
    for mixture in FLAGS.mixtures:
        for setup in FLAGS.setups:
            results, start = [], time.time()
            for seed in range(FLAGS.seeds):
                with tempfile.TemporaryDirectory() as workdir:
                    results.append(run_one(mixture, setup, seed, workdir))
            modes = np.array([r.modes_captured for r in results])
            quality = 100 * np.array([r.high_quality for r in results])
            kl = np.array([r.reverse_kl for r in results])
            print(f"{mixture:8} {setup:15} {modes.mean():7.2f} +- {modes.std():4.2f} of {results[0].num_modes:2d} "
                  f"{quality.mean():8.1f} +- {quality.std():4.1f} {kl.mean():12.3f} "
                  f"{(time.time() - start) / FLAGS.seeds:6.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(app.run(main))
