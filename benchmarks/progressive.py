r"""Progressive growing against the same networks trained flat at full size: FID at equal wall-clock and images.

Per seed, runs of tfgan_course/configs/pggan_fashion_mnist.cfg through `experiment.run`:

  progressive      the config as shipped: 7 -> 14 -> 28, 30,000 images per stable phase and per fade-in;
  flat             the same networks, losses and optimiser with --stable_images=0 --transition_images=0:
                   every block at full size from the first step;
  progressive_15k  the shipped growth with half-length phases (15,000 images per stable phase and
                   per fade-in): full size sooner, so more of the time budget is spent there.

Every arm trains for the config's epochs (equal images seen). The shipped progressive run goes first:
its total training wall-clock is the time budget. Every other arm also keeps its generator (the sampler,
G's EMA) at the first step whose training wall-clock reaches that budget: "equal wall-clock".

A clock is only fair on idle cores. With --equal_time_by=reference_rates, the budget is instead the shipped
run's training time at --reference_seed (a run on idle cores), and every other arm keeps its equal-time
generator where its images would have taken that budget at that seed's images/s (per phase for a
progressive arm, at 28 px for flat: the same networks on the same machine train as fast whatever the
seed), whatever its own clock says; its score row says so. Each kept generator is scored by the project's evaluator
(`evaluate.evaluate`, N generated against N real test images in the domain classifier's feature space).
The progressive run's clock also gives images/s per phase.

Runs resume (from their checkpoints, the clock from clock.jsonl); scores are appended to --scores,
committed, so a later session skips what is scored:

  .venv/bin/python benchmarks/progressive.py --seeds=1             # one seed: about 85 minutes on 2 cores
  .venv/bin/python benchmarks/progressive.py --seeds=1 --arms=progressive_15k
  .venv/bin/python benchmarks/progressive.py --seeds=3 --equal_time_by=reference_rates   # on busy cores
  .venv/bin/python benchmarks/progressive.py --report_only
"""

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from absl import app, flags  # pylint: disable=wrong-import-position
from peer_dcgan import append_jsonl, read_jsonl  # pylint: disable=wrong-import-position  # noqa: E402

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tfgan_course", "configs",
                      "pggan_fashion_mnist.cfg")
ARMS = {"progressive": {}, "flat": {"stable_images": 0, "transition_images": 0},
        "progressive_15k": {"stable_images": 15_000, "transition_images": 15_000}}
TIME_BUDGET_ARM = "progressive"  # Its total training time is every other arm's equal-time budget.
CLOCK, SNAPSHOTS = "clock.jsonl", "snapshots.jsonl"
# Where the progressive GAN measures WGAN-GP's gradient norm. Rows without the field were trained when it was
# measured at the running resolution (before 2026-12-06): another training step, kept apart in the report.
GRADIENT_PENALTY = "full_size"

flags.DEFINE_integer("seeds", 3, "Seeds per arm (0 .. seeds-1).")
flags.DEFINE_enum("equal_time_by", "clock", ["clock", "reference_rates"],
                  "How an arm other than the time budget's finds its equal-time step: its own clock, or the images "
                  "--reference_seed's budget buys at that seed's images/s (for a shared machine).")
flags.DEFINE_integer("reference_seed", 0, "With --equal_time_by=reference_rates: the seed whose runs, trained on "
                     "idle cores, give the time budget and the images/s of every arm.")
flags.DEFINE_list("arms", list(ARMS), f"Arms to train and score, of {', '.join(ARMS)}; the time budget's arm "
                  f"({TIME_BUDGET_ARM}) is trained first whenever another arm needs its time.")
flags.DEFINE_integer("num_samples", 10_000, "Generated and real images per FID.")
flags.DEFINE_string("output_dir", "runs/progressive", "The runs.")
flags.DEFINE_string("scores", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "progressive.jsonl"),
                    "Scores, one JSON line per (arm, seed, budget); committed with the benchmark.")
flags.DEFINE_string("classifier_dir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                  "classifiers"),
                    "The scoring classifier's cache, kept in the repository so that every machine scores in one "
                    "feature space (quality_vs_peer.py's).")
flags.DEFINE_bool("report_only", False, "Print the table from --scores; train and score nothing.")
flags.DEFINE_string("train_one", None, "Internal: train arm:seed in this process.")
FLAGS = flags.FLAGS


