"""What an exporter and the model server agree on about an export directory on disk.

    <export_base>/models.config          every model there (ModelServerConfig, absolute base paths)
    <export_base>/batching.config        BatchingParameters for TF Serving's --enable_batching
    <export_base>/<model_name>/<version>/saved_model.pb, variables/
                                 assets.extra/tf_serving_warmup_requests

The rules: a model name is a plain name (`check_model_name`), versions are the
integer-named subdirectories (`version_numbers`; anything else, such as an exporter's
hidden `.tmp-*` work directory, is ignored), a version's signatures are the `serve` meta
graph's in saved_model.pb (`read_signature_defs`), and warmup requests live in
`WARMUP_FILE`. The exporter (`tfgan_course.export`) writes by these rules and the server
(`serving.model_config`, `serving.servable`, `serving.warmup`) reads by them.

A leaf module: it imports nothing from `serving`, and raises plain Python errors
(ValueError, FileNotFoundError) that the server turns into its ServingError codes.
"""

import os
import re

from google.protobuf import message, text_format
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tensorflow_serving.config import model_server_config_pb2

SERVE_TAG = "serve"
PREDICT_METHOD = "tensorflow/serving/predict"
PLATFORM = "tensorflow"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MODELS_CONFIG = "models.config"
BATCHING_CONFIG = "batching.config"

_MODEL_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_VERSION_DIR = re.compile(r"\d+")

# TF Serving's batching: up to 64 images a run, waiting at most 2 ms to fill a batch.
_BATCHING_PARAMETERS = """\
max_batch_size { value: 64 }
batch_timeout_micros { value: 2000 }
max_enqueued_batches { value: 100 }
num_batch_threads { value: %d }
"""


def check_model_name(name: str) -> None:
    """Raises ValueError unless `name` is a plain name: it becomes a directory and a URL part.

    Raises:
      ValueError: empty (TF Serving's message), or not letters/digits/_/-/., or "." / "..".
    """
    if not name:
        raise ValueError("ModelSpec has no name specified.")
    if not _MODEL_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(f'Invalid model name "{name}": use letters, digits, "_", "-" and "." only '
                         '(and not "." or "..").')


def is_model_name(name: str) -> bool:
    """Whether `check_model_name` accepts `name`."""
    try:
        check_model_name(name)
        return True
    except ValueError:
        return False


def version_numbers(model_dir: str) -> list[int]:
    """The integer-named subdirectories of `model_dir` (TF Serving's versions), ascending; [] if it is none."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(name) for name in os.listdir(model_dir)
                  if _VERSION_DIR.fullmatch(name) and os.path.isdir(os.path.join(model_dir, name)))


def read_signature_defs(version_dir: str) -> dict[str, meta_graph_pb2.SignatureDef]:
    """The public signature defs of the `serve` meta graph in <version_dir>/saved_model.pb.

    Internal keys such as `__saved_model_init_op` are left out.

    Raises:
      FileNotFoundError: no saved_model.pb.
      ValueError: it does not parse, or has no meta graph tagged exactly `serve`.
    """
    pb_path = os.path.join(version_dir, "saved_model.pb")
    try:
        with open(pb_path, "rb") as f:
            saved_model = saved_model_pb2.SavedModel.FromString(f.read())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Could not find SavedModel .pb at supplied export directory path: {version_dir}; export with "
            "tf.saved_model.save or keras ExportArchive (saved_model.pb + variables/).") from None
    except message.DecodeError as e:
        raise ValueError(f"Could not parse {pb_path}: {e}") from None
    available = []
    for meta_graph in saved_model.meta_graphs:
        tags = sorted(meta_graph.meta_info_def.tags)
        if tags == [SERVE_TAG]:
            return {key: signature for key, signature in meta_graph.signature_def.items() if not key.startswith("__")}
        available.append(tags)
    raise ValueError(f"MetaGraphDef associated with tags '{SERVE_TAG}' could not be found in SavedModel "
                     f"{version_dir}, with available tags {available}; export it with the 'serve' tag.")


def model_names(export_base: str) -> list[str]:
    """The models under `export_base`: directories with a valid model name and at least one integer version."""
    if not os.path.isdir(export_base):
        return []
    return sorted(name for name in os.listdir(export_base)
                  if is_model_name(name) and version_numbers(os.path.join(export_base, name)))


def write_server_configs(export_base: str) -> None:
    """(Re)writes <export_base>/models.config (every model there) and batching.config, atomically.

    models.config holds absolute base paths: mount the export base at the same path in
    a container (`-v /abs/export:/abs/export`) and the file works there unchanged.
    batching.config gets one batch thread per CPU of this machine.
    """
    config = model_server_config_pb2.ModelServerConfig()
    for name in model_names(export_base):
        config.model_config_list.config.add(name=name, base_path=os.path.abspath(os.path.join(export_base, name)),
                                            model_platform=PLATFORM)
    _write_atomically(os.path.join(export_base, MODELS_CONFIG), text_format.MessageToString(config))
    _write_atomically(os.path.join(export_base, BATCHING_CONFIG), _BATCHING_PARAMETERS % max(os.cpu_count() or 1, 1))


def _write_atomically(path, text):
    # fsynced before and after the rename: a power loss cannot leave an empty config in place.
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    if hasattr(os, "O_DIRECTORY"):  # Not on Windows, whose renames the file system flushes.
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
