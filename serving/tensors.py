"""TensorProto <-> numpy, the way TF Serving reads requests and writes responses.

Inputs may carry their values in `tensor_content` (what `tf.make_tensor_proto` writes) or in
the typed repeated fields (`float_val`, `int_val`, ...): as many values as the shape holds,
one (repeated to fill it) or none (zeros); any other count is an error. Outputs are written
in the typed fields, as TF Serving's `Tensor::AsProtoField` does, so clients see `float_val` etc.

A 35-byte proto can declare a shape of a billion elements: `proto_shape` and `nbytes` say
what `to_ndarray` would build without building it, so a caller checks them first.
"""

import math

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

# The typed field each dtype's values travel in (TensorProto's layout).
_VALUE_FIELDS = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT8: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_INT64: "int64_val",
    types_pb2.DT_UINT32: "uint32_val",
    types_pb2.DT_UINT64: "uint64_val",
    types_pb2.DT_BOOL: "bool_val",
    types_pb2.DT_STRING: "string_val",
    # half_val holds the raw 16 bits of each value.
    types_pb2.DT_HALF: "half_val",
    types_pb2.DT_BFLOAT16: "half_val",
}
_HALF_DTYPES = (types_pb2.DT_HALF, types_pb2.DT_BFLOAT16)


def dtype_name(dtype: int) -> str:
    """TF's DataTypeString: DT_FLOAT -> "float", DT_INT32 -> "int32", DT_STRING -> "string"."""
    try:
        return types_pb2.DataType.Name(dtype)[len("DT_"):].lower()
    except ValueError:
        return f"unknown dtype {dtype}"


def numpy_dtype(dtype: int) -> np.dtype:
    """The numpy dtype holding a TF dtype's values (object for strings)."""
    return np.dtype(tf.dtypes.as_dtype(dtype).as_numpy_dtype)


def shape_list(shape: tensor_shape_pb2.TensorShapeProto) -> list[int] | None:
    """A TensorShapeProto as a list of dims (-1 unknown), None for an unknown rank."""
    return None if shape.unknown_rank else [dim.size for dim in shape.dim]


def shape_text(shape) -> str:
    """A shape as TF Serving's messages print it: [2,8]."""
    return "[" + ",".join(str(dim) for dim in shape) + "]"


def proto_shape(proto: tensor_pb2.TensorProto) -> list[int]:
    """A TensorProto's shape as a list of dims.

    Raises:
      ValueError: the rank is unknown or a dim is negative (unknown).
    """
    shape = shape_list(proto.tensor_shape)
    if shape is None or any(dim < 0 for dim in shape):
        raise ValueError(f"shape {shape} is not fully defined")
    return shape


def nbytes(proto: tensor_pb2.TensorProto) -> int:
    """The bytes of the values `to_ndarray(proto)` builds, counted without building them.

    Numbers count their itemsize per element, strings their lengths (one value repeated to
    fill the shape counts once per element), whatever the proto itself weighs.

    Raises:
      ValueError: the shape is not fully defined.
    """
    num_elements = math.prod(proto_shape(proto))
    if proto.dtype == types_pb2.DT_STRING:
        values = proto.string_val
        if len(values) == 1:
            return num_elements * len(values[0])
        return sum(len(value) for value in values)
    try:
        itemsize = numpy_dtype(proto.dtype).itemsize
    except (KeyError, TypeError):
        itemsize = 8  # Resource and variant handles have no numpy dtype.
    return num_elements * itemsize


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The values of a TensorProto, shaped as its `tensor_shape`.

    The values are checked against the shape before anything of the shape's size is
    allocated; `nbytes(proto)` is what a successful call allocates.

    Args:
      proto: a TensorProto with a fully defined shape.

    Returns:
      np.ndarray of the proto's dtype (object of bytes for DT_STRING).

    Raises:
      ValueError: the shape is unknown or negative, or the values do not fit it: a
        tensor_content of another size, or a number of typed values other than the
        shape's element count, 1 (repeated) or 0 (zeros).
    """
    shape = proto_shape(proto)
    num_elements = math.prod(shape)
    field = _VALUE_FIELDS.get(proto.dtype)
    dtype = numpy_dtype(proto.dtype) if field is not None else None
    if proto.tensor_content:
        if proto.dtype == types_pb2.DT_STRING:
            raise ValueError("string tensors cannot use tensor_content")
        if dtype is not None and len(proto.tensor_content) != num_elements * dtype.itemsize:
            raise ValueError(f"tensor_content has {len(proto.tensor_content)} bytes, shape {shape} needs "
                             f"{num_elements * dtype.itemsize}")
    if field is None:
        # Rare dtypes (complex, quantized): TF's own reader knows their fields.
        return tf.make_ndarray(proto)
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(shape).copy()
    values = getattr(proto, field)
    if len(values) not in (num_elements, 1, 0):
        raise ValueError(f"{len(values)} values do not fit shape {shape}: send {num_elements}, or 1 to repeat, or "
                         "none for zeros")
    if not values:
        return np.zeros(shape, dtype=dtype) if dtype != object else np.full(shape, b"", dtype=object)
    if proto.dtype == types_pb2.DT_STRING:
        flat = np.empty(len(values), dtype=object)
        flat[:] = list(values)
    elif proto.dtype in _HALF_DTYPES:
        flat = np.array(values, dtype=np.uint16).view(dtype)
    else:
        # np.array reads a repeated scalar field in bulk; fromiter would go value by value.
        flat = np.array(values, dtype=dtype)
    if flat.size == num_elements:
        return flat.reshape(shape)
    return np.full(shape, flat[0], dtype=dtype)


def to_proto(array: np.ndarray, dtype: int, proto: tensor_pb2.TensorProto | None = None) -> tensor_pb2.TensorProto:
    """A TensorProto with `array`'s values in the typed field for `dtype`, as TF Serving answers.

    Args:
      array: np.ndarray of any shape; converted to `dtype` (strings: bytes or str).
      dtype: a types_pb2.DataType, the output's signature dtype.
      proto: an empty TensorProto to fill (e.g. `response.outputs[alias]`, which saves a
        copy of a large output); None for a new one.

    Returns:
      The filled TensorProto: dtype, tensor_shape and the typed values (float_val, ...).
    """
    proto = tensor_pb2.TensorProto() if proto is None else proto
    field = _VALUE_FIELDS.get(dtype)
    if field is None:
        proto.CopyFrom(tf.make_tensor_proto(array, dtype=dtype))
        return proto
    proto.dtype = dtype
    proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape)
    flat = np.asarray(array).ravel()
    if dtype == types_pb2.DT_STRING:
        proto.string_val.extend(value if isinstance(value, bytes) else str(value).encode() for value in flat)
    elif dtype in _HALF_DTYPES:
        proto.half_val.extend(flat.astype(numpy_dtype(dtype)).view(np.uint16).tolist())
    else:
        # tolist() converts in C; extending with the array itself boxes every element (3x slower).
        getattr(proto, field).extend(flat.astype(numpy_dtype(dtype), copy=False).tolist())
    return proto
