"""Keras callbacks of a GAN run: sample grids, the loss log, the stats line, checkpoints, the divergence
guard, and a clean stop on request (a signal).

Each callback expects `self.model` to be a `gan.GAN`; the training step is
the generator optimizer's iteration count, so it survives resumes.
"""

import collections
import csv
import glob
import io
import json
import math
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image

from tfgan_course import fileio, metrics, plots, trained


def _step(model) -> int:
    return int(model.g_optimizer.iterations.numpy())


def _crossed(previous: int, step: int, every: int) -> bool:
    """True if a multiple of `every` lies in (previous, step]: with Keras' steps_per_execution
    callbacks see every N-th step only, so "step % every == 0" could never hold."""
    return bool(every) and step // every > previous // every


def _all_finite(logs) -> bool:
    return all(math.isfinite(float(value)) for value in (logs or {}).values())


class _StepsCallback(keras.callbacks.Callback):
    """A callback that accounts for every training step, though under --steps_per_execution=N
    Keras calls it once per N steps: `_new_steps` gives the steps since its last call."""

    previous = 0  # The last step accounted for.

    def on_train_begin(self, logs=None):
        self.previous = _step(self.model)

    def _new_steps(self) -> tuple[int, int]:
        """(previous, step): the steps previous + 1 .. step ran since the last call."""
        previous, self.previous = self.previous, _step(self.model)
        return previous, self.previous


class SampleGrid(keras.callbacks.Callback):
    """Each epoch: samples/epoch_NNNN.png of G(fixed_z) and a TensorBoard image; progress.gif at the end.

    Images give a grid; toy vectors [N, 1 or 2] give lecture 001's "Real vs
    Synth" figure against `real_samples`.

    Args:
      fixed_inputs: latent.GridInputs from `GAN.fixed_inputs(fixed_z, examples)`: the same G inputs
        every epoch (and across resumes), and the grid's row length (a conditional GAN's row is a
        class; a translator's row is one example: input | output | target or reconstruction).
      directory: where epoch_NNNN.png and progress.gif go.
      tensorboard_dir: where the image summaries go; None = no TensorBoard.
      real_samples: float32 [M, dim] real toy vectors; None for images.
    """

    def __init__(self, fixed_inputs, directory, tensorboard_dir=None, real_samples=None):
        super().__init__()
        self.fixed_inputs = fixed_inputs
        self.directory = directory
        self.real_samples = real_samples
        self.writer = tf.summary.create_file_writer(tensorboard_dir) if tensorboard_dir else None

    def on_epoch_end(self, epoch, logs=None):
        samples = self.model.grid_images(self.fixed_inputs.inputs)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:04d}.png")
        if self.real_samples is None:
            plots.save_image_grid(samples, path, nrow=self.fixed_inputs.nrow)
        else:
            plots.save_real_vs_synth(self.real_samples, samples, path, title=f"Real vs Synth, epoch {epoch + 1}")
        if self.writer:
            with self.writer.as_default():
                image = np.asarray(Image.open(path).convert("RGB"))
                tf.summary.image("fixed_noise_samples", image[None], step=_step(self.model))
            self.writer.flush()

    def on_train_end(self, logs=None):
        # Once per fit, not per epoch (a long toy run has hundreds of frames);
        # rebuilt from the saved frames, so a resumed run's GIF still starts at epoch 1.
        paths = sorted(glob.glob(os.path.join(self.directory, "epoch_*.png")))
        if not paths:
            return
        frames = [Image.open(path).convert("RGB") for path in paths]
        # Figures can differ by a pixel from epoch to epoch; a GIF needs one size.
        frames = [np.asarray(frame.resize(frames[-1].size)) for frame in frames]
        plots.save_gif(frames, os.path.join(self.directory, "progress.gif"))


