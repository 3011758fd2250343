"""One loader of a trained generator: a model in training, a run's last checkpoint, or an export.

    generator = trained.load(workdir="runs/dcgan")            # or export_dir=".../export/dcgan_fashion_mnist"
    generator.spec                                             # what it takes and gives (spec.GeneratorSpec)
    images = generator.sample(16, seed=0)                      # float32 [16, H, W, C] in [-1, 1]
    z = generator.latents_for_seeds([3, 7])                    # the latent vectors two seeds name
    images = generator.images({"z": z})                        # explicit inputs, by name
    images = generator.prompted(["a dark coat"], seed=0)       # a text-to-image generator's prompts

Every consumer (evaluate, explore, the FID callback) goes through this module
and reads what a generator takes from its spec alone. A run's spec is
<workdir>/checkpoints/generator.json, an export's assets.extra/generator.json.
Runs and exports written before specs existed still load: a run's spec is what
its flags.cfg builds, an export's is read from its signatures (and the facts
its older generator.json recorded: classes and latent distribution; z ~ N(0, I)
where there are none).
"""

import dataclasses
import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf
from absl import logging

from serving import layout
from tfgan_course import config as config_lib
from tfgan_course import data, inpainting, latent, toy, variants
from tfgan_course import spec as spec_lib

CHECKPOINTS = spec_lib.CHECKPOINTS


@dataclasses.dataclass(frozen=True)
class TrainedGenerator:
    """A generator to sample, score, explore or serve.

    Attributes:
      spec: what it takes and gives.
      description: what it is, for messages and reports ("checkpoint runs/x/checkpoints/ckpt-9").
      run: fn({input name: array}) -> its main output, numpy float32 [N, ...].
      reverse: a CycleGAN's other direction (F: B -> A) as a TrainedGenerator, else None.
    """

    spec: spec_lib.GeneratorSpec
    description: str
    run: Callable[[dict], np.ndarray]
    reverse: "TrainedGenerator | None" = None

    def translate(self, images) -> np.ndarray:
        """A translator's images float32 [N, H, W, Cin] in [-1, 1] -> float32 [N, H, W, Cout] in [-1, 1]."""
        image_input = self.spec.input("image")
        if image_input is None:
            raise ValueError(f"{self.description} is no image-to-image translator: it takes "
                             f"{[i.name for i in self.spec.inputs]}.")
        return self.images({image_input.name: images})

    def inpaint(self, images, mask) -> np.ndarray:
        """An inpainter's completions: images float32 [N, H, W, C] in [-1, 1] with mask float32 [N or 1, H, W, 1]
        (1 = missing) -> float32 [N, H, W, C], its prediction in the hole and the known pixels bit-exact."""
        if not self.spec.inpaints:
            raise ValueError(f"{self.description} is no inpainter: it takes {[i.name for i in self.spec.inputs]}, "
                             "not an image and its mask.")
        images = np.asarray(images, np.float32)
        mask = np.broadcast_to(np.asarray(mask, np.float32), (*images.shape[:3], 1))
        predicted = self.images({self.spec.input("image").name: images, self.spec.input("mask").name: mask})
        return inpainting.composite(images, mask, predicted)

    def images(self, inputs: dict) -> np.ndarray:
        """{input name: array [N, ...]} (every input of the spec) -> float32 [N, ...] (images in [-1, 1])."""
        missing = [i.name for i in self.spec.inputs if i.name not in inputs]
        if missing:
            raise ValueError(f"{self.description} takes inputs {[i.name for i in self.spec.inputs]}; "
                             f"missing {missing}.")
        return np.asarray(self.run(inputs), np.float32)

    def sample(self, num_samples: int, seed: int = 0, labels=None) -> np.ndarray:
        """num_samples outputs drawn from one seed (`latent.draw_inputs`), float32 [N, ...].

        `labels`: a conditional generator's classes (int or int [N]; None draws them from
        the seed); ignored by an unconditional one, so a caller can pass the real data's.
        """
        if self.spec.input("text") is not None:
            raise ValueError(f"{self.description} makes images from text: draw them with prompted(prompts, seed).")
        labels = labels if self.spec.conditional else None
        return self.images(latent.draw_inputs(self.spec.inputs, num_samples, seed, labels))

    def prompted(self, prompts, seed: int = 0) -> np.ndarray:
        """A text-to-image generator's images of prompts (str [N]), the latents drawn from one seed: float32 [N, ...]."""
        text = self.spec.input("text")
        if text is None:
            raise ValueError(f"{self.description} takes no text: it takes {[i.name for i in self.spec.inputs]}.")
        inputs = latent.draw_inputs([self.spec.latent], len(prompts), seed)
        return self.images({**inputs, text.name: np.array([str(p).encode() for p in prompts], dtype=object)})

    def latents_for_seeds(self, seeds) -> np.ndarray:
        """seeds int [N] -> float32 [N, D]: the latent vector each seed names (the export's `sample` z)."""
        if self.spec.latent is None:
            raise ValueError(f"{self.description} takes no latent vector: seeds name nothing.")
        return latent.seeded_latents(self.spec.latent, np.asarray(seeds, np.int64)).numpy()