def run_dir(arm, seed):
    return os.path.join(FLAGS.output_dir, arm, f"seed{seed}")


def config_of(arm, seed):
    from tfgan_course import config as config_lib  # pylint: disable=import-outside-toplevel

    with open(CONFIG) as f:
        config = config_lib.Config.from_flagfile(f.read())
    return config.replace(seed=seed, checkpoint_every_steps=100, log_every_steps=0, **ARMS[arm])


def images_within(seconds, arm, rates):
    """The real images a progressive arm trains on in `seconds` at `rates` ({phase: images/s}), its schedule's."""
    from tfgan_course.models import pggan  # pylint: disable=import-outside-toplevel

    config = config_of(arm, 0)
    phases = 2 * len(pggan.resolutions(config.image_size)) - 1  # stable, fade-in, stable, ..., stable to the end
    images = 0.0
    for phase in range(phases):
        length = config.stable_images if phase % 2 == 0 else config.transition_images
        if phase == phases - 1 or length / rates[phase] >= seconds:
            return images + seconds * rates[phase]
        images += length
        seconds -= length / rates[phase]
    raise AssertionError("unreachable: the last phase lasts to the end of the run")


def train_one(arm, seed, stop_at_seconds, stop_at_images=None):
    """Trains one run (resuming) with its clock; another arm than the budget's keeps G once its clock reaches
    `stop_at_seconds` (or, given `stop_at_images`, once it has trained on that many real images)."""
    import keras  # pylint: disable=import-outside-toplevel

    from tfgan_course import experiment  # pylint: disable=import-outside-toplevel

    directory, config = run_dir(arm, seed), config_of(arm, seed)

    class Clock(keras.callbacks.Callback):
        """Training wall-clock (its own bookkeeping excluded) every 10 steps; the equal-time snapshot."""

        def on_train_begin(self, logs=None):
            rows = read_jsonl(os.path.join(directory, CLOCK))
            step = int(self.model.g_optimizer.iterations.numpy())
            self.seconds_before = max((r["seconds"] for r in rows if r["step"] <= step), default=0.0)
            self.start, self.paused = time.perf_counter(), 0.0
            self.kept = any(s["budget"] == "equal_time" for s in read_jsonl(os.path.join(directory, SNAPSHOTS)))

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.g_optimizer.iterations.numpy())
            if step % 10:
                return
            now = time.perf_counter()
            seconds = self.seconds_before + now - self.start - self.paused
            row = {"step": step, "seconds": seconds, "images": int(self.model.images_seen.numpy()),
                   **self.model.growth_state()}
            append_jsonl(os.path.join(directory, CLOCK), row)
            if stop_at_seconds and not self.kept and (
                    row["images"] >= stop_at_images if stop_at_images else seconds >= stop_at_seconds):
                self._keep("equal_time", step, stop_at_seconds if stop_at_images else seconds)
            self.paused += time.perf_counter() - now

        def on_train_end(self, logs=None):
            if self.params.get("epochs") != config.epochs:
                return  # A resumed run first finishes its interrupted epoch in a fit of its own.
            step = int(self.model.g_optimizer.iterations.numpy())
            rows = read_jsonl(os.path.join(directory, CLOCK))
            self._keep("equal_images", step, max((r["seconds"] for r in rows), default=0.0))

        def _keep(self, budget, step, seconds):
            path = os.path.join(directory, "snapshots", f"{budget}_step{step:05d}.keras")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.model.sampler.save(path)
            by = "reference_rates" if stop_at_images and budget == "equal_time" else "clock"
            append_jsonl(os.path.join(directory, SNAPSHOTS),
                          {"budget": budget, "step": step, "seconds": seconds, "path": path, "seconds_by": by})
            self.kept = self.kept or budget == "equal_time"

    os.makedirs(directory, exist_ok=True)
    if any(s["budget"] == "equal_images" for s in read_jsonl(os.path.join(directory, SNAPSHOTS))):
        return
    experiment.run(config, directory, verbose=0, extra_callbacks=[Clock()])


def total_seconds(arm, seed):
    """The finished run's training wall-clock (None while it is not finished)."""
    snapshots = [s for s in read_jsonl(os.path.join(run_dir(arm, seed), SNAPSHOTS)) if s["budget"] == "equal_images"]
    return snapshots[0]["seconds"] if snapshots else None


