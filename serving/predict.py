"""Predict, shared by gRPC and REST: checks a request against a signature, runs it, picks outputs.

Checks and messages follow TF Serving's predict_util.cc and TF's saved_model/util.cc: the
signature must exist (FAILED_PRECONDITION), the inputs must be exactly the signature's
(INVALID_ARGUMENT listing the names), every tensor must parse and have the signature's
dtype and a compatible shape, and `output_filter` may only name outputs, once each.

What a request may cost is bounded before the work is done: a TensorProto's dtype, shape,
batch size and size in memory are checked before an array of its shape exists, and no
output may hold more than `max_batch_size` examples (see `run`).
"""

import math
from collections.abc import Iterable, Mapping

import grpc
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


def predict(servable: Servable, request: predict_pb2.PredictRequest, max_batch_size: int | None = None,
            max_input_bytes: int | None = None, batcher: Batcher | None = None) -> predict_pb2.PredictResponse:
    """Answers a gRPC PredictRequest with a servable already looked up from its model_spec.

    Each input's dtype, shape and batch size are checked against the signature, and its
    size in memory against `max_input_bytes`, before it is read: a few bytes declaring a
    huge shape cost nothing.

    Args:
      servable: the model version to run.
      request: PredictRequest; inputs as TensorProtos (tensor_content or typed fields).
      max_batch_size: largest 0th dimension accepted per input, and most examples per
        output (see `run`); None for no limit.
      max_input_bytes: largest input in memory, however few values it was sent with (one
        value fills a whole shape); None for no limit.
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
        proto, info = request.inputs[alias], signature.inputs[alias]
        if proto.dtype != info.dtype:
            raise errors.invalid_argument(f'Expects input "{alias}" to be {tensors.dtype_name(info.dtype)} but '
                                          f"{tensors.dtype_name(proto.dtype)} is provided")
        try:
            shape = tensors.proto_shape(proto)
        except ValueError:
            raise errors.invalid_argument(f"tensor parsing error: {alias}") from None
        _check_shape(alias, shape, info, max_batch_size)
        size = tensors.nbytes(proto)
        if max_input_bytes is not None and size > max_input_bytes:
            raise errors.ServingError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f'Input "{alias}" of shape {tensors.shape_text(shape)} would take {size} bytes, over this server\'s '
                f"limit of {max_input_bytes} (--max_request_bytes): send a smaller tensor, or restart the server "
                "with a larger --max_request_bytes.")
        try:
            inputs[alias] = tensors.to_ndarray(proto)
        except (ValueError, TypeError):
            raise errors.invalid_argument(f"tensor parsing error: {alias}") from None
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

    `max_batch_size` bounds a request's examples both ways: an input's 0th dimension, and
    an output's examples, the product of the dimensions its signature leaves dynamic (-1):
    the rows for [-1, H, W, C], rows x S for [-1, -1, H, W, C]. An output with a dynamic
    dimension past the 0th has a size the signature cannot tell, so a request of several
    rows first runs its first row alone; rows x that row's examples over the limit is
    refused before the other rows run, and otherwise only the other rows run next (their
    answers stacked under the first's). Every output is checked again after the run.

    Args:
      servable: the model version to run.
      signature_name: the signature key ("" for serving_default).
      inputs: alias -> np.ndarray, exactly the signature's inputs.
      output_filter: the output aliases wanted (empty: all).
      max_batch_size: largest 0th dimension accepted per input, and most examples per
        output; None for no limit.
      batcher: merges the run with concurrent ones (--enable_batching); None runs it alone.

    Returns:
      alias -> np.ndarray for the requested outputs.

    Raises:
      ServingError: INVALID_ARGUMENT for bad inputs, a bad filter, an output over the
        limit, or a TF runtime check failing inside the model (with TF's message); other
        TF errors keep their code; anything else is INTERNAL. With a batcher, also its
        errors (UNAVAILABLE for a full queue).
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
    rows = max((array.shape[0] for array in inputs.values() if array.ndim), default=0)
    if max_batch_size is not None and rows > 1 and any(map(_grows_within_a_row, signature.outputs.values())):
        first = _call(servable, key, _rows(feeds, 0, 1))
        _check_output_examples(signature, first, max_batch_size, rows)
        if _rows_split_cleanly(signature, feeds, rows):
            # The other rows only: the first one's answer is already here.
            others = _call(servable, key, _rows(feeds, 1, rows), batcher)
            results = {alias: tf.concat([first[alias], others[alias]], axis=0) for alias in first}
        else:
            results = _call(servable, key, feeds, batcher)
    else:
        results = _call(servable, key, feeds, batcher)
    if max_batch_size is not None:
        _check_output_examples(signature, results, max_batch_size)
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


def _call(servable: Servable, key: str, feeds: Mapping[str, tf.Tensor],
          batcher: Batcher | None = None) -> Mapping[str, tf.Tensor]:
    """The signature's outputs for `feeds`, alone or (with a batcher) merged with concurrent calls."""
    try:
        return servable.function(key)(**feeds) if batcher is None else batcher.run(servable, key, feeds)
    except tf.errors.OpError as e:
        raise errors.from_code_number(e.error_code, e.message) from None
    except (TypeError, ValueError) as e:
        raise errors.internal(f"Running signature {key!r} of {servable.name} version {servable.version} failed: "
                              f"{type(e).__name__}: {e}") from None


