"""REST JSON <-> numpy: TF Serving's predict request and response formats.

Follows TF Serving's `util/json_tensor.cc`, including its error messages:

  request   {"signature_name": S?, "instances": [...]}   row format: one entry per example,
                                                          an object per example when several
                                                          inputs, every input batched on dim 0
            {"signature_name": S?, "inputs": X}           columnar: X is the tensor (one input)
                                                          or an object of named tensors
  response  {"predictions": [...]}                        row (a list of per-example values for
                                                          one output, of objects for several)
            {"outputs": X}                                columnar

Strings are UTF-8 text or {"b64": "<base64>"}; outputs whose alias ends in `_bytes` are
always written as {"b64": ...}. float32 outputs are written as TF Serving writes them: with
6 significant digits when that round-trips, else 9.
"""

import base64
import binascii
import dataclasses
import json
from collections.abc import Callable, Mapping

import numpy as np
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from serving import errors, tensors

ROW = "row"
COLUMNAR = "columnar"
_BYTES_SUFFIX = "_bytes"
# Longest JSON excerpt quoted in an error (TF Serving quotes the whole value).
_MAX_QUOTE = 256
# Most dimensions of a tensor read from JSON: numpy's limit (TF's is 254).
_MAX_RANK = 64

_FLOATS = {types_pb2.DT_FLOAT: 2**24 - 1, types_pb2.DT_DOUBLE: 2**53 - 1}  # largest exact integer
_FLOAT_MAX = {types_pb2.DT_FLOAT: float(np.finfo(np.float32).max), types_pb2.DT_DOUBLE: float(np.finfo(np.float64).max)}
_INTS = (types_pb2.DT_INT8, types_pb2.DT_INT16, types_pb2.DT_INT32, types_pb2.DT_INT64, types_pb2.DT_UINT8,
         types_pb2.DT_UINT16, types_pb2.DT_UINT32, types_pb2.DT_UINT64)
# numpy kinds np.array() may infer from valid JSON for each group of dtypes.
_NUMBER_KINDS = "iuf"
_INT_KINDS = "iu"


@dataclasses.dataclass(frozen=True)
class PredictJson:
    """A parsed REST predict request.

    Attributes:
      signature_name: as sent ("" when absent: the default signature).
      inputs: alias -> np.ndarray of the signature's dtype.
      format: ROW ("instances") or COLUMNAR ("inputs"), the format to answer in.
    """
    signature_name: str
    inputs: dict
    format: str


def parse_predict_request(
        body: bytes,
        input_infos: Callable[[str], Mapping[str, meta_graph_pb2.TensorInfo]]) -> PredictJson:
    """Reads a REST predict body into numpy inputs of the signature's dtypes.

    Args:
      body: the raw HTTP body.
      input_infos: signature_name -> the signature's inputs (alias -> TensorInfo); raises
        ServingError for an unknown model or signature.

    Returns:
      PredictJson.

    Raises:
      ServingError: INVALID_ARGUMENT with TF Serving's message for malformed JSON or values.
    """
    doc = _parse_json(body)
    signature_name = doc.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise errors.invalid_argument(
            f"JSON Value: {_quote(doc)} not formatted correctly. 'signature_name' key must be a string value.")
    infos = input_infos(signature_name)
    if not infos:
        raise errors.invalid_argument(f"Failed to get input map for signature: {signature_name or 'DEFAULT'}")
    if "instances" in doc and "inputs" in doc:
        raise errors.invalid_argument(f"JSON Value: {_quote(doc)} Not formatted correctly expecting only one of "
                                      "'inputs' or 'instances' keys to exist ")
    if "instances" in doc:
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise errors.invalid_argument(f"JSON Value: {_quote(doc)} Excepting 'instances' to be an list/array")
        if not instances:
            raise errors.invalid_argument(f"JSON Value: {_quote(doc)} No values in 'instances' array")
        return PredictJson(signature_name, _from_instances(instances, infos), ROW)
    if "inputs" in doc:
        return PredictJson(signature_name, _from_inputs(doc["inputs"], infos), COLUMNAR)
    raise errors.invalid_argument("Missing 'inputs' or 'instances' key")


