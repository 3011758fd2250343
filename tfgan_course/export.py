"""Generators as SavedModels in TensorFlow Serving's layout: <export_base>/<model_name>/<version>/.

Signatures (method `tensorflow/serving/predict`, every input and output batched on a
dynamic first dimension; a conditional generator's signatures also take `label` int32 [-1]):

  serving_default  `z` float32 [-1, input_dim] -> `images` float32 [-1, H, W, C] in [-1, 1]
  sample           `seed` int64 [-1] -> `images_uint8` uint8 [-1, H, W, C],
                   `images_png_bytes` string [-1] (PNG; TF Serving's REST answers `_bytes`
                   outputs as base64) and `z` float32 [-1, input_dim], the generator input
                   the seed names (`seeded_inputs(seed)`, whatever its distribution), so a
                   client can start an interpolation at a seed's sample without redrawing
                   it. One image per seed, the same image for the same seed.
  interpolate      `z_start`, `z_end` float32 [-1, input_dim], `num_steps` int32 [-1] (the
                   same S >= 2 in every row) -> `images` float32 [-1, S, H, W, C] and
                   `images_png_bytes` string [-1, S]: the path between the two points, both
                   ends included (slerp for Gaussian z, lerp for uniform z).
A toy generator's points [B, dim] are answered as `images` float32 by all three (and `sample`
still answers `z`).

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

import functools
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
from tfgan_course import fileio, latent
from tfgan_course import spec as spec_lib

PREDICT_METHOD = layout.PREDICT_METHOD
WARMUP_FILE = layout.WARMUP_FILE
MODELS_CONFIG = layout.MODELS_CONFIG
BATCHING_CONFIG = layout.BATCHING_CONFIG
DIGEST_FILE = os.path.join("assets.extra", "generator.sha256")
MAX_INTERPOLATION_STEPS = 256
# Part of every digest: raise it when the signatures change, so that an unchanged generator is
# exported again with the new ones instead of being skipped as equal to its old export.
_DIGEST_FORMAT = 1
# `.tmp-<version>-<pid>@<host>`; `@<host>` is absent in the temporary directories of older code.
_TEMP_DIR = re.compile(r"\.tmp-\d+-(?P<pid>\d+)(?:@(?P<host>.*))?")
_STALE_TEMP_SECONDS = 24 * 3600  # No export takes a day: a temporary directory this old is a crash's.
_WRITING = set()  # The temporary directories this process is writing now (in any thread).
_LABEL_RANGE = "label must be a class in [0, %d)"
# TF Serving's REST API cannot encode half floats; a mixed-precision G must be cast.
_HALF_DTYPES = (tf.float16.as_datatype_enum, tf.bfloat16.as_datatype_enum)


def next_version(model_dir: str) -> int:
    """1 + the largest integer version under `model_dir` (1 when there is none)."""
    return max(layout.version_numbers(model_dir), default=0) + 1


def export_generator(generator: keras.Model, export_base: str, model_name: str,
                     spec: spec_lib.GeneratorSpec | None = None, version: int | None = None, num_classes: int = 0,
                     latent_distribution: str = "normal", skip_unchanged: bool = True) -> str:
    """Writes `generator` as version `version` (default: the next one) of `model_name`, with its spec.

    With the default version, a generator whose weights and spec equal the latest version's
    (`generator_digest`) is not written again: that version is returned, and a log line says so.

    Args:
      generator: keras.Model, `z` float32 [B, input_dim] (or [z, label int32 [B]]) ->
        images [B, H, W, C] in [-1, 1]. Its inputs are named (`keras.Input(name="z")`); the
        signatures take them by those names.
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

    Returns:
      The path of the new version directory, or of the latest one when that one was equal.

    Raises:
      ValueError: a model name the server would refuse, a spec that does not fit the
        generator (a conditional one without num_classes), or signatures TF Serving cannot serve.
    """
    spec = spec or spec_of(generator, num_classes, latent_distribution)
    _check_spec(generator, spec)
    try:
        layout.check_model_name(model_name)  # The server's own rule: the name is a directory and a URL part.
    except ValueError as e:
        raise ValueError(f"Cannot export as model name {model_name!r}: {e}") from None
    model_dir = os.path.join(export_base, model_name)
    os.makedirs(model_dir, exist_ok=True)
    _remove_stale_temp_dirs(model_dir)
    digest = generator_digest(generator, spec)
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
        _archive(generator, spec).write_out(temp_dir, verbose=False)
        check_signatures(temp_dir)
        _write_warmup_requests(temp_dir, model_name, generator)
        spec.write(os.path.join(temp_dir, "assets.extra"))
        with open(os.path.join(temp_dir, DIGEST_FILE), "w") as f:
            f.write(digest + "\n")
        fileio.rename_durably(temp_dir, final_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
        _WRITING.discard(temp_dir)
    layout.write_server_configs(export_base)
    return final_dir


def generator_digest(generator: keras.Model, spec: spec_lib.GeneratorSpec) -> str:
    """The sha256 (hex) of what an export of `generator` serves: its spec, its layers and all its weights.

    Layers count by class and configuration and weights by position, shape, dtype and value, never
    by name: Keras numbers layer names by how many a process built before, so two builds of one
    generator with equal weights have the same digest.
    """
    digest = hashlib.sha256(f"tfgan_course export {_DIGEST_FORMAT}\n{spec.to_json()}\n".encode())
    for layer in generator.layers:
        config = {key: value for key, value in layer.get_config().items() if key != "name"}
        digest.update(f"{type(layer).__name__} {json.dumps(config, sort_keys=True, default=repr)}\n".encode())
    for weight in generator.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{value.dtype} {value.shape}\n".encode())
        digest.update(value.tobytes())
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
    input of `num_classes` classes if it has one, and its output (images if 4-D, else points)."""
    inputs = []
    for tensor in generator.inputs:
        if tensor.name == "label":
            if num_classes < 2:
                raise ValueError(f"A conditional generator (it takes a label) needs num_classes >= 2, got "
                                 f"{num_classes}: pass the number of classes its labels index.")
            inputs.append(spec_lib.label_input(num_classes))
        else:
            inputs.append(spec_lib.latent_input(int(tensor.shape[-1]), latent_distribution, name=tensor.name))
    return spec_lib.GeneratorSpec(inputs=inputs, outputs=(spec_lib.output_for(generator.outputs[0].shape[1:]),))


