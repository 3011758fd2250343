r"""Image-to-image translation with numbers: pix2pix's Table 1 and PatchGAN ablation in small, paired vs unpaired.

Three studies (--studies), each row trained through `experiment.run` for the same generator steps
and seeds, then scored by `evaluate_translation.evaluate` on the test split (N = --num_samples):
L1, PSNR and SSIM against the ground truth, the target classifier's accuracy on the outputs (the
FCN-score of pix2pix) and FID in its features. Each table also has the input itself and real vs
real (the train split's targets against the test ones) once.

  table1  pix2pix's Table 1 on edges -> garment (configs/pix2pix_edges_fashion_mnist.cfg):
          L1 only (--gan_weight=0), cGAN only (--l1_weight=0), L1 + cGAN (the config).
  patch   the PatchGAN receptive-field ablation on the same task, L1 + cGAN: --patch_size 1, 16, 34
          and 70, each where the image size allows (patchgan.check_size). All fit the config's 32x32:
          the 70x70 PatchGAN gives 2x2 logits there, each seeing the whole image (an ImageGAN in
          effect), and the 34x34 one 6x6.
  emoji   paired vs unpaired on Twemoji -> Noto Emoji: pix2pix_emoji_twitter_google.cfg against
          cyclegan_emoji_twitter_google.cfg, the pix2pix at the CycleGAN's 32x32 and 34x34 PatchGAN
          so both are scored alike; the CycleGAN's G: twitter -> google is scored on the paired spec
          emoji:twitter-google, so it too has L1, PSNR and SSIM to the ground truth (emoji have no
          labels: no accuracy or FID). Skipped in one line when the emoji are not fetched
          (./run.sh fetch-data).

  .venv/bin/python benchmarks/translation.py                       # 3 studies x 3 seeds at the configs' budgets
  .venv/bin/python benchmarks/translation.py --studies=table1 --steps=1000 --seeds=1

Each run trains in <results_dir>/runs/<digest of its Config> and resumes there from its last
checkpoint when interrupted; its scores go to <results_dir>/<digest of Config and scoring>.json and
are reused by the next call with the same settings (a row shared by two studies, table1's L1 + cGAN
and patch's 34, trains once). The wall time of a run is the training calls' (export included) that
finished. The tables are printed at the end and written to <results_dir>/translation.md.
"""

import hashlib
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags, logging  # pylint: disable=wrong-import-position

from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position
from tfgan_course import data_sources, evaluate_translation, experiment, fileio, trained
from tfgan_course.models import patchgan

CONFIG_DIR = os.path.join(os.path.dirname(experiment.__file__), "configs")
EDGES = "pix2pix_edges_fashion_mnist.cfg"
EMOJI_PAIRED, EMOJI_UNPAIRED = "pix2pix_emoji_twitter_google.cfg", "cyclegan_emoji_twitter_google.cfg"
EMOJI_SPEC = "emoji:twitter-google"
STUDIES = ("table1", "patch", "emoji")
PATCH_SIZES = (1, 16, 34, 70)
# (title, score key, scale, digits) of each table column.
COLUMNS = (("L1", "l1", 1, 4), ("PSNR (dB)", "psnr", 1, 2), ("SSIM", "ssim", 1, 4),
           ("accuracy (%)", "accuracy", 100, 1), ("FID", "fid", 1, 3))

flags.DEFINE_list("studies", list(STUDIES), f"Studies to run: {', '.join(STUDIES)}.")
flags.DEFINE_integer("seeds", 3, "Seeds per row (0 .. seeds-1).", lower_bound=1)
flags.DEFINE_integer("steps", None, "Generator steps per run; unset = each config's own budget.", lower_bound=1)
flags.DEFINE_integer("num_samples", evaluate_translation.DEFAULT_NUM_SAMPLES, "Test examples scored per run.",
                     lower_bound=10)
flags.DEFINE_integer("classifier_epochs", None, "Epochs of the scoring classifier when it must be trained; "
                     "unset = classifier.py's default.", lower_bound=1)
flags.DEFINE_string("results_dir", "runs/translation", "Runs (resumable) and their scores (reused).")
FLAGS = flags.FLAGS


def _config(name, **changes):
    """The shipped flagfile configs/<name> with `changes`, silent."""
    with open(os.path.join(CONFIG_DIR, name)) as f:
        return config_lib.Config.from_flagfile(f.read()).replace(log_every_steps=0, **changes)


def fitting_patch_sizes(config):
    """PATCH_SIZES split into those a PatchGAN fits at config's image size and those it does not."""
    fits, left_out = [], []
    for size in PATCH_SIZES:
        try:
            patchgan.check_size((config.image_size, config.image_size), size)
            fits.append(size)
        except ValueError:
            left_out.append(size)
    return fits, left_out


def study_rows(study):
    """(row name, Config at seed 0, spec it is scored on) per row of a study."""
    if study in ("table1", "patch"):
        base = _config(EDGES)
        if study == "table1":
            return [("L1", base.replace(gan_weight=0.0), base.dataset),
                    ("cGAN", base.replace(l1_weight=0.0), base.dataset),
                    ("L1 + cGAN", base, base.dataset)]
        return [(f"{size}x{size} PatchGAN", base.replace(patch_size=size), base.dataset)
                for size in fitting_patch_sizes(base)[0]]
    unpaired = _config(EMOJI_UNPAIRED)
    paired = _config(EMOJI_PAIRED, image_size=unpaired.image_size, patch_size=unpaired.patch_size)
    return [("pix2pix (paired)", paired, EMOJI_SPEC), ("CycleGAN (unpaired)", unpaired, EMOJI_SPEC)]


