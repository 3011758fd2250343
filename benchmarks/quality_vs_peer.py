r"""The default DCGAN against the lectures' PyTorch loop at equal steps and batch: quality and time-to-quality.

Both sides train the textbook's DCGAN (lecture 002) on real Fashion-MNIST at 64x64,
batch 128, drawn from the project's tf.data pipeline (so data and preprocessing
are equal by construction), for --steps generator steps per seed:

  project  `experiment.run` on tfgan_course/configs/dcgan_fashion_mnist.cfg, the library's
           own path with its callbacks, plus the overrides of one --variants entry
           (--variants=keras_loop: the same compiled GAN stepped by a plain loop instead,
           to tell the step from what surrounds it in `experiment.run`);
  torch    `torch_peers.py`'s tutorial networks and loop (weights_init, BCE, Adam 2e-4
           betas (0.5, 0.999), G reuses D's fakes), printing its stats line every 50 steps.

Each run keeps its generator at every --snapshots step with the training wall-clock
so far (snapshot and benchmark checkpoint writing excluded), so one run gives
every budget and the time-to-quality curve. Every snapshot is then scored by the
project's evaluator (`evaluate.evaluate`: N generated against N real images in
the domain classifier's feature space) with G in inference mode ("eval",
BatchNorm's moving statistics: how the project samples) and, with
--sampling=eval,train, in training mode (batch statistics: how the tutorial samples).

A run is one process per (side, variant, seed) and resumes from its last snapshot
in --output_dir. Scores are appended to --scores (kept in the repository, so a
later session on a new machine skips every run whose snapshots are all scored)
with the classifier that made them; so the benchmark survives interruptions, and
--rescore scores again with a new classifier without retraining. The scoring
classifier itself is kept in the repository too (--classifier_dir, trained there on
first use): a classifier retrained on another machine from the same recipe and seed
is not the same network, so runs trained in different sessions are only comparable
when one kept classifier scores them all:

  .venv/bin/python benchmarks/quality_vs_peer.py                      # 3 seeds x 2,000 steps, both sides
  .venv/bin/python benchmarks/quality_vs_peer.py --steps=300 --variants=default,adam_eps_1e-8
  .venv/bin/python benchmarks/quality_vs_peer.py --report_only        # the tables from what is scored
  .venv/bin/python benchmarks/quality_vs_peer.py --check_step         # one step of each side, same weights

Time to quality needs per-step times, and the training clocks above are only fair on idle cores, which
runs of an hour each cannot count on. So the runs may train on a shared machine and the report takes each
side's seconds per step from --measure_step_times instead: on idle cores, --timing_rounds rounds of one
fresh process per side (and variant), alternating, each training --timing_steps steps after 10 warm-up
steps through the same path as the runs (snapshot writing excluded). Its rows go to --step_times,
committed; the report uses the newest session's median per side (--time_by=clock reads the runs' own clocks):

  .venv/bin/python benchmarks/quality_vs_peer.py --measure_step_times    # about 8 minutes, idle cores only

--check_step copies the peer's initial weights into the project's networks, runs one
training step of each on the same real batch and z, and prints the losses and
weight differences: the step is the same computation when they agree to float noise.
"""

import functools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import typing

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
from absl import app, flags, logging  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # pylint: disable=wrong-import-position  # noqa: E402
import peer_dcgan  # pylint: disable=wrong-import-position  # noqa: E402


class Variant(typing.NamedTuple):
    """One difference of the project's side from the shipped default: config overrides, or how it is trained."""

    overrides: dict
    description: str
    trainer: typing.Callable = peer_dcgan.train_project  # (directory, seed, steps, snapshot_steps, overrides)


VARIANTS = {
    "default": Variant({}, "the default experiment as shipped"),
    "adam_eps_1e-8": Variant({"adam_epsilon": 1e-8}, "Keras Adam with PyTorch's epsilon value (Keras' own is 1e-7)"),
    "bf16": Variant({"mixed_precision": "mixed_bfloat16"}, "the mixed_bfloat16 policy (weights stay float32)"),
    "keras_loop": Variant({}, "the default's compiled GAN stepped by a plain loop over the peer's batches, outside "
                              "experiment.run (no fit, no callbacks)", peer_dcgan.train_project_loop),
    "resumed_every_100": Variant({}, "the default stopped and resumed every 100 steps, as a run that crosses "
                                     "sessions is", functools.partial(peer_dcgan.train_project, resume_every=100)),
}
SIDES = ("project", "torch")

