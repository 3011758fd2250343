"""The two sides of benchmarks/quality_vs_peer.py: training with timed snapshots, and loading them to score.

A run directory holds snapshots/step_NNNNN.{keras,pt} (the generator after NNNNN
generator steps) and snapshots.jsonl, one line per snapshot: {"step", "seconds",
"path"}, where seconds is the training wall-clock up to that step (data loading
and the side's own logging and checkpoints included; snapshot writing and the
benchmark's resume bookkeeping excluded).

Both sides read the same batches: `data.make_dataset("fashion_mnist", image_size=64,
channels=1, batch_size=128, seed=seed, repeat=True)` is what `experiment.run`
trains the project on, and the peer iterates the same pipeline.
"""

import dataclasses
import json
import math
import os
import time

import numpy as np

import tfgan_course  # noqa: F401  # Before TensorFlow (imported below, in the functions): it picks its CPU kernels.

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tfgan_course", "configs",
                      "dcgan_fashion_mnist.cfg")
SNAPSHOTS, CLOCK = "snapshots.jsonl", "clock.jsonl"
BATCH, LATENT, SIZE = 128, 100, 64
CHECKPOINT_EVERY = 50  # Steps between the peer's resume checkpoints (the project's runs checkpoint as often).


def snapshots(directory):
    """The run's snapshots, by step: [{"step", "seconds", "path"}]."""
    return sorted(read_jsonl(os.path.join(directory, SNAPSHOTS)), key=lambda s: s["step"])


def finished_steps(directory):
    """The last step with a snapshot (0 for none)."""
    return max((s["step"] for s in snapshots(directory)), default=0)


def _snapshot_path(directory, step, suffix):
    """Where the run's generator after `step` steps goes: snapshots/step_NNNNN.{keras,pt} (the folder made)."""
    path = os.path.join(directory, "snapshots", f"step_{step:05d}.{suffix}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _record_snapshot(directory, step, seconds, path):
    """Appends the saved snapshot to snapshots.jsonl, after its file: a listed snapshot is complete."""
    append_jsonl(os.path.join(directory, SNAPSHOTS), {"step": step, "seconds": seconds, "path": path})


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def append_jsonl(path, row):
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _dataset(seed, step=0):
    """The seed's stream of batches from `step` on: a resumed run reads what the uninterrupted run would have."""
    from tfgan_course import data  # pylint: disable=import-outside-toplevel

    dataset, _ = data.make_dataset("fashion_mnist", image_size=SIZE, channels=1, batch_size=BATCH,
                                   seed=seed, repeat=True, start_batch=step)
    return dataset


# ----------------------------------------------------------------------------- The project's side.


def project_config(seed, steps, overrides):
    """The default experiment's Config for `seed`, `steps` generator steps in the fewest equal epochs."""
    from tfgan_course import config as config_lib  # pylint: disable=import-outside-toplevel

    with open(CONFIG) as f:
        config = config_lib.Config.from_flagfile(f.read())
    full_epoch = 60000 // config.batch_size
    epochs = next(e for e in range(math.ceil(steps / full_epoch), steps + 1) if steps % e == 0)
    return config.replace(seed=seed, epochs=epochs, steps_per_epoch=steps // epochs,
                          # A resume starts at a checkpoint; every 50 steps, so it is near a snapshot.
                          checkpoint_every_steps=50, **overrides)


def train_project(directory, seed, steps, snapshot_steps, overrides, resume_every=0):
    """Trains the default experiment with `overrides` through `experiment.run`, resuming, keeping snapshots.

    With `resume_every` N, training stops after every N steps (as SIGTERM stops it) and a new `experiment.run`
    resumes it from that checkpoint, as a run that crosses many sessions is resumed.
    """
    import keras  # pylint: disable=import-outside-toplevel

    from tfgan_course import callbacks, experiment  # pylint: disable=import-outside-toplevel

    class Snapshots(keras.callbacks.Callback):
        """Keeps G at the snapshot steps and the clock at every checkpoint step, with the training time so far."""

        def on_train_begin(self, logs=None):
            step = int(self.model.g_optimizer.iterations.numpy())
            clock = {row["step"]: row["seconds"] for row in read_jsonl(os.path.join(directory, CLOCK))}
            self.seconds_before = clock.get(step, 0.0)
            self.start, self.paused = time.perf_counter(), 0.0

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.g_optimizer.iterations.numpy())
            if step % 50 and step not in snapshot_steps:
                return
            now = time.perf_counter()
            seconds = self.seconds_before + now - self.start - self.paused
            append_jsonl(os.path.join(directory, CLOCK), {"step": step, "seconds": seconds})
            if step in snapshot_steps and step > finished_steps(directory):
                path = _snapshot_path(directory, step, "keras")
                self.model.sampler.save(path)
                _record_snapshot(directory, step, seconds, path)
            self.paused += time.perf_counter() - now

    class StopEvery(keras.callbacks.Callback):
        """Asks `stop` to end training after the next step when that step is a multiple of resume_every."""

        def __init__(self, stop):
            super().__init__()
            self.stop = stop

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.g_optimizer.iterations.numpy())
            if (step + 1) % resume_every == 0 and step + 1 < steps:
                self.stop.request(f"resume every {resume_every} steps")

    os.makedirs(directory, exist_ok=True)
    while True:
        stop = callbacks.StopOnRequest() if resume_every else None
        try:
            result = experiment.run(project_config(seed, steps, overrides), directory, verbose=0, stop=stop,
                                    extra_callbacks=[Snapshots(), *([StopEvery(stop)] if stop else [])])
            break
        except experiment.TrainingStopped:
            continue  # The checkpoint is at the stop: resume from it.
    assert result.steps == steps, (result.steps, steps)