def format_predict_response(outputs: Mapping[str, np.ndarray], response_format: str) -> bytes:
    """The JSON body answering a predict request.

    Args:
      outputs: alias -> np.ndarray (row format: all with the same 0th dimension).
      response_format: ROW or COLUMNAR, as the request came.

    Returns:
      UTF-8 JSON: {"predictions": ...} or {"outputs": ...}.

    Raises:
      ServingError: INVALID_ARGUMENT when row format meets a scalar or mismatched batch sizes.
    """
    if not outputs:
        raise errors.invalid_argument("Cannot convert empty tensor map to JSON")
    names = sorted(outputs)
    if response_format == ROW:
        batch_size = None
        for name in names:
            shape = outputs[name].shape
            if not shape:
                raise errors.invalid_argument(f"Tensor name: {name} has no shape information ")
            if batch_size is not None and shape[0] != batch_size:
                raise errors.invalid_argument(
                    f"Tensor name: {name} has inconsistent batch size: {shape[0]} expecting: {batch_size}")
            batch_size = shape[0]
    values = {name: _json_values(name, outputs[name]) for name in names}
    if response_format == ROW:
        if len(names) == 1:
            document = {"predictions": values[names[0]]}
        else:
            document = {"predictions": [{name: values[name][i] for name in names} for i in range(batch_size)]}
    else:
        document = {"outputs": values[names[0]] if len(names) == 1 else values}
    return json.dumps(document).encode()


def _parse_json(body: bytes) -> dict:
    if not body:
        raise errors.invalid_argument("JSON Parse error: The document is empty")
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as e:
        raise errors.invalid_argument(f"JSON Parse error: {e.msg} at offset: {e.pos}") from None
    except (UnicodeDecodeError, RecursionError) as e:
        raise errors.invalid_argument(f"JSON Parse error: {e}") from None
    if not isinstance(doc, dict):
        raise errors.invalid_argument(f"JSON Value: {_quote(doc)} Is not object")
    return doc


def _from_instances(instances: list, infos: Mapping[str, meta_graph_pb2.TensorInfo]) -> dict:
    names = sorted(infos)
    if not isinstance(instances[0], dict) and len(names) > 1:
        raise errors.invalid_argument("instances is a plain list, but expecting list of objects as multiple "
                                      "input tensors required as per tensorinfo_map")
    if not _is_named_object(instances[0]):
        for i, instance in enumerate(instances):
            if _is_named_object(instance):
                raise errors.invalid_argument(f"Expecting value/list but got object at item {i} of input list")
        return {names[0]: _batch(instances, infos[names[0]].dtype, key=None)}
    columns = {name: [] for name in names}
    for i, instance in enumerate(instances):
        if not _is_named_object(instance):
            raise errors.invalid_argument(f"Expecting object but got list at item {i} of input list")
        for key, value in instance.items():
            if key not in columns:
                raise errors.invalid_argument(f"Failed to process element: {i} key: {key} of 'instances' list. "
                                              f"Error: INVALID_ARGUMENT: JSON object: does not have named input: {key}")
            columns[key].append(value)
        if set(instance) != set(names):
            raise errors.invalid_argument(f"Failed to process element: {i} of 'instances' list. JSON object: "
                                          f"{_quote(instance)} keys must be equal to: {','.join(names)}")
    return {name: _batch(columns[name], infos[name].dtype, key=name) for name in names}


def _from_inputs(value, infos: Mapping[str, meta_graph_pb2.TensorInfo]) -> dict:
    names = sorted(infos)
    if not _is_named_object(value):
        if len(names) > 1:
            raise errors.invalid_argument("inputs is a plain value/list, but expecting an object as multiple "
                                          "input tensors required as per tensorinfo_map")
        return {names[0]: _to_array(value, infos[names[0]].dtype)}
    arrays = {}
    for name in names:
        if name not in value:
            raise errors.invalid_argument(f"Missing named input: {name} in 'inputs' object.")
        arrays[name] = _to_array(value[name], infos[name].dtype)
    return arrays


