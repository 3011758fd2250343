"""A translator's export through the embedded server: PNG files over gRPC and REST, and the client's --translate."""

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
from tfgan_course import export, models, signatures, spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TranslateTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base = tempfile.mkdtemp()
        # A grey -> colour CycleGAN pair (ResNet generators, instance normalisation).
        cls.forward, _ = models.build_translator("resnet", input_shape=(8, 8, 1), output_shape=(8, 8, 3),
                                                 conditional=False, g_width=4, seed=0, resnet_blocks=1, patch_size=1)
        cls.backward, _ = models.build_translator("resnet", input_shape=(8, 8, 3), output_shape=(8, 8, 1),
                                                  conditional=False, g_width=4, seed=1, resnet_blocks=1, patch_size=1)
        plain = export.spec_of(cls.forward)
        cyclegan_spec = spec.GeneratorSpec(plain.inputs, plain.outputs, variant="cyclegan", state={"reverse": json.loads(export.spec_of(cls.backward).to_json())})
        export.export_generator(cls.forward, cls.base, "t", spec=cyclegan_spec, reverse=cls.backward)
        cls.server, cls.clients = serving_fixtures.serve_exports(cls.base)
        pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 8), dtype=np.uint8)
        cls.pngs = [fixtures.png_bytes(p) for p in pixels]
        cls.expected = signatures.to_uint8(cls.forward(pixels[..., None] / 127.5 - 1.0, training=False)).numpy()

    @classmethod
    def tearDownClass(cls):
        serving_fixtures.stop_serving(cls.server, cls.clients)
        super().tearDownClass()

    def test_png_files_translate_as_in_process_over_both_protocols(self):
        for protocol, client in self.clients.items():
            with self.subTest(protocol):
                images, _ = client_lib.translate(client, "t", self.pngs)
                self.assertAllEqual(images, self.expected)  # A batch of 8 ...
                one, _ = client_lib.translate(client, "t", self.pngs[3:4])
                self.assertAllEqual(one[0], self.expected[3])  # ... gives each image what a batch of 1 does.
                back, _ = client_lib.translate(client, "t", [fixtures.png_bytes(image) for image in images[:2]],
                                                  reverse=True)
                self.assertEqual(back.shape, (2, 8, 8, 1))

    def test_rest_row_format_with_b64_files_as_the_readme_shows(self):
        body = json.dumps({"signature_name": "translate_png",
                           "instances": [{"b64": base64.b64encode(png).decode()} for png in self.pngs[:2]]})
        url = f"http://localhost:{self.server.rest_port}/v1/models/t:predict"
        with urllib.request.urlopen(urllib.request.Request(url, body.encode()), timeout=60) as response:
            predictions = json.load(response)["predictions"]
        decoded = [np.asarray(Image.open(io.BytesIO(base64.b64decode(p["images_png_bytes"]["b64"]))))
                   for p in predictions]
        self.assertAllEqual(np.stack(decoded), self.expected[:2])

    def test_the_client_command_saves_inputs_beside_outputs(self):
        directory = tempfile.mkdtemp(dir=self.get_temp_dir())
        paths = []
        for i, png in enumerate(self.pngs[:3]):
            paths.append(os.path.join(directory, f"in{i}.png"))
            with open(paths[-1], "wb") as f:
                f.write(png)
        out = os.path.join(directory, "out.png")
        result = subprocess.run(
            [sys.executable, "-m", "serving.client", f"--target=localhost:{self.server.grpc_port}", "--model=t",
             f"--translate={','.join(paths)}", f"--out={out}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertIn("3 translations (input | output) of t", result.stdout)
        self.assertTrue(os.path.isfile(out))


if __name__ == "__main__":
    tf.test.main()
