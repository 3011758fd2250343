r"""Progressive growing against the same networks trained flat at full size: FID at equal wall-clock and images.

Per seed, runs of tfgan_course/configs/pggan_fashion_mnist.cfg through `experiment.run`:

  progressive      the config as shipped: 7 -> 14 -> 28, 30,000 images per stable phase and per fade-in;
  flat             the same networks, losses and optimiser with --stable_images=0 --transition_images=0:
                   every block at full size from the first step;
  progressive_15k  the shipped growth with half-length phases (15,000 images per stable phase and
                   per fade-in): full size sooner, so more of the time budget is spent there.

Every arm trains for the config's epochs (equal images seen). The shipped progressive run's training
time is the time budget: every other arm also keeps its generator (the sampler, G's EMA) at the first
step where it has trained that long: "equal wall-clock".

Whose clock? A run's own clock is fair only if the cores stay idle and the machine's speed holds for the
hour a run takes, and this VM's drifts (benchmarks/README.md, "Measuring on this machine"); a clock also
counts whatever slowed its own process (seed 0's shipped run took 2,849 s on Eigen's kernels, about 1,900 s
of training on oneDNN's, the same section). So by default (--equal_time_by=measured_rates) the times come from
--measure_rates: --timing_rounds rounds of one fresh process per kind of run (progressive, flat),
alternating, each training every phase of the schedule for RATE_PHASE_STEPS steps through
`experiment.run` (with the runs' checkpointing) and timing each phase's steps after its first
RATE_WARMUP_STEPS. A phase's speed depends on its networks and shapes, not on its length or seed, so the
newest session's median images/s per phase give the budget (the shipped run's time at those rates) and
where every other arm reaches it: flat at budget x flat's images/s, progressive_15k through its own
schedule. Those are ratios of speeds measured side by side, so a machine that is slower all session long
changes neither, and the runs themselves may train on a shared machine. --equal_time_by=clock uses the
runs' own clocks instead, and --equal_time_by=reference_rates the budget and images/s of --reference_seed's
runs' clocks; each score row says which (seconds_by). Each kept generator is scored by the project's
evaluator (`evaluate.evaluate`, N generated against N real test images in the domain classifier's feature
space).

Runs resume (from their checkpoints, the clock from clock.jsonl); scores are appended to --scores,
committed, so a later session skips what is scored:

  .venv/bin/python benchmarks/progressive.py --measure_rates       # about 15 minutes, idle cores only
  .venv/bin/python benchmarks/progressive.py --seeds=1             # one seed: about 80 minutes on 2 cores
  .venv/bin/python benchmarks/progressive.py --seeds=1 --arms=progressive_15k
  .venv/bin/python benchmarks/progressive.py --report_only
"""

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

# Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py). Until 2026-12-06 this script
# imported Keras first, so on CPUs where TensorFlow leaves oneDNN off its runs trained on Eigen's kernels.
import tfgan_course  # noqa: F401

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import machine  # pylint: disable=wrong-import-position  # noqa: E402
import numpy as np  # pylint: disable=wrong-import-position
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
TRAIN_IMAGES = 60_000  # Fashion-MNIST's training split: an epoch is its full batches.
# A timed process (--measure_rates) trains each phase for RATE_PHASE_STEPS steps and times those after the
# phase's first RATE_WARMUP_STEPS (the trace of a new block count, the first batches at a new size).
RATE_PHASE_STEPS, RATE_WARMUP_STEPS = 100, 20
RATE_KINDS = ("progressive", "flat")  # Every arm's phases are one of these kinds' (progressive_15k: shorter ones).

flags.DEFINE_integer("seeds", 3, "Seeds per arm (0 .. seeds-1).")
flags.DEFINE_enum("equal_time_by", "measured_rates", ["measured_rates", "clock", "reference_rates"],
                  "How the time budget and each other arm's equal-time step are found: from the newest "
                  "--measure_rates session's images/s per phase, from the runs' own clocks, or from "
                  "--reference_seed's runs' clocks.")
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
flags.DEFINE_string("rates", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                         "progressive_rates.jsonl"),
                    "Images/s per phase of each kind of run, one JSON line per timed process (--measure_rates).")
flags.DEFINE_bool("measure_rates", False, "Time every phase of a progressive and a flat run on idle cores into "
                  "--rates (for --equal_time_by=measured_rates), then exit.")
flags.DEFINE_integer("timing_rounds", 2, "With --measure_rates: processes per kind of run, alternating.")
flags.DEFINE_bool("report_only", False, "Print the table from --scores; train and score nothing.")
flags.DEFINE_string("train_one", None, "Internal: train arm:seed in this process.")
flags.DEFINE_string("time_one", None, "Internal: time the phases of one kind of run (progressive or flat).")
FLAGS = flags.FLAGS


def run_dir(arm, seed):
    return os.path.join(FLAGS.output_dir, arm, f"seed{seed}")


