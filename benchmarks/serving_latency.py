r"""Serving latency: the default DCGAN over gRPC and REST against the same SavedModel called in-process.

The model is the default experiment's generator (DCGAN 64x64, nz=100, ngf=64): an
export given with --export_dir (a version directory), or else the untrained default
architecture exported to a temporary directory (latency does not depend on the weights).
The embedded server (`python -m serving.server`) runs in its own process on this
machine; clients are `serving.client`'s GrpcClient (official tensorflow-serving-api
stubs) and RestClient (TF Serving's REST API). The in-process row calls the loaded
SavedModel's `serving_default` directly: the floor a server cannot beat.

For each batch size (z float32 [B, 100] -> images float32 [B, 64, 64, 1]) and concurrency
(client threads, one request in flight each), every path answers --requests requests
after --warmup ones; rows give p50, p99 and requests per second.

  .venv/bin/python benchmarks/serving_latency.py                     # batch 1 and 64, concurrency 1 and 8
  .venv/bin/python benchmarks/serving_latency.py --batches=1 --requests=100

It ends with one line per row:
`path=<p> batch=<b> concurrency=<c> p50_ms=<x> p99_ms=<y> requests_per_s=<r>`, then
`grpc_overhead_p50_ms=<x>` (gRPC minus in-process at batch 1, concurrency 1; target <= 2).
"""

import concurrent.futures
import os
import socket
import subprocess
import sys
import tempfile
import time

import tfgan_course  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (tfgan_course/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags  # pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from serving import client as client_lib  # pylint: disable=wrong-import-position
from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position
from tfgan_course import export, models

MODEL_NAME = "dcgan_default"

flags.DEFINE_string("export_dir", "", "A version directory of the default DCGAN; empty = export an untrained one.")
flags.DEFINE_list("batches", ["1", "64"], "Images per request.")
flags.DEFINE_list("concurrency", ["1", "8"], "Client threads, one request in flight each.")
flags.DEFINE_list("paths", ["in_process", "grpc", "rest"], "What to measure.")
flags.DEFINE_integer("requests", 300, "Timed requests per row.")
flags.DEFINE_integer("warmup", 20, "Untimed requests before each row.")
FLAGS = flags.FLAGS


def default_export(base):
    """The default experiment's generator, untrained, exported as <base>/MODEL_NAME/1."""
    config = config_lib.Config()
    generator, _ = models.build(config.model, image_shape=(config.image_size, config.image_size, config.channels),
                                latent_dim=config.latent_dim, seed=0)
    return export.export_generator(generator, base, MODEL_NAME, version=1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_base_path, grpc_port, rest_port):
    """`python -m serving.server` in its own process; returns once it answers on both ports."""
    server = subprocess.Popen(
        [sys.executable, "-m", "serving.server", f"--model_base_path={model_base_path}", f"--model_name={MODEL_NAME}",
         f"--port={grpc_port}", f"--rest_api_port={rest_port}", "--file_system_poll_wait_seconds=0"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    probe = client_lib.GrpcClient(f"127.0.0.1:{grpc_port}", timeout=5)
    deadline = time.time() + 120
    try:
        while True:
            try:
                probe.signatures(MODEL_NAME)
                client_lib.RestClient(f"http://127.0.0.1:{rest_port}", timeout=5).signatures(MODEL_NAME)
                return server
            except client_lib.ServingError:
                if server.poll() is not None or time.time() > deadline:
                    server.kill()
                    raise RuntimeError(f"the server did not start: {server.stderr.read()[-2000:]}") from None
                time.sleep(0.5)
    finally:
        probe.close()


def measure(call, concurrency, requests, warmup):
    """(latencies in ms of `requests` calls from `concurrency` threads, wall seconds)."""
    for _ in range(warmup):
        call()

    def worker(count):
        timings = []
        for _ in range(count):
            start = time.perf_counter()
            call()
            timings.append(1000 * (time.perf_counter() - start))
        return timings

    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        latencies = [t for timings in pool.map(worker, shares) for t in timings]
    return np.array(latencies), time.perf_counter() - start


def calls(path, version_dir, grpc_port, rest_port, z):
    """A no-argument function making one request of `path` with z, checked against the expected shape."""
    if path == "in_process":
        serve = export.load_serving_fn(version_dir)
        z_tensor = tf.constant(z)

        def call():
            return serve(z=z_tensor)["images"].numpy()
    else:
        client = (client_lib.GrpcClient(f"127.0.0.1:{grpc_port}") if path == "grpc"
                  else client_lib.RestClient(f"http://127.0.0.1:{rest_port}"))

        def call():
            return client.predict(MODEL_NAME, "serving_default", {"z": z}).outputs["images"]
    images = np.asarray(call())
    if images.shape != (len(z), 64, 64, 1):
        raise RuntimeError(f"{path} answered shape {images.shape}")
    return call


def main(argv):
    del argv
    with tempfile.TemporaryDirectory() as base:
        version_dir = FLAGS.export_dir or default_export(base)
        model_base_path = os.path.dirname(os.path.abspath(version_dir))
        grpc_port, rest_port = free_port(), free_port()
        server = start_server(model_base_path, grpc_port, rest_port)
        rows = []
        try:
            for batch in map(int, FLAGS.batches):
                z = np.random.RandomState(0).normal(size=(batch, 100)).astype(np.float32)
                for path in FLAGS.paths:
                    call = calls(path, version_dir, grpc_port, rest_port, z)
                    for concurrency in map(int, FLAGS.concurrency):
                        latencies, seconds = measure(call, concurrency, FLAGS.requests, FLAGS.warmup)
                        rows.append((path, batch, concurrency, np.percentile(latencies, 50),
                                     np.percentile(latencies, 99), FLAGS.requests / seconds))
                        print(f"  {path:10s} batch {batch:3d} concurrency {concurrency}: p50 {rows[-1][3]:8.2f} ms  "
                              f"p99 {rows[-1][4]:8.2f} ms  {rows[-1][5]:7.1f} requests/s", flush=True)
        finally:
            server.terminate()
            server.wait(30)

    print(f"\nDefault DCGAN (64x64, nz=100) served from {version_dir if FLAGS.export_dir else 'an untrained export'}; "
          f"{FLAGS.requests} timed requests per row after {FLAGS.warmup} warmup; server and clients on this "
          f"machine ({os.cpu_count()} CPUs).\n")
    print("| path | batch | concurrency | p50 ms | p99 ms | requests/s |\n|---|---|---|---|---|---|")
    for path, batch, concurrency, p50, p99, rate in rows:
        print(f"| {path} | {batch} | {concurrency} | {p50:.2f} | {p99:.2f} | {rate:.1f} |")
    print()
    for path, batch, concurrency, p50, p99, rate in rows:
        print(f"path={path} batch={batch} concurrency={concurrency} p50_ms={p50:.3f} p99_ms={p99:.3f} "
              f"requests_per_s={rate:.2f}")
    p50 = {(path, batch, concurrency): p50 for path, batch, concurrency, p50, _, _ in rows}
    if ("grpc", 1, 1) in p50 and ("in_process", 1, 1) in p50:
        print(f"grpc_overhead_p50_ms={p50[('grpc', 1, 1)] - p50[('in_process', 1, 1)]:.3f}")


if __name__ == "__main__":
    app.run(main)