def with_budget(config, steps):
    """config trained for `steps` generator steps in at most its own number of equal epochs (None: as it is).

    A learning-rate decay keeps its share of the epochs, rounded down.
    """
    if steps is None:
        return config
    epochs = max(e for e in range(1, config.epochs + 1) if steps % e == 0)
    return config.replace(epochs=epochs, steps_per_epoch=steps // epochs,
                          lr_decay_epochs=config.lr_decay_epochs * epochs // config.epochs)


def _digest(*parts):
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def run_once(config, spec):
    """Trains config (resuming its checkpoint) and scores it on spec's test split, or reads the kept scores.

    Returns:
      {"config": flagfile text, "steps", "train_seconds", "eval": evaluate_translation's dict}.
    """
    flagfile = config.to_flagfile()
    path = os.path.join(FLAGS.results_dir, _digest(flagfile, spec, FLAGS.num_samples, FLAGS.classifier_epochs)
                        + ".json")
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    workdir = os.path.join(FLAGS.results_dir, "runs", _digest(flagfile))
    steps, seconds = _timed_run(config, workdir)
    generator = trained.load(workdir=workdir)
    scored = evaluate_translation.evaluate(
        generator.translate, spec, os.path.join(workdir, "eval", _digest(spec, FLAGS.num_samples)),
        image_size=config.image_size, channels=config.channels, description=generator.description,
        num_samples=FLAGS.num_samples, classifier_epochs=FLAGS.classifier_epochs)
    record = {"config": flagfile, "steps": steps, "train_seconds": seconds, "eval": scored}
    fileio.write_atomically(path, json.dumps(record, indent=1) + "\n")
    return record


def _timed_run(config, workdir):
    """experiment.run(config, workdir), resuming: (generator steps, wall seconds of the calls that finished)."""
    seconds_path = os.path.join(workdir, "train_seconds.txt")
    before = 0.0
    if os.path.isfile(seconds_path):
        with open(seconds_path) as f:
            before = float(f.read())
    start = time.time()
    result = experiment.run(config, workdir, verbose=0)
    seconds = before + time.time() - start
    fileio.write_atomically(seconds_path, f"{seconds:.1f}\n")
    return result.steps, seconds


def _mean_std(values, scale, digits):
    values = scale * np.asarray(values, np.float64)
    return f"{values.mean():.{digits}f} +- {values.std():.{digits}f}"


def table(rows):
    """Markdown lines: one row per {name: [records over seeds]}, mean +- std, then the input and real rows once."""
    lines = ["| row | seeds | steps | " + " | ".join(title for title, *_ in COLUMNS) + " | train s |",
             "|---" * (len(COLUMNS) + 4) + "|"]
    for name, records in rows.items():
        scores = [record["eval"]["scores"]["translator"] for record in records]
        cells = [_mean_std([s[key] for s in scores], scale, digits) if key in scores[0] else "-"
                 for _, key, scale, digits in COLUMNS]
        seconds = _mean_std([record["train_seconds"] for record in records], 1, 0)
        lines.append(f"| {name} | {len(records)} | {records[0]['steps']} | " + " | ".join(cells) + f" | {seconds} |")
    baselines = next(iter(rows.values()))[0]["eval"]["scores"]
    for name in ("input", "real"):
        if name in baselines:
            cells = [f"{scale * baselines[name][key]:.{digits}f}" if key in baselines[name] else "-"
                     for _, key, scale, digits in COLUMNS]
            lines.append(f"| {name} | | | " + " | ".join(cells) + " | |")
    return lines


def run_study(study):
    """The study's Markdown section: a title, what it ran, its table (or why it was skipped)."""
    lines = [f"## {study}", ""]
    if study == "emoji":
        missing = [style for style in ("twitter", "google") if not os.path.isdir(data_sources.emoji_dir(style))]
        if missing:
            return lines + [f"Skipped: the emoji of {', '.join(missing)} are not in {data_sources.npm_root()} "
                            "(./run.sh fetch-data fetches them with npm).", ""]
    if study == "patch":
        fits, left_out = fitting_patch_sizes(_config(EDGES))
        lines += [f"PatchGANs of {', '.join(map(str, fits))} fit 32x32 images (70 sees the whole image); "
                  f"{', '.join(map(str, left_out)) or 'none'} left out.", ""]
    rows = {}
    for name, base, spec in study_rows(study):
        for seed in range(FLAGS.seeds):
            record = run_once(with_budget(base.replace(seed=seed), FLAGS.steps), spec)
            rows.setdefault(name, []).append(record)
            print(f"{study}: {name} seed {seed}: {record['steps']} steps in {record['train_seconds']:.0f} s, "
                  f"L1 {record['eval']['scores']['translator']['l1']:.4f}", flush=True)
    count = record["eval"]["num_examples"]  # --num_samples, or the whole test split when it is smaller
    lines.append(f"Scored on `{spec}`'s test split, N = {count}; mean +- std over {FLAGS.seeds} seeds.")
    return lines + [""] + table(rows) + [""]


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    unknown = sorted(set(FLAGS.studies) - set(STUDIES))
    if unknown:
        raise app.UsageError(f"Unknown --studies {unknown}; valid: {', '.join(STUDIES)}.")
    print(f"Translation studies {', '.join(FLAGS.studies)}: {FLAGS.seeds} seeds, "
          f"{FLAGS.steps or 'the configs'} generator steps per run, N = {FLAGS.num_samples}; "
          f"TensorFlow {tf.__version__}; results in {FLAGS.results_dir}.", flush=True)
    os.makedirs(FLAGS.results_dir, exist_ok=True)
    lines = []
    for study in FLAGS.studies:
        lines += run_study(study)
    fileio.write_atomically(os.path.join(FLAGS.results_dir, "translation.md"), "\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(app.run(main))
