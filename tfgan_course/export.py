"""Generators as SavedModels in TensorFlow Serving's layout: <export_base>/<model_name>/<version>/.

Signature `serving_default`: `z` float32 [None, latent_dim] (and `label`
int32 [None] for a conditional generator) -> `images` float32 [None, H, W, C]
in [-1, 1]; the inputs are the generator's own named `keras.Input`s. A version is written to a hidden
temporary directory beside it and renamed into place, so a polling model
server (or any reader) never sees half an export.
"""

import os
import re
import shutil

import keras
import tensorflow as tf


def next_version(model_dir: str) -> int:
    """1 + the largest integer version under `model_dir` (1 when there is none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(name) for name in os.listdir(model_dir) if re.fullmatch(r"\d+", name)]
    return max(versions, default=0) + 1


def export_generator(generator: keras.Model, export_base: str, model_name: str, version: int | None = None) -> str:
    """Writes `generator` as version `version` (default: the next one) of `model_name`.

    Args:
      generator: keras.Model, z float32 [B, latent_dim] (or [z, label int32 [B]]) -> images
        [B, H, W, C] in [-1, 1].
      export_base: the directory TF Serving's --model_base_path points above.
      model_name: TF Serving model name (a directory name).
      version: integer version; an existing one is an error.

    Returns:
      The path of the new version directory.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_name or ""):
        raise ValueError(f"Invalid model name {model_name!r}: use letters, digits, '_', '-' and '.' only.")
    model_dir = os.path.join(export_base, model_name)
    version = next_version(model_dir) if version is None else int(version)
    final_dir = os.path.join(model_dir, str(version))
    if os.path.exists(final_dir):
        raise FileExistsError(f"Export {final_dir} already exists; choose another version or export base.")
    os.makedirs(model_dir, exist_ok=True)
    # Not an integer name, so TF Serving ignores it while it is being written.
    temp_dir = os.path.join(model_dir, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(temp_dir, ignore_errors=True)
    try:
        _archive(generator).write_out(temp_dir, verbose=False)
        os.rename(temp_dir, final_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return final_dir


def _archive(generator: keras.Model) -> keras.export.ExportArchive:
    archive = keras.export.ExportArchive()
    archive.track(generator)
    specs = [tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype, name=tensor.name) for tensor in generator.inputs]

    def generate(*inputs):
        # Mixed-precision generators compute in half; REST cannot return half.
        images = generator(inputs[0] if len(inputs) == 1 else list(inputs), training=False)
        return {"images": tf.cast(images, tf.float32)}

    archive.add_endpoint(name="serving_default", fn=generate, input_signature=specs)
    return archive


def load_serving_fn(version_dir: str):
    """The `serving_default` signature of an export: fn(z=float32 [B, latent_dim][, label=int32 [B]]) -> {"images": ...}."""
    return tf.saved_model.load(version_dir).signatures["serving_default"]