flags.DEFINE_list("sides", list(SIDES), "Sides to train and score: project, torch.")
flags.DEFINE_list("variants", ["default"], f"Project variants: {', '.join(VARIANTS)}.")
flags.DEFINE_integer("seeds", 3, "Seeds per side and variant (0 .. seeds-1).")
flags.DEFINE_integer("steps", 2000, "Generator steps per run.")
flags.DEFINE_list("snapshots", ["100", "200", "300", "500", "750", "1000", "1500", "2000"],
                  "Steps at which G is kept and scored (those <= --steps).")
flags.DEFINE_list("budgets", ["300", "2000"], "Steps whose scores the quality table reports.")
flags.DEFINE_list("sampling", ["eval"], "G's BatchNorm mode when scoring: eval (moving statistics), train (batch).")
flags.DEFINE_integer("num_samples", 5000, "Generated and real images per score (equal N everywhere).")
flags.DEFINE_string("output_dir", "runs/quality_vs_peer", "Runs and their snapshots.")
flags.DEFINE_string("scores", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                           "quality_vs_peer.jsonl"),
                    "Scores, one JSON line per (run, snapshot, sampling); committed with the benchmark.")
flags.DEFINE_string("classifier_dir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                   "classifiers"),
                    "The scoring classifier's cache (classifier.load_or_train's cache_dir), committed: every "
                    "machine scores in the same feature space; trained there on first use.")
flags.DEFINE_string("step_times", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                               "quality_vs_peer_step_times.jsonl"),
                    "Seconds per step of each side, one JSON line per timed process (--measure_step_times).")
flags.DEFINE_enum("time_by", "step_times", ["step_times", "clock"],
                  "Time to quality from steps x the newest --step_times session's seconds per step, or from the "
                  "runs' own training clocks (fair only if every run trained on idle cores).")
flags.DEFINE_bool("measure_step_times", False, "Time each side's training step on idle cores into --step_times "
                  "(for --time_by=step_times), then exit.")
flags.DEFINE_integer("timing_rounds", 2, "With --measure_step_times: processes per side and variant, alternating.")
flags.DEFINE_integer("timing_steps", 50, "With --measure_step_times: timed steps per process, after 10 warm-up steps.")
flags.DEFINE_string("figure", "runs/quality_vs_peer/time_to_quality.png", "The report's FID-against-time curves.")
flags.DEFINE_bool("report_only", False, "Print the tables from --scores; train and score nothing.")
flags.DEFINE_list("report_seeds", None, "Report only these seeds (say, without a run that died); default: every "
                  "seed scored.")
flags.DEFINE_bool("train_only", False, "Train (or resume) the runs; score nothing.")
flags.DEFINE_bool("rescore", False, "Score every snapshot again (after the classifier changed); the report then "
                  "reads the newest classifier's rows.")
flags.DEFINE_bool("check_step", False, "Compare one training step of both sides from the same weights, then exit.")
flags.DEFINE_string("train_one", None, "Internal: train the run side:variant:seed in this process.")
flags.DEFINE_string("time_one", None, "Internal: time the steps of side:variant in this process.")
FLAGS = flags.FLAGS


def snapshot_steps():
    return sorted(s for s in map(int, FLAGS.snapshots) if s <= FLAGS.steps)


def runs():
    """Every (side, variant, seed) asked for; the torch side has one variant, "tutorial"."""
    for seed in range(FLAGS.seeds):
        for side in FLAGS.sides:
            for variant in (FLAGS.variants if side == "project" else ["tutorial"]):
                yield side, variant, seed


def run_dir(side, variant, seed):
    return os.path.join(FLAGS.output_dir, f"{side}-{variant}", f"seed{seed}")


def train(side, variant, seed):
    """Trains one run to --steps in a fresh process (the two frameworks never share one), resuming."""
    directory = run_dir(side, variant, seed)
    if peer_dcgan.finished_steps(directory) >= FLAGS.steps or (not FLAGS.rescore and _all_scored(side, variant, seed)):
        return
    command = [sys.executable, os.path.abspath(__file__), f"--train_one={side}:{variant}:{seed}",
               f"--steps={FLAGS.steps}", f"--snapshots={','.join(map(str, snapshot_steps()))}",
               f"--output_dir={FLAGS.output_dir}"]
    print(f"training {side}-{variant} seed {seed} to {FLAGS.steps} steps in {directory}", flush=True)
    subprocess.run(command, check=True)


