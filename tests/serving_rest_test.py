"""The REST API of serving.server: TF Serving's URLs, JSON formats and HTTP error codes, checked with urllib;
and its HTTP transport (serving.http_server): slow clients, body limits, keep-alive, methods, disconnects,
checked with raw sockets."""

import base64
import concurrent.futures
import contextlib
import http.client
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving import http_server, rest
from serving.server import Server
from tests.serving_fixtures import config_text, write_toy_models
from tfgan_course import export, models

MAX_BATCH_SIZE = 64
REST_API_NUM_THREADS = 4
# The strict transport's --max_request_bytes and --rest_api_read_timeout_seconds.
STRICT_MAX_REQUEST_BYTES = 2000
STRICT_READ_TIMEOUT = 0.5
# Seconds within which a request that must not wait gets its answer, even on a busy machine.
QUICK = 10
PREDICT = "/v1/models/toy:predict"
PREDICT_ONE = {"instances": [[1.0, 2.0]]}
PREDICTED_ONE = {"predictions": [{"total": 3.0, "y": [3.0, 5.0]}]}


def http_json(url, method="GET", body=None, timeout=120):
    """(HTTP status, decoded JSON body) of one request; error statuses are returned, not raised."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def post_head(path, content_length, extra_headers=""):
    """The request line and headers of an HTTP/1.1 POST, as bytes."""
    return (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {content_length}\r\n{extra_headers}\r\n").encode()


def connect(port, data=b""):
    """A raw client connection that has sent `data`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=QUICK)
    sock.sendall(data)
    return sock


def read_response(sock, method="POST"):
    """(status, headers, body) of the next answer on `sock`."""
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    return response.status, response.headers, response.read()


