r"""The default DCGAN against the lectures' PyTorch loop at equal steps and batch: quality and time-to-quality.

Both sides train the textbook's DCGAN (lecture 002) on real Fashion-MNIST at 64x64,
batch 128, drawn from the project's tf.data pipeline (so data and preprocessing
are equal by construction), for --steps generator steps per seed:

  project  `experiment.run` on tfgan_course/configs/dcgan_fashion_mnist.cfg, the library's
           own path with its callbacks, plus the overrides of one --variants entry;
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
--rescore scores again with a new classifier without retraining:

  .venv/bin/python benchmarks/quality_vs_peer.py                      # 3 seeds x 2,000 steps, both sides
  .venv/bin/python benchmarks/quality_vs_peer.py --steps=300 --variants=default,adam_eps_1e-8
  .venv/bin/python benchmarks/quality_vs_peer.py --report_only        # the tables from what is scored
  .venv/bin/python benchmarks/quality_vs_peer.py --check_step         # one step of each side, same weights

--check_step copies the peer's initial weights into the project's networks, runs one
training step of each on the same real batch and z, and prints the losses and
weight differences: the step is the same computation when they agree to float noise.
"""

import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
from absl import app, flags, logging  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_dcgan  # pylint: disable=wrong-import-position  # noqa: E402

# Each project variant is one difference from the peer: (config overrides, what it tests).
VARIANTS = {
    "default": ({}, "the default experiment as shipped"),
    "adam_eps_1e-8": ({"adam_epsilon": 1e-8}, "Keras Adam with PyTorch's epsilon value (Keras' own is 1e-7)"),
    "bf16": ({"mixed_precision": "mixed_bfloat16"}, "the mixed_bfloat16 policy (weights stay float32)"),
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
flags.DEFINE_bool("report_only", False, "Print the tables from --scores; train and score nothing.")
flags.DEFINE_bool("train_only", False, "Train (or resume) the runs; score nothing.")
flags.DEFINE_bool("rescore", False, "Score every snapshot again (after the classifier changed); the report then "
                  "reads the newest classifier's rows.")
flags.DEFINE_bool("check_step", False, "Compare one training step of both sides from the same weights, then exit.")
flags.DEFINE_string("train_one", None, "Internal: train the run side:variant:seed in this process.")
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
    """Whether --scores holds every snapshot step of this run in every --sampling mode (nothing left to train)."""
    done = {_score_key(row) for row in _read_jsonl(FLAGS.scores)}
    return all((side, variant, seed, step, mode, FLAGS.num_samples) in done
               for step in snapshot_steps() for mode in FLAGS.sampling)


def train_one(spec):
    side, variant, seed = spec.split(":")
    directory, seed = run_dir(side, variant, int(seed)), int(seed)
    if side == "torch":
        peer_dcgan.train_torch(directory, seed, FLAGS.steps, snapshot_steps())
    else:
        peer_dcgan.train_project(directory, seed, FLAGS.steps, snapshot_steps(), VARIANTS[variant][0])


def score(side, variant, seed):
    """Scores each snapshot of a run not yet in --scores (all of them with --rescore) in each sampling mode."""
    from tfgan_course import evaluate  # pylint: disable=import-outside-toplevel

    done = set() if FLAGS.rescore else {_score_key(row) for row in _read_jsonl(FLAGS.scores)}
    directory = run_dir(side, variant, seed)
    for snapshot in peer_dcgan.snapshots(directory):
        for mode in FLAGS.sampling:
            key = (side, variant, seed, snapshot["step"], mode, FLAGS.num_samples)
            if key in done:
                continue
            start = time.time()
            generated = peer_dcgan.load_snapshot(directory, snapshot, side, training=mode == "train")
            result = evaluate.evaluate(generated, "fashion_mnist", os.path.join(
                directory, "eval", f"step{snapshot['step']:05d}-{mode}"), FLAGS.num_samples)
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


def _score_key(row):
    return row["side"], row["variant"], row["seed"], row["step"], row["sampling"], row["num_samples"]


def _read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def report():
    """The quality table per budget and the time-to-quality table, from --scores (the newest classifier)."""
    rows = _read_jsonl(FLAGS.scores)
    if not rows:
        print(f"Nothing scored yet in {FLAGS.scores}.")
        return
    classifier = rows[-1]["classifier"]
    rows = [r for r in rows if r["classifier"] == classifier and r["num_samples"] == FLAGS.num_samples]
    print(f"\nScored at N = {FLAGS.num_samples} with the classifier {json.dumps(classifier)}; "
          f"real vs real FID {np.mean([r['real_vs_real_fid'] for r in rows]):.2f}.")
    for budget in map(int, FLAGS.budgets):
        print(f"\n{budget} generator steps of batch 128 (mean +- std over seeds):\n")
        print("| side | sampling | seeds | FID | precision | recall | classifier score | classes | seconds |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (side, variant, mode), group in _groups([r for r in rows if r["step"] == budget]).items():
            cells = [_mean_std([r[key] for r in group], digits) for key, digits in
                     (("fid", 1), ("precision", 3), ("recall", 3), ("classifier_score", 2),
                      ("classes_covered", 1), ("seconds", 0))]
            print(f"| {side}-{variant} | {mode} | {len(group)} | " + " | ".join(cells) + " |")
    _report_time_to_quality(rows)


def _groups(rows):
    groups = {}
    for row in rows:
        groups.setdefault((row["side"], row["variant"], row["sampling"]), []).append(row)
    return dict(sorted(groups.items()))


def _mean_std(values, digits):
    return f"{np.mean(values):.{digits}f} +- {np.std(values):.{digits}f}"


def _report_time_to_quality(rows):
    """Per seed: the peer's FID at its last snapshot, and each side's wall-clock to first reach it."""
    print("\nTime to quality (eval-mode FID; target: the peer's FID at its last scored step, per seed):\n")
    print("| side | seed | target FID | steps to reach | seconds to reach | peer's seconds | ratio |")
    print("|---|---|---|---|---|---|---|")
    for (side, variant, mode), group in _groups(rows).items():
        if mode != "eval":
            continue
        for seed in sorted({r["seed"] for r in group}):
            peer = sorted((r for r in rows if r["side"] == "torch" and r["seed"] == seed and r["sampling"] == "eval"),
                          key=lambda r: r["step"])
            mine = sorted((r for r in group if r["seed"] == seed), key=lambda r: r["step"])
            if not peer or not mine:
                continue
            target = peer[-1]
            reached = next((r for r in mine if r["fid"] <= target["fid"]), None)
            steps = reached["step"] if reached else f"> {mine[-1]['step']}"
            seconds = f"{reached['seconds']:.0f}" if reached else f"> {mine[-1]['seconds']:.0f}"
            ratio = f"{reached['seconds'] / target['seconds']:.2f}" if reached else "-"
            print(f"| {side}-{variant} | {seed} | {target['fid']:.1f} (step {target['step']}) | {steps} | "
                  f"{seconds} | {target['seconds']:.0f} | {ratio} |")


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
    if not FLAGS.report_only:
        for side, variant, seed in runs():
            train(side, variant, seed)
            if not FLAGS.train_only:
                score(side, variant, seed)
    report()


if __name__ == "__main__":
    app.run(main)