def train(arm, seed):
    """Trains one run in a fresh process (so each arm's clock runs alone), unless it is finished."""
    if total_seconds(arm, seed) is not None:
        return
    print(f"training {arm} seed {seed} in {run_dir(arm, seed)}", flush=True)
    subprocess.run([sys.executable, os.path.abspath(__file__), f"--train_one={arm}:{seed}",
                    f"--output_dir={FLAGS.output_dir}", f"--equal_time_by={FLAGS.equal_time_by}",
                    f"--reference_seed={FLAGS.reference_seed}"], check=True)


def score(arm, seed):
    """Scores each kept generator of a run that --scores does not hold yet."""
    import keras  # pylint: disable=import-outside-toplevel

    from tfgan_course import classifier, evaluate, spec, trained  # pylint: disable=import-outside-toplevel

    current = classifier.load_or_train("fashion_mnist", image_size=28, channels=1,
                                       cache_dir=FLAGS.classifier_dir).record()
    done = {(r["arm"], r["seed"], r["budget"], r["num_samples"]) for r in current_rows(read_jsonl(FLAGS.scores))
            if r["classifier"] == current}
    directory = run_dir(arm, seed)
    saved = spec.read(os.path.join(directory, spec.CHECKPOINTS))
    for snapshot in read_jsonl(os.path.join(directory, SNAPSHOTS)):
        if (arm, seed, snapshot["budget"], FLAGS.num_samples) in done:
            continue
        generator = keras.models.load_model(snapshot["path"])
        loaded = trained.TrainedGenerator(saved, f"{arm} seed {seed} {snapshot['budget']}",
                                          lambda inputs, g=generator: g(inputs["z"], training=False).numpy())
        result = evaluate.evaluate(loaded, "fashion_mnist",
                                   os.path.join(directory, "eval", snapshot["budget"]), FLAGS.num_samples,
                                   cache_dir=FLAGS.classifier_dir)
        row = {"arm": arm, "seed": seed, "budget": snapshot["budget"], "step": snapshot["step"],
               "seconds": round(snapshot["seconds"], 1), "seconds_by": snapshot.get("seconds_by", "clock"),
               "num_samples": FLAGS.num_samples, "gradient_penalty": GRADIENT_PENALTY,
               "classifier": result["classifier"], **result["generated"]}
        append_jsonl(FLAGS.scores, row)
        print(f"scored {arm} seed {seed} {snapshot['budget']} (step {snapshot['step']}): FID {row['fid']:.1f}",
              flush=True)


def phase_speeds(arm, seed):
    """{phase: (size, images/s)} from a progressive run's clock."""
    rows = read_jsonl(os.path.join(run_dir(arm, seed), CLOCK))
    totals = {}  # phase -> [size, images, seconds]
    for previous, row in zip(rows, rows[1:]):
        if row["step"] <= previous["step"]:  # A resume re-ran these steps.
            continue
        total = totals.setdefault(row["phase"], [row["size"], 0, 0.0])
        total[1] += row["images"] - previous["images"]
        total[2] += row["seconds"] - previous["seconds"]
    return {phase: (size, images / seconds) for phase, (size, images, seconds) in sorted(totals.items()) if seconds}


def flat_speed(seed):
    """The flat run's images/s up to its equal-time snapshot (the part its clock's comparison uses), or None."""
    kept = [s for s in read_jsonl(os.path.join(run_dir("flat", seed), SNAPSHOTS)) if s["budget"] == "equal_time"]
    clock = [r for r in read_jsonl(os.path.join(run_dir("flat", seed), CLOCK))
             if not kept or r["step"] <= kept[0]["step"]]
    if len(clock) < 2:
        return None
    return (clock[-1]["images"] - clock[0]["images"]) / max(clock[-1]["seconds"] - clock[0]["seconds"], 1e-9)