def read_until_closed(sock):
    """Everything the server sends until it closes the connection (a reset counts as closing)."""
    received = b""
    try:
        while chunk := sock.recv(1 << 16):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def reset(sock):
    """Closes with a TCP reset, as a client that crashes or gives up does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@contextlib.contextmanager
def trickling(socks, interval=0.1):
    """Sends one space to each socket every `interval` seconds, in a thread, until the block ends."""
    stop = threading.Event()

    def trickle():
        while not stop.wait(interval):
            for sock in socks:
                with contextlib.suppress(OSError):  # The server may have closed it: that is the point.
                    sock.send(b" ")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class RestTest(tf.test.TestCase):
    """One server (gRPC and REST, with the demo page) for the class: the toy model (versions 1, 2, label
    stable=1) and a generator; and a strict REST transport over its models (small body limit, short timeout)."""

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
                            max_batch_size=MAX_BATCH_SIZE, rest_api_num_threads=REST_API_NUM_THREADS,
                            demo_page=True).start()
        cls.url = f"http://127.0.0.1:{cls.server.rest_port}"
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.server.grpc_port}")
        cls.strict = http_server.RestServer(
            ("127.0.0.1", 0), rest.RestApi(cls.server.manager, MAX_BATCH_SIZE), num_threads=2,
            max_concurrent_requests=8, max_request_bytes=STRICT_MAX_REQUEST_BYTES,
            read_timeout_seconds=STRICT_READ_TIMEOUT).start()

    @classmethod
    def tearDownClass(cls):
        cls.strict.stop()
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
        with http_server.RestServer(("127.0.0.1", 0), rest.RestApi(self.server.manager, None), num_threads=2,
                                    max_concurrent_requests=4, max_request_bytes=1 << 20, demo_dir=demo) as server:
            for path, status, content in (("/demo", 200, b"<h1>demo</h1>"), ("/demo/index.html", 200, b"<h1>demo</h1>"),
                                          ("/demo/../secret.txt", 404, None), ("/demo/nope.js", 404, None)):
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                connection.close()
                self.assertEqual(response.status, status, path)
                if content is not None:
                    self.assertEqual(body, content)
                    self.assertEqual(response.getheader("Content-Type"), "text/html")
        # A server made without demo_page answers 404 there.
        self.assertEqual(http_json(f"http://127.0.0.1:{self.strict.port}/demo")[0], 404)

    def test_slow_clients_hold_no_worker(self):
        # Four times as many slow clients as the server has workers: trickling a body, a short
        # body under a long Content-Length, Content-Length: -1, unfinished headers. http.server
        # gave each of the first three kinds a worker until it finished (or forever).
        port = self.server.rest_port
        each = REST_API_NUM_THREADS
        trickling_bodies = [connect(port, post_head(PREDICT, 1000)) for _ in range(each)]
        stalled = ([connect(port, post_head(PREDICT, 100_000) + b'{"instances": ') for _ in range(each)]
                   + [connect(port, post_head(PREDICT, -1) + b'{"instances": ') for _ in range(each)]
                   + [connect(port, f"POST {PREDICT} HTTP/1.1\r\nHost: te".encode()) for _ in range(each)])
        try:
            with trickling(trickling_bodies):
                time.sleep(0.2)  # The server has taken them all in.
                self.assertEqual(http_json(self.url + "/v1/models/toy/versions/1", timeout=QUICK)[0], 200)
                self.assertEqual(http_json(self.url + PREDICT, "POST", PREDICT_ONE, timeout=QUICK),
                                 (200, PREDICTED_ONE))
                with urllib.request.urlopen(self.url + "/demo/", timeout=QUICK) as response:
                    self.assertEqual((response.status, response.headers["Content-Type"]), (200, "text/html"))
        finally:
            for sock in trickling_bodies + stalled:
                sock.close()

    def test_trickling_clients_are_cut_off_by_the_read_timeout(self):
        port = self.strict.port
        headers = connect(port, f"POST {PREDICT} HTTP/1.1\r\nHost: te".encode())
        body = connect(port, post_head(PREDICT, 100) + b'{"inst')
        start = time.monotonic()
        try:
            # A byte every 0.1 s: never idle, never done within STRICT_READ_TIMEOUT.
            with trickling([headers, body]):
                status, response_headers, answer = read_response(body)
                self.assertEqual((status, json.loads(answer)), (408, {
                    "error": f"The request body did not arrive within {STRICT_READ_TIMEOUT:g} s "
                             "(--rest_api_read_timeout_seconds)."}))
                self.assertEqual(response_headers["Connection"], "close")
                self.assertEqual(read_until_closed(headers), b"")  # Closed, unanswered.
            self.assertLess(time.monotonic() - start, QUICK)
        finally:
            headers.close()
            body.close()

    def test_content_length_must_be_a_number_within_the_limit(self):
        # http.server read a body of Content-Length -1 to the end of the stream, whatever its size.
        body = json.dumps({"instances": [[1.0, 2.0]] * 1000}).encode()
        self.assertGreater(len(body), 5 * STRICT_MAX_REQUEST_BYTES)
        for length in ("-1", "abc"):
            with self.subTest(length=length), connect(self.strict.port, post_head(PREDICT, length) + body) as sock:
                status, headers, answer = read_response(sock)
                self.assertEqual((status, headers["Content-Type"]), (400, "application/json"))
                self.assertRegex(json.loads(answer)["error"], r"^Malformed HTTP request: .*Content-Length")
        with connect(self.strict.port, post_head(PREDICT, len(body))) as sock:  # Refused before the body is sent.
            self.assertEqual(read_response(sock)[::2], (413, json.dumps({"error": (
                f"Request body of {len(body)} bytes is over this server's limit of {STRICT_MAX_REQUEST_BYTES} "
                "bytes (--max_request_bytes): send smaller batches, or restart the server with a larger "
                "--max_request_bytes.")}).encode()))

    def test_chunked_bodies_are_read_up_to_the_limit(self):
        def post_chunked(body):
            connection = http.client.HTTPConnection("127.0.0.1", self.strict.port, timeout=QUICK)
            try:
                # An iterable body without a length goes out chunked.
                connection.request("POST", PREDICT, body=iter([body[:10], body[10:]]),
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                return response.status, json.loads(response.read())
            finally:
                connection.close()

        self.assertEqual(post_chunked(json.dumps(PREDICT_ONE).encode()), (200, PREDICTED_ONE))
        self.assertEqual(post_chunked(json.dumps({"instances": [[1.0, 2.0]] * 300}).encode()), (413, {"error": (
            f"Request body is over this server's limit of {STRICT_MAX_REQUEST_BYTES} bytes (--max_request_bytes): "
            "send smaller batches, or restart the server with a larger --max_request_bytes.")}))

    def test_expect_100_continue_is_answered(self):
        # curl sends this before a body over 1 KiB and, unanswered, waits a second.
        body = json.dumps(PREDICT_ONE).encode()
        with connect(self.server.rest_port, post_head(PREDICT, len(body), "Expect: 100-continue\r\n")) as sock:
            interim = b"HTTP/1.1 100 Continue\r\n\r\n"
            received = b""
            while len(received) < len(interim) and (chunk := sock.recv(len(interim) - len(received))):
                received += chunk
            self.assertEqual(received, interim)
            sock.sendall(body)
            self.assertEqual(read_response(sock)[::2], (200, json.dumps(PREDICTED_ONE).encode()))

    def test_keep_alive_answers_requests_on_one_connection(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.rest_port, timeout=QUICK)
        try:
            connection.request("GET", "/v1/models/toy/versions/1")
            first = connection.getresponse()
            first.read()
            sock = connection.sock
            connection.request("POST", PREDICT, body=json.dumps(PREDICT_ONE),
                               headers={"Content-Type": "application/json"})
            second = connection.getresponse()
            self.assertEqual((first.status, first.version, second.status, json.loads(second.read())),
                             (200, 11, 200, PREDICTED_ONE))
            self.assertIs(connection.sock, sock)  # http.client reconnects after an answer that closes.
        finally:
            connection.close()

    def test_the_listen_backlog_holds_a_burst_of_connections(self):
        if shutil.which("ss") is None:
            self.skipTest("reading a listen backlog needs ss (iproute2)")
        listening = subprocess.run(["ss", "-Hltn", "sport", "=", f":{self.server.rest_port}"], capture_output=True,
                                   text=True, check=True).stdout.split()
        with open("/proc/sys/net/core/somaxconn", encoding="utf-8") as f:
            somaxconn = int(f.read())
        # State, Recv-Q, Send-Q (a listening socket's backlog), ... http.server's was 5.
        self.assertGreaterEqual(int(listening[2]), min(1024, somaxconn))
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            statuses = list(pool.map(lambda _: http_json(self.url + "/v1/models/toy/versions/1", timeout=QUICK)[0],
                                     range(64)))
        self.assertEqual(statuses, [200] * 64)

    def test_methods_other_than_get_and_post_get_json_errors(self):
        # As TF Serving: its HTTP server passes these methods to the API, which answers them 400,
        # and answers other methods 501 itself (here in the API's JSON, not libevent's HTML).
        path = "/v1/models/toy"
        for method, status, message in [
                *[(method, 400, f"Malformed request: {method} {path}")
                  for method in ("HEAD", "OPTIONS", "PATCH", "PUT", "DELETE")],
                ("TRACE", 501, "Method TRACE is not implemented by this server: the API takes GET and POST.")]:
            with self.subTest(method=method):
                connection = http.client.HTTPConnection("127.0.0.1", self.server.rest_port, timeout=QUICK)
                connection.request(method, path)
                response = connection.getresponse()
                body = response.read()
                connection.close()
                self.assertEqual((response.status, response.getheader("Content-Type")), (status, "application/json"))
                self.assertEqual(body, b"" if method == "HEAD" else json.dumps({"error": message}).encode())

    def test_clients_that_leave_early_leave_no_traceback(self):
        port = self.server.rest_port
        nap = json.dumps({"signature_name": "nap", "inputs": [300_000]}).encode()
        stderr = io.StringIO()
        with self.assertNoLogs(level="WARNING"), contextlib.redirect_stderr(stderr):
            waiting = connect(port, post_head(PREDICT, len(nap)) + nap)  # Leaves before its answer.
            mid_body = connect(port, post_head(PREDICT, 1000) + b'{"inst')  # Leaves mid-body.
            time.sleep(0.1)
            reset(waiting)
            reset(mid_body)
            # TF runs naps one at a time: once this one answers, the first has been written.
            self.assertEqual(http_json(self.url + PREDICT, "POST", {"signature_name": "nap", "inputs": [1]},
                                       timeout=QUICK), (200, {"outputs": [1]}))
            time.sleep(0.1)
        self.assertNotIn("Traceback", stderr.getvalue())

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
