"""serving.client against the embedded server, over gRPC and REST, on real exports of tiny generators."""

import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from serving import client as client_lib
from serving.server import Server
from tests import serving_fixtures
from tfgan_course import export, latent, models, plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENT_DIM = 8


def uniform_seeded_inputs(seeds):
    """A latent distribution the client cannot guess: U[0, 1), row i from seeds[i] alone."""
    return tf.map_fn(lambda seed: tf.random.stateless_uniform([LATENT_DIM], seed=tf.stack([seed, 0])),
                     tf.cast(seeds, tf.int64), fn_output_signature=tf.float32)


def brighten(generator, factor=100.0):
    """Scales the last layer's weights so an untrained generator's images differ visibly from z to z."""
    last = [layer for layer in generator.layers if layer.weights][-1]
    last.set_weights([weight * factor for weight in last.get_weights()])
    return generator


class ServingErrorTest(tf.test.TestCase):

    def test_summary_is_one_line_with_a_graph_assertion_reduced_to_its_message(self):
        graph_error = ("Graph execution error:\n\nDetected at node assert_equal_3/Assert/AssertGuard/Assert\n"
                       "assertion failed: [text: every prompt needs at least one word; got an empty one] "
                       "[Condition x == y did not hold element-wise:] [x (All:0) = ] [0]\n\t [[{{node assert}}]]")
        self.assertEqual(client_lib.ServingError("INVALID_ARGUMENT", graph_error).summary(),
                         "INVALID_ARGUMENT: text: every prompt needs at least one word; got an empty one")
        self.assertEqual(client_lib.ServingError("NOT_FOUND", "Servable not found\nmore").summary(),
                         "NOT_FOUND: Servable not found")
        self.assertEqual(client_lib.ServingError("HTTP 500", "").summary(), "HTTP 500: ")


class _OldExport(tf.Module):
    """An export as written before `sample` answered `z`: N(0, I) z per seed, slerp, no `z` output."""

    def __init__(self):
        super().__init__()
        self.weights = tf.Variable(tf.random.stateless_normal([LATENT_DIM, 64], seed=[1, 2]))

    def _generate(self, z):
        return tf.reshape(tf.tanh(z @ self.weights), [-1, 8, 8, 1])

    @staticmethod
    def _encode(images):
        return tf.map_fn(tf.io.encode_png, export.to_uint8(images), fn_output_signature=tf.string)

    @tf.function(input_signature=[tf.TensorSpec([None, LATENT_DIM], tf.float32, name="z")])
    def serving_default(self, z):
        return {"images": self._generate(z)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="seed")])
    def sample(self, seed):
        z = tf.map_fn(lambda s: tf.random.stateless_normal([LATENT_DIM], seed=tf.stack([s, 0])), seed,
                      fn_output_signature=tf.float32)
        images = self._generate(z)
        return {"images_uint8": export.to_uint8(images), "images_png_bytes": self._encode(images)}

    @tf.function(input_signature=[tf.TensorSpec([None, LATENT_DIM], tf.float32, name="z_start"),
                                  tf.TensorSpec([None, LATENT_DIM], tf.float32, name="z_end"),
                                  tf.TensorSpec([None], tf.int32, name="num_steps")])
    def interpolate(self, z_start, z_end, num_steps):
        steps = num_steps[0]
        path = latent.slerp(z_start, z_end, tf.linspace(0.0, 1.0, steps))
        images = self._generate(tf.reshape(path, [-1, LATENT_DIM]))
        rows = tf.shape(z_start)[0]
        return {"images": tf.reshape(images, [rows, steps, 8, 8, 1]),
                "images_png_bytes": tf.reshape(self._encode(images), [rows, steps])}


def write_old_export(version_dir):
    old = _OldExport()
    tf.saved_model.save(old, version_dir, signatures={"serving_default": old.serving_default, "sample": old.sample,
                                                       "interpolate": old.interpolate})
    return version_dir