def _all_scored(side, variant, seed):
    """Whether --scores holds every snapshot step of this run in every --sampling mode, scored by this machine's
    classifier (nothing left to train)."""
    wanted = {(side, variant, seed, step, mode, FLAGS.num_samples)
              for step in snapshot_steps() for mode in FLAGS.sampling}
    if not wanted <= {_score_key(row) for row in peer_dcgan.read_jsonl(FLAGS.scores)}:
        return False  # Known without loading (or, on a new machine, training) the classifier.
    return wanted <= _scored_keys()


def train_one(spec):
    side, variant, seed = spec.split(":")
    directory, seed = run_dir(side, variant, int(seed)), int(seed)
    if side == "torch":
        peer_dcgan.train_torch(directory, seed, FLAGS.steps, snapshot_steps())
    else:
        VARIANTS[variant].trainer(directory, seed, FLAGS.steps, snapshot_steps(), VARIANTS[variant].overrides)


TIMING_WARMUP = 10  # Steps before a timed process's clock starts: tracing and the first batches.


def time_one(spec):
    """Trains side:variant for TIMING_WARMUP + --timing_steps steps in a scratch directory, through the runs' own
    path, and prints its seconds per step over the timed steps (from the snapshots' training clocks)."""
    side, variant = spec.split(":")
    steps = TIMING_WARMUP + FLAGS.timing_steps
    with tempfile.TemporaryDirectory() as directory:
        if side == "torch":
            peer_dcgan.train_torch(directory, 0, steps, [TIMING_WARMUP, steps], log_every=0)
        else:
            VARIANTS[variant].trainer(directory, 0, steps, [TIMING_WARMUP, steps], VARIANTS[variant].overrides)
        first, last = peer_dcgan.snapshots(directory)
    print(f"STEP_SECONDS {(last['seconds'] - first['seconds']) / FLAGS.timing_steps}", flush=True)


def measure_step_times():
    """--timing_rounds rounds of one fresh process per (side, variant), alternating; a --step_times row each."""
    session = machine.timing_session("step times")
    pairs = list(dict.fromkeys((side, variant) for side, variant, _ in runs()))
    for round_ in range(FLAGS.timing_rounds):
        for side, variant in pairs:
            command = [sys.executable, os.path.abspath(__file__), f"--time_one={side}:{variant}",
                       f"--timing_steps={FLAGS.timing_steps}"]
            process = subprocess.run(command, capture_output=True, text=True, check=False)
            lines = [line for line in process.stdout.splitlines() if line.startswith("STEP_SECONDS ")]
            if process.returncode or not lines:
                raise RuntimeError(f"Timing {side}-{variant} failed:\n{process.stderr[-3000:]}")
            row = {**session, "round": round_, "side": side, "variant": variant,
                   "seconds_per_step": float(lines[-1].split()[1]), "timed_steps": FLAGS.timing_steps}
            peer_dcgan.append_jsonl(FLAGS.step_times, row)
            print(f"round {round_}: {side}-{variant} {row['seconds_per_step']:.3f} s per step", flush=True)


def step_seconds():
    """The newest --step_times session and its median seconds per step by (side, variant) ({} for none)."""
    rows = peer_dcgan.read_jsonl(FLAGS.step_times)
    if not rows:
        return None, {}
    session, times = rows[-1]["session"], {}
    for row in rows:
        if row["session"] == session:
            times.setdefault((row["side"], row["variant"]), []).append(row["seconds_per_step"])
    return session, {key: float(np.median(values)) for key, values in times.items()}


