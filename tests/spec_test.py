"""The generator spec: JSON round trips, its checks, and shapes the next generators need."""

import json
import os

import tensorflow as tf

from tfgan_course import spec


def _latent(width=8, **kwargs):
    return spec.Input("z", "latent", (width,), distribution="normal", noise_dim=width, **kwargs)


class SpecTest(tf.test.TestCase):

    def test_json_round_trip_of_every_input_kind(self):
        cases = {
            "conditional": spec.GeneratorSpec(
                [_latent(), spec.Input("label", "label", (), dtype="int32", num_classes=10)],
                [spec.Output("images", "image", (28, 28, 1), value_range=(-1, 1))], "cdcgan", "conditional", "mnist"),
            "infogan": spec.GeneratorSpec(
                [spec.Input("z", "latent", (74,), distribution="uniform", noise_dim=62, categorical=10, continuous=2)],
                [spec.Output("images", "image", (28, 28, 1))], "infogan", "infogan"),
            # An image-to-image generator and a growing one fit without special cases.
            "translator": spec.GeneratorSpec(
                [spec.Input("images", "image", (64, 64, 3), value_range=(-1, 1))],
                [spec.Output("images", "image", (64, 64, 3), value_range=(-1, 1))], "unet", "pix2pix",
                state={"direction": "a_to_b"}, credits="Twemoji graphics: CC-BY 4.0"),
            "progressive": spec.GeneratorSpec([_latent(128)], [spec.Output("images", "image", (28, 28, 1))],
                                              "pggan", "progressive", state={"resolution": 14, "alpha": 0.5}),
            "toy": spec.GeneratorSpec([_latent(2)], [spec.Output("images", "points", (2,))], "toy", "plain"),
        }
        for name, value in cases.items():
            with self.subTest(name):
                self.assertEqual(spec.GeneratorSpec.from_json(value.to_json()), value)
        self.assertEqual(cases["conditional"].num_classes, 10)
        self.assertEqual(cases["infogan"].interpolation, "lerp")
        self.assertIsNone(cases["translator"].latent)
        self.assertFalse(cases["toy"].makes_images)

    def test_write_and_read(self):
        directory = self.get_temp_dir()
        value = spec.GeneratorSpec([_latent()], [spec.Output("images", "image", (8, 8, 1))])
        path = value.write(directory)
        self.assertEqual(os.path.basename(path), spec.FILE_NAME)
        self.assertEqual(spec.read(directory), value)
        self.assertEqual(os.listdir(directory), [spec.FILE_NAME])  # No temporary file left.
        # An export's generator.json from before specs is not a spec: read says so with None.
        with open(path, "w") as f:
            json.dump({"num_classes": 0, "interpolation": "slerp"}, f)
        self.assertIsNone(spec.read(directory))
        self.assertIsNone(spec.read(os.path.join(directory, "missing")))

    def test_bad_specs_say_what_is_wrong(self):
        cases = [
            (lambda: spec.Input("z", "noise", (8,)), "Unknown input kind 'noise'"),
            (lambda: spec.Input("z", "latent", (8,), distribution="cauchy", noise_dim=8), "unknown distribution"),
            (lambda: spec.Input("z", "latent", (9,), distribution="normal", noise_dim=4, categorical=3, continuous=1),
             r"not noise_dim \+ codes = 4 \+ 3 \+ 1"),
            (lambda: spec.Input("label", "label", (), num_classes=1), "num_classes >= 2"),
            (lambda: spec.GeneratorSpec([_latent(), _latent()], [spec.Output("images", "image", ())]),
             "distinct names"),
            (lambda: spec.GeneratorSpec([_latent()], []), "at least one output"),
            (lambda: spec.GeneratorSpec.from_json("{}"), "Not a generator spec"),
            (lambda: spec.GeneratorSpec.from_json('{"format": 99, "inputs": [], "outputs": []}'), "upgrade"),
        ]
        for make, message in cases:
            with self.subTest(message):
                with self.assertRaisesRegex(ValueError, message):
                    make()


if __name__ == "__main__":
    tf.test.main()
