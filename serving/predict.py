"""Predict, shared by gRPC and REST: checks a request against a signature, runs it, picks outputs.

Checks and messages follow TF Serving's predict_util.cc and TF's saved_model/util.cc: the
signature must exist (FAILED_PRECONDITION), the inputs must be exactly the signature's
(INVALID_ARGUMENT listing the names), every tensor must parse and have the signature's
dtype and a compatible shape, and `output_filter` may only name outputs, once each.
"""

from collections.abc import Iterable, Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import predict_pb2

from serving import errors, tensors
from serving.batching import Batcher
from serving.servable import Servable

DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHODS = ("tensorflow/serving/predict", "tensorflow/serving/classify", "tensorflow/serving/regress")


def signature_def(servable: Servable, signature_name: str) -> tuple[str, meta_graph_pb2.SignatureDef]:
    """(key, SignatureDef) for a requested name ("" means serving_default).

    Raises:
      ServingError: FAILED_PRECONDITION, as TF Serving's gRPC Predict, for an unknown key.
    """
    key = signature_name or DEFAULT_SIGNATURE
    if key not in servable.signature_defs:
        raise errors.failed_precondition(f'Serving signature key "{key}" not found.')
    return key, servable.signature_defs[key]


def predict(servable: Servable, request: predict_pb2.PredictRequest,
            max_batch_size: int | None = None, batcher: Batcher | None = None) -> predict_pb2.PredictResponse:
    """Answers a gRPC PredictRequest with a servable already looked up from its model_spec.

    Args:
      servable: the model version to run.
      request: PredictRequest; inputs as TensorProtos (tensor_content or typed fields).
      max_batch_size: largest 0th dimension accepted per input; None for no limit.
      batcher: merges the run with concurrent ones (--enable_batching); None runs it alone.

    Returns:
      PredictResponse: model_spec (name, version that ran, signature name) and the outputs
      in typed fields (float_val, int_val, ...).

    Raises:
      ServingError: with TF Serving's code and message.
    """
    key, signature = signature_def(servable, request.model_spec.signature_name)
    check_input_names(signature, request.inputs.keys())
    inputs = {}
    for alias in sorted(signature.inputs):
        proto = request.inputs[alias]
        try:
            inputs[alias] = tensors.to_ndarray(proto)
        except (ValueError, TypeError):
            raise errors.invalid_argument(f"tensor parsing error: {alias}") from None
        expected = signature.inputs[alias].dtype
        if proto.dtype != expected:
            raise errors.invalid_argument(f'Expects input "{alias}" to be {tensors.dtype_name(expected)} but '
                                          f"{tensors.dtype_name(proto.dtype)} is provided")
    outputs = run(servable, key, inputs, request.output_filter, max_batch_size, batcher)
    response = predict_pb2.PredictResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    response.model_spec.signature_name = key
    for alias, array in outputs.items():
        tensors.to_proto(array, signature.outputs[alias].dtype, response.outputs[alias])
    return response


def run(servable: Servable, signature_name: str, inputs: Mapping[str, np.ndarray], output_filter: Iterable[str] = (),
        max_batch_size: int | None = None, batcher: Batcher | None = None) -> dict[str, np.ndarray]:
    """Runs a signature on numpy inputs.

    Args:
      servable: the model version to run.
      signature_name: the signature key ("" for serving_default).
      inputs: alias -> np.ndarray, exactly the signature's inputs.
      output_filter: the output aliases wanted (empty: all).
      max_batch_size: largest 0th dimension accepted per input; None for no limit.
      batcher: merges the run with concurrent ones (--enable_batching); None runs it alone.

    Returns:
      alias -> np.ndarray for the requested outputs.

    Raises:
      ServingError: INVALID_ARGUMENT for bad inputs, a bad filter, or a TF runtime check
        failing inside the model (with TF's message); other TF errors keep their code;
        anything else is INTERNAL. With a batcher, also its errors (UNAVAILABLE for a full queue).
    """
    key, signature = signature_def(servable, signature_name)
    if signature.method_name not in PREDICT_METHODS:
        raise errors.internal("Expected prediction signature method_name to be one of "
                              f"{{{', '.join(PREDICT_METHODS)}}}. Was: {signature.method_name}")
    check_input_names(signature, inputs.keys())
    for alias in sorted(inputs):
        _check_input(alias, inputs[alias], signature.inputs[alias], max_batch_size)
    aliases = output_aliases(signature, output_filter)
    feeds = {alias: tf.constant(inputs[alias], dtype=tf.dtypes.as_dtype(signature.inputs[alias].dtype))
             for alias in inputs}
    try:
        results = servable.function(key)(**feeds) if batcher is None else batcher.run(servable, key, feeds)
    except tf.errors.OpError as e:
        raise errors.from_code_number(e.error_code, e.message) from None
    except (TypeError, ValueError) as e:
        raise errors.internal(f"Running signature {key!r} of {servable.name} version {servable.version} failed: "
                              f"{type(e).__name__}: {e}") from None
    return {alias: results[alias].numpy() for alias in aliases}


