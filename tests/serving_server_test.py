"""serving.server as a whole: config reloads over gRPC, request limits, and the command line's exit codes."""

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import time

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving import errors
from serving.server import Server
from tests.serving_fixtures import State, affine_request, config_text, wait_until, write_toy_models
from tests.serving_rest_test import connect, http_json, post_head

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The toy `nap` signature sleeps at least this long; TF runs naps one at a time.
NAP_MICROS = 500_000


class _ToyServerTest(tf.test.TestCase):
    """Base for classes sharing a server over toy models under `cls.root/<name>/1`."""

    MODELS = ("toy",)
    SERVER_OPTIONS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root, _ = write_toy_models({name: (1,) for name in cls.MODELS})
        cls.server = Server(cls.config(cls.MODELS[:1]), port=0, rest_api_port=0, file_system_poll_wait_seconds=0,
                            **cls.SERVER_OPTIONS).start()
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.server.grpc_port}")
        cls.predictions = prediction_service_pb2_grpc.PredictionServiceStub(cls.channel)
        cls.models = model_service_pb2_grpc.ModelServiceStub(cls.channel)
        cls.url = f"http://127.0.0.1:{cls.server.rest_port}"

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        super().tearDownClass()

    @classmethod
    def config(cls, names):
        entries = "".join(f'config {{ name: "{name}" base_path: "{os.path.join(cls.root, name)}" }} ' for name in names)
        return config_text(f"model_config_list {{ {entries}}}")