def _check_spec(generator, spec):
    """A ValueError unless `spec` names the generator's inputs and its latent has z's width."""
    names = [tensor.name for tensor in generator.inputs]
    if [i.name for i in spec.inputs] != names:
        raise ValueError(f"The spec's inputs {[i.name for i in spec.inputs]} are not the generator's {names}.")
    if "z" not in names or spec.latent is None or spec.latent.name != "z":
        raise ValueError(f"The generator's inputs are named {names}; name its latent input 'z' "
                         "(keras.Input(..., name='z')): the signatures take inputs by name.")
    width = int(generator.inputs[names.index("z")].shape[-1])
    if spec.latent.size != width:
        raise ValueError(f"The spec's latent has {spec.latent.size} entries; the generator's z has {width}.")


def _archive(generator, spec) -> keras.export.ExportArchive:
    """The three signatures of `generator` (inputs named as `_check_spec` checked), drawn as `spec` says."""
    input_names = [tensor.name for tensor in generator.inputs]
    seeded_inputs = functools.partial(latent.seeded_latents, spec.latent)
    interpolation, num_classes = spec.interpolation, spec.num_classes
    z_spec = next(tf.TensorSpec([None, *t.shape[1:]], t.dtype, name="z") for t in generator.inputs if t.name == "z")
    extra_specs = [tf.TensorSpec([None, *t.shape[1:]], t.dtype, name=t.name) for t in generator.inputs
                   if t.name != "z"]

    def generate(z, extras):
        # Inputs in the generator's own order; outputs float32 (a mixed-precision G computes in half).
        by_name = dict(zip([spec.name for spec in extra_specs], extras), z=z)
        if "label" in by_name:
            # A one-hot of an out-of-range label is all zeros: an image of no class, not an error.
            label = by_name["label"]
            with tf.control_dependencies([tf.debugging.assert_non_negative(label, message=_LABEL_RANGE % num_classes),
                                          tf.debugging.assert_less(label, num_classes,
                                                                   message=_LABEL_RANGE % num_classes)]):
                by_name["label"] = tf.identity(label)
        inputs = [by_name[name] for name in input_names]
        images = generator(inputs[0] if len(inputs) == 1 else inputs, training=False)
        return tf.cast(images, tf.float32)

    def serving_default(z, *extras):
        return {"images": generate(z, extras)}

    # A toy generator makes points [B, dim], not pictures: its signatures answer them as floats.
    is_image = spec.makes_images

    def sample(seed, *extras):
        # The z the seed names is an output too: a client interpolating from a seed's sample
        # takes it from here instead of redrawing it (and knowing the latent distribution).
        z = tf.ensure_shape(tf.cast(seeded_inputs(seed), tf.float32), z_spec.shape)
        images = generate(z, extras)
        if not is_image:
            return {"images": images, "z": z}
        images = to_uint8(images)
        return {"images_uint8": images, "images_png_bytes": _encode_png(images), "z": z}

    def interpolate(z_start, z_end, num_steps, *extras):
        steps = num_steps[0]
        checks = [
            tf.debugging.assert_equal(num_steps, steps, message="interpolate: num_steps must be the same in every "
                                      "row of a request; send one request per step count"),
            tf.debugging.assert_greater_equal(steps, 2, message="interpolate: num_steps must be at least 2"),
            tf.debugging.assert_less_equal(steps, MAX_INTERPOLATION_STEPS,
                                           message=f"interpolate: num_steps must be at most {MAX_INTERPOLATION_STEPS}"),
        ]
        with tf.control_dependencies(checks):
            t = tf.linspace(0.0, 1.0, steps)
        path = latent.interpolate(interpolation, z_start, z_end, t)  # [B, S, D]
        rows = tf.shape(path)[0]
        flat_extras = [tf.repeat(extra, steps, axis=0) for extra in extras]  # row b's label for its S images
        images = generate(tf.reshape(path, [rows * steps, -1]), flat_extras)
        outputs = {"images": tf.reshape(images, tf.concat([[rows, steps], tf.shape(images)[1:]], 0))}
        if is_image:
            outputs["images_png_bytes"] = tf.reshape(_encode_png(to_uint8(images)), [rows, steps])
        return outputs

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(name="serving_default", fn=serving_default, input_signature=[z_spec, *extra_specs])
    archive.add_endpoint(name="sample", fn=sample,
                         input_signature=[tf.TensorSpec([None], tf.int64, name="seed"), *extra_specs])
    archive.add_endpoint(name="interpolate", fn=interpolate, input_signature=[
        tf.TensorSpec(z_spec.shape, tf.float32, name="z_start"), tf.TensorSpec(z_spec.shape, tf.float32, name="z_end"),
        tf.TensorSpec([None], tf.int32, name="num_steps"), *extra_specs])
    return archive


