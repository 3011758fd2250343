"""serving.tensors and serving.json_tensors: TensorProto and REST JSON <-> numpy, with TF Serving's rules."""

import base64
import json

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from serving import errors, json_tensors, tensors


def _infos(**dtypes):
    """alias -> TensorInfo with the given dtypes, as a signature's inputs."""
    return {alias: meta_graph_pb2.TensorInfo(dtype=dtype) for alias, dtype in dtypes.items()}


def _parse(document, **dtypes):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return json_tensors.parse_predict_request(body, lambda signature_name: _infos(**dtypes))


class TensorProtoTest(tf.test.TestCase):

    def test_outputs_use_typed_fields_and_read_back(self):
        cases = [
            (np.arange(6, dtype=np.float32).reshape(2, 3) / 7, types_pb2.DT_FLOAT, "float_val"),
            (np.array([[1, -2]], np.int32), types_pb2.DT_INT32, "int_val"),
            (np.array([0, 255], np.uint8), types_pb2.DT_UINT8, "int_val"),
            (np.array([2**40], np.int64), types_pb2.DT_INT64, "int64_val"),
            (np.array([0.1], np.float64), types_pb2.DT_DOUBLE, "double_val"),
            (np.array([True, False]), types_pb2.DT_BOOL, "bool_val"),
            (np.array([1.5, -2], np.float16), types_pb2.DT_HALF, "half_val"),
            (np.array([b"a", b"\xff\x00"], dtype=object), types_pb2.DT_STRING, "string_val"),
        ]
        for array, dtype, field in cases:
            proto = tensors.to_proto(array, dtype)
            self.assertEqual(proto.dtype, dtype)
            self.assertEqual([d.size for d in proto.tensor_shape.dim], list(array.shape))
            self.assertFalse(proto.tensor_content)
            self.assertLen(getattr(proto, field), array.size)
            # The official client's reader agrees with ours.
            for reader in (tensors.to_ndarray, tf.make_ndarray):
                read = reader(proto)
                self.assertEqual(read.shape, array.shape)
                np.testing.assert_array_equal(read, array)

    def test_reads_tensor_content_as_make_tensor_proto_writes_it(self):
        for array in (np.random.RandomState(0).normal(size=(3, 4)).astype(np.float32), np.array([[7, 8]], np.int64)):
            proto = tf.make_tensor_proto(array)
            self.assertTrue(proto.tensor_content)
            np.testing.assert_array_equal(tensors.to_ndarray(proto), array)

    def test_one_value_fills_the_shape_and_none_are_zeros(self):
        proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.5])
        proto.tensor_shape.dim.add(size=4)
        np.testing.assert_array_equal(tensors.to_ndarray(proto), [1.5, 1.5, 1.5, 1.5])
        del proto.float_val[:]
        np.testing.assert_array_equal(tensors.to_ndarray(proto), [0, 0, 0, 0])
        text = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[b"ab"])
        text.tensor_shape.dim.add(size=3)
        self.assertEqual(list(tensors.to_ndarray(text)), [b"ab"] * 3)

    def test_sizes_are_known_before_anything_is_built(self):
        # The 35-byte request of the issue: one float declaring a billion of them.
        huge = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
        huge.tensor_shape.dim.add(size=1)
        huge.tensor_shape.dim.add(size=2**28)
        self.assertLess(huge.ByteSize(), 35)
        self.assertEqual(tensors.proto_shape(huge), [1, 2**28])
        self.assertEqual(tensors.nbytes(huge), 2**30)
        text = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[b"x" * 1000])
        text.tensor_shape.dim.add(size=2**20)
        self.assertEqual(tensors.nbytes(text), 1000 * 2**20)
        self.assertEqual(tensors.nbytes(tf.make_tensor_proto(np.zeros((3, 5), np.int64))), 120)

    def test_values_that_do_not_fit_the_shape_are_errors(self):
        too_many = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, int_val=[1, 2, 3])
        too_many.tensor_shape.dim.add(size=2)
        # Neither 0, 1 nor one per element: INVALID_ARGUMENT, never a repeated last value.
        too_few = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0])
        too_few.tensor_shape.dim.add(size=4)
        short_content = tf.make_tensor_proto(np.zeros(4, np.float32))
        short_content.tensor_shape.dim[0].size = 5
        unknown = tf.make_tensor_proto(np.zeros(2, np.float32))
        unknown.tensor_shape.dim[0].size = -1
        for proto in (too_many, too_few, short_content, unknown):
            with self.assertRaises(ValueError):
                tensors.to_ndarray(proto)

    def test_dtype_names_are_tensorflows(self):
        self.assertEqual(tensors.dtype_name(types_pb2.DT_FLOAT), "float")
        self.assertEqual(tensors.dtype_name(types_pb2.DT_INT32), "int32")
        self.assertEqual(tensors.dtype_name(types_pb2.DT_STRING), "string")


