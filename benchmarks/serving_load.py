r"""Serving under load: many concurrent single-image clients on each protocol, with slow clients attached.

The model is the default experiment's generator (DCGAN 64x64, nz=100) or, with
--model=mlp, lecture 000's MLP GAN (28x28), untrained and exported to a temporary
directory, served by `python -m serving.server`
in its own process. For each protocol and each number of clients, every client sends
--requests_per_client `serving_default` requests of one image (z float32 [1, 100]) one
after the other: gRPC through the official stubs (a channel per client), REST as JSON over
one keep-alive HTTP/1.1 connection per client (reconnecting after an error). All the while
--slow_clients raw connections keep trickling into the REST port, reconnecting whenever the
server drops them: a third send the headers and then the body one byte per second, a third
send a short body under a long Content-Length, a third send `Content-Length: -1` and
trickle.

A row gives the requests answered, errors (timeouts, refused, bad answers), p50 and p99
latency, images per second, and how often the slow clients were cut off. A row stops after
--row_seconds even if the clients are not done (a server that hangs still gives a row): the
requests left are counted as unsent, not as errors.

  .venv/bin/python benchmarks/serving_load.py                                   # as the server ships
  .venv/bin/python benchmarks/serving_load.py --server_flags=--enable_batching  # with request batching
  .venv/bin/python benchmarks/serving_load.py --server_root=/path/to/old/tree   # another tree's server

It ends with one line per row: `label=<l> protocol=<p> clients=<c> requests=<n> errors=<e> unsent=<u>
p50_ms=<x> p99_ms=<y> images_per_s=<r> slow_cutoffs=<k>`.
"""

import collections
import concurrent.futures
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags  # pylint: disable=wrong-import-position
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position  # noqa: E402
from tfgan_course import export, models  # pylint: disable=wrong-import-position  # noqa: E402

# The models a row can serve: a config of tfgan_course/configs (its generator, untrained).
MODELS = {"dcgan": "dcgan_fashion_mnist.cfg", "mlp": "mlp_fashion_mnist.cfg", "toy": "toy_fleuret2d_z2.cfg"}
CONFIG_DIR = os.path.join(ROOT, "tfgan_course", "configs")
UNSENT = "unsent"

flags.DEFINE_enum("model", "dcgan", list(MODELS), "The generator served: the default DCGAN (64x64, nz=100, about "
                  "8-12 ms per image here), lecture 000's MLP GAN (28x28, nz=100, about 0.5 ms, and REST's JSON of "
                  "784 floats costs more) or lecture 001's toy 2-D GAN (z 2 -> a point: nearly free, so the rows "
                  "measure the server itself).")
flags.DEFINE_list("protocols", ["grpc", "rest"], "Protocols to load.")
flags.DEFINE_list("clients", ["16", "64"], "Numbers of concurrent clients, one row each.")
flags.DEFINE_integer("requests_per_client", 500, "Requests each client sends, one at a time.")
flags.DEFINE_integer("slow_clients", 8, "Slow REST connections attached during every row.")
flags.DEFINE_float("row_seconds", 240, "A row ends after this long even if its clients are not done.")
flags.DEFINE_float("timeout", 10, "Seconds a client waits for one answer before counting an error.")
flags.DEFINE_list("server_flags", [], "Extra flags for serving.server, e.g. --enable_batching.")
flags.DEFINE_string("server_root", ROOT, "The source tree whose serving.server runs (for before/after runs).")
flags.DEFINE_string("label", "", "Names the rows of this run (default: the server flags, or 'default').")
FLAGS = flags.FLAGS


def model_config():
    with open(os.path.join(CONFIG_DIR, MODELS[FLAGS.model])) as f:
        return config_lib.Config.from_flagfile(f.read())


def output_shape(config):
    """The shape of one generated example: an image, or a toy generator's 2-D point."""
    return (2,) if config.model == "toy" else (config.image_size, config.image_size, config.channels)


