"""One loaded model version: the SavedModel's `serve` functions and its signature defs."""

import dataclasses
from collections.abc import Mapping

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from serving import errors, layout
from serving.layout import SERVE_TAG


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
      ServingError: NOT_FOUND without saved_model.pb; INVALID_ARGUMENT when it does not parse
        or has no meta graph tagged exactly `serve`; the load's own error otherwise.
    """
    try:
        signature_defs = layout.read_signature_defs(path)  # The exporter checks its exports with this reader.
    except FileNotFoundError as e:
        raise errors.not_found(str(e)) from None
    except ValueError as e:
        raise errors.invalid_argument(str(e)) from None
    try:
        loaded = tf.saved_model.load(path, tags=[SERVE_TAG])
    except tf.errors.OpError as e:
        raise errors.from_code_number(e.error_code, f"Failed to load SavedModel at {path}: {e.message}") from None
    except (OSError, ValueError, RuntimeError) as e:
        raise errors.internal(f"Failed to load SavedModel at {path}: {e}") from None
    return Servable(name=name, version=version, path=path, signature_defs=signature_defs, loaded=loaded)

