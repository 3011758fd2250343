"""The small SavedModels and helpers the serving tests share (`write_toy_model`, `write_toy_models`, ...)."""

import os
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.python.data.experimental.ops import testing as data_testing
from tensorflow_serving.apis import get_model_status_pb2, predict_pb2, prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from serving import layout

State = get_model_status_pb2.ModelVersionStatus.State
BIG_WIDTH = 1_200_000  # floats per example of the `big` signature: 4.8 MB


class _Toy(tf.Module):
    """One signature per serving feature under test."""

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def affine(self, x):
        return {"y": 2.0 * x + 1.0, "total": tf.reduce_sum(x, axis=1)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 1], tf.uint8, name="pixels")])
    def png(self, pixels):
        return {"images_png_bytes": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string),
                "mean": tf.reduce_mean(tf.cast(pixels, tf.float32), axis=[1, 2, 3])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def shout(self, text):
        return {"upper": tf.strings.upper(text), "length": tf.strings.length(text)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def big(self, x):
        return {"y": x[:, None] * tf.ones([1, BIG_WIDTH])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def root(self, x):
        with tf.control_dependencies([tf.debugging.assert_non_negative(x, message="x must be non-negative")]):
            return {"y": tf.sqrt(x)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="micros")])
    def nap(self, micros):
        # Sleeps without using the CPU: a request that stays in flight for a known time.
        slept = tf.data.Dataset.from_tensors(micros[0]).apply(data_testing.sleep(micros[0]))
        return {"slept": tf.fill(tf.shape(micros), slept.reduce(tf.constant(0, tf.int64), lambda a, b: a + b))}


def write_toy_model(path):
    """Saves the toy SavedModel at `path` (a version directory). Signatures:

    serving_default  x float32 [-1, 2] -> y = 2x + 1 [-1, 2], total = sum(x) [-1]
    png              pixels uint8 [-1, 4, 4, 1] -> images_png_bytes string [-1], mean float32 [-1]
    shout            text string [-1] -> upper string [-1], length int32 [-1]
    big              x float32 [-1] -> y float32 [-1, BIG_WIDTH]
    root             x float32 [-1] -> y = sqrt(x); a negative x fails an assert in the model
    nap              micros int64 [-1] -> slept int64 [-1], after sleeping at least micros[0] microseconds
    """
    toy = _Toy()
    tf.saved_model.save(toy, path, signatures={
        "serving_default": toy.affine, "png": toy.png, "shout": toy.shout, "big": toy.big, "root": toy.root,
        "nap": toy.nap})
    return path


def write_toy_models(versions_by_name=None):
    """A new directory holding the toy model as `template` and copies as <name>/<version>.

    Args:
      versions_by_name: model name -> versions to copy in (an empty tuple: an empty base path).

    Returns:
      (root directory, template path).
    """
    root = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
    template = write_toy_model(os.path.join(root, "template"))
    for name, versions in (versions_by_name or {}).items():
        os.makedirs(os.path.join(root, name))
        for version in versions:
            add_version(template, os.path.join(root, name), version)
    return root, template


def add_version(template, base_path, version):
    """Copies a SavedModel in as <base_path>/<version>, renamed into place as the exporter does."""
    temp = os.path.join(base_path, f".tmp-{version}")
    shutil.copytree(template, temp)
    os.rename(temp, os.path.join(base_path, str(version)))


def write_warmup(version_dir, requests):
    """Writes assets.extra/tf_serving_warmup_requests: one PredictionLog per PredictRequest."""
    path = os.path.join(version_dir, layout.WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            writer.write(prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString())


def affine_request(x, name="toy"):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.asarray(x, np.float32)))
    return request


def wait_until(condition, timeout=30.0):
    """Polls `condition` until true; False after `timeout` seconds (generous: the machine is busy)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def version_state(manager, name, version):
    """A version's ModelVersionStatus.State, None before the manager has seen it."""
    states = {status.version: status.state for status in manager.status(name).model_version_status}
    return states.get(version)


def config_text(text):
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def serve_exports(export_base):
    """The embedded server on `export_base`'s models.config (free ports) and a client of each protocol.

    Returns (server, {"grpc": GrpcClient, "rest": RestClient}); `stop_serving` ends both.
    """
    from serving import client as client_lib  # pylint: disable=import-outside-toplevel
    from serving.server import Server  # pylint: disable=import-outside-toplevel

    server = Server(os.path.join(export_base, "models.config"), port=0, rest_api_port=0,
                    file_system_poll_wait_seconds=0).start()
    return server, {"grpc": client_lib.connect(f"localhost:{server.grpc_port}"),
                    "rest": client_lib.connect(f"http://localhost:{server.rest_port}")}


def stop_serving(server, clients):
    for client in clients.values():
        client.close()
    server.stop()