def export_untrained(base):
    """--model's generator, untrained, exported as <base>/<model>/1 (speed needs no weights)."""
    config = model_config()
    generator, _ = models.build(config.model, image_shape=output_shape(config), latent_dim=config.latent_dim, seed=0)
    return export.export_generator(generator, base, FLAGS.model, version=1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_base_path, grpc_port, rest_port):
    """The server of --server_root in its own process, with --server_flags; returns once it answers."""
    environment = dict(os.environ, PYTHONPATH=FLAGS.server_root)
    server = subprocess.Popen(
        [sys.executable, "-m", "serving.server", f"--model_base_path={model_base_path}", f"--model_name={FLAGS.model}",
         f"--port={grpc_port}", f"--rest_api_port={rest_port}", "--file_system_poll_wait_seconds=0",
         *FLAGS.server_flags],
        cwd=FLAGS.server_root, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", rest_port), timeout=2) as probe:
                probe.sendall(f"GET /v1/models/{FLAGS.model} HTTP/1.0\r\n\r\n".encode())
                if b"AVAILABLE" in probe.recv(4096):
                    return server
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            raise RuntimeError(f"the server did not start: {server.stderr.read()[-2000:]}")
        time.sleep(0.5)


def stop_server(server):
    """SIGTERM, then SIGKILL after 30 s (the server of 2f5bdd2 cannot stop while slow clients hold its threads)."""
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        print("  the server did not stop within 30 s of SIGTERM: killed", flush=True)
        server.kill()
        server.wait()


class SlowClients:
    """--slow_clients connections that trickle requests into the REST port until stopped."""

    _KINDS = ("trickle", "short_body", "negative_length")

    def __init__(self, port, count):
        self._port = port
        self._stop = threading.Event()
        self.cutoffs = 0  # Times the server closed or reset one of them.
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(self._KINDS[i % 3],), daemon=True)
                         for i in range(count)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        time.sleep(1.0)  # Let them take their places before the row starts.
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def _run(self, kind):
        length = {"trickle": "100000", "short_body": "100000", "negative_length": "-1"}[kind]
        head = (f"POST /v1/models/{FLAGS.model}:predict HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\n\r\n").encode()
        while not self._stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self._port), timeout=5) as connection:
                    connection.sendall(head + (b'{"inputs": ' if kind == "short_body" else b""))
                    while not self._stop.wait(1.0):
                        if kind != "short_body":
                            connection.sendall(b" ")
                        elif _closed(connection):
                            break
                    else:
                        return
            except OSError:
                pass
            with self._lock:
                self.cutoffs += 1
            self._stop.wait(0.1)


def _closed(connection):
    """Whether the server closed `connection` (a readable socket with nothing to read, or an error)."""
    connection.setblocking(False)
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        connection.setblocking(True)


