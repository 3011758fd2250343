r"""Request batching: single-image requests/s from concurrent clients, --enable_batching off against on.

The model is the default experiment's generator (DCGAN 64x64, nz=100, ngf=64), untrained and
exported to a temporary directory (or --export_dir, a version directory), or with
--model=toy the serving tests' toy model (`x -> 2x + 1`: nearly free, so this measures the
batching machinery itself). Batching uses the export's own batching.config (64 rows, 2 ms,
100 batches, one thread per CPU) unless --batching_parameters_file names another.

Paths:
  in_process  `predict.run` on the loaded version from --concurrency threads, with or without a
              `batching.Batcher`: the serving stack without a transport.
  grpc        `serving.server.Server` in this process on a free port, --concurrency client
              threads with the official stubs, one request in flight each.

Every request carries one image's input (z float32 [1, 100]). Each round measures batching
off, then on, for --seconds each after --warmup_seconds; rows give the median over --rounds
of requests/s (= images/s here), p50/p99 latency of the last round, and the mean rows per
merged run.

  .venv/bin/python benchmarks/serving_batching.py                       # DCGAN, 16 clients, both paths
  .venv/bin/python benchmarks/serving_batching.py --model=toy --paths=in_process

It ends with one line per row, `model=<m> path=<p> batching=<off|on> concurrency=<c>
requests_per_s=<r> p50_ms=<x> p99_ms=<y> mean_batch=<b>`, then `<path>_speedup=<on/off>`.
"""

import os
import statistics
import sys
import tempfile
import threading
import time

import serving  # noqa: F401  # Before TensorFlow: it picks TensorFlow's CPU kernels (serving/__init__.py).

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from absl import app, flags  # pylint: disable=wrong-import-position
from google.protobuf import text_format  # pylint: disable=wrong-import-position
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from serving import batching, layout, model_config, predict  # pylint: disable=wrong-import-position
from serving import servable as servable_lib  # pylint: disable=wrong-import-position
from serving.server import Server  # pylint: disable=wrong-import-position
from tests import serving_fixtures  # pylint: disable=wrong-import-position
from tfgan_course import config as config_lib  # pylint: disable=wrong-import-position
from tfgan_course import export, models  # pylint: disable=wrong-import-position

MODEL_NAME = "bench"

flags.DEFINE_enum("model", "dcgan", ["dcgan", "toy"], "The default DCGAN 64x64, or the tests' toy affine model.")
flags.DEFINE_string("export_dir", "", "A version directory of the default DCGAN; empty = export an untrained one.")
flags.DEFINE_string("batching_parameters_file", "", "BatchingParameters to use; empty = the export's batching.config.")
flags.DEFINE_list("paths", ["in_process", "grpc"], "What to measure.")
flags.DEFINE_integer("concurrency", 16, "Client threads, one single-image request in flight each.")
flags.DEFINE_float("seconds", 5.0, "Timed seconds per measurement.")
flags.DEFINE_float("warmup_seconds", 1.0, "Untimed seconds before each measurement.")
flags.DEFINE_integer("rounds", 3, "Rounds of (off, on) per path; rows give the median.")
FLAGS = flags.FLAGS


def write_model(base):
    """(version directory, input alias, input row) of the model to serve, exported under `base`."""
    if FLAGS.model == "toy":
        version_dir = serving_fixtures.write_toy_model(os.path.join(base, MODEL_NAME, "1"))
        layout.write_server_configs(base)
        return version_dir, "x", np.ones([1, 2], np.float32)
    if FLAGS.export_dir:
        return FLAGS.export_dir, "z", np.random.RandomState(0).normal(size=(1, 100)).astype(np.float32)
    config = config_lib.Config()
    generator, _ = models.build(config.model, image_shape=(config.image_size, config.image_size, config.channels),
                                latent_dim=config.latent_dim, seed=0)
    version_dir = export.export_generator(generator, base, MODEL_NAME, version=1)
    return version_dir, "z", np.random.RandomState(0).normal(size=(1, config.latent_dim)).astype(np.float32)


def measure(call, concurrency, seconds, warmup_seconds):
    """(requests/s, latencies in ms) of `call` looped by `concurrency` threads for `seconds` after a warmup."""
    phase = {"timing": False, "stop": False}
    latencies = [[] for _ in range(concurrency)]

    def worker(mine):
        while not phase["stop"]:
            start = time.perf_counter()
            call()
            if phase["timing"]:
                mine.append(1000 * (time.perf_counter() - start))

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in latencies]
    for thread in threads:
        thread.start()
    time.sleep(warmup_seconds)
    phase["timing"] = True
    start = time.perf_counter()
    time.sleep(seconds)
    phase["timing"] = False
    elapsed = time.perf_counter() - start
    phase["stop"] = True
    for thread in threads:
        thread.join()
    flat = np.array([t for mine in latencies for t in mine])
    return len(flat) / elapsed, flat