def _batch(values: list, dtype: int, key: str | None) -> np.ndarray:
    """The per-example values of one input stacked on a new 0th dimension."""
    try:
        return _to_array(values, dtype)
    except errors.ServingError:
        pass
    # Slow path, for TF Serving's message naming the first bad example.
    where = "" if key is None else f" key: {key}"
    first = None
    for i, value in enumerate(values):
        try:
            array = _to_array(value, dtype)
        except errors.ServingError as e:
            raise errors.invalid_argument(f"Failed to process element: {i}{where} of 'instances' list. "
                                          f"Error: INVALID_ARGUMENT: {e.message}") from None
        if first is None:
            first = array
            continue
        if array.size != first.size:
            problem = f"Expecting tensor size: {first.size} but got: {array.size}"
        elif array.shape != first.shape:
            problem = f"Expecting shape {tensors.shape_text(first.shape)} but got: {tensors.shape_text(array.shape)}"
        else:
            continue
        raise errors.invalid_argument(f"Failed to process element: {i}{where} of 'instances' list. "
                                      f"Error: INVALID_ARGUMENT: {problem}")
    raise errors.invalid_argument("'instances' could not be batched into one tensor")


def _to_array(value, dtype: int) -> np.ndarray:
    """One JSON tensor (nested lists of equal lengths, or a scalar) as an array of `dtype`."""
    if dtype == types_pb2.DT_STRING:
        return _walk(value, _string_leaf)
    if dtype not in _FLOATS and dtype not in _INTS and dtype != types_pb2.DT_BOOL:
        raise errors.unimplemented(f"Conversion of JSON Value: {_quote(value)} to type: {tensors.dtype_name(dtype)}")
    target = tensors.numpy_dtype(dtype)
    # Fast path: numpy parses the nesting in C; anything doubtful goes to the walk below,
    # which finds the first bad value and words the error as TF Serving does.
    try:
        array = np.array(value)
    except (ValueError, OverflowError):
        array = None
    if array is not None and array.size == 0 and array.dtype.kind in "f":
        return np.zeros(array.shape, dtype=target)
    if array is not None and _fits(array, dtype):
        return array.astype(target)
    return _walk(value, _numeric_leaf(dtype)).astype(target)


def _fits(array: np.ndarray, dtype: int) -> bool:
    """Whether np.array()'s reading of valid JSON values converts to `dtype` exactly."""
    kind = array.dtype.kind
    if dtype == types_pb2.DT_BOOL:
        return kind == "b"
    if dtype in _FLOATS:
        if kind in _INT_KINDS:
            return array.size == 0 or int(np.abs(array).max()) <= _FLOATS[dtype]
        finite = array[np.isfinite(array)] if kind == "f" else array
        return kind in _NUMBER_KINDS and (finite.size == 0 or float(np.abs(finite).max()) <= _FLOAT_MAX[dtype])
    info = np.iinfo(tensors.numpy_dtype(dtype))
    return kind in _INT_KINDS and (array.size == 0 or (int(array.min()) >= info.min and int(array.max()) <= info.max))


def _walk(value, leaf: Callable) -> np.ndarray:
    """TF Serving's FillTensorProto: checks the nesting is dense and converts every leaf."""
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    if len(shape) > _MAX_RANK:
        raise errors.invalid_argument(f"JSON Value: {_quote(value)} nests lists {len(shape)} deep, over the "
                                      f"{_MAX_RANK} dimensions a tensor may have here")
    flat = []
    _fill(value, shape, 0, leaf, flat)
    array = np.empty(len(flat), dtype=object)
    array[:] = flat
    return array.reshape(shape)


def _fill(value, shape: list, level: int, leaf: Callable, flat: list) -> None:
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise errors.invalid_argument(f"JSON Value: {_quote(value)} found at incorrect level: {level + 1} "
                                          f"in the JSON DOM. Expected at level: {rank}")
        flat.append(leaf(value))
        return
    if level >= rank:
        raise errors.invalid_argument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise errors.invalid_argument(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                                      f"expected size: {shape[level]}")
    for item in value:
        _fill(item, shape, level + 1, leaf, flat)


def _string_leaf(value) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dict):
        return _decode_base64(value)
    raise _type_error(value, types_pb2.DT_STRING)


