r"""Image-to-image translation with numbers: every shipped config at its budget, pix2pix's Table 1 and PatchGAN
ablation in small, paired vs unpaired.

Four studies (--studies), each row trained through `experiment.run` for the same generator steps and
seeds, then scored by `evaluate_translation.evaluate` on the test split (N = --num_samples), beside
the input itself and real vs real:

  configs every shipped translator config (configs/*.cfg of a model of KIND "translator": pix2pix and
          CycleGAN) at its own budget, scored on its own spec: L1, PSNR, SSIM, the target classifier's
          accuracy on the outputs and FID for paired specs; for unpaired ones, each direction's target
          rate, labels kept, FID, cycle L1 and identity L1. A config whose data is missing (the emoji
          before ./run.sh fetch-data) is skipped in one line naming the fix.
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
          labels: no accuracy or FID).

  .venv/bin/python benchmarks/translation.py --studies=configs --seeds=1   # each config once, about 3 h
  .venv/bin/python benchmarks/translation.py                               # 4 studies x 3 seeds, the configs' budgets
  .venv/bin/python benchmarks/translation.py --studies=table1 --steps=1000 --seeds=1
  .venv/bin/python benchmarks/translation.py --report_only                # the kept scores' tables; trains nothing

A run is named <config>_seed<k>_<budget>_<experiment_digest>: the digest covers what it trains
(config.experiment_digest), so an edited config never reuses a stale run. It trains in
<output_dir>/<run name> and resumes there from its last checkpoint when interrupted; its scores go to
<results_dir>/<run name>_n<N>[_<spec scored on>].json, kept in the repository and reused by the next
call with the same settings on any machine (a row shared by two studies, table1's L1 + cGAN and
patch's 34, trains once). The wall time of a run is its training calls' (set-up and export
included; a call that was stopped counts to its last checkpoint), recorded with the CPU it ran on
(machine.describe: its vector extensions set the speed).
The tables are printed at the end and written to <results_dir>/translation.md.
"""

import functools
import json
import os
import sys
import time

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags, logging  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # pylint: disable=wrong-import-position  # noqa: E402

from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position
from tfgan_course import data, evaluate_translation, experiment, fileio, models, trained
from tfgan_course.models import patchgan

CONFIG_DIR = os.path.join(os.path.dirname(experiment.__file__), "configs")
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "translation")
EDGES = "pix2pix_edges_fashion_mnist.cfg"
EMOJI_PAIRED, EMOJI_UNPAIRED = "pix2pix_emoji_twitter_google.cfg", "cyclegan_emoji_twitter_google.cfg"
EMOJI_SPEC = "emoji:twitter-google"
STUDIES = ("configs", "table1", "patch", "emoji")
PATCH_SIZES = (1, 16, 34, 70)
# (title, score key, scale, digits) of each table column: paired scores, and one direction's unpaired ones.
PAIRED_COLUMNS = (("L1", "l1", 1, 4), ("PSNR (dB)", "psnr", 1, 2), ("SSIM", "ssim", 1, 4),
                  ("accuracy (%)", "accuracy", 100, 1), ("FID", "fid", 1, 3))
UNPAIRED_COLUMNS = (("target rate (%)", "target_rate", 100, 1), ("labels kept (%)", "labels_kept", 100, 1),
                    ("FID", "fid", 1, 3), ("cycle L1", "cycle_l1", 1, 4), ("identity L1", "identity_l1", 1, 4))
DIRECTIONS = ("a_to_b", "b_to_a")

flags.DEFINE_list("studies", list(STUDIES), f"Studies to run: {', '.join(STUDIES)}.")
flags.DEFINE_integer("seeds", 3, "Seeds per row (0 .. seeds-1).", lower_bound=1)
flags.DEFINE_integer("steps", None, "Generator steps per run; unset = each config's own budget.", lower_bound=1)
flags.DEFINE_integer("num_samples", evaluate_translation.DEFAULT_NUM_SAMPLES, "Test examples scored per run.",
                     lower_bound=10)
flags.DEFINE_integer("classifier_epochs", None, "Epochs of the scoring classifier when it must be trained; "
                     "unset = classifier.py's default.", lower_bound=1)
flags.DEFINE_list("configs", [], "With the configs study: only these shipped translator configs (file names); "
                  "empty = all of them.")
