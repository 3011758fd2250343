"""An upscaler's export (SRResNet, SRGAN): `upscale` at any input size, its PNG twin, BatchNorm in inference mode."""

import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from serving import client as serving_client
from tests import fixtures, serving_fixtures
from tfgan_course import export, models, signatures, spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UpscalerExportTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.generator, _ = models.build_translator("srresnet", input_shape=(7, 7, 1), output_shape=(28, 28, 1),
                                                   conditional=False, g_width=4, seed=0, resnet_blocks=1)
        # Moving statistics away from their start, so inference mode differs from a batch's statistics.
        cls.generator(np.random.default_rng(1).uniform(-1, 1, (4, 7, 7, 1)).astype(np.float32), training=True)
        cls.spec = spec.GeneratorSpec(export.spec_of(cls.generator).inputs, export.spec_of(cls.generator).outputs,
                                      family="srresnet", variant="srresnet", state={"scale": 4})
        cls.examples = np.random.default_rng(0).integers(0, 256, (3, 7, 7, 1), dtype=np.uint8)
        cls.path = export.export_generator(cls.generator, os.path.join(tf.compat.v1.test.get_temp_dir(), "sr"), "sr",
                                           spec=cls.spec, examples=cls.examples)
        cls.serve = tf.saved_model.load(cls.path).signatures

    def test_kind_and_signatures(self):
        self.assertEqual(signatures.kind_of(self.spec), "upscaler")
        self.assertContainsSubset({"serving_default", "translate_png", "examples", "upscale", "upscale_png"},
                                  set(self.serve))

    def test_upscale_takes_two_input_sizes_and_no_image_depends_on_its_batch(self):
        rng = np.random.default_rng(2)
        trained = rng.uniform(-1, 1, (3, 7, 7, 1)).astype(np.float32)
        outputs = self.serve["upscale"](images=tf.constant(trained))["images"]
        self.assertEqual(outputs.shape, (3, 28, 28, 1))
        self.assertAllClose(outputs, self.generator(trained, training=False), atol=1e-5)
        self.assertAllClose(outputs, self.serve["serving_default"](images=tf.constant(trained))["images"], atol=1e-6)
        other = rng.uniform(-1, 1, (2, 5, 9, 1)).astype(np.float32)
        larger = self.serve["upscale"](images=tf.constant(other))["images"]
        self.assertEqual(larger.shape, (2, 20, 36, 1))
        self.assertAllClose(larger[:1], self.serve["upscale"](images=tf.constant(other[:1]))["images"], atol=1e-5)
        # The same network: its twin built on any size gives the trained-size model's outputs.
        twin = signatures.any_size_twin(self.generator)
        self.assertAllClose(twin(other, training=False), larger, atol=1e-5)

    def test_upscale_png_answers_each_file_at_four_times_its_size(self):
        files = [fixtures.png_bytes(np.full((6, 6), 255, np.uint8)),
                 fixtures.png_bytes(np.random.default_rng(3).integers(0, 256, (4, 10, 3), dtype=np.uint8))]
        answers = self.serve["upscale_png"](images_png_bytes=tf.constant(files))["images_png_bytes"].numpy()
        sizes = [Image.open(io.BytesIO(answer)).size for answer in answers]
        self.assertEqual(sizes, [(24, 24), (40, 16)])  # PIL's (width, height)
        white = np.ones((1, 6, 6, 1), np.float32)
        expected = signatures.to_uint8(signatures.any_size_twin(self.generator)(white, training=False)).numpy()[0, ..., 0]
        self.assertAllEqual(np.asarray(Image.open(io.BytesIO(answers[0]))), expected)


class UpscaleServedTest(tf.test.TestCase):
    """`upscale` through the embedded server (gRPC and REST), at the trained size and another; the client's --upscale."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.generator, _ = models.build_translator("srresnet", input_shape=(4, 4, 1), output_shape=(8, 8, 1),
                                                   conditional=False, g_width=4, seed=0, resnet_blocks=1)
        base = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
        export.export_generator(cls.generator, base, "sr", spec=export.spec_of(cls.generator))
        cls.server, cls.clients = serving_fixtures.serve_exports(base)

    @classmethod
    def tearDownClass(cls):
        serving_fixtures.stop_serving(cls.server, cls.clients)
        super().tearDownClass()

    def test_two_input_sizes_over_both_protocols(self):
        rng = np.random.default_rng(0)
        for protocol, client in self.clients.items():
            for shape in ((2, 4, 4, 1), (1, 3, 6, 1)):
                with self.subTest(protocol=protocol, shape=shape):
                    images = rng.uniform(-1, 1, shape).astype(np.float32)
                    answer = client.predict("sr", "upscale", {"images": images})
                    self.assertAllClose(answer.outputs["images"],
                                        signatures.any_size_twin(self.generator)(images, training=False), atol=1e-5)
                    self.assertEqual(np.shape(answer.outputs["images"]), (shape[0], 2 * shape[1], 2 * shape[2], 1))

    def test_the_client_upscales_files_of_two_sizes_and_draws_them_beside_their_inputs(self):
        rng = np.random.default_rng(1)
        files = [fixtures.png_bytes(rng.integers(0, 256, (4, 4), dtype=np.uint8)),
                 fixtures.png_bytes(rng.integers(0, 256, (3, 6), dtype=np.uint8))]
        expected = [signatures.to_uint8(signatures.any_size_twin(self.generator)(
            np.asarray(Image.open(io.BytesIO(png)), np.float32)[None, ..., None] / 127.5 - 1.0, training=False))[0]
            for png in files]
        for protocol, client in self.clients.items():
            with self.subTest(protocol=protocol):
                upscaled, _ = serving_client.upscale(client, "sr", files)
                self.assertEqual([image.shape for image in upscaled], [(8, 8, 1), (6, 12, 1)])
                for image, want in zip(upscaled, expected):
                    self.assertAllEqual(image, want)
        pairs = serving_client.enlarged_beside(files, upscaled)
        self.assertEqual(pairs.shape, (4, 8, 12, 3))
        # The input's pixels repeated 2x2 at the output's size, the padding beside the smaller ones.
        self.assertAllEqual(pairs[0, :8, :8, 0], np.kron(np.asarray(Image.open(io.BytesIO(files[0]))), np.ones((2, 2))))
        self.assertAllEqual(pairs[0, :, 8:], np.full((8, 4, 3), 76))

        directory = tempfile.mkdtemp(dir=self.get_temp_dir())
        paths = [os.path.join(directory, f"in{i}.png") for i in range(len(files))]
        for path, png in zip(paths, files):
            with open(path, "wb") as f:
                f.write(png)
        out = os.path.join(directory, "out.png")
        result = subprocess.run(
            [sys.executable, "-m", "serving.client", f"--target=localhost:{self.server.grpc_port}", "--model=sr",
             f"--upscale={','.join(paths)}", f"--out={out}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertIn("2 upscalings (input enlarged | output) of sr", result.stdout)
        self.assertEqual(Image.open(out).size, (2 * 14 + 2, 2 * 10 + 2))  # 2x2 cells of 8x12 with 2-px padding


if __name__ == "__main__":
    tf.test.main()