class JsonRequestTest(tf.test.TestCase):

    def test_row_format_batches_named_inputs(self):
        request = _parse({"instances": [{"z": [1, 2.5], "label": 3}, {"z": [0, -1], "label": 4}],
                          "signature_name": "s"}, z=types_pb2.DT_FLOAT, label=types_pb2.DT_INT32)
        self.assertEqual(request.format, json_tensors.ROW)
        self.assertEqual(request.signature_name, "s")
        np.testing.assert_array_equal(request.inputs["z"], np.array([[1, 2.5], [0, -1]], np.float32))
        self.assertEqual(request.inputs["z"].dtype, np.float32)
        np.testing.assert_array_equal(request.inputs["label"], np.array([3, 4], np.int32))
        self.assertEqual(request.inputs["label"].dtype, np.int32)

    def test_row_format_with_one_input_takes_bare_values(self):
        request = _parse({"instances": [[1, 2], [3, 4], [5, 6]]}, x=types_pb2.DT_INT64)
        np.testing.assert_array_equal(request.inputs["x"], [[1, 2], [3, 4], [5, 6]])
        self.assertEqual(request.signature_name, "")

    def test_columnar_format(self):
        request = _parse({"inputs": {"z": [[1.0, 2.0]], "label": [0]}}, z=types_pb2.DT_FLOAT, label=types_pb2.DT_INT32)
        self.assertEqual(request.format, json_tensors.COLUMNAR)
        self.assertEqual(request.inputs["z"].shape, (1, 2))
        scalar = _parse({"inputs": 7}, n=types_pb2.DT_INT32)
        self.assertEqual(scalar.inputs["n"].shape, ())

    def test_strings_are_text_or_base64_anywhere(self):
        png = b"\x89PNG\r\n\x1a\n\x00\xff"
        request = _parse({"instances": ["héllo", {"b64": base64.b64encode(png).decode()}]}, s=types_pb2.DT_STRING)
        self.assertEqual(list(request.inputs["s"]), ["héllo".encode(), png])
        unpadded = _parse({"inputs": [{"b64": "YWI"}]}, s=types_pb2.DT_STRING)
        self.assertEqual(list(unpadded.inputs["s"]), [b"ab"])

    def assertInvalid(self, message, document, **dtypes):
        with self.assertRaises(errors.ServingError) as caught:
            _parse(document, **dtypes)
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(caught.exception.message, message)

    def test_tf_servings_messages_for_malformed_requests(self):
        f, i = types_pb2.DT_FLOAT, types_pb2.DT_INT32
        self.assertInvalid("JSON Parse error: The document is empty", b"", x=f)
        self.assertInvalid("JSON Parse error: Expecting value at offset: 14", b'{"instances": ]}', x=f)
        self.assertInvalid("JSON Value: [1] Is not object", [1], x=f)
        self.assertInvalid("Missing 'inputs' or 'instances' key", {"signature_name": "s"}, x=f)
        self.assertInvalid("JSON Value: {\"signature_name\": 3} not formatted correctly. 'signature_name' key must "
                           "be a string value.", {"signature_name": 3}, x=f)
        self.assertInvalid("JSON Value: {\"instances\": []} No values in 'instances' array", {"instances": []}, x=f)
        self.assertInvalid("instances is a plain list, but expecting list of objects as multiple input tensors "
                           "required as per tensorinfo_map", {"instances": [[1.0]]}, x=f, y=f)
        self.assertInvalid("Missing named input: y in 'inputs' object.", {"inputs": {"x": [1.0]}}, x=f, y=f)
        self.assertInvalid("Failed to process element: 1 of 'instances' list. JSON object: {\"x\": 2.0} keys must be "
                           "equal to: x,y", {"instances": [{"x": 1.0, "y": 1.0}, {"x": 2.0}]}, x=f, y=f)
        self.assertInvalid("JSON Value: \"a\" Type: String is not of expected type: float", {"inputs": [1.0, "a"]},
                           x=f)
        self.assertInvalid("JSON Value: 1.5 Type: Number is not of expected type: int32", {"inputs": [1, 1.5]}, x=i)
        self.assertInvalid("JSON Value: true Type: True is not of expected type: int32", {"inputs": [True]}, x=i)
        self.assertInvalid("Cannot convert JSON value: 16777217 to float without loss of precision.",
                           {"inputs": [16777217]}, x=f)
        self.assertInvalid("Encountered list at unexpected size: 1 at level: 1 expected size: 2",
                           {"inputs": [[1, 2], [3]]}, x=f)
        self.assertInvalid("Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting "
                           "tensor size: 2 but got: 3", {"instances": [[1, 2], [1, 2, 3]]}, x=f)
        self.assertInvalid("JSON Value: 300 is out of range for uint8 [0, 255]", {"inputs": [300]},
                           x=types_pb2.DT_UINT8)
        self.assertInvalid("Unable to base64 decode", {"inputs": [{"b64": "!!"}]}, x=types_pb2.DT_STRING)
        self.assertInvalid("JSON Value: {\"b64\": 1} not formatted correctly for base64 data",
                           {"inputs": [{"b64": 1}]}, x=types_pb2.DT_STRING)

    def test_nesting_deeper_than_a_tensor_can_be_is_invalid(self):
        deep = b'{"inputs": ' + b"[" * 65 + b"1" + b"]" * 65 + b"}"
        for dtype in (types_pb2.DT_FLOAT, types_pb2.DT_STRING):
            with self.assertRaisesRegex(errors.ServingError, "nests lists 65 deep, over the 64 dimensions a tensor may "
                                        "have here") as caught:
                _parse(deep, x=dtype)
            self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(_parse(b'{"inputs": ' + b"[" * 64 + b"1" + b"]" * 64 + b"}", x=types_pb2.DT_FLOAT)
                         .inputs["x"].shape, (1,) * 64)