def grpc_client(port, z, image_shape):
    """One gRPC client: a function sending one request, raising on a bad answer."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", -1)])
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = FLAGS.model
    request.model_spec.signature_name = "serving_default"
    request.inputs["z"].CopyFrom(tf.make_tensor_proto(z))

    def call():
        response = stub.Predict(request, timeout=FLAGS.timeout)
        shape = tuple(d.size for d in response.outputs["images"].tensor_shape.dim)
        if shape != (1, *image_shape):
            raise ValueError(f"answer of shape {shape}")
    return call, channel.close


def rest_client(port, z, image_shape):
    """One REST client on a keep-alive connection: a function sending one request, raising on a bad answer."""
    body = json.dumps({"signature_name": "serving_default", "inputs": {"z": z.tolist()}}).encode()
    path = f"/v1/models/{FLAGS.model}:predict"
    state = {"connection": None}

    def call():
        if state["connection"] is None:
            state["connection"] = http.client.HTTPConnection("127.0.0.1", port, timeout=FLAGS.timeout)
        try:
            state["connection"].request("POST", path, body, {"Content-Type": "application/json"})
            response = state["connection"].getresponse()
            answer = response.read()
            if response.will_close:
                close()
        except BaseException:
            close()
            raise
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}")
        if np.shape(json.loads(answer)["outputs"]) != (1, *image_shape):
            raise ValueError("answer of the wrong shape")

    def close():
        if state["connection"] is not None:
            state["connection"].close()
            state["connection"] = None
    return call, close


def run_row(protocol, clients, port, z, image_shape):
    """Latencies (ms) of the answered requests, error counts by kind, wall seconds."""
    make = grpc_client if protocol == "grpc" else rest_client
    deadline = time.perf_counter() + FLAGS.row_seconds

    def client(_):
        call, close = make(port, z, image_shape)
        latencies, failures = [], collections.Counter()
        try:
            for _ in range(FLAGS.requests_per_client):
                if time.perf_counter() > deadline:
                    failures[UNSENT] += 1
                    continue
                start = time.perf_counter()
                try:
                    call()
                    latencies.append(1000 * (time.perf_counter() - start))
                except Exception as e:  # pylint: disable=broad-except  # Every failure is a counted error.
                    failures[_failure_kind(e)] += 1
        finally:
            close()
        return latencies, failures

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    seconds = time.perf_counter() - start
    latencies = np.array([t for answered, _ in results for t in answered])
    failures = sum((f for _, f in results), collections.Counter())
    unsent = failures.pop(UNSENT, 0)  # The row's time ran out: not the server's error.
    return latencies, failures, unsent, seconds


def _failure_kind(error):
    if isinstance(error, grpc.RpcError):
        return f"grpc {error.code().name}"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(error).__name__ if not str(error).startswith("HTTP") else str(error)


def main(argv):
    del argv
    label = FLAGS.label or f"{FLAGS.model} {' '.join(FLAGS.server_flags) or 'default'}"
    rows = []
    with tempfile.TemporaryDirectory() as base:
        version_dir = export_untrained(base)
        model_base_path = os.path.dirname(os.path.abspath(version_dir))
        grpc_port, rest_port = free_port(), free_port()
        server = start_server(model_base_path, grpc_port, rest_port)
        config = model_config()
        image_shape = output_shape(config)
        z = np.random.RandomState(0).normal(size=(1, config.latent_dim)).astype(np.float32)
        try:
            for protocol in FLAGS.protocols:
                port = grpc_port if protocol == "grpc" else rest_port
                run_row(protocol, 2, port, z, image_shape)  # Warm both the server and this process's clients.
                for clients in map(int, FLAGS.clients):
                    with SlowClients(rest_port, FLAGS.slow_clients) as slow:
                        latencies, failures, unsent, seconds = run_row(protocol, clients, port, z, image_shape)
                    p50, p99 = (np.percentile(latencies, [50, 99]) if len(latencies) else (float("nan"),) * 2)
                    rows.append((protocol, clients, len(latencies), sum(failures.values()), unsent, p50, p99,
                                 len(latencies) / seconds, slow.cutoffs))
                    print(f"  {label}: {protocol:4s} {clients:3d} clients: {len(latencies)} answered, "
                          f"{sum(failures.values())} errors {dict(failures) or ''} {unsent} unsent, p50 {p50:.1f} ms p99 {p99:.1f} ms "
                          f"{rows[-1][7]:.1f} images/s, slow clients cut off {slow.cutoffs} times", flush=True)
        finally:
            stop_server(server)

    print(f"\n{FLAGS.model} generator ({'x'.join(map(str, image_shape))}), one image per request, {FLAGS.requests_per_client} requests per "
          f"client, {FLAGS.slow_clients} slow REST clients attached; server flags: {' '.join(FLAGS.server_flags) or '-'}; "
          f"server tree {FLAGS.server_root}; {os.cpu_count()} CPUs.\n")
    print("| label | protocol | clients | answered | errors | unsent | p50 ms | p99 ms | images/s | slow cut-offs |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for protocol, clients, answered, errors, unsent, p50, p99, rate, cutoffs in rows:
        print(f"| {label} | {protocol} | {clients} | {answered} | {errors} | {unsent} | {p50:.1f} | {p99:.1f} | "
              f"{rate:.1f} | {cutoffs} |")
    print()
    for protocol, clients, answered, errors, unsent, p50, p99, rate, cutoffs in rows:
        print(f"label={label.replace(' ', '_')} protocol={protocol} clients={clients} requests={answered} "
              f"errors={errors} unsent={unsent} p50_ms={p50:.3f} p99_ms={p99:.3f} images_per_s={rate:.2f} slow_cutoffs={cutoffs}")


if __name__ == "__main__":
    app.run(main)
