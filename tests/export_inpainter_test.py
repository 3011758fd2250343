"""An inpainter's export (the context encoder): `inpaint` keeps known pixels bit-exact, its PNG twin, the server."""

import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

import numpy as np
import tensorflow as tf
from PIL import Image

from serving import client as client_lib
from tests import fixtures, serving_fixtures
from tfgan_course import export, inpainting, models, signatures, trained
from tfgan_course.gans import context_encoder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _inpainter(seed=0):
    """A tiny context encoder (8x8 grey, hole 4), its mean image set and BatchNorm's statistics moved off their start."""
    generator, discriminator = models.build_inpainter("context_encoder", image_shape=(8, 8, 1), g_width=4, d_width=4,
                                                      seed=seed)
    generator.get_layer("mean_fill").mean_image.assign(np.full((8, 8, 1), -0.5, np.float32))
    rng = np.random.default_rng(seed + 1)
    generator([rng.uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32), inpainting.centre_mask((8, 8), 4).repeat(4, 0)],
              training=True)
    model = context_encoder.ContextEncoder(generator, discriminator, hole_size=4)
    model.spec = model.generator_spec("context_encoder", "fashion_mnist")  # As variants.build sets it.
    return model


def _mask_png(mask):
    """float [H, W, 1] of 0 and 1 -> a PNG file: white = missing."""
    return fixtures.png_bytes((255 * mask[..., 0]).astype(np.uint8))


class InpainterExportTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = _inpainter()
        cls.examples = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 1), dtype=np.uint8)
        cls.path = export.export_generator(cls.model.generator, os.path.join(tf.compat.v1.test.get_temp_dir(), "ce"),
                                           "ce", spec=cls.model.spec, examples=cls.examples)
        cls.serve = tf.saved_model.load(cls.path).signatures

    def test_kind_signatures_and_the_servable_check(self):
        self.assertEqual(signatures.kind_of(self.model.spec), "inpainter")
        self.assertEqual(set(self.serve), {"serving_default", "inpaint", "inpaint_png", "examples"})
        export.check_signatures(self.path)  # Every signature batches on -1 and answers float32, uint8 or strings.
        inpaint = self.serve["inpaint"]
        self.assertEqual(sorted(inpaint.structured_input_signature[1]), ["images", "mask"])
        self.assertEqual(inpaint.structured_input_signature[1]["mask"].shape.as_list(), [None, 8, 8, 1])

    def test_inpaint_keeps_every_known_pixel_bit_exact_and_fills_the_hole_with_g(self):
        rng = np.random.default_rng(2)
        images = rng.uniform(-1, 1, (5, 8, 8, 1)).astype(np.float32)
        mask = inpainting.random_square_masks(5, (8, 8), 3, count=2, seed=3)
        for name in ("inpaint", "serving_default"):
            completed = self.serve[name](images=tf.constant(images), mask=tf.constant(mask))["images"].numpy()
            self.assertAllEqual(completed[mask == 0], images[mask == 0])
            predicted = self.model.generator([images, mask], training=False).numpy()
            self.assertAllClose(completed[mask == 1], predicted[mask == 1], atol=1e-5)
        # Any value above one half is missing; the answer for an image does not depend on its batch.
        soft = np.where(mask > 0, 0.7, 0.2).astype(np.float32)
        soft_completed = self.serve["inpaint"](images=tf.constant(images), mask=tf.constant(soft))["images"].numpy()
        self.assertAllClose(soft_completed, completed, atol=1e-6)
        one = self.serve["inpaint"](images=tf.constant(images[2:3]), mask=tf.constant(mask[2:3]))["images"].numpy()
        self.assertAllClose(one[0], completed[2], atol=1e-6)
        # The loader of trained generators composites the export's answer the same way.
        loaded = trained.load(export_dir=self.path)
        self.assertTrue(loaded.spec.inpaints)
        self.assertAllClose(loaded.inpaint(images, mask), completed, atol=1e-6)

    def test_png_twin_round_trip(self):
        pixels = np.random.default_rng(4).integers(0, 256, (3, 8, 8), dtype=np.uint8)
        mask = inpainting.random_square_masks(3, (8, 8), 4, seed=5)
        answer = self.serve["inpaint_png"](
            images_png_bytes=tf.constant([fixtures.png_bytes(p) for p in pixels]),
            mask_png_bytes=tf.constant([_mask_png(m) for m in mask]))
        decoded = np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in answer["images_png_bytes"].numpy()])
        self.assertAllEqual(decoded, answer["images_uint8"].numpy()[..., 0])
        known = mask[..., 0] == 0
        self.assertAllEqual(decoded[known], pixels[known])  # The file's own pixels, exactly.
        images = pixels[..., None].astype(np.float32) / 127.5 - 1.0
        expected = signatures.to_uint8(self.model.generator([images, mask], training=False)).numpy()[..., 0]
        self.assertLessEqual(np.abs(decoded[~known].astype(int) - expected[~known]).max(), 1)

    def test_examples_and_a_mismatched_generator(self):
        stored = self.serve["examples"](index=tf.constant([0, 2]))["images_png_bytes"].numpy()
        self.assertAllEqual(np.asarray(Image.open(io.BytesIO(stored[1]))), self.examples[2, ..., 0])
        translator, _ = models.build_translator("unet", input_shape=(8, 8, 1), output_shape=(8, 8, 1),
                                                conditional=True, g_width=4, seed=0, patch_size=1)
        with self.assertRaisesRegex(ValueError, r"An inpainter takes \[images \(8, 8, 1\), mask \(8, 8, 1\)\]"):
            export.export_generator(translator, self.get_temp_dir(), "wrong", spec=self.model.spec)
        with self.assertRaisesRegex(ValueError, r"The examples must be images \[N >= 1, 8, 8, 1\]"):
            export.export_generator(self.model.generator, self.get_temp_dir(), "wrong", spec=self.model.spec,
                                    examples=np.zeros((2, 4, 4, 1), np.uint8))