def equal_time(arm, seed):
    """(seconds, images or None): where `arm` keeps its equal-time generator; images None = by its own clock."""
    if FLAGS.equal_time_by == "clock":
        return total_seconds(TIME_BUDGET_ARM, seed), None
    reference = FLAGS.reference_seed
    seconds, images = total_seconds(TIME_BUDGET_ARM, reference), None
    if arm == "flat":
        rate = flat_speed(reference)
        if seconds and rate:
            images = seconds * rate
    else:
        rates = {phase: rate for phase, (_, rate) in phase_speeds(TIME_BUDGET_ARM, reference).items()}
        if seconds and rates:
            images = images_within(seconds, arm, rates)
    if images is None:
        raise app.UsageError(f"--equal_time_by=reference_rates needs the finished {TIME_BUDGET_ARM} and {arm} runs "
                             f"of --reference_seed={reference} in {FLAGS.output_dir}; train them on idle cores first.")
    print(f"{arm} seed {seed}: equal time at {images:.0f} images ({seconds:.0f} s at seed {reference}'s images/s)",
          flush=True)
    return seconds, images


def current_rows(rows):
    """The rows of this code's training step (GRADIENT_PENALTY) scored by the newest classifier."""
    rows = [r for r in rows if r.get("gradient_penalty", "running_resolution") == GRADIENT_PENALTY]
    return [r for r in rows if r["classifier"] == rows[-1]["classifier"]] if rows else []


def report():
    every = read_jsonl(FLAGS.scores)
    rows = current_rows(every)
    if len(rows) < len(every):
        print(f"{len(every) - len(rows)} rows of {FLAGS.scores} are left out: another training step (the gradient "
              f"penalty at the running resolution) or another classifier.")
    if not rows:
        print("Nothing scored yet.")
        return
    print(f"| arm | budget | seed | step | training seconds | FID (N = {FLAGS.num_samples}) | KID | precision | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in sorted(rows, key=lambda r: (r["budget"], r["arm"], r["seed"])):
        print(f"| {row['arm']} | {row['budget'].replace('_', ' ')} | {row['seed']} | {row['step']} | "
              f"{row['seconds']:.0f} | {row['fid']:.1f} | {row['kid']:.2f} | {row['precision']:.3f} | "
              f"{row['recall']:.3f} |")
    print("\n| arm | budget | seeds | FID (mean +- std) | KID | precision | recall |")
    print("|---|---|---|---|---|---|---|")
    for (budget, arm) in sorted({(r["budget"], r["arm"]) for r in rows}):
        group = [r for r in rows if (r["budget"], r["arm"]) == (budget, arm)]
        cells = []
        for key, digits in [("fid", 1), ("kid", 2), ("precision", 3), ("recall", 3)]:
            values = [r[key] for r in group]
            cells.append(f"{statistics.mean(values):.{digits}f} +- {statistics.pstdev(values):.{digits}f}")
        print(f"| {arm} | {budget.replace('_', ' ')} | {len(group)} | " + " | ".join(cells) + " |")
    for arm, seed in sorted({(r["arm"], r["seed"]) for r in rows if r["arm"].startswith("progressive")}):
        speeds = phase_speeds(arm, seed)
        if speeds:
            print(f"\n{arm} seed {seed}, images/s per phase: " + ", ".join(
                f"{phase} ({size} px) {rate:.0f}" for phase, (size, rate) in speeds.items()))
    for seed in sorted({r["seed"] for r in rows if r["arm"] == "flat"}):
        rate = flat_speed(seed)
        if rate:
            print(f"flat seed {seed}: {rate:.0f} images/s at 28 px (to the equal-time snapshot)")


def main(argv):
    del argv
    if FLAGS.train_one:
        arm, seed = FLAGS.train_one.split(":")
        seed = int(seed)
        train_one(arm, seed, *(equal_time(arm, seed) if arm != TIME_BUDGET_ARM else (None, None)))
        return
    unknown = sorted(set(FLAGS.arms) - set(ARMS))
    if unknown:
        raise app.UsageError(f"Unknown arm(s) {', '.join(unknown)}; valid arms: {', '.join(ARMS)}.")
    if not FLAGS.report_only:
        for seed in range(FLAGS.seeds):
            # The time budget's arm first: its total training time is the others' equal-time budget.
            for arm in [TIME_BUDGET_ARM] + [a for a in FLAGS.arms if a != TIME_BUDGET_ARM]:
                train(arm, seed)
                if arm in FLAGS.arms:
                    score(arm, seed)
    report()


if __name__ == "__main__":
    app.run(main)