def check_input_names(signature: meta_graph_pb2.SignatureDef, names: Iterable[str]) -> None:
    """Raises TF Serving's INVALID_ARGUMENT unless `names` are exactly the signature's inputs."""
    sent = set(names)
    expected = set(signature.inputs)
    if len(sent) != len(expected):
        raise errors.invalid_argument(
            f"input size does not match signature: {len(sent)}!={len(expected)} len({{{_join(sent)}}}) != "
            f"len({{{_join(expected)}}}). Sent extra: {{{_join(sent - expected)}}}. "
            f"Missing but required: {{{_join(expected - sent)}}}.")
    missing = sorted(expected - sent)
    if missing:
        raise errors.invalid_argument(
            f"Signature input alias: {missing[0]}(feed name: {signature.inputs[missing[0]].name}) not found in request "
            f"and no default value provided. Inputs expected to be in the request {{{_join(sent)}}}, or default "
            "input alias set: ")


def output_aliases(signature: meta_graph_pb2.SignatureDef, output_filter: Iterable[str]) -> list[str]:
    """The outputs to return: `output_filter` checked as TF Serving does, or every output."""
    chosen = []
    for alias in output_filter:
        if alias not in signature.outputs:
            raise errors.invalid_argument(f"output tensor alias not found in signature: {alias} Outputs expected to "
                                          f"be in the set {{{_join(signature.outputs)}}}.")
        if alias in chosen:
            raise errors.invalid_argument(f"duplicate output tensor alias: {alias}")
        chosen.append(alias)
    return chosen or sorted(signature.outputs)


def _check_input(alias: str, array: np.ndarray, info: meta_graph_pb2.TensorInfo, max_batch_size: int | None) -> None:
    expected = tensors.numpy_dtype(info.dtype)
    if array.dtype != expected and not (expected == object and array.dtype.kind in "OSU"):
        provided = "string" if array.dtype.kind in "OSU" else tensors.dtype_name(
            tf.dtypes.as_dtype(array.dtype).as_datatype_enum)
        raise errors.invalid_argument(f'Expects input "{alias}" to be {tensors.dtype_name(info.dtype)} but '
                                      f"{provided} is provided")
    expected_shape = tensors.shape_list(info.tensor_shape)
    if expected_shape is not None and (
            len(expected_shape) != array.ndim
            or any(want not in (-1, got) for want, got in zip(expected_shape, array.shape))):
        raise errors.invalid_argument(
            f'Input "{alias}" has shape {tensors.shape_text(array.shape)} but the signature expects '
            f"{tensors.shape_text(expected_shape)} (-1: any size).")
    if max_batch_size is not None and array.ndim and array.shape[0] > max_batch_size:
        raise errors.invalid_argument(
            f'Input "{alias}" has batch size {array.shape[0]}, over this server\'s limit of {max_batch_size} '
            "(--max_batch_size): send smaller batches, or restart the server with a larger --max_batch_size.")


def _join(names: Iterable[str]) -> str:
    return ",".join(sorted(names))
