"""An upscaler's export (SRResNet, SRGAN): `upscale` at any input size, its PNG twin, BatchNorm in inference mode."""

import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from tests import fixtures, serving_fixtures
from tfgan_course import export, models, signatures, spec


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
    """`upscale` through the embedded server (gRPC and REST), at the trained size and another."""

    def test_two_input_sizes_over_both_protocols(self):
        generator, _ = models.build_translator("srresnet", input_shape=(4, 4, 1), output_shape=(8, 8, 1),
                                               conditional=False, g_width=4, seed=0, resnet_blocks=1)
        base = self.get_temp_dir()
        export.export_generator(generator, base, "sr", spec=export.spec_of(generator))
        server, clients = serving_fixtures.serve_exports(base)
        self.addCleanup(serving_fixtures.stop_serving, server, clients)
        rng = np.random.default_rng(0)
        for protocol, client in clients.items():
            for shape in ((2, 4, 4, 1), (1, 3, 6, 1)):
                with self.subTest(protocol=protocol, shape=shape):
                    images = rng.uniform(-1, 1, shape).astype(np.float32)
                    answer = client.predict("sr", "upscale", {"images": images})
                    self.assertAllClose(answer.outputs["images"],
                                        signatures.any_size_twin(generator)(images, training=False), atol=1e-5)
                    self.assertEqual(np.shape(answer.outputs["images"]), (shape[0], 2 * shape[1], 2 * shape[2], 1))


if __name__ == "__main__":
    tf.test.main()
