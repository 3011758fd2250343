"""One loaded model version: the SavedModel's `serve` functions and its signature defs."""

import dataclasses
import os
from collections.abc import Mapping

import tensorflow as tf
from google.protobuf import message
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from serving import errors

SERVE_TAG = "serve"


@dataclasses.dataclass(frozen=True, eq=False)
class Servable:
    """A model version ready to run.

    Attributes:
      name: the model name it is served under.
      version: its integer version (the directory name).
      path: the version directory.
      signature_defs: signature key -> SignatureDef, as in saved_model.pb's `serve` meta
        graph, without internal keys such as `__saved_model_init_op`.
      loaded: the object `tf.saved_model.load` returned; keeps the functions' variables alive.
    """
    name: str
    version: int
    path: str
    signature_defs: Mapping[str, meta_graph_pb2.SignatureDef]
    loaded: object

    def function(self, signature_key: str):
        """The concrete function of a signature: fn(**{alias: tensor}) -> {alias: tensor}."""
        return self.loaded.signatures[signature_key]


def load(name: str, version: int, path: str) -> Servable:
    """Loads a SavedModel version directory.

    Args:
      name: the model name.
      version: the version number.
      path: <base_path>/<version>, holding saved_model.pb and variables/.

    Returns:
      Servable.

    Raises:
      ServingError: the directory is not a loadable SavedModel with a `serve` meta graph.
    """
    signature_defs = read_signature_defs(path)
    try:
        loaded = tf.saved_model.load(path, tags=[SERVE_TAG])
    except tf.errors.OpError as e:
        raise errors.from_code_number(e.error_code, f"Failed to load SavedModel at {path}: {e.message}") from None
    except (OSError, ValueError, RuntimeError) as e:
        raise errors.internal(f"Failed to load SavedModel at {path}: {e}") from None
    return Servable(name=name, version=version, path=path, signature_defs=signature_defs, loaded=loaded)


def read_signature_defs(path: str) -> dict[str, meta_graph_pb2.SignatureDef]:
    """The public signature defs of the `serve` meta graph in <path>/saved_model.pb.

    Raises:
      ServingError: NOT_FOUND without saved_model.pb, INVALID_ARGUMENT when it does not
        parse or has no meta graph tagged exactly `serve`.
    """
    pb_path = os.path.join(path, "saved_model.pb")
    try:
        with open(pb_path, "rb") as f:
            saved_model = saved_model_pb2.SavedModel.FromString(f.read())
    except FileNotFoundError:
        raise errors.not_found(
            f"Could not find SavedModel .pb at supplied export directory path: {path}; export with "
            "tf.saved_model.save or keras ExportArchive (saved_model.pb + variables/).") from None
    except message.DecodeError as e:
        raise errors.invalid_argument(f"Could not parse {pb_path}: {e}") from None
    available = []
    for meta_graph in saved_model.meta_graphs:
        tags = sorted(meta_graph.meta_info_def.tags)
        if tags == [SERVE_TAG]:
            return {key: signature for key, signature in meta_graph.signature_def.items() if not key.startswith("__")}
        available.append(tags)
    raise errors.invalid_argument(f"MetaGraphDef associated with tags '{SERVE_TAG}' could not be found in SavedModel "
                                  f"{path}, with available tags {available}; export it with the 'serve' tag.")