flags.DEFINE_bool("report_only", False, "Tabulate the kept scores only, train nothing: rows not run yet are listed.")
flags.DEFINE_string("results_dir", RESULTS_DIR, "Each finished run's scores as JSON, reused by the next call "
                    "(kept in the repository: a new machine trains only what is missing), and translation.md.")
flags.DEFINE_string("output_dir", "runs/translation", "Each run's workdir, output_dir/<run name>, resumed from "
                    "its last checkpoint when interrupted.")
FLAGS = flags.FLAGS


def _config(name, **changes):
    """The shipped flagfile configs/<name> with `changes`, silent."""
    with open(os.path.join(CONFIG_DIR, name)) as f:
        return config_lib.Config.from_flagfile(f.read()).replace(log_every_steps=0, **changes)


def translator_configs():
    """The shipped flagfiles (names) whose model is an image-to-image translator (pix2pix, CycleGAN)."""
    return [name for name in sorted(os.listdir(CONFIG_DIR))
            if name.endswith(".cfg") and models.MODELS[_config(name).model].KIND == "translator"]


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
    """(row name, flagfile it comes from, Config at seed 0, spec it is scored on) per row of a study."""
    if study == "configs":
        return [(name, name, config, config.dataset)
                for name in FLAGS.configs or translator_configs() for config in [_config(name)]]
    if study in ("table1", "patch"):
        base = _config(EDGES)
        if study == "table1":
            return [("L1", EDGES, base.replace(gan_weight=0.0), base.dataset),
                    ("cGAN", EDGES, base.replace(l1_weight=0.0), base.dataset),
                    ("L1 + cGAN", EDGES, base, base.dataset)]
        return [(f"{size}x{size} PatchGAN", EDGES, base.replace(patch_size=size), base.dataset)
                for size in fitting_patch_sizes(base)[0]]
    unpaired = _config(EMOJI_UNPAIRED)
    paired = _config(EMOJI_PAIRED, image_size=unpaired.image_size, patch_size=unpaired.patch_size)
    return [("pix2pix (paired)", EMOJI_PAIRED, paired, EMOJI_SPEC),
            ("CycleGAN (unpaired)", EMOJI_UNPAIRED, unpaired, EMOJI_SPEC)]