def config_of(arm, seed):
    from tfgan_course import config as config_lib  # pylint: disable=import-outside-toplevel

    with open(CONFIG) as f:
        config = config_lib.Config.from_flagfile(f.read())
    return config.replace(seed=seed, checkpoint_every_steps=100, log_every_steps=0, **ARMS[arm])


def phase_count(config):
    """A growing run's phases: stable, fade-in, stable, ..., the last stable one lasting to the end of the run."""
    from tfgan_course.models import pggan  # pylint: disable=import-outside-toplevel

    return 2 * len(pggan.resolutions(config.image_size)) - 1


def run_images(arm):
    """The real images a run of `arm` trains on: its epochs of full batches."""
    config = config_of(arm, 0)
    return config.epochs * (TRAIN_IMAGES // config.batch_size) * config.batch_size


def phase_lengths(arm):
    """(phase, real images) of a progressive arm's schedule, the last phase lasting to the end (inf)."""
    config = config_of(arm, 0)
    phases = phase_count(config)
    for phase in range(phases):
        length = config.stable_images if phase % 2 == 0 else config.transition_images
        yield phase, math.inf if phase == phases - 1 else length


def images_within(seconds, arm, rates):
    """The real images a progressive arm trains on in `seconds` at `rates` ({phase: images/s}), its schedule's."""
    images = 0.0
    for phase, length in phase_lengths(arm):
        if length / rates[phase] >= seconds:
            return images + seconds * rates[phase]
        images, seconds = images + length, seconds - length / rates[phase]


def seconds_for(images, arm, rates):
    """The seconds a progressive arm takes for its first `images` real images at `rates` ({phase: images/s})."""
    seconds = 0.0
    for phase, length in phase_lengths(arm):
        if length >= images:
            return seconds + images / rates[phase]
        seconds, images = seconds + length / rates[phase], images - length


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
            # How this run found its equal-time step: both its rows say so, to tell them from another run's.
            by = FLAGS.equal_time_by if stop_at_images else "clock"
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
                    f"--reference_seed={FLAGS.reference_seed}", f"--rates={FLAGS.rates}"], check=True)


def time_one(kind):
    """Trains each phase of `kind`'s run for RATE_PHASE_STEPS steps in a scratch directory, through the runs' own
    path, and prints each phase's images/s over its steps after the first RATE_WARMUP_STEPS."""
    import keras  # pylint: disable=import-outside-toplevel

    from tfgan_course import experiment  # pylint: disable=import-outside-toplevel

    config = config_of(kind, 0)
    phases = 1
    if config.stable_images:  # A growing run: every phase RATE_PHASE_STEPS long.
        phase_images = RATE_PHASE_STEPS * config.batch_size
        config = config.replace(stable_images=phase_images, transition_images=phase_images)
        phases = phase_count(config)
    config = config.replace(epochs=1, steps_per_epoch=phases * RATE_PHASE_STEPS)
    steps = []  # Per step: (its phase, its size, the clock at its end, the images seen after it).

    class Timer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.state = self.model.growth_state()  # Of the next step: the images seen before it decide.

        def on_train_batch_end(self, batch, logs=None):
            steps.append((self.state["phase"], self.state["size"], time.perf_counter(),
                          int(self.model.images_seen.numpy())))
            self.state = self.model.growth_state()

    with tempfile.TemporaryDirectory() as directory:
        experiment.run(config, directory, verbose=0, extra_callbacks=[Timer()])
    for phase in sorted({step[0] for step in steps}):
        # The end of the last warm-up step starts the phase's clock.
        timed = [step for step in steps if step[0] == phase][RATE_WARMUP_STEPS - 1:]
        rate = (timed[-1][3] - timed[0][3]) / (timed[-1][2] - timed[0][2])
        print(f"PHASE_RATE {phase} {timed[0][1]} {rate}", flush=True)


def measure_rates():
    """--timing_rounds rounds of one fresh process per kind of run, alternating; a --rates row each."""
    session = machine.timing_session("images/s")
    for round_ in range(FLAGS.timing_rounds):
        for kind in RATE_KINDS:
            process = subprocess.run([sys.executable, os.path.abspath(__file__), f"--time_one={kind}"],
                                     capture_output=True, text=True, check=False)
            lines = [line.split() for line in process.stdout.splitlines() if line.startswith("PHASE_RATE ")]
            if process.returncode or not lines:
                raise RuntimeError(f"Timing the {kind} run failed:\n{process.stderr[-3000:]}")
            row = {**session, "round": round_, "kind": kind,
                   "phases": [{"phase": int(phase), "size": int(size), "images_per_second": round(float(rate), 2)}
                              for _, phase, size, rate in lines],
                   "timed_steps_per_phase": RATE_PHASE_STEPS - RATE_WARMUP_STEPS}
            append_jsonl(FLAGS.rates, row)
            print(f"round {round_}: {kind} " + ", ".join(
                f"phase {p['phase']} ({p['size']} px) {p['images_per_second']:.1f}" for p in row["phases"]) +
                " images/s", flush=True)


