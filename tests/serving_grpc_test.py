"""The gRPC API of serving.server, through the official tensorflow-serving-api stubs only."""

import concurrent.futures
import os
import shutil
import tracemalloc
from unittest import mock

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving import errors, predict
from serving.servable import Servable
from serving.server import Server
from tests.serving_fixtures import (
    BIG_WIDTH,
    State,
    add_version,
    affine_request,
    config_text,
    wait_until,
    write_toy_models,
)
from tfgan_course import export, models

MAX_BATCH_SIZE = 64


def generator_request(name, z, label=None, signature_name=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    if signature_name:
        request.model_spec.signature_name = signature_name
    request.inputs["z"].CopyFrom(tf.make_tensor_proto(z))
    if label is not None:
        request.inputs["label"].CopyFrom(tf.make_tensor_proto(np.asarray(label, np.int32)))
    return request


def declared_tensor(shape, dtype=types_pb2.DT_FLOAT, **values):
    """A TensorProto of `shape` with only the typed values given, e.g. float_val=[1.0]."""
    proto = tensor_pb2.TensorProto(dtype=dtype, **values)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


def interpolate_request(rows, steps, row=0):
    """`rows` interpolations of `steps` steps; each row's path differs (row i starts at 0.25 (i + row))."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "dcgan", "interpolate"
    z = np.repeat(0.25 * (np.arange(rows, dtype=np.float32)[:, None] + row), 8, axis=1)
    request.inputs["z_start"].CopyFrom(tf.make_tensor_proto(z))
    request.inputs["z_end"].CopyFrom(tf.make_tensor_proto(z + 1))
    request.inputs["num_steps"].CopyFrom(tf.make_tensor_proto(np.full(rows, steps, np.int32)))
    return request


def peak_bytes(call, *args):
    """The most memory Python and numpy held at once while `call(*args)` ran, in any thread."""
    tracemalloc.start()
    try:
        call(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class GrpcTest(tf.test.TestCase):
    """One server for the class: the toy model (versions 1, 2, label stable=1), two generators, a polled model."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root, cls.template = write_toy_models({"toy": (1, 2), "polled": (1,)})
        toy, cls.polled = os.path.join(cls.root, "toy"), os.path.join(cls.root, "polled")
        exports = os.path.join(cls.root, "exports")
        dcgan, _ = models.build("dcgan", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0)
        cmlp, _ = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0, num_classes=3)
        cls.dcgan_path = export.export_generator(dcgan, exports, "dcgan")
        cls.cmlp_path = export.export_generator(cmlp, exports, "cmlp", num_classes=3)
        cls.server = Server(config_text(f"""model_config_list {{
            config {{ name: "toy" base_path: "{toy}" model_version_policy {{ all {{}} }}
                      version_labels {{ key: "stable" value: 1 }} }}
            config {{ name: "polled" base_path: "{cls.polled}" }}
            config {{ name: "dcgan" base_path: "{os.path.dirname(cls.dcgan_path)}" }}
            config {{ name: "cmlp" base_path: "{os.path.dirname(cls.cmlp_path)}" }} }}"""),
                            port=0, rest_api_port=-1, file_system_poll_wait_seconds=0.2,
                            max_batch_size=MAX_BATCH_SIZE).start()
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.server.grpc_port}",
                                            options=[("grpc.max_receive_message_length", -1)])
        cls.predictions = prediction_service_pb2_grpc.PredictionServiceStub(cls.channel)
        cls.models = model_service_pb2_grpc.ModelServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        super().tearDownClass()

    def assertRpcError(self, code, message, call, request):
        with self.assertRaises(grpc.RpcError) as caught:
            call(request, timeout=60)
        self.assertEqual(caught.exception.code(), code)
        self.assertEqual(caught.exception.details(), message)

    def test_predict_equals_the_savedmodel_in_process(self):
        z = np.random.RandomState(0).normal(size=(3, 8)).astype(np.float32)
        response = self.predictions.Predict(generator_request("dcgan", z), timeout=60)
        self.assertEqual(response.model_spec.name, "dcgan")
        self.assertEqual(response.model_spec.version.value, 1)
        self.assertEqual(response.model_spec.signature_name, "serving_default")
        images = response.outputs["images"]
        # TF Serving answers in the typed fields.
        self.assertEqual(images.dtype, types_pb2.DT_FLOAT)
        self.assertLen(images.float_val, 3 * 8 * 8)
        self.assertFalse(images.tensor_content)
        expected = export.load_serving_fn(self.dcgan_path)(z=tf.constant(z))["images"]
        self.assertAllEqual(tf.make_ndarray(images), expected)

        label = [0, 2, 1]
        response = self.predictions.Predict(generator_request("cmlp", z, label), timeout=60)
        expected = export.load_serving_fn(self.cmlp_path)(z=tf.constant(z), label=tf.constant(label))["images"]
        self.assertAllEqual(tf.make_ndarray(response.outputs["images"]), expected)

    def test_versions_labels_and_signatures(self):
        request = affine_request([[1.0, 2.0]])
        latest = self.predictions.Predict(request, timeout=60)
        self.assertEqual(latest.model_spec.version.value, 2)
        self.assertAllEqual(tf.make_ndarray(latest.outputs["y"]), [[3.0, 5.0]])
        self.assertAllEqual(tf.make_ndarray(latest.outputs["total"]), [3.0])
        request.model_spec.version.value = 1
        self.assertEqual(self.predictions.Predict(request, timeout=60).model_spec.version.value, 1)
        request.model_spec.version_label = "stable"
        self.assertEqual(self.predictions.Predict(request, timeout=60).model_spec.version.value, 1)

        shout = predict_pb2.PredictRequest()
        shout.model_spec.name, shout.model_spec.signature_name = "toy", "shout"
        shout.inputs["text"].CopyFrom(tf.make_tensor_proto([b"abc", "héllo".encode()]))
        response = self.predictions.Predict(shout, timeout=60)
        self.assertEqual(response.model_spec.signature_name, "shout")
        self.assertEqual(list(response.outputs["upper"].string_val), [b"ABC", "HéLLO".encode()])
        self.assertEqual(list(response.outputs["length"].int_val), [3, 6])

    def test_png_bytes(self):
        pixels = np.random.RandomState(1).randint(0, 256, size=(2, 4, 4, 1)).astype(np.uint8)
        request = predict_pb2.PredictRequest()
        request.model_spec.name, request.model_spec.signature_name = "toy", "png"
        request.inputs["pixels"].CopyFrom(tf.make_tensor_proto(pixels))
        response = self.predictions.Predict(request, timeout=60)
        pngs = tf.make_ndarray(response.outputs["images_png_bytes"])
        self.assertEqual(pngs.shape, (2,))
        for png, image in zip(pngs, pixels):
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
            self.assertAllEqual(tf.io.decode_png(png), image)

    def test_output_filter(self):
        request = affine_request([[1.0, 2.0]])
        request.output_filter.append("total")
        response = self.predictions.Predict(request, timeout=60)
        self.assertEqual(list(response.outputs), ["total"])

    def test_error_codes_and_messages(self):
        invalid, missing = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND

        def toy(**changes):
            request = affine_request([[1.0, 2.0]])
            for field, value in changes.items():
                if field == "version":
                    request.model_spec.version.value = value
                elif field == "output_filter":
                    request.output_filter.extend(value)
                else:
                    setattr(request.model_spec, field, value)
            return request

        extra = toy()
        extra.inputs["extra"].CopyFrom(tf.make_tensor_proto(1.0))
        renamed = predict_pb2.PredictRequest()
        renamed.model_spec.name = "toy"
        renamed.inputs["X"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 2), np.float32)))
        wrong_dtype = toy()
        wrong_dtype.inputs["x"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 2), np.int32)))
        wrong_shape = affine_request(np.zeros((2, 3)))
        unparseable = toy()
        unparseable.inputs["x"].tensor_shape.dim[0].size = 5
        too_big = affine_request(np.zeros((MAX_BATCH_SIZE + 1, 2)))
        negative = affine_request([-1.0])
        negative.model_spec.signature_name = "root"
        cases = [
            (toy(name="nope"), missing, "Servable not found for request: Latest(nope)"),
            (toy(version=9), missing, "Servable not found for request: Specific(toy, 9)"),
            (toy(version_label="nope"), invalid, "Unrecognized servable version label: nope"),
            (toy(name="../toy"), invalid, 'Invalid model name "../toy": use letters, digits, "_", "-" and "." only '
                                          '(and not "." or "..").'),
            (toy(signature_name="nope"), grpc.StatusCode.FAILED_PRECONDITION,
             'Serving signature key "nope" not found.'),
            (generator_request("cmlp", np.zeros((1, 8), np.float32)), invalid,
             "input size does not match signature: 1!=2 len({z}) != len({label,z}). Sent extra: {}. Missing but "
             "required: {label}."),
            (extra, invalid, "input size does not match signature: 2!=1 len({extra,x}) != len({x}). Sent extra: "
                             "{extra}. Missing but required: {}."),
            (renamed, invalid, "Signature input alias: x(feed name: serving_default_x:0) not found in request and no "
                               "default value provided. Inputs expected to be in the request {X}, or default input "
                               "alias set: "),
            (wrong_dtype, invalid, 'Expects input "x" to be float but int32 is provided'),
            (wrong_shape, invalid, 'Input "x" has shape [2,3] but the signature expects [-1,2] (-1: any size).'),
            (unparseable, invalid, "tensor parsing error: x"),
            (toy(output_filter=["nope"]), invalid,
             "output tensor alias not found in signature: nope Outputs expected to be in the set {total,y}."),
            (toy(output_filter=["y", "y"]), invalid, "duplicate output tensor alias: y"),
            (too_big, invalid, f'Input "x" has batch size {MAX_BATCH_SIZE + 1}, over this server\'s limit of '
                               f"{MAX_BATCH_SIZE} (--max_batch_size): send smaller batches, or restart the server with "
                               "a larger --max_batch_size."),
            (predict_pb2.PredictRequest(), invalid, "Missing ModelSpec"),
        ]
        for request, code, message in cases:
            with self.subTest(message=message):
                self.assertRpcError(code, message, self.predictions.Predict, request)
        # A check inside the model fails with TF's own message.
        with self.assertRaises(grpc.RpcError) as caught:
            self.predictions.Predict(negative, timeout=60)
        self.assertEqual(caught.exception.code(), invalid)
        self.assertIn("x must be non-negative", caught.exception.details())

    def test_a_few_bytes_declaring_a_huge_tensor_are_refused_before_it_is_built(self):
        def toy(proto):
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "toy"
            request.inputs["x"].CopyFrom(proto)
            return request

        invalid = grpc.StatusCode.INVALID_ARGUMENT
        cases = [
            # The request: one float, shape [1, N]; built first, it took 4N bytes.
            (toy(declared_tensor([1, 2**24], float_val=[1.0])), invalid,
             'Input "x" has shape [1,16777216] but the signature expects [-1,2] (-1: any size).'),
            (toy(declared_tensor([2**24, 2])), invalid,
             f'Input "x" has batch size {2**24}, over this server\'s limit of {MAX_BATCH_SIZE} (--max_batch_size): '
             "send smaller batches, or restart the server with a larger --max_batch_size."),
            # Neither 0, 1 nor one value per element.
            (toy(declared_tensor([2, 2], float_val=[1.0, 2.0, 3.0])), invalid, "tensor parsing error: x"),
            (toy(declared_tensor([1, 2], dtype=types_pb2.DT_INT32, int_val=[1])), invalid,
             'Expects input "x" to be float but int32 is provided'),
        ]
        self.assertLessEqual(cases[0][0].ByteSize(), 35)
        for request, code, message in cases:
            with self.subTest(message=message):
                peak = peak_bytes(self.assertRpcError, code, message, self.predictions.Predict, request)
                self.assertLess(peak, 8 << 20)
        one_value = self.predictions.Predict(toy(declared_tensor([3, 2], float_val=[1.5])), timeout=60)
        self.assertAllEqual(tf.make_ndarray(one_value.outputs["y"]), np.full((3, 2), 4.0))

    def test_outputs_over_the_batch_limit_are_refused_after_running_one_row(self):
        ran = []
        function = Servable.function

        def spy(servable, key):
            run = function(servable, key)

            def counted(**feeds):
                ran.append(int(feeds["num_steps"].shape[0]))
                return run(**feeds)
            return counted if key == "interpolate" else run

        invalid = grpc.StatusCode.INVALID_ARGUMENT
        with mock.patch.object(Servable, "function", spy):
            # 16 rows x 40 steps: the first row alone says the answer would be 640 images.
            self.assertRpcError(invalid, 'Output "images" of shape [16,40,8,8,1] would hold 640 examples (the product '
                                "of its dims that are -1 in [-1,-1,8,8,1]), over this server's limit of "
                                f"{MAX_BATCH_SIZE} (--max_batch_size): ask for fewer, or restart the server with a "
                                "larger --max_batch_size.", self.predictions.Predict, interpolate_request(16, 40))
            self.assertEqual(ran, [1])
            # One row is the whole request: its answer is refused.
            with self.assertRaises(grpc.RpcError) as caught:
                self.predictions.Predict(interpolate_request(1, MAX_BATCH_SIZE + 1), timeout=60)
            self.assertEqual(caught.exception.code(), invalid)
            self.assertIn(f"[1,{MAX_BATCH_SIZE + 1},8,8,1] would hold {MAX_BATCH_SIZE + 1} examples",
                          caught.exception.details())
            del ran[:]
            response = self.predictions.Predict(interpolate_request(2, MAX_BATCH_SIZE // 2), timeout=60)
            self.assertEqual(ran, [1, 1])  # The first row, then only the other one: no row twice.
        images = tf.make_ndarray(response.outputs["images"])
        self.assertEqual(images.shape, (2, MAX_BATCH_SIZE // 2, 8, 8, 1))
        one_row_each = [tf.make_ndarray(self.predictions.Predict(interpolate_request(1, MAX_BATCH_SIZE // 2, row=i),
                                                                 timeout=60).outputs["images"]) for i in range(2)]
        self.assertAllEqual(images, np.concatenate(one_row_each))

    def test_metadata(self):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = "dcgan"
        response = self.predictions.GetModelMetadata(request, timeout=60)
        self.assertEqual((response.model_spec.name, response.model_spec.version.value), ("dcgan", 1))
        signature_defs = get_model_metadata_pb2.SignatureDefMap()
        self.assertTrue(response.metadata["signature_def"].Unpack(signature_defs))
        self.assertNotIn("__saved_model_init_op", signature_defs.signature_def)
        default = signature_defs.signature_def["serving_default"]
        self.assertEqual(default.inputs["z"].dtype, types_pb2.DT_FLOAT)
        self.assertEqual([d.size for d in default.inputs["z"].tensor_shape.dim], [-1, 8])
        self.assertEqual([d.size for d in default.outputs["images"].tensor_shape.dim], [-1, 8, 8, 1])

        request.model_spec.name = "toy"
        request.model_spec.version.value = 1
        response = self.predictions.GetModelMetadata(request, timeout=60)
        self.assertEqual(response.model_spec.version.value, 1)
        response.metadata["signature_def"].Unpack(signature_defs)
        self.assertEqual(set(signature_defs.signature_def),
                         {"serving_default", "png", "shout", "big", "root", "nap"})
        self.assertEqual(set(signature_defs.signature_def["serving_default"].outputs), {"y", "total"})

        request.metadata_field[:] = ["signature_def", "other"]
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "Metadata field other is not supported",
                            self.predictions.GetModelMetadata, request)
        request.metadata_field[:] = []
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT,
                            "GetModelMetadataRequest must specify at least one metadata_field",
                            self.predictions.GetModelMetadata, request)

    def test_model_status(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "toy"
        response = self.models.GetModelStatus(request, timeout=60)
        self.assertEqual([(s.version, s.state, s.status.error_code) for s in response.model_version_status],
                         [(2, State.AVAILABLE, 0), (1, State.AVAILABLE, 0)])
        request.model_spec.version_label = "stable"
        (labelled,) = self.models.GetModelStatus(request, timeout=60).model_version_status
        self.assertEqual(labelled.version, 1)
        request.model_spec.version.value = 7
        self.assertRpcError(grpc.StatusCode.NOT_FOUND, "Could not find version 7 of model toy",
                            self.models.GetModelStatus, request)

    def test_new_versions_are_polled_and_removed_ones_unloaded(self):
        request = affine_request([[1.0, 1.0]], name="polled")
        self.assertEqual(self.predictions.Predict(request, timeout=60).model_spec.version.value, 1)
        add_version(self.template, self.polled, 2)
        self.assertTrue(wait_until(lambda: self._states("polled") == {2: State.AVAILABLE, 1: State.END}))
        self.assertEqual(self.predictions.Predict(request, timeout=60).model_spec.version.value, 2)
        shutil.rmtree(os.path.join(self.polled, "2"))
        self.assertTrue(wait_until(lambda: self._states("polled") == {2: State.END, 1: State.AVAILABLE}))
        self.assertEqual(self.predictions.Predict(request, timeout=60).model_spec.version.value, 1)

    def _states(self, name):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = name
        return {s.version: s.state for s in self.models.GetModelStatus(request, timeout=60).model_version_status}

    def test_responses_over_4_mb(self):
        request = affine_request([1.5])
        request.model_spec.signature_name = "big"
        response = self.predictions.Predict(request, timeout=120)
        self.assertGreater(response.ByteSize(), 4 << 20)
        y = tf.make_ndarray(response.outputs["y"])
        self.assertEqual(y.shape, (1, BIG_WIDTH))
        self.assertTrue(np.all(y == 1.5))
        # A client with gRPC's default 4 MB receive limit is told why it cannot have it.
        with grpc.insecure_channel(f"127.0.0.1:{self.server.grpc_port}") as small:
            with self.assertRaises(grpc.RpcError) as caught:
                prediction_service_pb2_grpc.PredictionServiceStub(small).Predict(request, timeout=120)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_16_concurrent_clients(self):
        def client(index):
            answers = []
            for step in range(3):
                x = np.float32([[index, step]])
                answers.append((x, tf.make_ndarray(self.predictions.Predict(affine_request(x), timeout=120)
                                                   .outputs["y"])))
            return answers

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(client, range(16)))
        for answers in results:
            for x, y in answers:
                self.assertAllEqual(y, 2 * x + 1)

    def test_classify_is_unimplemented(self):
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name = "toy"
        with self.assertRaises(grpc.RpcError) as caught:
            self.predictions.Classify(request, timeout=60)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertIn("predict signatures only", caught.exception.details())


class InputSizeTest(tf.test.TestCase):
    """`predict.predict`'s bound on an input's size in memory, on a signature whose shapes allow any size."""

    def test_an_input_larger_than_a_request_may_be_is_refused_before_it_is_built(self):
        signature = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
        for alias, dtype, dims in (("x", types_pb2.DT_FLOAT, (-1, -1)), ("s", types_pb2.DT_STRING, (-1,))):
            signature.inputs[alias].dtype = dtype
            for size in dims:
                signature.inputs[alias].tensor_shape.dim.add(size=size)
        model = Servable("model", 1, "/nowhere", {"serving_default": signature}, loaded=None)

        def request(x, s):
            request = predict_pb2.PredictRequest()
            request.inputs["x"].CopyFrom(x)
            request.inputs["s"].CopyFrom(s)
            return request

        fine_x = declared_tensor([1, 1], float_val=[1.0])
        fine_s = declared_tensor([1], types_pb2.DT_STRING, string_val=[b"a"])
        for sent, message in (
                (request(declared_tensor([1, 2**24], float_val=[1.0]), fine_s),
                 'Input "x" of shape [1,16777216] would take 67108864 bytes, over this server\'s limit of 1048576 '
                 "(--max_request_bytes): send a smaller tensor, or restart the server with a larger "
                 "--max_request_bytes."),
                (request(fine_x, declared_tensor([64], types_pb2.DT_STRING, string_val=[b"a" * 20000])),
                 'Input "s" of shape [64] would take 1280000 bytes, over this server\'s limit of 1048576 '
                 "(--max_request_bytes): send a smaller tensor, or restart the server with a larger "
                 "--max_request_bytes.")):
            with self.subTest(message=message):
                self.assertLess(peak_bytes(self.assertRefused, model, sent, message), 1 << 20)

    def assertRefused(self, model, request, message):
        with self.assertRaises(errors.ServingError) as caught:
            predict.predict(model, request, max_batch_size=64, max_input_bytes=1 << 20)
        self.assertEqual(caught.exception.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(caught.exception.message, message)


if __name__ == "__main__":
    tf.test.main()