def with_budget(config, steps):
    """config trained for `steps` generator steps in at most its own number of equal epochs (None: as it is).

    A learning-rate decay keeps its share of the epochs, rounded down.
    """
    if steps is None:
        return config
    epochs = max(e for e in range(1, config.epochs + 1) if steps % e == 0)
    return config.replace(epochs=epochs, steps_per_epoch=steps // epochs,
                          lr_decay_epochs=config.lr_decay_epochs * epochs // config.epochs)


def run_name(flagfile, config):
    """<config>_seed<k>_<budget>_<experiment digest>: readable, and new whenever what it trains changes."""
    budget = (f"steps{config.epochs * config.steps_per_epoch}" if config.steps_per_epoch
              else f"epochs{config.epochs}")
    return f"{flagfile.removesuffix('.cfg')}_seed{config.seed}_{budget}_{config_lib.experiment_digest(config)}"


def scores_name(flagfile, config, spec):
    """The file name of a run's scores: the run, N, the spec when it is not the run's own, the classifier's epochs."""
    name = f"{run_name(flagfile, config)}_n{FLAGS.num_samples}"
    if spec != config.dataset:
        name += "_" + "".join(c if c.isalnum() else "-" for c in spec)
    if FLAGS.classifier_epochs:
        name += f"_classifier{FLAGS.classifier_epochs}epochs"
    return name + ".json"


def missing_data(config, spec):
    """None when spec's test split loads at config's size, else why not in one line (it names the fix)."""
    return _missing_data(spec, config.image_size, config.channels)


@functools.cache
def _missing_data(spec, image_size, channels):
    # Cached: a study's rows share their spec and size, and the configs study's edges row is table1's.
    try:
        data.make_dataset(spec, image_size=image_size, channels=channels, batch_size=1, split="test",
                          shuffle=False, augment=False)
    except (ValueError, FileNotFoundError) as error:
        return str(error)
    return None


def run_once(flagfile, config, spec):
    """Trains config (resuming its checkpoint) and scores it on spec's test split, or reads the kept scores.

    A CycleGAN scored on its own unpaired spec is scored both ways (its reverse generator too).

    Returns:
      {"config": flagfile text, "steps", "train_seconds", "machine", "eval": evaluate_translation's dict}, or
      None with --report_only when it has not run.
    """
    path = os.path.join(FLAGS.results_dir, scores_name(flagfile, config, spec))
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    if FLAGS.report_only:
        return None
    workdir = os.path.join(FLAGS.output_dir, run_name(flagfile, config))
    steps, seconds = _timed_run(config, workdir)
    generator = trained.load(workdir=workdir)
    both_ways = spec == config.dataset and generator.reverse is not None
    scored = evaluate_translation.evaluate(
        generator.translate, spec, os.path.join(workdir, "eval", os.path.basename(path)[:-len(".json")]),
        image_size=config.image_size, channels=config.channels, description=generator.description,
        translate_back=generator.reverse.translate if both_ways else None,
        num_samples=FLAGS.num_samples, classifier_epochs=FLAGS.classifier_epochs)
    record = {"config": config.to_flagfile(), "steps": steps, "train_seconds": seconds, "machine": machine.describe(),
              "eval": scored}
    os.makedirs(FLAGS.results_dir, exist_ok=True)
    fileio.write_atomically(path, json.dumps(record, indent=1) + "\n")
    return record


class _KeepSeconds(keras.callbacks.Callback):
    """Writes the run's wall seconds so far at each epoch end, just after the checkpoint saved there.

    A process stopped mid-run thus leaves the seconds that its checkpoint's steps took (the steps after
    it are trained again after the resume, and timed again), not nothing.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.before = 0.0
        if os.path.isfile(path):
            with open(path) as f:
                self.before = float(f.read())
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.write()

    def write(self):
        """Writes and returns the seconds of the earlier calls plus this one's so far."""
        seconds = self.before + time.time() - self.start
        fileio.write_atomically(self.path, f"{seconds:.1f}\n")
        return seconds


def _timed_run(config, workdir):
    """experiment.run(config, workdir), resuming: (generator steps, wall seconds of every call, to the
    last checkpoint of a call that was stopped)."""
    seconds = _KeepSeconds(os.path.join(workdir, "train_seconds.txt"))
    result = experiment.run(config, workdir, verbose=0, extra_callbacks=[seconds])
    return result.steps, seconds.write()


def _mean_std(values, scale, digits):
    values = scale * np.asarray(values, np.float64)
    return f"{values.mean():.{digits}f} +- {values.std():.{digits}f}"


def _scores(evaluation, direction):
    """{row: {score: value}} of a paired evaluation (direction None) or of one direction of an unpaired one,
    whose translator row gains the direction's cycle and identity L1."""
    if direction is None:
        return evaluation["scores"]
    scored = evaluation[direction]
    rows = {name: dict(values) for name, values in scored["scores"].items()}
    rows["translator"].update({key: scored[key] for key in ("cycle_l1", "identity_l1") if key in scored})
    return rows


def table(rows, direction=None):
    """Markdown lines: one row per {name: [records over seeds]}, mean +- std, then the input and real rows once.

    direction: None for paired scores, else the unpaired direction ("a_to_b", "b_to_a") to tabulate.
    """
    columns = UNPAIRED_COLUMNS if direction else PAIRED_COLUMNS
    lines = ["| row | seeds | steps | " + " | ".join(title for title, *_ in columns) + " | train s |",
             "|---" * (len(columns) + 4) + "|"]
    for name, records in rows.items():
        scores = [_scores(record["eval"], direction)["translator"] for record in records]
        cells = [_mean_std([s[key] for s in scores], scale, digits) if key in scores[0] else "-"
                 for _, key, scale, digits in columns]
        seconds = _mean_std([record["train_seconds"] for record in records], 1, 0)
        lines.append(f"| {name} | {len(records)} | {records[0]['steps']} | " + " | ".join(cells) + f" | {seconds} |")
    baselines = _scores(next(iter(rows.values()))[0]["eval"], direction)
    for name in ("input", "bicubic", "real"):
        if name in baselines:
            cells = [f"{scale * baselines[name][key]:.{digits}f}" if key in baselines[name] else "-"
                     for _, key, scale, digits in columns]
            lines.append(f"| {name} | | | " + " | ".join(cells) + " | |")
    return lines


def _train_rows(rows):
    """({row name: [records over --seeds]}, [(row name, seed) not run]) of (row name, flagfile, Config, spec)
    rows: trained and scored, or with --report_only the kept records only."""
    trained_rows, not_run = {}, []
    for name, flagfile, base, spec in rows:
        for seed in range(FLAGS.seeds):
            record = run_once(flagfile, with_budget(base.replace(seed=seed), FLAGS.steps), spec)
            if record is None:
                not_run.append((name, seed))
                continue
            trained_rows.setdefault(name, []).append(record)
            print(f"{name} seed {seed}: {record['steps']} steps in {record['train_seconds']:.0f} s", flush=True)
    return trained_rows, not_run


def _about(records, spec, not_run):
    """The lines under a table's title: what scored it, the CPUs its wall times come from, what is not run yet."""
    record = next(iter(records.values()))[0]
    per_domain = " per domain" * (record["eval"]["kind"] == "unpaired")
    machines = sorted({f"{m['cpu']} ({', '.join(m['vector_extensions'])}; {m['cores']} cores; "
                       f"TensorFlow's {machine.describe_kernels(m)} kernels)"
                       for m in (r["machine"] for rs in records.values() for r in rs)})
    lines = [f"Scored on `{spec}`'s test split, N = {record['eval']['num_examples']}{per_domain}; mean +- std over "
             f"the seeds; train s on {' and '.join(machines)}."]
    return lines + ([_not_run_line(not_run)] if not_run else []) + [""]


def _not_run_line(not_run):
    return "Not run yet: " + ", ".join(f"{name} seed {seed}" for name, seed in not_run) + "."


def configs_section():
    """The configs study: one table per shipped translator config (one per direction for a CycleGAN)."""
    lines = ["## configs", "", "Every shipped translator config, trained at "
             f"{'its own budget' if FLAGS.steps is None else f'{FLAGS.steps} steps'} and scored on its own spec.", ""]
    for name, flagfile, config, spec in study_rows("configs"):
        lines += [f"### {name}", ""]
        missing = missing_data(config, spec)
        if missing:
            lines += [f"Skipped: {missing}", ""]
            continue
        records, not_run = _train_rows([(name, flagfile, config, spec)])
        if not records:
            lines += [_not_run_line(not_run), ""]
            continue
        lines += _about(records, spec, not_run)
        if records[name][0]["eval"]["kind"] == "paired":
            lines += table(records) + [""]
            continue
        for direction in DIRECTIONS:
            if direction in records[name][0]["eval"]:
                lines += [f"{direction.replace('_', ' ')}:", ""] + table(records, direction) + [""]
    return lines


def run_study(study):
    """The study's Markdown section: a title, what it ran, its table (or why it was skipped)."""
    if study == "configs":
        return configs_section()
    lines = [f"## {study}", ""]
    rows = study_rows(study)
    missing = sorted({reason for _, _, config, spec in rows if (reason := missing_data(config, spec))})
    if missing:
        return lines + [f"Skipped: {'; '.join(missing)}", ""]
    if study == "patch":
        fits, left_out = fitting_patch_sizes(_config(EDGES))
        lines += [f"PatchGANs of {', '.join(map(str, fits))} fit 32x32 images (70 sees the whole image); "
                  f"{', '.join(map(str, left_out)) or 'none'} left out.", ""]
    records, not_run = _train_rows(rows)
    if not records:
        return lines + [_not_run_line(not_run), ""]
    return lines + _about(records, rows[0][3], not_run) + table(records) + [""]


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    unknown = sorted(set(FLAGS.studies) - set(STUDIES))
    if unknown:
        raise app.UsageError(f"Unknown --studies {unknown}; valid: {', '.join(STUDIES)}.")
    translators = translator_configs()
    unknown = sorted(set(FLAGS.configs) - set(translators))
    if unknown:
        raise app.UsageError(f"Unknown --configs {unknown}; the translator configs: {', '.join(translators)}.")
    print(f"Translation studies {', '.join(FLAGS.studies)}: {FLAGS.seeds} seeds, "
          f"{FLAGS.steps or 'the configs'} generator steps per run, N = {FLAGS.num_samples}; "
          f"TensorFlow {tf.__version__}; scores in {FLAGS.results_dir}, runs in {FLAGS.output_dir}.", flush=True)
    lines = []
    for study in FLAGS.studies:
        lines += run_study(study)
    os.makedirs(FLAGS.results_dir, exist_ok=True)
    fileio.write_atomically(os.path.join(FLAGS.results_dir, "translation.md"), "\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(app.run(main))