class MeasuredRates(NamedTuple):
    """The newest --measure_rates session's medians."""
    phases: dict  # {phase: images/s} of a progressive run.
    sizes: dict  # {phase: its resolution in px}.
    flat: float  # Images/s of the flat run.
    session: str


def measured_rates():
    """MeasuredRates of the newest --rates session, or None when there is none."""
    rows = read_jsonl(FLAGS.rates)
    if not rows:
        return None
    session, growing, sizes, flat = rows[-1]["session"], {}, {}, []
    for row in rows:
        if row["session"] == session:
            for phase in row["phases"]:
                if row["kind"] == "flat":
                    flat.append(phase["images_per_second"])
                else:
                    growing.setdefault(phase["phase"], []).append(phase["images_per_second"])
                    sizes[phase["phase"]] = phase["size"]
    return MeasuredRates({phase: float(np.median(rates)) for phase, rates in growing.items()}, sizes,
                         float(np.median(flat)), session)


def score(arm, seed):
    """Scores each kept generator of a run that --scores does not hold yet."""
    import keras  # pylint: disable=import-outside-toplevel

    from tfgan_course import classifier, evaluate, spec, trained  # pylint: disable=import-outside-toplevel

    current = classifier.load_or_train("fashion_mnist", image_size=28, channels=1,
                                       cache_dir=FLAGS.classifier_dir).record()
    done = {(r["arm"], r["seed"], r["budget"], r.get("seconds_by", "clock"), r["num_samples"])
            for r in current_step_rows(read_jsonl(FLAGS.scores)) if r["classifier"] == current}
    directory = run_dir(arm, seed)
    saved = spec.read(os.path.join(directory, spec.CHECKPOINTS))
    for snapshot in read_jsonl(os.path.join(directory, SNAPSHOTS)):
        if (arm, seed, snapshot["budget"], snapshot.get("seconds_by", "clock"), FLAGS.num_samples) in done:
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
    if FLAGS.equal_time_by == "measured_rates":
        measured = measured_rates()
        if measured is None:
            raise app.UsageError(f"No images/s in {FLAGS.rates}: run --measure_rates on idle cores first (or train "
                                 "on idle cores with --equal_time_by=clock).")
        seconds = seconds_for(run_images(TIME_BUDGET_ARM), TIME_BUDGET_ARM, measured.phases)
        images = seconds * measured.flat if arm == "flat" else images_within(seconds, arm, measured.phases)
        print(f"{arm} seed {seed}: equal time at {images:.0f} images ({seconds:.0f} s at the images/s measured in "
              f"session {measured.session})", flush=True)
        return seconds, images
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


def current_step_rows(rows):
    """The rows of this code's training step (GRADIENT_PENALTY) scored by the newest classifier."""
    rows = [r for r in rows if r.get("gradient_penalty", "running_resolution") == GRADIENT_PENALTY]
    return [r for r in rows if r["classifier"] == rows[-1]["classifier"]] if rows else []


def current_rows(rows):
    """current_step_rows, one per (arm, seed, budget): an equal-time row found the --equal_time_by way, and of
    the others the newest (a run trained again for another way of timing also scores its equal images)."""
    kept = {}
    for row in current_step_rows(rows):
        if row["budget"] != "equal_time" or row.get("seconds_by", "clock") == FLAGS.equal_time_by:
            kept[(row["arm"], row["seed"], row["budget"])] = row
    return list(kept.values())


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
            print(f"\n{arm} seed {seed}, images/s per phase by its own clock: " + ", ".join(
                f"{phase} ({size} px) {rate:.0f}" for phase, (size, rate) in speeds.items()))
    for seed in sorted({r["seed"] for r in rows if r["arm"] == "flat"}):
        rate = flat_speed(seed)
        if rate:
            print(f"flat seed {seed}: {rate:.0f} images/s at 28 px by its own clock (to the equal-time snapshot)")
    report_rates()


def report_rates():
    """The newest --measure_rates session and the time budget it gives."""
    measured = measured_rates()
    if measured is None:
        return
    images = run_images(TIME_BUDGET_ARM)
    budget = seconds_for(images, TIME_BUDGET_ARM, measured.phases)
    print(f"\nimages/s measured on idle cores (--measure_rates, session {measured.session}, medians): " + ", ".join(
        f"phase {phase} ({measured.sizes[phase]} px) {rate:.0f}" for phase, rate in sorted(measured.phases.items())) +
        f"; flat {measured.flat:.0f}. The shipped run's {images} images take {budget:.0f} s at these rates, the "
        f"time in which flat trains on {budget * measured.flat:.0f}.")


def main(argv):
    del argv
    if FLAGS.time_one:
        time_one(FLAGS.time_one)
        return
    if FLAGS.measure_rates:
        measure_rates()
        return
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
