"""Generators as SavedModels in TensorFlow Serving's layout: <export_base>/<model_name>/<version>/.

The signatures depend on what the generator takes (`signatures.py`: `serving_default`, `sample`
and `interpolate` for a generator of latent vectors; `serving_default` and `translate_png`, plus
`reverse` and `reverse_png` for a CycleGAN, and `examples` when given some, for an image-to-image
translator; an upscaler adds `upscale` and `upscale_png`, at any input size; an inpainter answers
`serving_default` and `inpaint`, images and mask -> the completed images, its PNG twin `inpaint_png` and
`examples`).

Beside the SavedModel: `assets.extra/tf_serving_warmup_requests` (one PredictionLog per
signature and per output filter `serving.client` sends, e.g. `sample`'s `z` alone, replayed by
the server at load so the first user request is not the slow one),
`assets.extra/generator.json` (the generator's spec, `spec.py`: what the signatures cannot say,
such as the number of classes, the latent distribution and InfoGAN's code layout; TF Serving
ignores it, the project's tools read it through `trained.load`),
`assets.extra/generator.sha256` (`generator_digest`: the weights and the spec, so exporting an
unchanged generator again reuses that version instead of writing an identical one),
and, in <export_base>, `models.config` (every model there) and `batching.config`, so
`tensorflow_model_server --model_config_file=<export_base>/models.config --enable_batching
--batching_parameters_file=<export_base>/batching.config` serves the directory as it is.

A version is written to a hidden temporary directory beside it (`.tmp-<version>-<pid>@<host>`),
checked, fsynced and renamed into place, so a polling model server (or any reader) never sees half
an export, even after a power loss. A crashed exporter's temporary directory is removed by the next
export into the same model directory: once its process is gone (a process of this host) or after a
day (any host); a live exporter's is never touched.

What the exporter and the model server must agree on (model names, version directories,
the warmup file, models.config, reading signature defs) is `serving.layout`, the only
module of `serving` this one uses: the export is checked with the server's own reader.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from serving import layout
from tfgan_course import fileio, signatures
from tfgan_course import spec as spec_lib
from tfgan_course.signatures import MAX_INTERPOLATION_STEPS, to_uint8  # noqa: F401  # Part of this API.

PREDICT_METHOD = layout.PREDICT_METHOD
WARMUP_FILE = layout.WARMUP_FILE
MODELS_CONFIG = layout.MODELS_CONFIG
BATCHING_CONFIG = layout.BATCHING_CONFIG
DIGEST_FILE = os.path.join("assets.extra", "generator.sha256")
# Part of every digest: raise it when the signatures change, so that an unchanged generator is
# exported again with the new ones instead of being skipped as equal to its old export.
_DIGEST_FORMAT = 2  # 2: a translator's examples signatures.
# `.tmp-<version>-<pid>@<host>`; `@<host>` is absent in the temporary directories of older code.
_TEMP_DIR = re.compile(r"\.tmp-\d+-(?P<pid>\d+)(?:@(?P<host>.*))?")
_STALE_TEMP_SECONDS = 24 * 3600  # No export takes a day: a temporary directory this old is a crash's.
_WRITING = set()  # The temporary directories this process is writing now (in any thread).
# TF Serving's REST API cannot encode half floats; a mixed-precision G must be cast.
_HALF_DTYPES = (tf.float16.as_datatype_enum, tf.bfloat16.as_datatype_enum)


def next_version(model_dir: str) -> int:
    """1 + the largest integer version under `model_dir` (1 when there is none)."""
    return max(layout.version_numbers(model_dir), default=0) + 1


def export_generator(generator: keras.Model, export_base: str, model_name: str,
                     spec: spec_lib.GeneratorSpec | None = None, version: int | None = None, num_classes: int = 0,
                     latent_distribution: str = "normal", skip_unchanged: bool = True,
                     reverse: keras.Model | None = None, examples=None, reverse_examples=None) -> str:
    """Writes `generator` as version `version` (default: the next one) of `model_name`, with its spec.

    With the default version, a generator whose weights and spec equal the latest version's
    (`generator_digest`) is not written again: that version is returned, and a log line says so.

    Args:
      generator: keras.Model, `z` float32 [B, input_dim] (or [z, label int32 [B]]) ->
        images [B, H, W, C] in [-1, 1]. Its inputs are named (`keras.Input(name="z")`); the
        signatures take them by those names. Or a translator: images [B, H, W, Cin] in
        [-1, 1] -> [B, H, W, Cout] (`spec.translates`), or [B, s H, s W, Cout] for an upscaler; or an
        inpainter: [images [B, H, W, C], mask [B, H, W, 1]] -> its prediction [B, H, W, C] (`spec.inpaints`).
      export_base: the directory TF Serving's --model_base_path points above.
      model_name: TF Serving model name (a directory name).
      spec: what the generator takes and gives (`gan.GAN.spec`): the `sample` signature draws
        each seed's latent vector as it says (`latent.seeded_latents`), `interpolate` takes
        its path (slerp for Gaussian z, lerp for uniform z), labels are checked against its
        classes, and it is written to assets.extra/generator.json. None: a spec read off a
        bare Keras generator's named inputs, with `num_classes` and `latent_distribution`.
      version: integer version; an existing one is an error.
      num_classes, latent_distribution: for a generator without a spec (see `spec_of`).
      skip_unchanged: False writes a new version even when it equals the latest one.
      reverse: a CycleGAN's other direction, [B, H, W, Cout] -> [B, H, W, Cin], served as the
        `reverse` and `reverse_png` signatures; the spec's state records it ("reverse").
      examples: a translator's (or an inpainter's) held-out inputs, uint8 or float in [-1, 1] [N, H, W, Cin], stored
        in the export and served by its `examples` signature (index -> PNG files), so a client
        that talks only REST, such as the demo page, has test images to translate.
      reverse_examples: the same for the reverse direction ([N, H, W, Cout]; `reverse_examples`).

    Returns:
      The path of the new version directory, or of the latest one when that one was equal.

    Raises:
      ValueError: a model name the server would refuse, a spec that does not fit the
        generator (a conditional one without num_classes), or signatures TF Serving cannot serve.
    """
    spec = spec or spec_of(generator, num_classes, latent_distribution)
    kind = signatures.SIGNATURES[signatures.kind_of(spec)]
    examples = (signatures.example_pixels(examples), signatures.example_pixels(reverse_examples))
    kind.check(generator, spec, reverse, examples)
    try:
        layout.check_model_name(model_name)  # The server's own rule: the name is a directory and a URL part.
    except ValueError as e:
        raise ValueError(f"Cannot export as model name {model_name!r}: {e}") from None
    model_dir = os.path.join(export_base, model_name)
    os.makedirs(model_dir, exist_ok=True)
    _remove_stale_temp_dirs(model_dir)
    digest = generator_digest(generator, spec, reverse, examples)
    if version is None and skip_unchanged:
        equal = _latest_if_equal(model_dir, digest)
        if equal is not None:
            logging.info("Not exporting a new version of %s: the generator's weights and spec equal version "
                         "%s's (%s); serving that one.", model_name, os.path.basename(equal), equal)
            layout.write_server_configs(export_base)
            return equal
    version = next_version(model_dir) if version is None else int(version)
    final_dir = os.path.join(model_dir, str(version))
    if os.path.exists(final_dir):
        raise FileExistsError(f"Export {final_dir} already exists; choose another version or export base.")
    # Not an integer name, so TF Serving ignores it while it is being written.
    temp_dir = os.path.join(model_dir, f".tmp-{version}-{os.getpid()}@{_host()}")
    shutil.rmtree(temp_dir, ignore_errors=True)
    _WRITING.add(temp_dir)
    try:
        kind.archive(generator, spec, reverse, examples).write_out(temp_dir, verbose=False)
        check_signatures(temp_dir)
        _write_warmup_requests(temp_dir, model_name, kind.warmups(generator, spec, reverse, examples))
        spec.write(os.path.join(temp_dir, "assets.extra"))
        with open(os.path.join(temp_dir, DIGEST_FILE), "w") as f:
            f.write(digest + "\n")
        fileio.rename_durably(temp_dir, final_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
        _WRITING.discard(temp_dir)
    layout.write_server_configs(export_base)
    return final_dir


def generator_digest(generator: keras.Model, spec: spec_lib.GeneratorSpec, reverse: keras.Model | None = None,
                     examples=(None, None)) -> str:
    """The sha256 (hex) of what an export of `generator` serves: its spec, its layers and all its weights
    (and those of a translator's `reverse` generator), and a translator's uint8 examples (forward, reverse).

    Layers count by class and configuration and weights by position, shape, dtype and value, never
    by name: Keras numbers layer names by how many a process built before, so two builds of one
    generator with equal weights have the same digest.
    """
    digest = hashlib.sha256(f"tfgan_course export {_DIGEST_FORMAT}\n{spec.to_json()}\n".encode())
    for network in (generator, reverse):
        if network is None:
            continue
        for layer in network.layers:
            config = {key: value for key, value in layer.get_config().items() if key != "name"}
            digest.update(f"{type(layer).__name__} {json.dumps(config, sort_keys=True, default=repr)}\n".encode())
        for weight in network.weights:
            value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
            digest.update(f"{value.dtype} {value.shape}\n".encode())
            digest.update(value.tobytes())
    for name, pixels in zip(("examples", "reverse_examples"), examples):
        if pixels is not None:
            digest.update(f"{name} {pixels.shape}\n".encode())
            digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def _latest_if_equal(model_dir, digest):
    """The latest version directory of `model_dir` if its digest is `digest`; None otherwise (or without one)."""
    versions = layout.version_numbers(model_dir)
    if not versions:
        return None
    latest = os.path.join(model_dir, str(versions[-1]))
    try:
        with open(os.path.join(latest, DIGEST_FILE)) as f:
            return latest if f.read().strip() == digest else None
    except OSError:
        return None  # Written before digests (or by another tool): never skipped.


def _host():
    """This machine's name as it goes into a temporary directory's name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "localhost"


def _remove_stale_temp_dirs(model_dir):
    """Removes the temporary directories that crashed exports left in `model_dir` (see the module docstring)."""
    for name in os.listdir(model_dir):
        match = _TEMP_DIR.fullmatch(name)
        path = os.path.join(model_dir, name)
        if not match or not os.path.isdir(path):
            continue
        try:
            age = time.time() - os.path.getmtime(path)
        except OSError:
            continue  # Renamed or removed meanwhile.
        pid, host = int(match["pid"]), match["host"]
        if path in _WRITING:
            continue  # This process's own export, in another thread.
        if age > _STALE_TEMP_SECONDS:
            reason = f"written {age / 3600:.0f} hours ago"
        elif host not in (None, _host()):
            continue  # Another host's: its process cannot be checked from here.
        elif pid == os.getpid():
            # An earlier process that had this id (a container's entry point is always process 1).
            reason = f"no export of process {pid} is writing it"
        elif not _process_alive(pid):
            reason = f"its process {pid} is gone"
        else:
            continue  # A live export of another process.
        shutil.rmtree(path, ignore_errors=True)
        logging.info("Removed %s, a crashed export's temporary directory (%s).", path, reason)


def _process_alive(pid):
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate it there: rely on the age rule.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # Another user's process.
    return True


def spec_of(generator: keras.Model, num_classes: int = 0, latent_distribution: str = "normal"):
    """The spec of a bare Keras generator: its latent `z` ~ `latent_distribution` (no codes), a `label`
    input of `num_classes` classes if it has one, or an image input (a translator's [B, H, W, C]),
    and its output (images if 4-D, else points)."""
    inputs = []
    for tensor in generator.inputs:
        if len(tensor.shape) == 4:  # A translator's images.
            inputs.append(spec_lib.image_input(tensor.shape[1:], name=tensor.name))
        elif tensor.name == "label":
            if num_classes < 2:
                raise ValueError(f"A conditional generator (it takes a label) needs num_classes >= 2, got "
                                 f"{num_classes}: pass the number of classes its labels index.")
            inputs.append(spec_lib.label_input(num_classes))
        else:
            inputs.append(spec_lib.latent_input(int(tensor.shape[-1]), latent_distribution, name=tensor.name))
    return spec_lib.GeneratorSpec(inputs=inputs, outputs=(spec_lib.output_for(generator.outputs[0].shape[1:]),))


def check_signatures(version_dir: str) -> None:
    """Raises ValueError unless every signature is one TF Serving's Predict API can serve.

    Each needs method `tensorflow/serving/predict`, a dynamic batch dimension (-1) first on
    every input and output, and no half-precision output (REST cannot encode it).
    """
    try:
        # Read as the embedded server reads a version, so what passes here is what it loads.
        signatures = layout.read_signature_defs(version_dir)
    except (FileNotFoundError, ValueError) as e:
        raise ValueError(f"{version_dir} is not servable: {e}") from None
    problems = []
    if "serving_default" not in signatures:
        problems.append("no serving_default signature")
    for key, signature in sorted(signatures.items()):
        if signature.method_name != PREDICT_METHOD:
            problems.append(f"{key}: method {signature.method_name!r}, not {PREDICT_METHOD!r}")
        for kind, tensors in (("input", signature.inputs), ("output", signature.outputs)):
            for alias, info in sorted(tensors.items()):
                dims = [dim.size for dim in info.tensor_shape.dim]
                if info.tensor_shape.unknown_rank or not dims or dims[0] != -1:
                    problems.append(f"{key}: {kind} {alias!r} has shape {dims}, not a dynamic batch dimension first")
                if kind == "output" and info.dtype in _HALF_DTYPES:
                    problems.append(f"{key}: output {alias!r} is half precision; cast it to float32")
    if problems:
        raise ValueError(f"{version_dir} is not servable by TF Serving's Predict API: " + "; ".join(problems))


def _write_warmup_requests(version_dir, model_name, requests):
    """PredictionLogs of [(signature, {input: tensor}, output_filter)], in the file TF Serving replays at load."""
    os.makedirs(os.path.join(version_dir, "assets.extra"), exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(version_dir, WARMUP_FILE)) as writer:
        for signature, inputs, output_filter in requests:
            request = predict_pb2.PredictRequest(output_filter=output_filter)
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def load_serving_fn(version_dir: str, signature: str = "serving_default"):
    """A signature of an export: e.g. fn(z=float32 [B, input_dim][, label=int32 [B]]) -> {"images": ...}."""
    return tf.saved_model.load(version_dir).signatures[signature]