class LossLog(_StepsCallback):
    """Every step's losses and D outputs in a CSV; the textbook's two plots at each epoch end.

    `losses.csv` has one row per generator step (under --steps_per_execution=N
    too: the model records each step of an execution, `GAN.recent_steps`):
    step, epoch, then the model's `metric_names`. Rows are flushed as they come, so a crash loses none;
    on resume, rows after the restored step are dropped, so the file never
    holds a step twice.
    """

    def __init__(self, path, plot_dir):
        super().__init__()
        self.path = path
        self.plot_dir = plot_dir
        self.epoch = 0
        self.file = None
        self.writer = None

    def on_train_begin(self, logs=None):
        # A notebook's fit() may point it at directories nothing has made yet.
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        os.makedirs(self.plot_dir, exist_ok=True)
        step = _step(self.model)
        kept = []
        if os.path.exists(self.path):
            with open(self.path, newline="") as f:
                kept = [row for row in csv.DictReader(f) if int(row["step"]) <= step]
        fields = ["step", "epoch", *self.model.metric_names]
        # Rewritten aside and renamed: a crash here cannot lose the old rows.
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
        fileio.write_atomically(self.path, text.getvalue())
        self.file = open(self.path, "a", newline="")  # pylint: disable=consider-using-with
        self.writer = csv.DictWriter(self.file, fieldnames=fields)
        super().on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        previous, step = self._new_steps()
        for done, values in self.model.recent_steps(previous + 1, step).items():
            self.writer.writerow({"step": done, "epoch": self.epoch + 1, **values})
        self.file.flush()

    def on_epoch_end(self, epoch, logs=None):
        history = plots.read_losses_csv(self.path)
        names = self.model.metric_names
        plots.save_loss_curves(history, os.path.join(self.plot_dir, "losses.png"), xlabel="step",
                               keys=[name for name in names if name.endswith("loss")])
        d_keys = [name for name in names if not name.endswith("loss") and name not in self.model.schedule_names]
        if d_keys:  # SRResNet trains no D, and CycleGAN logs only losses: no empty figure.
            plots.save_discriminator_outputs(history, os.path.join(self.plot_dir, "d_outputs.png"), keys=d_keys)

    def on_train_end(self, logs=None):
        self.file.close()