def train_project_loop(directory, seed, steps, snapshot_steps, overrides):
    """The default experiment's compiled GAN, as `experiment.run` builds it (`variants.build`), stepped by a plain
    loop as the peer is: its `train_step` in one tf.function over `_dataset`'s batches, no `fit`, no callbacks,
    one step per call, the peer's checkpoint interval, keeping snapshots.

    Beside `train_project` it tells a difference in the step from one in what surrounds it in `experiment.run`.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_course import variants  # pylint: disable=import-outside-toplevel

    model = variants.build(project_config(seed, steps, overrides), (SIZE, SIZE, 1), num_classes=10,
                           total_steps=steps)
    model.g_optimizer.build(model.generator.trainable_variables)  # Before a restore, as fit() would.
    model.d_optimizer.build(model.discriminator.trainable_variables)
    seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="seconds")
    checkpoint = model.checkpoint(seconds=seconds)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(directory, "checkpoints"), max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    step = int(model.g_optimizer.iterations.numpy())
    train_step = tf.function(model.train_step)
    batches = iter(_dataset(seed, step))
    start = time.perf_counter()
    while step < steps:
        train_step(next(batches))
        step += 1
        if step in snapshot_steps or step % CHECKPOINT_EVERY == 0:
            seconds.assign_add(time.perf_counter() - start)  # The benchmark's own writes stay off the clock.
            if step in snapshot_steps:
                path = _snapshot_path(directory, step, "keras")
                model.sampler.save(path)
            manager.save(checkpoint_number=step)
            if step in snapshot_steps:
                _record_snapshot(directory, step, float(seconds.numpy()), path)
            start = time.perf_counter()


# ----------------------------------------------------------------------------- The PyTorch peer.


def train_torch(directory, seed, steps, snapshot_steps, log_every=50):
    """The tutorial's loop (torch_peers.dcgan_step_fn) on the project's batches, resuming, keeping snapshots."""
    import torch  # pylint: disable=import-outside-toplevel
    import torch_peers  # pylint: disable=import-outside-toplevel

    torch.manual_seed(seed)
    state = torch_peers.DcganState(batch_size=BATCH, nz=LATENT, nc=1)
    checkpoint = os.path.join(directory, "checkpoint.pt")
    step, seconds = 0, 0.0
    if os.path.exists(checkpoint):
        saved = torch.load(checkpoint, weights_only=False)
        state.load_state_dict(saved["state"])
        torch.set_rng_state(saved["torch_rng"])
        step, seconds = saved["step"], saved["seconds"]
    batches = _dataset(seed, step).as_numpy_iterator()  # Continued on resume, as the project's runs are.
    os.makedirs(directory, exist_ok=True)  # For the checkpoint, which may come before the first snapshot.
    start = time.perf_counter()
    while step < steps:
        images = next(batches)
        images = images[0] if isinstance(images, tuple) else images
        err_d, err_g, d_x, d_g_z1, d_g_z2 = state.step(torch.from_numpy(images.transpose(0, 3, 1, 2).copy()))
        step += 1
        if log_every and step % log_every == 0:
            print(f"[{step}/{steps}]\tLoss_D: {err_d:.4f}\tLoss_G: {err_g:.4f}\tD(x): {d_x:.4f}\t"
                  f"D(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}", flush=True)
        if step in snapshot_steps or step % CHECKPOINT_EVERY == 0:
            seconds += time.perf_counter() - start  # The benchmark's own writes stay off the clock.
            if step in snapshot_steps:
                path = _snapshot_path(directory, step, "pt")
                torch.save(state.generator.state_dict(), path)
            torch.save({"state": state.state_dict(), "torch_rng": torch.get_rng_state(), "step": step,
                        "seconds": seconds}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)  # A kill mid-write keeps the previous checkpoint.
            if step in snapshot_steps:
                _record_snapshot(directory, step, seconds, path)
            start = time.perf_counter()


# ----------------------------------------------------------------------------- Scoring.


def load_snapshot(directory, snapshot, side, training=False):
    """A snapshot as a `trained.TrainedGenerator`; `training` samples with BatchNorm's batch statistics."""
    from tfgan_course import spec as spec_lib  # pylint: disable=import-outside-toplevel
    from tfgan_course import trained  # pylint: disable=import-outside-toplevel

    spec = spec_lib.GeneratorSpec(inputs=(spec_lib.latent_input(LATENT),),
                                  outputs=(spec_lib.output_for((SIZE, SIZE, 1)),), family="dcgan",
                                  variant="plain", dataset="fashion_mnist")
    mode = "training" if training else "inference"
    description = f"{side} {os.path.basename(snapshot['path'])} of {directory} ({mode} mode)"
    return trained.TrainedGenerator(spec, description, _sampler(snapshot["path"], side, training))