def _check_input(alias: str, array: np.ndarray, info: meta_graph_pb2.TensorInfo, max_batch_size: int | None) -> None:
    expected = tensors.numpy_dtype(info.dtype)
    if array.dtype != expected and not (expected == object and array.dtype.kind in "OSU"):
        provided = "string" if array.dtype.kind in "OSU" else tensors.dtype_name(
            tf.dtypes.as_dtype(array.dtype).as_datatype_enum)
        raise errors.invalid_argument(f'Expects input "{alias}" to be {tensors.dtype_name(info.dtype)} but '
                                      f"{provided} is provided")
    _check_shape(alias, array.shape, info, max_batch_size)


def _check_shape(alias: str, shape, info: meta_graph_pb2.TensorInfo, max_batch_size: int | None) -> None:
    """An input's shape against its signature (rank, known dims) and the batch limit."""
    expected_shape = tensors.shape_list(info.tensor_shape)
    if expected_shape is not None and (
            len(expected_shape) != len(shape)
            or any(want not in (-1, got) for want, got in zip(expected_shape, shape))):
        raise errors.invalid_argument(
            f'Input "{alias}" has shape {tensors.shape_text(shape)} but the signature expects '
            f"{tensors.shape_text(expected_shape)} (-1: any size).")
    if max_batch_size is not None and len(shape) and shape[0] > max_batch_size:
        raise errors.invalid_argument(
            f'Input "{alias}" has batch size {shape[0]}, over this server\'s limit of {max_batch_size} '
            "(--max_batch_size): send smaller batches, or restart the server with a larger --max_batch_size.")


def _rows(feeds: Mapping[str, tf.Tensor], start: int, stop: int) -> dict[str, tf.Tensor]:
    """Rows [start, stop) of every input that has rows; scalars whole."""
    return {alias: feed[start:stop] if feed.shape.rank else feed for alias, feed in feeds.items()}


def _rows_split_cleanly(signature: meta_graph_pb2.SignatureDef, feeds: Mapping[str, tf.Tensor], rows: int) -> bool:
    """Whether running the rows in two parts and stacking the answers gives the whole request's answer.

    True when every input with a 0th dimension has all `rows`, and every output's 0th
    dimension is the batch (-1 in the signature), so row i of the answer depends on row i.
    """
    inputs_have_rows = all(feed.shape[0] == rows for feed in feeds.values() if feed.shape.rank)
    outputs_have_rows = all((tensors.shape_list(info.tensor_shape) or [None])[:1] == [-1]
                            for info in signature.outputs.values())
    return inputs_have_rows and outputs_have_rows


def _grows_within_a_row(info: meta_graph_pb2.TensorInfo) -> bool:
    """Whether an output's examples per row are not fixed by its signature (a -1 past dim 0)."""
    dims = tensors.shape_list(info.tensor_shape)
    return dims is not None and -1 in dims[1:]


def _check_output_examples(signature: meta_graph_pb2.SignatureDef, results: Mapping[str, tf.Tensor],
                           max_batch_size: int, rows: int | None = None) -> None:
    """Raises INVALID_ARGUMENT if an output holds more than `max_batch_size` examples.

    Args:
      signature: the signature that ran.
      results: its outputs, from the whole request or (with `rows`) from its first row.
      max_batch_size: most examples per output.
      rows: the request's rows, when `results` come from its first row alone; the
        estimate is then `rows` times that row's examples.
    """
    for alias in sorted(signature.outputs):
        dims = tensors.shape_list(signature.outputs[alias].tensor_shape)
        shape = list(results[alias].shape)
        if dims is None:
            continue  # Unknown rank: which dimensions count examples is unknown.
        if rows is not None and dims and dims[0] == -1:
            shape[0] = rows
        examples = math.prod(size for size, dim in zip(shape, dims) if dim == -1)
        if examples > max_batch_size:
            raise errors.invalid_argument(
                f'Output "{alias}" of shape {tensors.shape_text(shape)} would hold {examples} examples (the product '
                f"of its dims that are -1 in {tensors.shape_text(dims)}), over this server's limit of {max_batch_size} "
                "(--max_batch_size): ask for fewer, or restart the server with a larger --max_batch_size.")


def _join(names: Iterable[str]) -> str:
    return ",".join(sorted(names))
