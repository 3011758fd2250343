"""The REST API of serving.server: TF Serving's URLs, JSON formats and HTTP error codes, checked with urllib."""

import base64
import http.client
import json
import os
import tempfile
import threading
import urllib.error
import urllib.request

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving import rest
from serving.server import Server
from tests.serving_fixtures import config_text, write_toy_models
from tfgan_course import export, models

MAX_BATCH_SIZE = 64


def http_json(url, method="GET", body=None):
    """(HTTP status, decoded JSON body) of one request; error statuses are returned, not raised."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class RestTest(tf.test.TestCase):
    """One server (gRPC and REST) for the class: the toy model (versions 1, 2, label stable=1) and a generator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root, _ = write_toy_models({"toy": (1, 2)})
        toy = os.path.join(cls.root, "toy")
        cmlp, _ = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0, num_classes=3)
        cmlp_path = export.export_generator(cmlp, os.path.join(cls.root, "exports"), "cmlp", num_classes=3)
        cls.server = Server(config_text(f"""model_config_list {{
            config {{ name: "toy" base_path: "{toy}" model_version_policy {{ all {{}} }}
                      version_labels {{ key: "stable" value: 1 }} }}
            config {{ name: "cmlp" base_path: "{os.path.dirname(cmlp_path)}" }} }}"""),
                            port=0, rest_api_port=0, file_system_poll_wait_seconds=0,
                            max_batch_size=MAX_BATCH_SIZE).start()
        cls.url = f"http://127.0.0.1:{cls.server.rest_port}"
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.server.grpc_port}")

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        super().tearDownClass()

    def test_status_json(self):
        available = {"state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        self.assertEqual(http_json(self.url + "/v1/models/toy"), (200, {
            "model_version_status": [{"version": "2", **available}, {"version": "1", **available}]}))
        self.assertEqual(http_json(self.url + "/v1/models/toy/versions/1"),
                         (200, {"model_version_status": [{"version": "1", **available}]}))
        self.assertEqual(http_json(self.url + "/v1/models/toy/labels/stable"),
                         (200, {"model_version_status": [{"version": "1", **available}]}))

    def test_metadata_json(self):
        status, body = http_json(self.url + "/v1/models/cmlp/metadata")
        self.assertEqual(status, 200)
        self.assertEqual(body["model_spec"], {"name": "cmlp", "signature_name": "", "version": "1"})
        default = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
        self.assertEqual(default["method_name"], "tensorflow/serving/predict")
        self.assertEqual(default["inputs"]["z"]["dtype"], "DT_FLOAT")
        self.assertEqual([dim["size"] for dim in default["inputs"]["z"]["tensor_shape"]["dim"]], ["-1", "8"])
        self.assertEqual(default["inputs"]["label"]["dtype"], "DT_INT32")
        self.assertEqual(http_json(self.url + "/v1/models/toy/versions/1/metadata")[1]["model_spec"]["version"], "1")

    def test_row_and_columnar_predict_equal_grpc(self):
        z = np.random.RandomState(0).normal(size=(3, 8)).astype(np.float32)
        label = [0, 2, 1]
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "cmlp"
        request.inputs["z"].CopyFrom(tf.make_tensor_proto(z))
        request.inputs["label"].CopyFrom(tf.make_tensor_proto(np.int32(label)))
        grpc_images = tf.make_ndarray(prediction_service_pb2_grpc.PredictionServiceStub(self.channel).Predict(
            request, timeout=60).outputs["images"])

        row = {"instances": [{"z": z[i].tolist(), "label": label[i]} for i in range(3)]}
        status, body = http_json(self.url + "/v1/models/cmlp:predict", "POST", row)
        self.assertEqual(status, 200)
        self.assertAllEqual(np.array(body["predictions"], np.float32), grpc_images)

        columnar = {"signature_name": "serving_default", "inputs": {"z": z.tolist(), "label": label}}
        status, body = http_json(self.url + "/v1/models/cmlp/versions/1:predict", "POST", columnar)
        self.assertEqual(status, 200)
        self.assertAllEqual(np.array(body["outputs"], np.float32), grpc_images)

    def test_several_outputs_labels_and_versions(self):
        status, body = http_json(self.url + "/v1/models/toy/labels/stable:predict", "POST",
                                 {"instances": [[1.0, 2.0], [0.0, -1.0]]})
        self.assertEqual((status, body), (200, {"predictions": [{"total": 3.0, "y": [3.0, 5.0]},
                                                                {"total": -1.0, "y": [1.0, -1.0]}]}))

    def test_png_bytes_come_as_base64(self):
        pixels = np.random.RandomState(2).randint(0, 256, size=(2, 4, 4, 1)).astype(np.uint8)
        status, body = http_json(self.url + "/v1/models/toy:predict", "POST", {
            "signature_name": "png", "instances": [{"pixels": image.tolist()} for image in pixels]})
        self.assertEqual(status, 200)
        for prediction, image in zip(body["predictions"], pixels):
            png = base64.b64decode(prediction["images_png_bytes"]["b64"])
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
            self.assertAllEqual(tf.io.decode_png(png), image)
            self.assertAllClose(prediction["mean"], image.mean())

    def test_strings_as_text_and_base64(self):
        status, body = http_json(self.url + "/v1/models/toy:predict", "POST", {
            "signature_name": "shout", "inputs": ["héllo", {"b64": base64.b64encode(b"abc").decode()}]})
        self.assertEqual((status, body), (200, {"outputs": {"length": [6, 3], "upper": ["HéLLO", "ABC"]}}))

    def test_error_bodies_and_codes(self):
        predict = self.url + "/v1/models/toy:predict"
        cases = [
            ("/v1/models/nope", "GET", None, 404, "Could not find any versions of model nope"),
            ("/v1/models/toy/versions/7", "GET", None, 404, "Could not find version 7 of model toy"),
            ("/v1/models/nope:predict", "POST", {"instances": [1]}, 404,
             "Servable not found for request: Latest(nope)"),
            ("/v1/models/toy/versions/9:predict", "POST", {"instances": [[1, 2]]}, 404,
             "Servable not found for request: Specific(toy, 9)"),
            ("/v1/models/toy/labels/nope:predict", "POST", {"instances": [[1, 2]]}, 400,
             "Unrecognized servable version label: nope"),
            ("/v1/models/toy:predict", "POST", b"{not json", 400,
             "JSON Parse error: Expecting property name enclosed in double quotes at offset: 1"),
            ("/v1/models/toy:predict", "POST", {"signature_name": "nope", "instances": [1]}, 400,
             'Serving signature name: "nope" not found in signature def'),
            ("/v1/models/toy:predict", "POST", {"instances": [["a", 1]]}, 400,
             "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"a\" Type: "
             "String is not of expected type: float"),
            ("/v1/models/toy:predict", "POST", {"inputs": [[1.0, 2.0, 3.0]]}, 400,
             'Input "x" has shape [1,3] but the signature expects [-1,2] (-1: any size).'),
            ("/v1/models/toy:predict", "POST", {"inputs": np.zeros((MAX_BATCH_SIZE + 1, 2)).tolist()}, 400,
             f'Input "x" has batch size {MAX_BATCH_SIZE + 1}, over this server\'s limit of {MAX_BATCH_SIZE} '
             "(--max_batch_size): send smaller batches, or restart the server with a larger --max_batch_size."),
            ("/v1/models/toy:classify", "POST", {"examples": []}, 501,
             "classify is not supported by this embedded server: it serves predict signatures only. Use :predict, "
             "or tensorflow_model_server."),
            ("/v1/models", "GET", None, 400, "Missing model name in request."),
            ("/v1/models/toy/bogus", "GET", None, 400, "Malformed request: GET /v1/models/toy/bogus"),
            ("/v1/models/..:predict", "POST", {"instances": [1]}, 400,
             'Invalid model name "..": use letters, digits, "_", "-" and "." only (and not "." or "..").'),
            ("/nothing/here", "GET", None, 404,
             "Not found: GET /nothing/here. The API is under /v1/models/<name> (status, /metadata, :predict)."),
        ]
        for path, method, body, code, message in cases:
            with self.subTest(path=path, message=message):
                self.assertEqual(http_json(self.url + path, method, body), (code, {"error": message}))
        status, body = http_json(predict, "POST", {"signature_name": "root", "inputs": [-1.0]})
        self.assertEqual(status, 400)
        self.assertIn("x must be non-negative", body["error"])

    def test_demo_directory_is_served_without_escaping_it(self):
        demo = tempfile.mkdtemp(dir=self.root)
        with open(os.path.join(demo, "index.html"), "w") as f:
            f.write("<h1>demo</h1>")
        with open(os.path.join(self.root, "secret.txt"), "w") as f:
            f.write("secret")
        server = rest.RestServer(("127.0.0.1", 0), rest.RestApi(self.server.manager, None), num_threads=2,
                                 max_concurrent_requests=4, max_request_bytes=1 << 20, demo_dir=demo)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            for path, status, content in (("/demo", 200, b"<h1>demo</h1>"), ("/demo/index.html", 200, b"<h1>demo</h1>"),
                                          ("/demo/../secret.txt", 404, None), ("/demo/nope.js", 404, None)):
                connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                connection.close()
                self.assertEqual(response.status, status, path)
                if content is not None:
                    self.assertEqual(body, content)
                    self.assertEqual(response.getheader("Content-Type"), "text/html")
            # The server made without demo_page answers 404 there.
            self.assertEqual(http_json(self.url + "/demo")[0], 404)
        finally:
            server.shutdown()
            server.server_close()

    def test_outputs_over_the_batch_limit_are_refused(self):
        def interpolate(rows, steps):
            z = np.zeros((rows, 8)).tolist()
            return http_json(self.url + "/v1/models/cmlp:predict", "POST", {"signature_name": "interpolate", "inputs": {
                "z_start": z, "z_end": z, "num_steps": [steps] * rows, "label": list(range(rows))}})

        self.assertEqual(interpolate(2, 40), (400, {"error": (
            'Output "images" of shape [2,40,8,8,1] would hold 80 examples (the product of its dims that are -1 in '
            f"[-1,-1,8,8,1]), over this server's limit of {MAX_BATCH_SIZE} (--max_batch_size): ask for fewer, or "
            "restart the server with a larger --max_batch_size.")}))
        status, body = interpolate(2, 3)
        self.assertEqual(status, 200)
        self.assertEqual(np.array(body["outputs"]["images"]).shape, (2, 3, 8, 8, 1))


if __name__ == "__main__":
    tf.test.main()