class GrowthLog(keras.callbacks.Callback):
    """A progressive GAN's growth: a grid per phase at its own resolution, and its schedule plotted.

    When the model leaves a phase (and at the end of training) samples/phase_K_SIZEpx.png shows
    G(fixed z) at the resolution of that phase's newest block (exact: G's pixels repeat up to the
    full size); each epoch end, growth.png plots losses.csv's phase and alpha columns.

    Args:
      fixed_z: float32 [N, latent_dim], the run's fixed noise.
      directory: where the phase grids go; plot_dir: where growth.png goes; losses_csv: the run's log.
    """

    def __init__(self, fixed_z, directory, plot_dir, losses_csv):
        super().__init__()
        self.fixed_z = np.asarray(fixed_z, np.float32)
        self.directory, self.plot_dir, self.losses_csv = directory, plot_dir, losses_csv
        self.state = None

    def on_train_begin(self, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        self.state = self.model.growth_state()

    def on_train_batch_end(self, batch, logs=None):
        state = self.model.growth_state()
        if state["phase"] != self.state["phase"]:
            self._save(self.state)
        self.state = state

    def on_epoch_end(self, epoch, logs=None):
        if os.path.exists(self.losses_csv):
            plots.save_growth(plots.read_losses_csv(self.losses_csv), os.path.join(self.plot_dir, "growth.png"))

    def on_train_end(self, logs=None):
        self._save(self.model.growth_state())

    def _save(self, state):
        images = self.model.grid_images(self.model.fixed_inputs(self.fixed_z).inputs)
        images = self.model.native_images(images, state["size"])
        name = f"phase_{state['phase']}_{state['size']}px.png"
        plots.save_image_grid(images, os.path.join(self.directory, name),
                              title=f"Phase {state['phase']}: {state['size']}x{state['size']}")


_TEXTBOOK_NAMES = ("d_loss", "g_loss", "D(x)", "D(G(z)) before", "D(G(z)) after")


class StatsLine(_StepsCallback):
    """Every N steps, the textbook tutorial's line:

    [epoch/epochs][i/n]  Loss_D: 0.1976  Loss_G: 3.3648  D(x): 0.9384  D(G(z)): 0.1122 / 0.0503

    followed by a variant's own values (InfoGAN's info_loss; BEGAN's L(x),
    L(G(z)), k_t and M_global replace the D outputs).
    """

    def __init__(self, every_steps, epochs, steps_per_epoch):
        super().__init__()
        self.every_steps = every_steps
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        previous, step = self._new_steps()
        if _crossed(previous, step, self.every_steps):
            for done, values in self.model.recent_steps(previous + 1, step).items():
                if done % self.every_steps == 0:
                    self._print(done, values)

    def _print(self, step, logs):
        i = (step - 1) % self.steps_per_epoch
        line = f"[{self.epoch}/{self.epochs}][{i}/{self.steps_per_epoch}]"
        if "d_loss" in logs:  # SRResNet trains no D.
            line += f"\tLoss_D: {float(logs['d_loss']):.4f}"
        line += f"\tLoss_G: {float(logs['g_loss']):.4f}"
        others = [name for name in self.model.metric_names if name not in _TEXTBOOK_NAMES]
        if "D(x)" in logs:
            line += (f"\tD(x): {float(logs['D(x)']):.4f}\t"
                     f"D(G(z)): {float(logs['D(G(z)) before']):.4f} / {float(logs['D(G(z)) after']):.4f}")
        line += "".join(f"\t{name}: {float(logs[name]):.4f}" for name in others if name in logs)
        print("\n" + line, flush=True)


class SampleQuality(keras.callbacks.Callback):
    """Every N epochs: FID and KID of fresh samples in the domain classifier's feature space.

    Adds "fid" and "kid" to the epoch's logs (so Keras' history and the
    TensorBoard callback after this one record them), appends a row to
    `eval.csv` (step, epoch, N, fid, kid, kid_std), and with `best_manager`
    saves a checkpoint whenever FID improves (`--keep_best`), noting it in
    best.json. Scores use the same N every time: FID is biased at small N.

    Args:
      classifier: classifier.DomainClassifier of the run's dataset.
      real_features: float [N, D], the classifier's features of N real training images.
      real_labels: int [N] or None; a conditional GAN samples the same class mix.
      every_epochs: score every this many epochs.
      workdir: where eval.csv and best.json go.
      best_manager: a tf.train.CheckpointManager for the best checkpoint, or None.
      seed: seed of the samples (the same noise every time, so scores compare G alone).
    """

    def __init__(self, classifier, real_features, real_labels, every_epochs, workdir, best_manager=None, seed=0):
        super().__init__()
        self.classifier = classifier
        self.real_features = real_features
        self.real_labels = real_labels
        self.every_epochs = every_epochs
        self.csv_path = os.path.join(workdir, "eval.csv")
        self.best_path = os.path.join(workdir, "best.json")
        self.best_manager = best_manager
        self.seed = seed
        self.best_fid = math.inf
        if os.path.exists(self.best_path):
            with open(self.best_path) as f:
                self.best_fid = json.load(f)["fid"]

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs or not _all_finite(logs) or self.model.stop_training:
            return  # A run stopping (a signal, divergence) has no time for a score, nor a whole epoch.
        n = len(self.real_features)
        images = trained.sample_batches(trained.from_model(self.model), n, self.seed, self.real_labels)
        features, _ = self.classifier.features_and_logits(images)
        fid = metrics.frechet_distance(self.real_features, features)
        kid, kid_std = metrics.kernel_inception_distance(self.real_features, features)
        logs["fid"], logs["kid"] = fid, kid
        new_file = not os.path.exists(self.csv_path)
        with open(self.csv_path, "a", newline="") as f:
            writer = csv.writer(f)
            if new_file:
                writer.writerow(["step", "epoch", "num_samples", "fid", "kid", "kid_std"])
            writer.writerow([_step(self.model), epoch + 1, n, fid, kid, kid_std])
        logging.info("Epoch %d: FID %.3f, KID %.4f +- %.4f (N = %d)", epoch + 1, fid, kid, kid_std, n)
        if self.best_manager is not None and fid < self.best_fid:
            self.best_fid = fid
            sync_checkpoint(self.best_manager.save(checkpoint_number=_step(self.model)))
            fileio.write_atomically(self.best_path, json.dumps(
                {"fid": fid, "kid": kid, "epoch": epoch + 1, "step": _step(self.model),
                 "checkpoint": self.best_manager.latest_checkpoint, "num_samples": n}, indent=2))


# A probability this close to 0 or 1 is "pinned": a batch mean of sigmoids of logits beyond about
# +-14. A strong D early in training gives D(G(z)) ~ 1e-2 to 1e-4, not this.
_PINNED = 1e-6
# The share of the last N steps that must be pinned: a broken D still lets one fake of a batch
# through now and then (D(G(z)) = 1/64), which unpins that step.
_PINNED_SHARE = 0.8
_D_PROBABILITIES = ("D(x)", "D(G(z)) before", "D(G(z)) after")


class NanGuard(_StepsCallback):
    """Stops training at the first diverged step and remembers why and where (`self.failure`).

    A step has diverged when a logged value is NaN or Inf, when a loss's magnitude exceeds
    `max_loss` (Adam at a huge learning rate stays finite: d_loss 0, g_loss 1e17), or, for losses
    whose D outputs are probabilities (`losses.Loss.d_probabilities`: minimax, non-saturating),
    when D(x), D(G(z)) before and after D's update were all within 1e-6 of 0 or 1 in 80% of the
    last `pinned_steps` steps (D's logits beyond about +-14: G learns nothing). WGAN-style
    critics' outputs are unbounded, so only the loss bound applies to them.

    Args:
      max_loss: bound on |loss| of every logged loss (names ending in "loss"); 0 = off.
      pinned_steps: the window of the pinned rule, in steps; 0 = off.
    """

    def __init__(self, max_loss=0.0, pinned_steps=0):
        super().__init__()
        self.max_loss = float(max_loss)
        self.pinned_steps = int(pinned_steps)
        self.failure = None
        self.pinned = collections.deque(maxlen=max(self.pinned_steps, 1))  # Whether each recent step was pinned.
        self.watch_pinned = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        loss_pair = getattr(self.model, "loss_pair", None)
        self.watch_pinned = bool(self.pinned_steps and getattr(loss_pair, "d_probabilities", False)
                                 and set(_D_PROBABILITIES) <= set(self.model.metric_names))

    def on_train_batch_end(self, batch, logs=None):
        previous, step = self._new_steps()
        if self.failure is not None:
            return
        if _all_finite(logs) and not (self.max_loss or self.watch_pinned):
            return
        # Every step of the execution, if several ran in one (the last one's values are `logs`).
        steps = self.model.recent_steps(previous + 1, step) or {step: logs}
        for done, values in steps.items():
            self.failure = self._diverged(done, values)
            if self.failure is not None:
                self.model.stop_training = True
                return

    def _diverged(self, step, values):
        """Why step `step` with logged `values` diverged, or None."""
        bad = ", ".join(f"{name}={float(value)}" for name, value in values.items() if not math.isfinite(float(value)))
        if bad:
            return f"{bad} at step {step}"
        if self.max_loss:
            big = ", ".join(f"{name}={float(value):.4g}" for name, value in values.items()
                            if name.endswith("loss") and abs(float(value)) > self.max_loss)
            if big:
                return (f"{big} at step {step}, beyond the bound |loss| <= {self.max_loss:g} "
                        "(--divergence_max_loss)")
        if self.watch_pinned:
            self.pinned.append(all(min(float(values[name]), 1.0 - float(values[name])) <= _PINNED
                                   for name in _D_PROBABILITIES))
            count = sum(self.pinned)
            if len(self.pinned) == self.pinned_steps and count >= _PINNED_SHARE * self.pinned_steps:
                outputs = ", ".join(f"{name}={float(values[name]):.3g}" for name in _D_PROBABILITIES)
                return (f"D's outputs pinned at 0 or 1 in {count} of the {self.pinned_steps} steps up to step "
                        f"{step} ({outputs}; --divergence_pinned_steps)")
        return None


class StopOnRequest(keras.callbacks.Callback):
    """Ends training at the end of the current step (or execution, under --steps_per_execution) once
    `request` was called, e.g. by a signal handler; the Checkpointer then saves that step.

    `request` only sets an attribute, so a signal handler may call it at any point.
    """

    def __init__(self):
        super().__init__()
        self.reason = None  # What asked to stop, e.g. "SIGTERM"; None = nobody.
        self.step = None  # The step training stopped after.

    def request(self, reason: str) -> None:
        self.reason = self.reason or reason

    def on_train_batch_end(self, batch, logs=None):
        if self.reason is None or self.step is not None:
            return
        self.step = _step(self.model)
        self.model.stop_training = True
        logging.warning("%s received: stopped after step %d to save a checkpoint (send it again to exit at once).",
                        self.reason, self.step)


class Checkpointer(_StepsCallback):
    """Saves a tf.train.CheckpointManager at each epoch end, every N steps, and when training stops
    mid-epoch (`StopOnRequest`); never after a divergence (`guard`'s failure, a NaN in the logs).

    TensorFlow writes a checkpoint's files before it updates the `checkpoint`
    index, so a run killed while saving restores the previous complete one.
    After each save the checkpoint's files, the index and the directory are
    fsynced, so once a save has returned a power loss cannot take it back. Not
    covered: TensorFlow renames its files inside `save` without an fsync, so a
    power loss during a save may leave the index naming files that never reached
    the disk (`resume` then names the checkpoint it cannot read).

    Args:
      manager: tf.train.CheckpointManager of the GAN's checkpoint.
      epoch: tf.Variable int64 holding the number of finished epochs (saved with it).
      every_steps: also save every N generator steps; 0 = epoch ends only.
      guard: the run's NanGuard, or None.
    """

    def __init__(self, manager, epoch, every_steps=0, guard=None):
        super().__init__()
        self.manager = manager
        self.epoch = epoch
        self.every_steps = every_steps
        self.guard = guard
        self.epoch_finished = False
        self.saved_step = None

    def on_train_batch_end(self, batch, logs=None):
        previous, step = self._new_steps()
        self.epoch_finished = batch + 1 == self.params.get("steps")
        if self.epoch_finished:
            return  # on_epoch_end saves this step, with the epoch count.
        if _crossed(previous, step, self.every_steps) and self._sound(logs):
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        # Keras ends the epoch early when a callback stops training: an epoch
        # stopped mid-way is saved at the step reached, but not counted as finished.
        if not self._sound(logs):  # The epoch's means include a step that diverged.
            return
        if self.epoch_finished:
            self.epoch.assign(epoch + 1)
        elif self.saved_step == _step(self.model):
            return
        self.save()

    def _sound(self, logs):
        return _all_finite(logs) and (self.guard is None or self.guard.failure is None)

    def save(self):
        path = self.manager.save(checkpoint_number=_step(self.model))
        sync_checkpoint(path)
        self.saved_step = _step(self.model)
        logging.info("Saved checkpoint %s", path)


def sync_checkpoint(path):
    """fsyncs the files of the checkpoint `path` (a prefix, e.g. ckpt-12), the `checkpoint` index and the directory."""
    directory = os.path.dirname(path)
    for name in [*glob.glob(glob.escape(path) + ".*"), os.path.join(directory, "checkpoint")]:
        if os.path.isfile(name):
            fileio.fsync_file(name)
    fileio.fsync_dir(directory)