def score(side, variant, seed):
    """Scores each snapshot of a run not yet in --scores (all of them with --rescore) in each sampling mode."""
    from tfgan_course import evaluate  # pylint: disable=import-outside-toplevel

    done = set() if FLAGS.rescore else _scored_keys()
    directory = run_dir(side, variant, seed)
    for snapshot in peer_dcgan.snapshots(directory):
        for mode in FLAGS.sampling:
            key = (side, variant, seed, snapshot["step"], mode, FLAGS.num_samples)
            if key in done:
                continue
            start = time.time()
            generated = peer_dcgan.load_snapshot(directory, snapshot, side, training=mode == "train")
            result = evaluate.evaluate(generated, "fashion_mnist", os.path.join(
                directory, "eval", f"step{snapshot['step']:05d}-{mode}"), FLAGS.num_samples,
                cache_dir=FLAGS.classifier_dir)
            row = {"side": side, "variant": variant, "seed": seed, "step": snapshot["step"],
                   "seconds": snapshot["seconds"], "sampling": mode, "num_samples": FLAGS.num_samples,
                   "classifier": result["classifier"], **result["generated"],
                   "real_vs_real_fid": result["real_vs_real"]["fid"]}
            os.makedirs(os.path.dirname(FLAGS.scores), exist_ok=True)
            with open(FLAGS.scores, "a") as f:
                f.write(json.dumps(row) + "\n")
            done.add(key)
            print(f"scored {side}-{variant} seed {seed} step {snapshot['step']} ({mode}): "
                  f"FID {row['fid']:.1f} in {time.time() - start:.0f} s", flush=True)


def _scored_keys():
    """The (run, step, sampling, N) keys --scores holds from the classifier that scores here now.

    Rows of another classifier (another machine's: retrained there, the same recipe, not the same
    weights) do not count, so this machine's runs are scored in one feature space: the report reads
    the newest classifier's rows only.
    """
    current = _current_classifier()
    return {_score_key(row) for row in peer_dcgan.read_jsonl(FLAGS.scores) if row["classifier"] == current}


@functools.cache
def _current_classifier():
    """The record of the classifier evaluate.evaluate scores these runs with (trained on first use)."""
    from tfgan_course import classifier  # pylint: disable=import-outside-toplevel

    return classifier.load_or_train("fashion_mnist", image_size=peer_dcgan.SIZE, channels=1,
                                    cache_dir=FLAGS.classifier_dir).record()


def _score_key(row):
    return row["side"], row["variant"], row["seed"], row["step"], row["sampling"], row["num_samples"]