def _numeric_leaf(dtype: int) -> Callable:
    def convert(value):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if dtype == types_pb2.DT_BOOL:
            if not isinstance(value, bool):
                raise _type_error(value, dtype)
        elif dtype in _FLOATS:
            if not is_number:
                raise _type_error(value, dtype)
            exact_limit = _FLOATS[dtype] if isinstance(value, int) else _FLOAT_MAX[dtype]
            if np.isfinite(value) and abs(value) > exact_limit:
                raise errors.invalid_argument(f"Cannot convert JSON value: {_quote(value)} to "
                                              f"{tensors.dtype_name(dtype)} without loss of precision.")
        else:
            if not is_number or isinstance(value, float):
                raise _type_error(value, dtype)
            info = np.iinfo(tensors.numpy_dtype(dtype))
            if not info.min <= value <= info.max:
                raise errors.invalid_argument(f"JSON Value: {_quote(value)} is out of range for "
                                              f"{tensors.dtype_name(dtype)} [{info.min}, {info.max}]")
        return value
    return convert


def _decode_base64(value: dict) -> bytes:
    if not _is_base64_object(value):
        raise errors.invalid_argument(f"JSON Value: {_quote(value)} not formatted correctly for base64 data")
    text = value["b64"]
    try:
        # Like absl's Base64Unescape, accept the web-safe alphabet and missing padding.
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text)
                                else None, validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_argument("Unable to base64 decode") from None


def _json_values(name: str, array: np.ndarray):
    """An output as nested lists of JSON-ready values."""
    kind = array.dtype.kind
    if array.dtype == np.float32 or array.dtype == np.float16 or array.dtype.name == "bfloat16":
        return _shortest_float32(array.astype(np.float32)).tolist()
    if kind in "fiub":
        return array.tolist()
    if kind in "OSU":
        as_bytes = name.endswith(_BYTES_SUFFIX)

        def encode(value):
            value = value if isinstance(value, bytes) else str(value).encode()
            if as_bytes:
                return {"b64": base64.b64encode(value).decode("ascii")}
            return value.decode("utf-8", errors="replace")

        return np.frompyfunc(encode, 1, 1)(array).tolist() if array.ndim else encode(array.item())
    raise errors.invalid_argument(f"Failed to write JSON value for tensor type: {array.dtype}")


def _shortest_float32(values: np.ndarray) -> np.ndarray:
    """float32 values as the float64s whose shortest text is TF Serving's text for them.

    TF Serving prints a float with 6 significant digits when that reads back as the same
    float32, else with 9. Rounding to those digits here (vectorised) and checking the
    round trip gives float64s that Python's json prints the same way.

    Args:
      values: float32 array, any shape.

    Returns:
      float64 array of the same shape, each element equal to its float32 when read back.
    """
    exact = values.astype(np.float64)
    result = exact.copy()
    todo = np.isfinite(exact) & (exact != 0)
    with np.errstate(all="ignore"):
        magnitude = np.floor(np.log10(np.abs(np.where(todo, exact, 1.0))))
        for digits in (6, 9):
            if not todo.any():
                break
            shift = digits - 1 - magnitude
            scale = 10.0 ** np.abs(shift)
            rounded = np.where(shift >= 0, np.round(exact * scale) / scale, np.round(exact / scale) * scale)
            # Powers of ten up to 1e22 are exact doubles, so `rounded` is the double nearest
            # the decimal and prints as it; beyond, the loop below prints the value.
            reads_back = todo & (np.abs(shift) <= 22) & (rounded.astype(np.float32) == values)
            result[reads_back] = rounded[reads_back]
            todo &= ~reads_back
    for index in zip(*np.nonzero(todo)):
        short = float(f"{exact[index]:.6g}")
        result[index] = short if np.float32(short) == values[index] else float(f"{exact[index]:.9g}")
    return result


def _is_base64_object(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_named_object(value) -> bool:
    return isinstance(value, dict) and not _is_base64_object(value)


def _type_error(value, dtype: int) -> errors.ServingError:
    return errors.invalid_argument(f"JSON Value: {_quote(value)} Type: {_json_type(value)} is not of expected "
                                   f"type: {tensors.dtype_name(dtype)}")


def _json_type(value) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    return {dict: "Object", list: "Array", str: "String"}.get(type(value), "Number")


def _quote(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= _MAX_QUOTE else text[:_MAX_QUOTE] + "..."
