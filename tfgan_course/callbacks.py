"""Keras callbacks of a GAN run: sample grids, the loss log, the stats line, checkpoints, NaN guard.

Each callback expects `self.model` to be a `gan.GAN`; the training step is
the generator optimizer's iteration count, so it survives resumes.
"""

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
      fixed_inputs: latent.GridInputs from `GAN.fixed_inputs(fixed_z)`: the same G inputs every
        epoch (and across resumes), and the grid's row length (a conditional GAN's row is a class).
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
        samples = self.model.images(self.fixed_inputs.inputs)
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
        plots.save_discriminator_outputs(history, os.path.join(self.plot_dir, "d_outputs.png"),
                                         keys=[name for name in names if not name.endswith("loss")])

    def on_train_end(self, logs=None):
        self.file.close()


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
        line = (f"[{self.epoch}/{self.epochs}][{i}/{self.steps_per_epoch}]\t"
                f"Loss_D: {float(logs['d_loss']):.4f}\tLoss_G: {float(logs['g_loss']):.4f}")
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
        if (epoch + 1) % self.every_epochs or not _all_finite(logs):
            return
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
            self.best_manager.save(checkpoint_number=_step(self.model))
            fileio.write_atomically(self.best_path, json.dumps(
                {"fid": fid, "kid": kid, "epoch": epoch + 1, "step": _step(self.model),
                 "checkpoint": self.best_manager.latest_checkpoint, "num_samples": n}, indent=2))


class NanGuard(_StepsCallback):
    """Stops training at the first non-finite loss and remembers where (`self.failure`)."""

    def __init__(self):
        super().__init__()
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        previous, step = self._new_steps()
        if self.failure is not None or _all_finite(logs):
            return
        # The first bad step of the execution, if several ran in one.
        for done, values in self.model.recent_steps(previous + 1, step).items():
            if not _all_finite(values):
                step, logs = done, values
                break
        bad = ", ".join(f"{name}={float(value)}" for name, value in logs.items() if not math.isfinite(float(value)))
        self.failure = f"{bad} at step {step}"
        self.model.stop_training = True


class Checkpointer(_StepsCallback):
    """Saves a tf.train.CheckpointManager at each epoch end and every N steps, never after a NaN.

    TensorFlow writes a checkpoint's files before it updates the `checkpoint`
    index, so a run killed while saving restores the previous complete one.

    Args:
      manager: tf.train.CheckpointManager of the GAN's checkpoint.
      epoch: tf.Variable int64 holding the number of finished epochs (saved with it).
      every_steps: also save every N generator steps; 0 = epoch ends only.
    """

    def __init__(self, manager, epoch, every_steps=0):
        super().__init__()
        self.manager = manager
        self.epoch = epoch
        self.every_steps = every_steps

    def on_train_batch_end(self, batch, logs=None):
        previous, step = self._new_steps()
        if batch + 1 == self.params.get("steps"):
            return  # on_epoch_end saves this step, with the epoch count.
        if _crossed(previous, step, self.every_steps) and _all_finite(logs):
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if not _all_finite(logs):  # The epoch's means include the step that diverged.
            return
        self.epoch.assign(epoch + 1)
        self.save()

    def save(self):
        self.manager.save(checkpoint_number=_step(self.model))
        logging.info("Saved checkpoint %s", self.manager.latest_checkpoint)