def in_process_runner(version_dir, alias, row, parameters):
    """(call, batcher or None, close) for predict.run on the loaded version."""
    servable = servable_lib.load(MODEL_NAME, 1, version_dir)
    batcher = batching.Batcher(parameters) if parameters is not None else None

    def call():
        return predict.run(servable, "", {alias: row}, batcher=batcher)

    return call, batcher, (batcher.stop if batcher else lambda: None)


def grpc_runner(version_dir, alias, row, parameters):
    """(call, batcher or None, close) for Predict over gRPC to a Server in this process."""
    server = Server(model_config.single_model_config(MODEL_NAME, os.path.dirname(os.path.abspath(version_dir))),
                    port=0, rest_api_port=-1, file_system_poll_wait_seconds=0, grpc_max_threads=FLAGS.concurrency,
                    batching_parameters=parameters).start()
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL_NAME
    request.inputs[alias].CopyFrom(tf.make_tensor_proto(row))
    local = threading.local()
    channels = []

    def call():
        # One channel per client thread, as separate clients would have.
        if not hasattr(local, "stub"):
            channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}",
                                            options=[("grpc.max_receive_message_length", -1)])
            channels.append(channel)
            local.stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return local.stub.Predict(request, timeout=60)

    def close():
        for channel in channels:
            channel.close()
        server.stop()

    return call, server.batcher, close


RUNNERS = {"in_process": in_process_runner, "grpc": grpc_runner}


def main(argv):
    del argv
    with tempfile.TemporaryDirectory() as base:
        version_dir, alias, row = write_model(base)
        parameters_file = FLAGS.batching_parameters_file or os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(version_dir))), layout.BATCHING_CONFIG)
        parameters = batching.read_parameters(parameters_file)
        results = {}
        for path in FLAGS.paths:
            for round_number in range(FLAGS.rounds):
                for mode, mode_parameters in (("off", None), ("on", parameters)):
                    call, batcher, close = RUNNERS[path](version_dir, alias, row, mode_parameters)
                    try:
                        rate, latencies = measure(call, FLAGS.concurrency, FLAGS.seconds, FLAGS.warmup_seconds)
                        stats = batcher.stats() if batcher else None
                    finally:
                        close()
                    mean_batch = stats.rows / stats.batches if stats and stats.batches else 1.0
                    entry = results.setdefault((path, mode), {"rates": []})
                    entry["rates"].append(rate)
                    entry.update(p50=np.percentile(latencies, 50), p99=np.percentile(latencies, 99),
                                 mean_batch=mean_batch)
                    print(f"  {path:10s} round {round_number + 1} batching {mode:3s}: {rate:8.1f} requests/s  "
                          f"p50 {entry['p50']:7.2f} ms  p99 {entry['p99']:7.2f} ms  mean batch {mean_batch:5.1f}",
                          flush=True)

    described = {"dcgan": "default DCGAN (64x64, nz=100, untrained weights)" if not FLAGS.export_dir
                 else f"DCGAN export {FLAGS.export_dir}", "toy": "toy model (x -> 2x + 1)"}[FLAGS.model]
    print(f"\n{described}; {FLAGS.concurrency} concurrent clients, one image per request; batching parameters "
          f"{parameters_file}: {text_format.MessageToString(parameters, as_one_line=True)}; "
          f"{FLAGS.seconds:g} s per measurement after {FLAGS.warmup_seconds:g} s warmup, median of {FLAGS.rounds} "
          f"rounds of (off, on); clients and server in this process on {os.cpu_count()} CPUs.\n")
    print("| path | batching | requests/s (median) | min-max | p50 ms | p99 ms | mean batch |\n|---|---|---|---|---|---|---|")
    for (path, mode), entry in results.items():
        print(f"| {path} | {mode} | {statistics.median(entry['rates']):.1f} | {min(entry['rates']):.1f}-"
              f"{max(entry['rates']):.1f} | {entry['p50']:.2f} | {entry['p99']:.2f} | {entry['mean_batch']:.1f} |")
    print()
    for (path, mode), entry in results.items():
        print(f"model={FLAGS.model} path={path} batching={mode} concurrency={FLAGS.concurrency} "
              f"requests_per_s={statistics.median(entry['rates']):.2f} p50_ms={entry['p50']:.3f} "
              f"p99_ms={entry['p99']:.3f} mean_batch={entry['mean_batch']:.2f}")
    for path in FLAGS.paths:
        off, on = (statistics.median(results[(path, mode)]["rates"]) for mode in ("off", "on"))
        print(f"{path}_speedup={on / off:.2f}")


if __name__ == "__main__":
    app.run(main)