def from_model(model, description: str = "the model in training") -> TrainedGenerator:
    """A `gan.GAN` built by `variants.build` (its `spec`), sampled from its `sampler` (the EMA generator if any),
    with a CycleGAN's `reverse_sampler` as `reverse`."""
    reverse = None
    if model.reverse_sampler is not None:
        reverse_spec = spec_lib.GeneratorSpec.from_json(json.dumps(model.spec.state["reverse"]))
        reverse = TrainedGenerator(reverse_spec, f"{description}, reverse direction",
                                   lambda inputs: model.reverse_sampler(inputs["images"], training=False).numpy())
    return TrainedGenerator(model.spec, description, model.images, reverse)


def sample_batches(generator: TrainedGenerator, num_samples: int, seed: int, labels=None,
                   batch_size: int = 500) -> np.ndarray:
    """generator.sample(k, seed + i, labels[...]) over batches, concatenated: float32 [num_samples, ...]."""
    batches = [generator.sample(min(batch_size, num_samples - start), seed + i,
                                None if labels is None else labels[start:start + batch_size])
               for i, start in enumerate(range(0, num_samples, batch_size))]
    return np.concatenate(batches)[:num_samples]


def load(workdir: str | None = None, export_dir: str | None = None, num_classes: int = 0) -> TrainedGenerator:
    """A training run's last checkpoint (`workdir`) or an export (`export_dir`): exactly one of them.

    `num_classes` is for a conditional export older than generator.json, which does not record it.
    """
    if bool(workdir) == bool(export_dir):
        raise ValueError("pass exactly one of --workdir (a training run) and --export_dir (an exported model).")
    if workdir and num_classes:
        raise ValueError("--num_classes is for --export_dir; a training run knows its classes.")
    return from_run(workdir) if workdir else from_export(export_dir, num_classes)


# A training run.

def run_config(workdir: str) -> config_lib.Config:
    """The Config a training run wrote to <workdir>/flags.cfg."""
    path = os.path.join(workdir, "flags.cfg")
    if not os.path.isfile(path):
        raise ValueError(f"{workdir} is not a training run: it has no flags.cfg. Pass the --workdir of "
                         "python -m tfgan_course.train, or --export_dir=... for an exported model.")
    with open(path) as f:
        return variants.without_foreign_options(config_lib.Config.from_flagfile(f.read()))


def restore_gan(workdir: str):
    """The GAN of a training run as its flags.cfg builds it, with its last checkpoint restored.

    Returns:
      (model, checkpoint path): the compiled `gan.GAN` (with its `spec`) and the checkpoint.
    """
    config = run_config(workdir)
    latest = tf.train.latest_checkpoint(os.path.join(workdir, CHECKPOINTS))
    if latest is None:
        raise ValueError(f"{workdir}/{CHECKPOINTS} holds no checkpoint yet: train first (or wait for the first "
                         "epoch to end), or use an export with --export_dir.")
    saved = spec_lib.read(os.path.join(workdir, CHECKPOINTS))
    if saved is not None:
        shape, num_classes = saved.output.shape, saved.num_classes
    else:
        shape, num_classes = _legacy_run_shapes(config)
    # steps_per_epoch only gives the optimizers the checkpoint's structure (with --lr_decay_epochs, a
    # schedule instead of a learning-rate variable); its value does not matter for sampling.
    model = variants.build(config, shape, num_classes=num_classes, steps_per_epoch=1, **_translator_data(saved))
    try:
        model.checkpoint().restore(latest).expect_partial()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        raise ValueError(
            f"{latest} does not fit the networks that {workdir}/flags.cfg builds today (written by another "
            f"version of --model={config.model}?): {type(error).__name__}: {str(error)[:200]} Load the run's "
            "export with --export_dir=... instead, or train it again.") from error
    return model, latest


def _translator_data(saved):
    """variants.build's data_kind and shapes for a translator's spec ({} for other generators, an inpainter's
    too: it trains on images): a spec with a reverse direction is a CycleGAN's (unpaired domains a and b), else a
    pix2pix's (pairs)."""
    if saved is None or not saved.translates or saved.inpaints:
        return {}
    source, target = saved.input("image").shape, saved.output.shape
    if "reverse" in saved.state:
        return {"data_kind": "unpaired", "shapes": {"a": source, "b": target}}
    return {"data_kind": "paired", "shapes": {"input": source, "target": target}}


