"""A translator's export: images in and out, PNG files in and out, a CycleGAN's reverse direction."""

import io
import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import prediction_log_pb2

from serving import servable, warmup
from tests import fixtures
from tfgan_course import export, models, signatures, spec, trained


class TranslatorExportTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Grey -> RGB and back, as a CycleGAN between a grey and a colour domain (BatchNorm in the U-Net:
        # exported in inference mode, so no image depends on its batch).
        cls.forward, _ = models.build_translator("unet", input_shape=(16, 16, 1), output_shape=(16, 16, 3),
                                                 conditional=False, g_width=4, seed=0, patch_size=1)
        cls.backward, _ = models.build_translator("resnet", input_shape=(16, 16, 3), output_shape=(16, 16, 1),
                                                  conditional=False, g_width=4, seed=1, resnet_blocks=1,
                                                  patch_size=1)
        forward_spec = export.spec_of(cls.forward)
        cls.spec = spec.GeneratorSpec(forward_spec.inputs, forward_spec.outputs, family="unet", variant="cyclegan",
                                      state={"reverse": json.loads(export.spec_of(cls.backward).to_json())})
        rng = np.random.default_rng(0)
        cls.images = rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32)
        # Held-out inputs of each direction: uint8 ones forward, floats in [-1, 1] back.
        cls.examples = rng.integers(0, 256, (3, 16, 16, 1), dtype=np.uint8)
        cls.reverse_examples = rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)

    def setUp(self):
        super().setUp()
        self.base = self.get_temp_dir()

    def _export(self):
        if not hasattr(type(self), "path"):
            type(self).path = export.export_generator(self.forward, os.path.join(self.get_temp_dir(), "once"),
                                                      "translator", spec=self.spec, reverse=self.backward,
                                                      examples=self.examples,
                                                      reverse_examples=self.reverse_examples)
        return tf.saved_model.load(self.path).signatures, self.path

    def test_images_in_images_out_and_a_batch_changes_no_image(self):
        serve, _ = self._export()
        outputs = serve["serving_default"](images=tf.constant(self.images))["images"]
        self.assertEqual(outputs.shape, (8, 16, 16, 3))
        self.assertAllClose(outputs, self.forward(self.images, training=False), atol=1e-5)
        one_by_one = np.concatenate([serve["serving_default"](images=tf.constant(self.images[i:i + 1]))["images"]
                                     for i in range(8)])
        self.assertAllClose(outputs, one_by_one, atol=1e-5)
        back = serve["reverse"](images=outputs)["images"]
        self.assertEqual(back.shape, (8, 16, 16, 1))
        self.assertAllClose(back, self.backward(outputs, training=False), atol=1e-5)

    def test_png_in_png_out_equals_the_in_process_output(self):
        serve, _ = self._export()
        pixels = signatures.to_uint8(self.images).numpy()
        files = tf.constant([fixtures.png_bytes(p[..., 0]) for p in pixels])
        answer = serve["translate_png"](images_png_bytes=files)
        expected = signatures.to_uint8(self.forward(pixels.astype(np.float32) / 127.5 - 1.0, training=False))
        self.assertAllEqual(answer["images_uint8"], expected)
        decoded = np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in answer["images_png_bytes"].numpy()])
        self.assertAllEqual(decoded, expected)
        # The reverse direction takes colour files.
        colour = serve["reverse_png"](images_png_bytes=answer["images_png_bytes"])["images_uint8"]
        self.assertEqual(colour.shape, (8, 16, 16, 1))

    def test_png_files_are_composited_on_white_converted_and_resized(self):
        transparent = np.zeros((16, 16, 4), np.uint8)  # Fully transparent black: white paper.
        rgb = np.zeros((16, 16, 3), np.uint8)
        rgb[..., 0] = 255  # Pure red: luma 0.299.
        large = np.full((40, 24), 255, np.uint8)  # Another size and aspect: resized to 16 x 16.
        decoded = signatures.decode_png_images(tf.constant([fixtures.png_bytes(transparent), fixtures.png_bytes(rgb), fixtures.png_bytes(large)]),
                                               (16, 16, 1)).numpy()
        self.assertEqual(decoded.shape, (3, 16, 16, 1))
        self.assertAllClose(decoded[0], np.ones((16, 16, 1)), atol=1e-6)
        self.assertAllClose(decoded[1], np.full((16, 16, 1), 0.299 * 2 - 1), atol=1e-5)
        self.assertAllClose(decoded[2], np.ones((16, 16, 1)), atol=1e-5)
        grey_as_rgb = signatures.decode_png_images(tf.constant([fixtures.png_bytes(large)]), (16, 16, 3)).numpy()
        self.assertEqual(grey_as_rgb.shape, (1, 16, 16, 3))

    def test_spec_warmups_and_the_loader(self):
        _, path = self._export()
        generator = trained.from_export(path)
        self.assertTrue(generator.spec.translates)
        self.assertEqual(generator.spec.state, self.spec.state)
        self.assertAllClose(generator.images({"images": self.images}), self.forward(self.images, training=False),
                            atol=1e-5)
        export.check_signatures(path)
        records = list(tf.data.TFRecordDataset(os.path.join(path, export.WARMUP_FILE)).as_numpy_iterator())
        requests = [prediction_log_pb2.PredictionLog.FromString(r).predict_log.request for r in records]
        self.assertEqual(sorted((r.model_spec.signature_name, tuple(r.output_filter)) for r in requests), [
            ("examples", ()), ("reverse", ()), ("reverse_examples", ()), ("reverse_png", ()),
            ("reverse_png", ("images_png_bytes",)), ("serving_default", ()), ("translate_png", ()),
            ("translate_png", ("images_png_bytes",))])
        # The server replays every one of them at load.
        self.assertEqual(warmup.replay(servable.load("translator", 1, path)), 8)

    def test_examples_are_the_stored_images_as_png_files(self):
        serve, _ = self._export()
        for name, expected in (("examples", self.examples),
                               ("reverse_examples", signatures.to_uint8(self.reverse_examples).numpy())):
            with self.subTest(name):
                answer = serve[name](index=tf.constant([1, 0, 1]))
                decoded = np.stack([np.asarray(Image.open(io.BytesIO(png)))
                                    for png in answer["images_png_bytes"].numpy()])
                self.assertAllEqual(decoded.reshape(3, *expected.shape[1:]), expected[[1, 0, 1]])
                self.assertAllEqual(answer["num_examples"], [len(expected)] * 3)

    def test_an_index_out_of_range_names_the_range(self):
        serve, _ = self._export()
        for index in (3, -1):
            with self.subTest(index), self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                                             r"examples: index must be in \[0, 3\)"):
                serve["examples"](index=tf.constant([0, index]))

    def test_clear_errors(self):
        with self.assertRaisesRegex(ValueError, "pass its reverse generator"):
            export.export_generator(self.forward, self.base, "t", spec=self.spec)
        plain = export.spec_of(self.forward)
        with self.assertRaisesRegex(ValueError, "records no reverse direction"):
            export.export_generator(self.forward, self.base, "t", spec=plain, reverse=self.backward)
        with self.assertRaisesRegex(ValueError, "must map"):
            export.export_generator(self.forward, self.base, "t", spec=self.spec, reverse=self.forward)
        with self.assertRaisesRegex(ValueError, r"The examples must be images \[N >= 1, 16, 16, 1\]"):
            export.export_generator(self.forward, self.base, "t", spec=self.spec, reverse=self.backward,
                                    examples=self.reverse_examples)
        with self.assertRaisesRegex(ValueError, "reverse_examples need a reverse direction"):
            export.export_generator(self.forward, self.base, "t", spec=plain, reverse_examples=self.reverse_examples)
        self.assertEqual(os.listdir(self.base), [])  # Nothing half-written.


if __name__ == "__main__":
    tf.test.main()