def report():
    """The quality table per budget, the time-to-quality table and FID against training time (a table and
    --figure), from --scores (the newest classifier)."""
    rows = peer_dcgan.read_jsonl(FLAGS.scores)
    if not rows:
        print(f"Nothing scored yet in {FLAGS.scores}.")
        return
    classifier = rows[-1]["classifier"]
    rows = [r for r in rows if r["classifier"] == classifier and r["num_samples"] == FLAGS.num_samples
            and (FLAGS.report_seeds is None or str(r["seed"]) in FLAGS.report_seeds)]
    if not rows:
        print(f"Nothing in {FLAGS.scores} scored by the newest classifier at N = {FLAGS.num_samples} for the seeds "
              f"asked for.")
        return
    print(f"\nScored at N = {FLAGS.num_samples} with the classifier {json.dumps(classifier)}; "
          f"real vs real FID {np.mean([r['real_vs_real_fid'] for r in rows]):.2f}.")
    for budget in map(int, FLAGS.budgets):
        print(f"\n{budget} generator steps of batch 128 (mean +- std over seeds):\n")
        print("| side | sampling | seeds | FID | precision | recall | classifier score | classes | run's clock, s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (side, variant, mode), group in _groups([r for r in rows if r["step"] == budget]).items():
            cells = [_mean_std([r[key] for r in group], digits) for key, digits in
                     (("fid", 1), ("precision", 3), ("recall", 3), ("classifier_score", 2),
                      ("classes_covered", 1), ("seconds", 0))]
            print(f"| {side}-{variant} | {mode} | {len(group)} | " + " | ".join(cells) + " |")
    per_step = _step_seconds_for_report()
    ratios = _report_time_to_quality(rows, per_step)
    _report_fid_against_time(rows, per_step)
    _report_targets(rows, ratios)


def _groups(rows):
    groups = {}
    for row in rows:
        groups.setdefault((row["side"], row["variant"], row["sampling"]), []).append(row)
    return dict(sorted(groups.items()))


def _mean_std(values, digits):
    return f"{np.mean(values):.{digits}f} +- {np.std(values):.{digits}f}"


def _step_seconds_for_report():
    """{(side, variant): seconds per step} for the time columns ({}: the runs' clocks), and a line saying which."""
    session, per_step = step_seconds() if FLAGS.time_by == "step_times" else (None, {})
    if FLAGS.time_by == "step_times" and not per_step:
        print(f"\nNo step times in {FLAGS.step_times}: run --measure_step_times on idle cores (the runs' own "
              "clocks follow, fair only if they trained on idle cores).")
    if per_step:
        times = ", ".join(f"{side}-{variant} {seconds:.3f}" for (side, variant), seconds in sorted(per_step.items()))
        print(f"\nTraining time is steps x seconds per step, the medians of the --measure_step_times session "
              f"{session}: {times}.")
    return per_step


def _seconds(row, per_step):
    """The training seconds to reach the row's step: steps x its side's seconds per step, or its run's clock."""
    if not per_step:
        return row["seconds"]
    return row["step"] * per_step.get((row["side"], row["variant"]), math.nan)


def _report_time_to_quality(rows, per_step):
    """Per budget and seed: the peer's FID at that step, and each side's training time to first reach it.

    Returns {(side, variant, budget): {seed: time ratio, inf where the run never reached the peer's FID}}.
    """
    print("\nTime to quality (eval-mode FID; target: the peer's FID at the budget's step, per seed; a run may take "
          "more steps than the budget to reach it):\n")
    print("| side | budget | seed | target FID | steps to reach | seconds to reach | peer's seconds | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = {}
    evals = [r for r in rows if r["sampling"] == "eval"]
    for budget in map(int, FLAGS.budgets):
        targets = {r["seed"]: r for r in evals if r["side"] == "torch" and r["step"] == budget}
        for (side, variant, _), group in _groups(evals).items():
            for seed in sorted({r["seed"] for r in group} & set(targets)):
                target = targets[seed]
                mine = sorted((r for r in group if r["seed"] == seed), key=lambda r: r["step"])
                if mine[-1]["step"] < budget:
                    continue  # Not trained to this budget (a shorter ablation, or a run still training).
                reached = next((r for r in mine if r["fid"] <= target["fid"]), None)
                steps = reached["step"] if reached else f"> {mine[-1]['step']}"
                spent = _cell(_seconds(reached or mine[-1], per_step), ".0f", "" if reached else "> ")
                ratio = _seconds(reached, per_step) / _seconds(target, per_step) if reached else math.inf
                ratios.setdefault((side, variant, budget), {})[seed] = ratio
                print(f"| {side}-{variant} | {budget} | {seed} | {target['fid']:.1f} | {steps} | {spent} | "
                      f"{_seconds(target, per_step):.0f} | {_cell(ratio, '.2f')} |")
    return ratios


def _cell(value, spec, prefix=""):
    """A table cell for `value` formatted by `spec`; "-" for nan (a variant without measured step times)."""
    return "-" if math.isnan(value) else f"{prefix}{value:{spec}}"


TIME_TARGET = 0.75  # The target: reach the peer's FID at a budget in at most this share of the peer's time.


def _report_targets(rows, ratios):
    """Each project variant against the targets at every --budgets step: mean eval-mode FID at or below the peer's
    (over the seeds both sides have there), and the time to the peer's FID there at most TIME_TARGET x the peer's
    (median over those seeds)."""
    print(f"\nTargets (eval mode; FID: the project's mean at or below the peer's on the same seeds; time: the median "
          f"ratio over seeds at most {TIME_TARGET}):\n")
    print("| variant | budget | seeds | project FID | peer FID | FID target | time ratio (median) | time target |")
    print("|---|---|---|---|---|---|---|---|")
    evals = [r for r in rows if r["sampling"] == "eval"]
    for variant in sorted({r["variant"] for r in evals if r["side"] == "project"}):
        for budget in map(int, FLAGS.budgets):
            fid = {side: {r["seed"]: r["fid"] for r in evals if r["step"] == budget and r["side"] == side
                          and r["variant"] == (variant if side == "project" else "tutorial")}
                   for side in SIDES}
            seeds = sorted(set(fid["project"]) & set(fid["torch"]))
            if not seeds:
                continue
            mine, peer = (float(np.mean([fid[side][s] for s in seeds])) for side in SIDES)
            median = float(np.median([ratios[("project", variant, budget)][s] for s in seeds]))
            # nan: no --measure_step_times row for the variant, so no time to judge.
            time_cells = ("-", "no step time") if math.isnan(median) else (
                f"{median:.2f}", "met" if median <= TIME_TARGET else "not met")
            print(f"| {variant} | {budget} | {len(seeds)} | {mine:.1f} | {peer:.1f} | "
                  f"{'met' if mine <= peer else 'not met'} | " + " | ".join(time_cells) + " |")
    for budget in map(int, FLAGS.budgets):
        # A run stuck on one class is a dead run, not a quality level: its FID dominates a mean of few seeds.
        collapsed = sorted(r["seed"] for r in evals if r["side"] == "torch" and r["step"] == budget
                           and r["classes_covered"] <= 1)
        if collapsed:
            print(f"\nAt {budget} steps the peer is collapsed to one class on seeds {collapsed}: its mean there "
                  "is a dead run's FID; --report_seeds without them compares the runs that trained.")


def _report_fid_against_time(rows, per_step):
    """FID (eval mode) at every snapshot step against the training time, mean +- std over seeds; and the figure."""
    print("\nFID against training time (eval mode, mean +- std over seeds):\n")
    print("| side | step | seconds | seeds | FID |")
    print("|---|---|---|---|---|")
    curves = {}
    for (side, variant, mode), group in _groups(rows).items():
        if mode != "eval":
            continue
        for step in sorted({r["step"] for r in group}):
            at_step = [r for r in group if r["step"] == step]
            seconds = float(np.mean([_seconds(r, per_step) for r in at_step]))
            fids = [r["fid"] for r in at_step]
            print(f"| {side}-{variant} | {step} | {_cell(seconds, '.0f')} | {len(at_step)} | {_mean_std(fids, 1)} |")
            if not math.isnan(seconds):  # A variant without step times has no place on a time axis.
                curves.setdefault(f"{side}-{variant}", []).append((seconds, np.mean(fids), np.std(fids)))
    if curves:
        _plot_fid_against_time(curves, FLAGS.figure)
        print(f"\nThe curves: {FLAGS.figure}")


def _plot_fid_against_time(curves, path):
    """curves: {label: [(seconds, mean FID, std FID)] by step} -> a PNG, the spread over seeds shaded."""
    from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel

    figure = Figure(figsize=(8, 5))
    axes = figure.subplots()
    for label, points in curves.items():
        seconds, mean, std = (np.array(values) for values in zip(*points))
        axes.plot(seconds, mean, marker="o", label=label)
        axes.fill_between(seconds, mean - std, mean + std, alpha=0.2)
    axes.set_xlabel("training seconds" + (" (steps x seconds per step)" if FLAGS.time_by == "step_times" else ""))
    axes.set_ylabel(f"FID (N = {FLAGS.num_samples}, eval-mode G)")
    axes.set_title("Time to quality: the default DCGAN and the lectures' PyTorch loop")
    axes.legend()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    figure.savefig(path, bbox_inches="tight")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    unknown = sorted(set(FLAGS.variants) - set(VARIANTS)) + sorted(set(FLAGS.sides) - set(SIDES))
    if unknown:
        raise app.UsageError(f"Unknown --variants/--sides {unknown}; variants: {', '.join(VARIANTS)}; "
                             f"sides: {', '.join(SIDES)}.")
    if FLAGS.check_step:
        result = peer_dcgan.check_step()
        print(f"G(z) before the step, max |torch - project|: {result.forward_difference:.2e}")
        for side, (d_loss, g_loss) in result.losses.items():
            print(f"{side:8} d_loss {d_loss:.6f}  g_loss {g_loss:.6f}")
        print("share of weights whose first updates differ by more than 1e-5 (Adam's first step is "
              "lr * sign(g): a gradient within float noise of 0 flips it):")
        for layer, share in result.moved_apart.items():
            print(f"  {layer:40} {share:.4f}")
        return
    if FLAGS.train_one:
        train_one(FLAGS.train_one)
        return
    if FLAGS.time_one:
        time_one(FLAGS.time_one)
        return
    if FLAGS.measure_step_times:
        measure_step_times()
        return
    if not FLAGS.report_only:
        for side, variant, seed in runs():
            train(side, variant, seed)
            if not FLAGS.train_only:
                score(side, variant, seed)
    report()


if __name__ == "__main__":
    app.run(main)