class ClientTest(tf.test.TestCase):
    """One server with an unconditional and a conditional generator; both protocols for every check."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base = tempfile.mkdtemp()
        generator, _ = models.build("dcgan", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0)
        conditional, _ = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0, num_classes=3)
        uniform, _ = models.build("dcgan", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=1)
        # Written first, so the exports' models.config lists it too.
        old = write_old_export(os.path.join(cls.base, "old", "1"))
        cls.exports = {"g": export.export_generator(generator, cls.base, "g"),
                       "c": export.export_generator(conditional, cls.base, "c", num_classes=3),
                       "u": export.export_generator(brighten(uniform), cls.base, "u",
                                                    latent_distribution="uniform"),
                       "old": old}
        cls.server, cls.clients = serving_fixtures.serve_exports(cls.base)
        cls.loaded = {name: tf.saved_model.load(path) for name, path in cls.exports.items()}

    @classmethod
    def tearDownClass(cls):
        serving_fixtures.stop_serving(cls.server, cls.clients)
        super().tearDownClass()

    def test_signatures_come_from_the_metadata(self):
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                signatures = client.signatures("c")
                self.assertEqual(sorted(signatures), ["interpolate", "sample", "serving_default"])
                self.assertEqual(signatures["interpolate"].inputs["z_start"], client_lib.TensorInfo(tf.float32, (-1, 8)))
                self.assertEqual(signatures["sample"].inputs["label"], client_lib.TensorInfo(tf.int32, (-1,)))
                self.assertEqual(signatures["sample"].outputs["images_png_bytes"].dtype, tf.string)

    def test_sample_is_the_export_s_sample(self):
        expected = self.loaded["c"].signatures["sample"](seed=tf.constant([4, 5, 6], tf.int64),
                                                         label=tf.constant([2, 2, 2]))["images_uint8"].numpy()
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                images, answer = client_lib.sample(client, "c", 3, seed=4, label=2)
                self.assertAllEqual(images, expected)
                self.assertEqual(answer.version, 1 if protocol == "grpc" else None)
                self.assertGreater(answer.latency_ms, 0)

    def test_interpolation_ends_at_the_two_seeds_samples(self):
        ends = self.loaded["g"].signatures["sample"](seed=tf.constant([7, 8], tf.int64))["images_uint8"].numpy()
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                images, _ = client_lib.interpolate(client, "g", 5, seed=7)
                self.assertEqual(images.shape, (5, 8, 8, 1))
                self.assertLessEqual(np.abs(images[0].astype(int) - ends[0].astype(int)).max(), 1)
                self.assertLessEqual(np.abs(images[-1].astype(int) - ends[1].astype(int)).max(), 1)
                self.assertNotAllEqual(images[1], images[0])

    def test_seeded_z_is_the_sample_signature_s_z(self):
        seeds = tf.constant([7, 8], tf.int64)
        expected = {"u": uniform_seeded_inputs(seeds).numpy(),
                    "c": self.loaded["c"].signatures["sample"](seed=seeds, label=tf.constant([1, 1]))["z"].numpy(),
                    # No `z` output: the N(0, I) draw such exports made.
                    "old": np.stack([tf.random.stateless_normal([8], seed=[seed, 0]).numpy() for seed in (7, 8)])}
        self.assertAllInRange(expected["u"], 0.0, 1.0)
        for protocol, client in self.clients.items():
            for model, z in expected.items():
                with self.subTest(protocol=protocol, model=model):
                    got = client_lib.seeded_z(client, model, [7, 8], label=1 if model == "c" else None)
                    self.assertEqual(got.dtype, np.float32)
                    self.assertAllEqual(got, z)  # Exactly: REST's float32 JSON round-trips.

    def test_uniform_z_interpolation_ends_at_the_two_seeds_samples(self):
        # The client takes z from the export, not from an assumed N(0, I): with uniform z the
        # ends are still the samples, and N(0, I) z would have drawn other pictures.
        ends = self.loaded["u"].signatures["sample"](seed=tf.constant([7, 8], tf.int64))["images_uint8"].numpy()
        normal_z = np.stack([tf.random.stateless_normal([8], seed=[seed, 0]).numpy() for seed in (7, 8)])
        wrong = export.to_uint8(self.loaded["u"].signatures["serving_default"](z=normal_z)["images"]).numpy()
        self.assertGreater(np.abs(wrong.astype(int) - ends.astype(int)).max(), 10)
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                images, _ = client_lib.interpolate(client, "u", 5, seed=7)
                self.assertEqual(images.shape, (5, 8, 8, 1))
                self.assertLessEqual(np.abs(images[0].astype(int) - ends[0].astype(int)).max(), 1)
                self.assertLessEqual(np.abs(images[-1].astype(int) - ends[1].astype(int)).max(), 1)
                self.assertGreater(np.abs(images[2].astype(int) - ends[0].astype(int)).max(), 1)

    def test_an_export_without_z_falls_back_to_normal_z(self):
        self.assertNotIn("z", self.clients["grpc"].signatures("old")["sample"].outputs)
        ends = self.loaded["old"].signatures["sample"](seed=tf.constant([3, 4], tf.int64))["images_uint8"].numpy()
        self.assertGreater(np.abs(ends[0].astype(int) - ends[1].astype(int)).max(), 10)
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                images, _ = client_lib.interpolate(client, "old", 4, seed=3)
                self.assertLessEqual(np.abs(images[0].astype(int) - ends[0].astype(int)).max(), 1)
                self.assertLessEqual(np.abs(images[-1].astype(int) - ends[1].astype(int)).max(), 1)

    def test_the_grid_is_the_project_s_grid(self):
        images = np.random.RandomState(0).randint(0, 256, size=(5, 6, 4, 1)).astype(np.uint8)
        for nrow in (1, 3, 8):
            with self.subTest(nrow=nrow):
                expected = plots.image_grid(images.astype(np.float32) / 127.5 - 1.0, nrow=nrow)
                self.assertAllEqual(client_lib.image_grid(images, nrow=nrow), expected)
        rgb = np.random.RandomState(1).randint(0, 256, size=(2, 3, 3, 3)).astype(np.uint8)
        self.assertAllEqual(client_lib.image_grid(rgb), plots.image_grid(rgb.astype(np.float32) / 127.5 - 1.0))
        path = os.path.join(self.get_temp_dir(), "sub", "grid.png")
        client_lib.save_grid(images, path, nrow=3)
        self.assertAllEqual(np.asarray(Image.open(path)), client_lib.image_grid(images, nrow=3))
        self.assertEqual(os.listdir(os.path.dirname(path)), ["grid.png"])

    def test_serving_default_floats_match_in_process(self):
        z = np.random.RandomState(0).normal(size=(3, 8)).astype(np.float32)
        expected = self.loaded["g"].signatures["serving_default"](z=tf.constant(z))["images"].numpy()
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                answer = client.predict("g", "serving_default", {"z": z}, version=1)
                self.assertAllClose(answer.outputs["images"], expected, atol=1e-5)
                self.assertEqual(answer.version, 1)

    def test_errors_name_their_status(self):
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                with self.assertRaisesRegex(client_lib.ServingError, "Servable not found"):
                    client_lib.sample(client, "nope", 2)
                with self.assertRaises(client_lib.ServingError) as raised:
                    client_lib.sample(client, "g", 2, version=9)
                self.assertIn(raised.exception.code, ("NOT_FOUND", "HTTP 404"))

    def test_a_label_outside_the_classes_is_invalid(self):
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                with self.assertRaisesRegex(client_lib.ServingError, r"label must be a class in \[0, 3\)") as raised:
                    client_lib.sample(client, "c", 2, label=3)
                self.assertIn(raised.exception.code, ("INVALID_ARGUMENT", "HTTP 400"))

    def test_no_server_is_unavailable_with_a_hint(self):
        for target in ("localhost:1", "http://localhost:1"):
            with self.subTest(target):
                with self.assertRaisesRegex(client_lib.ServingError, "UNAVAILABLE.*is it running"):
                    client_lib.sample(client_lib.connect(target, timeout=5), "g", 1)

    def test_command_line_writes_the_grid_and_prints_the_latency(self):
        out = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "grid.png")
        for target, extra in ((f"localhost:{self.server.grpc_port}", ["--num=4"]),
                              (f"http://localhost:{self.server.rest_port}", ["--interpolate", "--num=3"])):
            with self.subTest(target):
                result = subprocess.run([sys.executable, "-m", "serving.client", f"--target={target}", "--model=g",
                                         f"--out={out}", *extra], cwd=ROOT, capture_output=True, text=True,
                                        timeout=120, check=False)
                self.assertEqual(result.returncode, 0, result.stderr[-2000:])
                self.assertRegex(result.stdout, r"of g \((version 1|latest version)\) from .* in [0-9.]+ ms")
                self.assertEqual(Image.open(out).format, "PNG")
        # 3 interpolation steps in one row of 8x8 cells with 2 px padding: 3 * 10 + 2 wide.
        self.assertEqual(np.asarray(Image.open(out)).shape[:2], (12, 32))

    def test_command_line_waits_for_a_server_that_is_starting(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        out = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "grid.png")
        client = subprocess.Popen([sys.executable, "-m", "serving.client", f"--target=localhost:{port}", "--model=g",
                                   "--num=2", f"--out={out}", "--wait_seconds=120"], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)  # The client is up and being refused.
        self.assertIsNone(client.poll())
        with Server(os.path.join(self.base, export.MODELS_CONFIG), port=port, rest_api_port=-1,
                    file_system_poll_wait_seconds=0):
            _, stderr = client.communicate(timeout=120)
        self.assertEqual(client.returncode, 0, stderr[-2000:])
        self.assertTrue(os.path.isfile(out))

    def test_command_line_error_is_one_line_and_exit_1(self):
        result = subprocess.run([sys.executable, "-m", "serving.client", f"--target=localhost:{self.server.grpc_port}",
                                 "--model=missing", f"--out={self.get_temp_dir()}/x.png"], cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("NOT_FOUND: Servable not found for request: Latest(missing)", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
    tf.test.main()