def _sampler(path, side, training):
    if side == "project":
        import keras  # pylint: disable=import-outside-toplevel

        generator = keras.models.load_model(path)
        return lambda inputs: generator(inputs["z"], training=training).numpy()
    import torch  # pylint: disable=import-outside-toplevel
    import torch_peers  # pylint: disable=import-outside-toplevel

    generator = torch_peers.Generator(nz=LATENT, nc=1)
    generator.load_state_dict(torch.load(path))
    generator.train(training)

    def run(inputs):
        with torch.no_grad():
            z = torch.from_numpy(np.asarray(inputs["z"], np.float32)).view(-1, LATENT, 1, 1)
            return generator(z).numpy().transpose(0, 2, 3, 1)

    return run


# ----------------------------------------------------------------------------- One step, same weights.


@dataclasses.dataclass
class StepComparison:
    """One training step of each side from the same weights, batch and z."""

    losses: dict  # {"torch": (d_loss, g_loss), "project": (d_loss, g_loss)}
    forward_difference: float  # max |G_torch(z) - G_project(z)| before the step
    moved_apart: dict  # {layer: share of weights whose updates differ by more than 1e-5}


def check_step(batch_size=16, seed=0):
    """Copies the peer's initial weights into the project's networks and runs one step of each."""
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import torch  # pylint: disable=import-outside-toplevel
    import torch_peers  # pylint: disable=import-outside-toplevel

    from tfgan_course import gan as gan_lib  # pylint: disable=import-outside-toplevel
    from tfgan_course.models import dcgan  # pylint: disable=import-outside-toplevel

    torch.manual_seed(seed)
    state = torch_peers.DcganState(batch_size=batch_size, nz=LATENT, nc=1)
    generator = dcgan.generator((SIZE, SIZE, 1), LATENT, seed=seed)
    discriminator = dcgan.discriminator((SIZE, SIZE, 1), seed=seed)
    copy_weights(state.generator, generator)
    copy_weights(state.discriminator, discriminator)

    rng = np.random.default_rng(seed)
    real = rng.uniform(-1, 1, (batch_size, SIZE, SIZE, 1)).astype(np.float32)
    z = rng.standard_normal((batch_size, LATENT)).astype(np.float32)

    class FixedNoise(gan_lib.GAN):
        def sample_z(self, batch_size):
            return tf.constant(z)

    model = FixedNoise(generator, discriminator, LATENT)
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    state.generator.eval()
    with torch.no_grad():
        before = state.generator(torch.from_numpy(z).view(-1, LATENT, 1, 1)).numpy().transpose(0, 2, 3, 1)
    state.generator.train()
    forward = float(np.abs(before - generator(z, training=False).numpy()).max())
    err_d, err_g, *_ = state.step(torch.from_numpy(real.transpose(0, 3, 1, 2).copy()), noise=torch.from_numpy(z))
    logs = model.train_step(tf.constant(real))
    moved = {}
    for network, keras_model in ((state.generator, generator), (state.discriminator, discriminator)):
        for theirs, ours in zip(_convolutions(network), _keras_convolutions(keras_model)):
            difference = np.abs(_to_keras(theirs.weight) - ours.kernel.numpy())
            moved[f"{keras_model.name}/{ours.name}"] = float((difference > 1e-5).mean())
    return StepComparison({"torch": (err_d, err_g), "project": (float(logs["d_loss"]), float(logs["g_loss"]))},
                          forward, moved)


def copy_weights(network, keras_model):
    """A torch_peers network's weights (convolutions and BatchNorm) into the project's Keras twin."""
    import keras  # pylint: disable=import-outside-toplevel
    import torch  # pylint: disable=import-outside-toplevel

    for theirs, ours in zip(_convolutions(network), _keras_convolutions(keras_model), strict=True):
        ours.kernel.assign(_to_keras(theirs.weight))
    norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    keras_norms = [layer for layer in keras_model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for theirs, ours in zip(norms, keras_norms, strict=True):
        for variable, value in ((ours.gamma, theirs.weight), (ours.beta, theirs.bias),
                                (ours.moving_mean, theirs.running_mean), (ours.moving_variance, theirs.running_var)):
            variable.assign(value.detach().numpy())


def _convolutions(network):
    import torch  # pylint: disable=import-outside-toplevel

    return [m for m in network.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]


def _keras_convolutions(keras_model):
    import keras  # pylint: disable=import-outside-toplevel

    return [layer for layer in keras_model.layers
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]


def _to_keras(weight):
    """A torch kernel ([out, in, h, w] for Conv2d, [in, out, h, w] for ConvTranspose2d) in Keras' [h, w, ., .]."""
    return weight.detach().numpy().transpose(2, 3, 1, 0)