def to_uint8(images):
    """float [B, H, W, C] in [-1, 1] -> uint8 [B, H, W, C] in [0, 255] (rounded, clipped)."""
    return tf.cast(tf.round((tf.clip_by_value(images, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def _encode_png(images):
    """uint8 [N, H, W, C] -> string [N] of PNG files."""
    return tf.map_fn(tf.io.encode_png, images, fn_output_signature=tf.string)


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


def _warmup_requests(generator):
    """[(signature, {input: value}, output_filter)], batch 1, for the warmup records.

    One request per signature with every output, plus the output filters `serving.client`
    sends (`sample`'s `z` of two seeds to start an interpolation, the PNG files): TF Serving
    runs a filtered request as its own subgraph, whose first run would otherwise be slow.
    """
    extras = {t.name: tf.zeros([1, *t.shape[1:]], t.dtype) for t in generator.inputs if t.name != "z"}
    z_shape = next([1, *t.shape[1:]] for t in generator.inputs if t.name == "z")
    is_image = len(generator.outputs[0].shape) == 4
    sample = {"seed": tf.constant([0], tf.int64), **extras}
    interpolate = {"z_start": tf.zeros(z_shape), "z_end": tf.ones(z_shape), "num_steps": tf.constant([2], tf.int32),
                   **extras}
    requests = [("serving_default", {"z": tf.zeros(z_shape), **extras}, []), ("sample", sample, []),
                ("sample", sample, ["z"]), ("interpolate", interpolate, [])]
    if is_image:
        requests += [("sample", sample, ["images_png_bytes"]), ("interpolate", interpolate, ["images_png_bytes"])]
    return requests


def _write_warmup_requests(version_dir, model_name, generator):
    """The PredictionLogs of `_warmup_requests`, in the file TF Serving replays when it loads a version."""
    os.makedirs(os.path.join(version_dir, "assets.extra"), exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(version_dir, WARMUP_FILE)) as writer:
        for signature, inputs, output_filter in _warmup_requests(generator):
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