def _legacy_run_shapes(config):
    """(example shape, number of classes) of a run older than specs, from its flags and (if conditional) data."""
    if config.dataset.startswith("toy:"):
        shape = tuple(toy.sample(config.dataset.partition(":")[2], 1, seed=0).shape[1:])
    else:
        shape = (config.image_size, config.image_size, config.channels)
    num_classes = 0
    if variants.VARIANTS[variants.variant_name(config)].family_kind == "conditional":
        # Only such a run needs its data's classes; a run with a spec records them.
        _, info = data.make_dataset(config.dataset, image_size=config.image_size, channels=config.channels,
                                    batch_size=1, data_dir=config.data_dir or None, repeat=False)
        num_classes = info.num_classes
    return shape, num_classes


def from_run(workdir: str) -> TrainedGenerator:
    """The last checkpoint of a training run, as its flags.cfg built it (the EMA generator if any)."""
    model, latest = restore_gan(workdir)
    return from_model(model, f"checkpoint {latest}")


# An export.

def export_version_dir(export_dir: str) -> str:
    """`export_dir` if it is a SavedModel, else the newest integer version of the model directory `export_dir`."""
    if os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
        return export_dir
    versions = layout.version_numbers(export_dir)
    if not versions:
        raise ValueError(f"{export_dir} is neither a SavedModel (no saved_model.pb) nor a model directory with "
                         "integer versions: pass <export_base>/<model_name> or one of its versions.")
    return os.path.join(export_dir, str(max(versions)))


def from_export(export_dir: str, num_classes: int = 0) -> TrainedGenerator:
    """An exported generator (a version directory, or a model directory: its newest version), through
    its `serving_default` signature. `num_classes`: see `load`."""
    version_dir = export_version_dir(export_dir)
    serve = tf.saved_model.load(version_dir).signatures["serving_default"]
    generator_spec = read_export_spec(version_dir, serve, num_classes)
    output = generator_spec.output.name

    def run(inputs):
        feed = {i.name: tf.constant(inputs[i.name], tf.as_dtype(i.dtype)) for i in generator_spec.inputs}
        return serve(**feed)[output].numpy()

    reverse = None
    if "reverse" in generator_spec.state:
        serve_reverse = tf.saved_model.load(version_dir).signatures["reverse"]
        reverse = TrainedGenerator(
            spec_lib.GeneratorSpec.from_json(json.dumps(generator_spec.state["reverse"])),
            f"export {version_dir}, reverse direction",
            lambda inputs: serve_reverse(images=tf.constant(inputs["images"], tf.float32))["images"].numpy())
    return TrainedGenerator(generator_spec, f"export {version_dir}", run, reverse)


def read_export_spec(version_dir: str, serve=None, num_classes: int = 0) -> spec_lib.GeneratorSpec:
    """An export's spec: its assets.extra/generator.json, or for an older export what its signatures say
    (with `num_classes` for a conditional one that does not record them)."""
    saved = spec_lib.read(os.path.join(version_dir, "assets.extra"))
    if saved is not None:
        if num_classes and not saved.conditional:
            raise ValueError(f"--num_classes is for conditional exports; {version_dir} takes no label.")
        return saved
    serve = serve or tf.saved_model.load(version_dir).signatures["serving_default"]
    facts = _legacy_facts(version_dir)
    _, signature_inputs = serve.structured_input_signature
    if "z" not in signature_inputs:
        raise ValueError(f"{version_dir}: its serving_default takes {sorted(signature_inputs)}, not z, and it has "
                         "no generator.json saying what they are.")
    if "latent_distribution" not in facts:
        logging.warning("%s records no latent distribution (an export older than generator.json): z ~ N(0, I) "
                        "is assumed.", version_dir)
    inputs = [spec_lib.latent_input(int(signature_inputs["z"].shape[-1]), facts.get("latent_distribution", "normal"))]
    if num_classes and "label" not in signature_inputs:
        raise ValueError(f"--num_classes is for conditional exports; {version_dir} takes no label.")
    if "label" in signature_inputs:
        num_classes = num_classes or int(facts.get("num_classes", 0))
        if num_classes < 2:
            raise ValueError(f"{version_dir} is conditional but does not record its number of classes (an export "
                             "older than generator.json): pass --num_classes (e.g. --num_classes=10 for MNIST).")
        inputs.append(spec_lib.label_input(num_classes))
    output = spec_lib.output_for(serve.structured_outputs["images"].shape[1:])
    return spec_lib.GeneratorSpec(inputs=inputs, outputs=(output,), family=facts.get("model", ""),
                                  dataset=facts.get("dataset", ""))


def _legacy_facts(version_dir):
    """The facts an export written before specs recorded in generator.json ({} before that file)."""
    path = os.path.join(version_dir, "assets.extra", spec_lib.FILE_NAME)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)