class JsonResponseTest(tf.test.TestCase):

    def test_row_format_one_output_is_a_list_of_values(self):
        body = json_tensors.format_predict_response({"y": np.array([[1, 2], [3, 4]], np.int32)}, json_tensors.ROW)
        self.assertEqual(json.loads(body), {"predictions": [[1, 2], [3, 4]]})

    def test_row_format_several_outputs_are_objects(self):
        body = json_tensors.format_predict_response(
            {"a": np.array([1, 2], np.int64), "b": np.array([[0.5], [0.25]], np.float32)}, json_tensors.ROW)
        self.assertEqual(json.loads(body), {"predictions": [{"a": 1, "b": [0.5]}, {"a": 2, "b": [0.25]}]})

    def test_columnar_format(self):
        one = json_tensors.format_predict_response({"a": np.array(3, np.int32)}, json_tensors.COLUMNAR)
        self.assertEqual(json.loads(one), {"outputs": 3})
        two = json_tensors.format_predict_response({"a": np.array([1], np.int32), "b": np.array([True])},
                                                   json_tensors.COLUMNAR)
        self.assertEqual(json.loads(two), {"outputs": {"a": [1], "b": [True]}})

    def test_bytes_outputs_are_base64_and_strings_text(self):
        png = b"\x89PNG\x00\xff"
        body = json_tensors.format_predict_response(
            {"images_png_bytes": np.array([png], dtype=object), "caption": np.array(["é".encode()], dtype=object)},
            json_tensors.ROW)
        self.assertEqual(json.loads(body)["predictions"],
                         [{"images_png_bytes": {"b64": base64.b64encode(png).decode()}, "caption": "é"}])

    def test_float32_is_written_short_and_reads_back_exactly(self):
        values = np.concatenate([np.float32([0.2, 1.0, -3.5, 1e-8, 3.4028235e38, 1 / 3, np.pi, 0.0, 1e-45]),
                                 np.random.RandomState(0).normal(size=1000).astype(np.float32)])
        body = json_tensors.format_predict_response({"y": values}, json_tensors.COLUMNAR)
        text = body.decode()
        self.assertIn("[0.2, 1.0, -3.5, 1e-08, 3.40282347e+38, 0.333333343, 3.14159274, 0.0, ", text)
        np.testing.assert_array_equal(np.array(json.loads(body)["outputs"], np.float32), values)

    def test_non_finite_floats_as_tf_serving_writes_them(self):
        body = json_tensors.format_predict_response({"y": np.float32([np.nan, np.inf, -np.inf])},
                                                    json_tensors.COLUMNAR)
        self.assertEqual(body, b'{"outputs": [NaN, Infinity, -Infinity]}')

    def test_row_format_needs_one_batch_size(self):
        with self.assertRaisesRegex(errors.ServingError, "Tensor name: b has inconsistent batch size: 1 expecting: 2"):
            json_tensors.format_predict_response({"a": np.zeros(2), "b": np.zeros(1)}, json_tensors.ROW)
        with self.assertRaisesRegex(errors.ServingError, "Tensor name: a has no shape information"):
            json_tensors.format_predict_response({"a": np.float32(1)}, json_tensors.ROW)


if __name__ == "__main__":
    tf.test.main()