class ReloadTest(_ToyServerTest):

    MODELS = ("first", "second")

    def test_reload_config_adds_and_removes_models(self):
        request = model_management_pb2.ReloadConfigRequest(config=self.config(["second"]))
        response = self.models.HandleReloadConfigRequest(request, timeout=120)
        self.assertEqual(response.status.error_code, 0)
        answer = self.predictions.Predict(affine_request([[1.0, 2.0]], name="second"), timeout=60)
        self.assertEqual(answer.model_spec.name, "second")
        with self.assertRaises(grpc.RpcError) as caught:
            self.predictions.Predict(affine_request([[1.0, 2.0]], name="first"), timeout=60)
        self.assertEqual((caught.exception.code(), caught.exception.details()),
                         (grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(first)"))
        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = "first"
        (status,) = self.models.GetModelStatus(status_request, timeout=60).model_version_status
        self.assertEqual(status.state, State.END)

        bad = model_management_pb2.ReloadConfigRequest(config=config_text(
            'model_config_list { config { name: "a/b" base_path: "/x" } }'))
        with self.assertRaises(grpc.RpcError) as caught:
            self.models.HandleReloadConfigRequest(bad, timeout=60)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(self.server.manager.available_versions(), {"second": [1]})


class ConfigFileTest(tf.test.TestCase):

    def test_a_changed_config_file_is_applied(self):
        root, _ = write_toy_models({"first": (1,), "second": (1,)})
        path = os.path.join(root, "models.config")

        def write_config(name):
            with open(path + ".tmp", "w") as f:
                f.write(f'model_config_list {{ config {{ name: "{name}" base_path: "{os.path.join(root, name)}" }} }}')
            os.replace(path + ".tmp", path)

        write_config("first")
        server = Server(path, port=0, rest_api_port=-1, file_system_poll_wait_seconds=0,
                        model_config_file_poll_wait_seconds=0.2).start()
        try:
            self.assertEqual(server.manager.available_versions(), {"first": [1]})
            self.assertIsNone(server.rest_port)
            write_config("second")
            self.assertTrue(wait_until(lambda: server.manager.available_versions() == {"second": [1]}))
        finally:
            server.stop()


class PortsTest(_ToyServerTest):

    def test_a_busy_port_is_a_startup_error(self):
        for ports, api in (({"port": self.server.grpc_port, "rest_api_port": -1}, "gRPC"),
                           ({"port": 0, "rest_api_port": self.server.rest_port}, "HTTP/REST")):
            with self.assertRaisesRegex(errors.ServingError, f"Cannot listen for {api} on 127.0.0.1:"):
                Server(self.config(["toy"]), file_system_poll_wait_seconds=0, **ports).start()
        self.assertEqual(self.predictions.Predict(affine_request([[0.0, 0.0]]), timeout=60).model_spec.name, "toy")


class LimitsTest(_ToyServerTest):

    SERVER_OPTIONS = {"max_request_bytes": 1 << 20, "max_concurrent_requests": 2}

    def _predict_ok(self):
        answer = self.predictions.Predict(affine_request([[1.0, 2.0]]), timeout=60)
        self.assertAllEqual(tf.make_ndarray(answer.outputs["y"]), [[3.0, 5.0]])
        self.assertEqual(http_json(self.url + "/v1/models/toy:predict", "POST", {"instances": [[1.0, 2.0]]}),
                         (200, {"predictions": [{"total": 3.0, "y": [3.0, 5.0]}]}))

    def test_oversized_requests_are_refused_and_the_server_keeps_serving(self):
        big = np.zeros((200_000, 2), np.float32)  # 1.6 MB
        with self.assertRaises(grpc.RpcError) as caught:
            self.predictions.Predict(affine_request(big), timeout=60)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        status, body = http_json(self.url + "/v1/models/toy:predict", "POST", {"inputs": big.tolist()})
        self.assertEqual(status, 413)
        self.assertIn("over this server's limit of 1048576 bytes (--max_request_bytes)", body["error"])
        self._predict_ok()

    def test_requests_beyond_max_concurrent_requests_are_refused(self):
        nap = predict_pb2.PredictRequest()
        nap.model_spec.name, nap.model_spec.signature_name = "toy", "nap"
        nap.inputs["micros"].CopyFrom(tf.make_tensor_proto(np.int64([NAP_MICROS])))

        def grpc_nap():
            try:
                return list(self.predictions.Predict(nap, timeout=120).outputs["slept"].int64_val)
            except grpc.RpcError as e:
                return e.code(), e.details()

        # Three naps per API against a limit of two: whichever arrives last, while the first
        # two sleep, is refused.
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            grpc_naps = [pool.submit(grpc_nap) for _ in range(3)]
            rest_naps = [pool.submit(http_json, self.url + "/v1/models/toy:predict", "POST",
                                     {"signature_name": "nap", "inputs": [NAP_MICROS]}) for _ in range(3)]
            grpc_results = [future.result() for future in grpc_naps]
            rest_results = [future.result() for future in rest_naps]
        refused = (grpc.StatusCode.RESOURCE_EXHAUSTED, "Concurrent RPC limit exceeded!")
        self.assertCountEqual(grpc_results, [[NAP_MICROS], [NAP_MICROS], refused])
        self.assertCountEqual(rest_results, [
            (200, {"outputs": [NAP_MICROS]}), (200, {"outputs": [NAP_MICROS]}),
            (429, {"error": "Too many concurrent requests (over --max_concurrent_requests); retry later."})])
        self._predict_ok()

    def test_slow_clients_hold_no_admission_slot(self):
        # Bodies are read before a request is admitted: clients still sending theirs, more of
        # them than --max_concurrent_requests, keep no one else out.
        slow = [connect(self.server.rest_port, post_head("/v1/models/toy:predict", 1000) + b'{"inst')
                for _ in range(3)]
        try:
            time.sleep(0.2)  # The server has taken them all in.
            self._predict_ok()
        finally:
            for sock in slow:
                sock.close()


class CommandLineTest(tf.test.TestCase):

    def test_sigterm_exits_0_and_an_empty_base_path_exits_1(self):
        root, _ = write_toy_models({"toy": (1,), "empty": ()})
        base, empty = os.path.join(root, "toy"), os.path.join(root, "empty")
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [sys.executable, "-m", "serving.server", "--model_name=toy", "--port=0", "--rest_api_port=0"]
        # Both start at once: each pays TensorFlow's import.
        serving = subprocess.Popen(command + [f"--model_base_path={base}"], cwd=ROOT, env=environment,
                                   stderr=subprocess.PIPE, text=True)
        failing = subprocess.Popen(command + [f"--model_base_path={empty}"], cwd=ROOT, env=environment,
                                   stderr=subprocess.PIPE, text=True)
        try:
            port = None
            for line in serving.stderr:
                found = re.search(r"Running gRPC ModelServer at 127\.0\.0\.1:(\d+)", line)
                if found:
                    port = int(found.group(1))
                    break
            self.assertIsNotNone(port, "the server never said it was running")
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                answer = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                    affine_request([[1.0, 2.0]]), timeout=60)
            self.assertAllEqual(tf.make_ndarray(answer.outputs["y"]), [[3.0, 5.0]])
            serving.send_signal(signal.SIGTERM)
            self.assertEqual(serving.wait(timeout=60), 0)

            _, errors = failing.communicate(timeout=120)
            self.assertEqual(failing.returncode, 1)
            self.assertIn(f"serving.server: error: No versions of servable toy found under base path {empty}. Did you "
                          "forget to name your leaf directory as a number (eg. '/1/')?", errors)
        finally:
            for process in (serving, failing):
                if process.poll() is None:
                    process.kill()
                    process.wait()
            serving.stderr.close()


if __name__ == "__main__":
    tf.test.main()