class InpaintServedTest(tf.test.TestCase):
    """`inpaint` and `inpaint_png` through the embedded server, over gRPC (the official stubs) and REST."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = _inpainter(seed=7)
        base = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
        export.export_generator(cls.model.generator, base, "ce", spec=cls.model.spec)
        cls.server, cls.clients = serving_fixtures.serve_exports(base)

    @classmethod
    def tearDownClass(cls):
        serving_fixtures.stop_serving(cls.server, cls.clients)
        super().tearDownClass()

    def test_inpaint_and_its_png_twin_over_both_protocols(self):
        rng = np.random.default_rng(8)
        images = rng.uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32)
        mask = inpainting.random_square_masks(2, (8, 8), 3, seed=9)
        pixels = rng.integers(0, 256, (2, 8, 8), dtype=np.uint8)
        for protocol, client in self.clients.items():
            with self.subTest(protocol=protocol):
                self.assertIn("inpaint_png", client.signatures("ce"))
                answer = client.predict("ce", "inpaint", {"images": images, "mask": mask})
                completed = np.asarray(answer.outputs["images"], np.float32)  # REST: JSON decimals of float32.
                self.assertAllEqual(completed[mask == 0], images[mask == 0])
                self.assertAllClose(completed, inpainting.composite(
                    images, mask, self.model.generator([images, mask], training=False)), atol=1e-5)
                filled, _ = client_lib.inpaint(client, "ce", [fixtures.png_bytes(p) for p in pixels],
                                               [_mask_png(m) for m in mask])
                self.assertEqual(filled.shape, (2, 8, 8, 1))
                self.assertAllEqual(filled[mask == 0], pixels[..., None][mask == 0])

    def test_rest_row_format_with_b64_files(self):
        pixels = np.random.default_rng(10).integers(0, 256, (8, 8), dtype=np.uint8)
        mask = inpainting.centre_mask((8, 8), 4)[0]
        body = json.dumps({"signature_name": "inpaint_png", "instances": [{
            "images_png_bytes": {"b64": base64.b64encode(fixtures.png_bytes(pixels)).decode()},
            "mask_png_bytes": {"b64": base64.b64encode(_mask_png(mask)).decode()}}]})
        url = f"http://localhost:{self.server.rest_port}/v1/models/ce:predict"
        with urllib.request.urlopen(urllib.request.Request(url, body.encode()), timeout=60) as response:
            prediction = json.load(response)["predictions"][0]
        decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(prediction["images_png_bytes"]["b64"]))))
        self.assertAllEqual(decoded[mask[..., 0] == 0], pixels[mask[..., 0] == 0])

    def test_the_client_command_draws_each_input_beside_its_completion(self):
        directory = tempfile.mkdtemp(dir=self.get_temp_dir())
        pixels = np.random.default_rng(11).integers(0, 256, (2, 8, 8), dtype=np.uint8)
        paths = []
        for name, array in (("a", pixels[0]), ("b", pixels[1]),
                            ("hole", (255 * inpainting.centre_mask((8, 8), 4)[0, ..., 0]).astype(np.uint8))):
            paths.append(os.path.join(directory, f"{name}.png"))
            with open(paths[-1], "wb") as f:
                f.write(fixtures.png_bytes(array))
        out = os.path.join(directory, "out.png")
        command = [sys.executable, "-m", "serving.client", f"--target=localhost:{self.server.grpc_port}", "--model=ce",
                   f"--inpaint={paths[0]},{paths[1]}", f"--mask={paths[2]}", f"--out={out}"]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertIn("2 completions (input | output) of ce", result.stdout)
        self.assertEqual(Image.open(out).size, (2 * 10 + 2, 2 * 10 + 2))  # 2x2 cells of 8x8 with 2-px padding
        result = subprocess.run(command[:-2] + [f"--out={out}"], cwd=ROOT, capture_output=True, text=True,
                                timeout=120, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--inpaint and --mask go together", result.stderr)


if __name__ == "__main__":
    tf.test.main()
