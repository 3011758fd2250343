"""The export: TF Serving's layout, its three signatures, warmup records, server configs, atomic versions."""

import io
import os
import subprocess
import time

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from PIL import Image
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from serving import layout, servable, warmup
from tfgan_course import export, gan, latent, models, spec
from tfgan_course.gans import infogan


class ExportTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.generator, _ = models.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=4, seed=0)
        self.base = self.get_temp_dir()

    def test_reloads_and_matches_the_generator(self):
        path = export.export_generator(self.generator, self.base, "dcgan_test")
        self.assertEqual(path, os.path.join(self.base, "dcgan_test", "1"))
        self.assertTrue(os.path.isfile(os.path.join(path, "saved_model.pb")))
        serve = export.load_serving_fn(path)
        _, inputs = serve.structured_input_signature
        self.assertEqual(inputs["z"].shape.as_list(), [None, 8])
        self.assertEqual(inputs["z"].dtype, tf.float32)
        z = np.random.RandomState(0).normal(size=(5, 8)).astype(np.float32)
        images = serve(z=tf.constant(z))["images"]
        self.assertEqual(images.dtype, tf.float32)
        self.assertAllClose(images, self.generator(z, training=False), atol=1e-6)
        self.assertAllInRange(images, -1.0, 1.0)

    def test_conditional_generator_takes_a_label(self):
        generator, _ = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0, num_classes=3)
        serve = export.load_serving_fn(export.export_generator(generator, self.base, "cmlp_test", num_classes=3))
        _, inputs = serve.structured_input_signature
        self.assertEqual(inputs["label"].shape.as_list(), [None])
        self.assertEqual(inputs["label"].dtype, tf.int32)
        z = tf.constant(np.random.RandomState(0).normal(size=(2, 8)).astype(np.float32))
        for label in (0, 2):
            labels = tf.constant([label, label])
            self.assertAllClose(serve(z=z, label=labels)["images"], generator([z, labels], training=False),
                                atol=1e-6)
        self.assertNotAllClose(serve(z=z, label=tf.constant([0, 0]))["images"],
                               serve(z=z, label=tf.constant([2, 2]))["images"])
        loaded = tf.saved_model.load(os.path.join(self.base, "cmlp_test", "1"))
        seeds = tf.constant([5, 5], tf.int64)
        sampled = loaded.signatures["sample"](seed=seeds, label=tf.constant([0, 2]))["images_uint8"].numpy()
        self.assertNotAllEqual(sampled[0], sampled[1])  # One seed, two classes.
        path = loaded.signatures["interpolate"](z_start=z, z_end=z, num_steps=tf.constant([2, 2]),
                                                label=tf.constant([0, 2]))["images"]
        self.assertAllClose(path[:, 0], generator([z, tf.constant([0, 2])], training=False), atol=1e-6)

    def test_a_conditional_export_refuses_labels_outside_its_classes(self):
        generator, _ = models.build("cmlp", image_shape=(8, 8, 1), latent_dim=8, g_width=4, seed=0, num_classes=3)
        with self.assertRaisesRegex(ValueError, "needs num_classes >= 2"):
            export.export_generator(generator, self.base, "no_classes")
        loaded = tf.saved_model.load(export.export_generator(generator, self.base, "classes", num_classes=3))
        z = tf.zeros([1, 8])
        for label in (3, -1):
            with self.subTest(label=label):
                with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"label must be a class in \[0, 3\)"):
                    loaded.signatures["serving_default"](z=z, label=tf.constant([label]))
                with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"label must be a class in \[0, 3\)"):
                    loaded.signatures["sample"](seed=tf.constant([0], tf.int64), label=tf.constant([label]))
        loaded.signatures["serving_default"](z=z, label=tf.constant([2]))
        saved = spec.read(os.path.join(self.base, "classes", "1", "assets.extra"))
        self.assertEqual((saved.num_classes, saved.interpolation, [i.name for i in saved.inputs]),
                         (3, "slerp", ["z", "label"]))
        self.assertIsNone(spec.read(self.get_temp_dir()))  # An export older than the file.

    def test_infogan_samples_what_generate_draws(self):
        generator, discriminator = models.build("infogan", image_shape=(8, 8, 1), latent_dim=9, g_width=4, seed=0,
                                                codes=(3, 2))
        model = infogan.InfoGAN(generator, discriminator, latent_dim=4, num_categories=3, num_continuous=2)
        loaded = tf.saved_model.load(export.export_generator(generator, self.base, "info",
                                                             spec=model.generator_spec()))
        sampled = loaded.signatures["sample"](seed=tf.constant([11], tf.int64))["images_uint8"].numpy()
        expected = export.to_uint8(model.generate(1, seed=11)).numpy()
        self.assertLessEqual(np.abs(sampled.astype(int) - expected.astype(int)).max(), 1)

    def test_versions_increase_and_no_temporary_directory_is_left(self):
        export.export_generator(self.generator, self.base, "m")
        export.export_generator(self.generator, self.base, "m", skip_unchanged=False)
        self.assertEqual(sorted(os.listdir(os.path.join(self.base, "m"))), ["1", "2"])
        with self.assertRaisesRegex(FileExistsError, "already exists"):
            export.export_generator(self.generator, self.base, "m", version=2)

    def test_an_unchanged_generator_is_not_exported_again(self):
        first = export.export_generator(self.generator, self.base, "m")
        # A new build with the same weights (what a resumed run that trained nothing exports).
        twin, _ = models.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=4, seed=0)
        with self.assertLogs("absl", "INFO") as logs:
            self.assertEqual(export.export_generator(twin, self.base, "m"), first)
        self.assertLen([line for line in logs.output if "Not exporting a new version of m" in line], 1)
        self.assertEqual(os.listdir(os.path.join(self.base, "m")), ["1"])
        # Another spec of the same weights, then other weights: new versions.
        uniform = export.export_generator(self.generator, self.base, "m", latent_distribution="uniform")
        self.assertEndsWith(uniform, "2")
        twin.weights[0].assign(twin.weights[0] + 1.0)
        self.assertEndsWith(export.export_generator(twin, self.base, "m"), "3")
        # An export without a digest (older code) is never taken for an equal one.
        os.remove(os.path.join(self.base, "m", "3", export.DIGEST_FILE))
        self.assertEndsWith(export.export_generator(twin, self.base, "m"), "4")
        self.assertEqual(sorted(os.listdir(os.path.join(self.base, "m"))), ["1", "2", "3", "4"])

    def test_crashed_exports_temporary_directories_are_removed_but_not_live_ones(self):
        model_dir = os.path.join(self.base, "m")
        os.makedirs(model_dir)
        gone = subprocess.Popen(["true"])
        gone.wait()
        alive = subprocess.Popen(["sleep", "60"])
        self.addCleanup(alive.wait)
        self.addCleanup(alive.kill)
        host = export._host()  # pylint: disable=protected-access
        names = {
            f".tmp-1-{gone.pid}": False,  # Older code's name, a process of this host that is gone.
            f".tmp-2-{gone.pid}@{host}": False,
            f".tmp-3-{os.getpid()}@{host}": False,  # A former process with this id (a container's process 1).
            f".tmp-4-{alive.pid}@{host}": True,  # A live exporter.
            f".tmp-5-{gone.pid}@another-host": True,  # Another host's: its process cannot be checked.
            f".tmp-6-{alive.pid}@another-host": False,  # ... unless it is a day old.
            ".tmp-notes": True,  # Not an exporter's.
        }
        for name in names:
            os.makedirs(os.path.join(model_dir, name, "variables"))
        day_old = time.time() - 25 * 3600
        os.utime(os.path.join(model_dir, f".tmp-6-{alive.pid}@another-host"), (day_old, day_old))
        with self.assertLogs("absl", "INFO") as logs:
            export.export_generator(self.generator, self.base, "m")
        self.assertLen([line for line in logs.output if "a crashed export's temporary directory" in line], 4)
        self.assertCountEqual(os.listdir(model_dir), ["1"] + [name for name, kept in names.items() if kept])

    def test_failed_export_leaves_nothing(self):
        class Broken(tf.keras.Model if hasattr(tf, "keras") else object):
            pass

        with self.assertRaises(Exception):  # noqa: B017  # Any failure: what matters is what is left behind.
            export.export_generator(Broken(), self.base, "broken")
        self.assertEqual(os.listdir(os.path.join(self.base, "broken")) if os.path.isdir(
            os.path.join(self.base, "broken")) else [], [])

    def test_bad_model_name(self):
        for name, message in (("a/b", "Invalid model name"), ("..", "Invalid model name"),
                               ("", "ModelSpec has no name specified")):
            with self.subTest(name=name):
                with self.assertRaisesRegex(ValueError, f"^Cannot export as model name {name!r}: {message}") as raised:
                    export.export_generator(self.generator, self.base, name)
                self.assertNotIn("\n", str(raised.exception))
        self.assertEqual(os.listdir(self.base), [])


class SignaturesTest(tf.test.TestCase):
    """`sample` and `interpolate`, their metadata as TF Serving reads it, the warmup records."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.generator, cls.discriminator = models.build("dcgan", image_shape=(8, 8, 1), latent_dim=8, g_width=4,
                                                        seed=0)
        cls.model = gan.GAN(cls.generator, cls.discriminator, latent_dim=8)
        cls.path = export.export_generator(cls.generator, tf.compat.v1.test.get_temp_dir() + "/signatures", "g",
                                           spec=cls.model.generator_spec())
        cls.loaded = tf.saved_model.load(cls.path)

    def test_signature_defs_are_predict_with_a_dynamic_batch(self):
        signatures = layout.read_signature_defs(self.path)
        self.assertEqual(sorted(signatures), ["interpolate", "sample", "serving_default"])
        expected = {
            "serving_default": ({"z": [-1, 8]}, {"images": [-1, 8, 8, 1]}),
            "sample": ({"seed": [-1]}, {"images_uint8": [-1, 8, 8, 1], "images_png_bytes": [-1], "z": [-1, 8]}),
            "interpolate": ({"z_start": [-1, 8], "z_end": [-1, 8], "num_steps": [-1]},
                            {"images": [-1, -1, 8, 8, 1], "images_png_bytes": [-1, -1]}),
        }
        for key, (inputs, outputs) in expected.items():
            signature = signatures[key]
            self.assertEqual(signature.method_name, "tensorflow/serving/predict")
            for tensors, shapes in ((signature.inputs, inputs), (signature.outputs, outputs)):
                self.assertEqual({alias: [d.size for d in info.tensor_shape.dim] for alias, info in tensors.items()},
                                 shapes, key)
        self.assertEqual(signatures["sample"].outputs["images_uint8"].dtype, tf.uint8.as_datatype_enum)
        self.assertEqual(signatures["sample"].outputs["images_png_bytes"].dtype, tf.string.as_datatype_enum)
        self.assertEqual(signatures["sample"].outputs["z"].dtype, tf.float32.as_datatype_enum)

    def test_sample_is_generate_for_each_seed(self):
        outputs = self.loaded.signatures["sample"](seed=tf.constant([3, 7, 3], tf.int64))
        images = outputs["images_uint8"].numpy()
        self.assertEqual(images.shape, (3, 8, 8, 1))
        self.assertAllEqual(images[0], images[2])  # One seed, one image, whatever the batch.
        self.assertNotAllEqual(images[0], images[1])
        for row, seed in ((0, 3), (1, 7)):
            expected = export.to_uint8(self.model.generate(1, seed=seed)).numpy()[0]
            self.assertLessEqual(np.abs(images[row].astype(int) - expected.astype(int)).max(), 1)
        decoded = np.asarray(Image.open(io.BytesIO(outputs["images_png_bytes"].numpy()[1])))
        self.assertAllEqual(decoded, images[1][..., 0])
        # `z` is the generator input each seed names, and the images are G(z).
        self.assertAllEqual(outputs["z"], self.model.seeded_inputs(tf.constant([3, 7, 3], tf.int64)))
        self.assertAllEqual(images, export.to_uint8(self.loaded.signatures["serving_default"](z=outputs["z"])["images"]))

    def test_interpolate_runs_from_start_to_end(self):
        rng = np.random.RandomState(0)
        start, end = rng.normal(size=(2, 8)).astype(np.float32), rng.normal(size=(2, 8)).astype(np.float32)
        outputs = self.loaded.signatures["interpolate"](z_start=start, z_end=end,
                                                         num_steps=tf.constant([5, 5], tf.int32))
        images = outputs["images"].numpy()
        self.assertEqual(images.shape, (2, 5, 8, 8, 1))
        self.assertEqual(outputs["images_png_bytes"].shape, (2, 5))
        path = latent.slerp(start, end, np.linspace(0, 1, 5, dtype=np.float32)).numpy()
        self.assertAllClose(images, self.generator(path.reshape(10, 8), training=False).numpy().reshape(images.shape),
                            atol=1e-5)
        self.assertAllClose(images[:, 0], self.generator(start, training=False), atol=1e-5)
        self.assertAllClose(images[:, -1], self.generator(end, training=False), atol=1e-5)

    def test_interpolate_refuses_bad_step_counts(self):
        z = np.zeros((2, 8), np.float32)
        for steps, message in (([3, 4], "the same in every row"), ([1, 1], "at least 2"),
                               ([999, 999], f"at most {export.MAX_INTERPOLATION_STEPS}")):
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
                self.loaded.signatures["interpolate"](z_start=z, z_end=z, num_steps=tf.constant(steps, tf.int32))

    def test_warmup_requests_cover_every_signature_and_the_client_s_filters_and_run(self):
        records = list(tf.data.TFRecordDataset(os.path.join(self.path, export.WARMUP_FILE)).as_numpy_iterator())
        requests = [prediction_log_pb2.PredictionLog.FromString(r).predict_log.request for r in records]
        self.assertEqual(sorted((r.model_spec.signature_name, tuple(r.output_filter)) for r in requests), [
            ("interpolate", ()), ("interpolate", ("images_png_bytes",)), ("sample", ()),
            ("sample", ("images_png_bytes",)), ("sample", ("z",)), ("serving_default", ())])
        for request in requests:
            self.assertEqual(request.model_spec.name, "g")
            inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
            outputs = self.loaded.signatures[request.model_spec.signature_name](**inputs)
            self.assertTrue(all(value.shape[0] == 1 for value in outputs.values()))
            self.assertContainsSubset(request.output_filter, outputs)
        # And the server replays every one of them at load.
        self.assertEqual(warmup.replay(servable.load("g", 1, self.path)), 6)

    def test_models_config_lists_every_model_and_parses(self):
        base = os.path.dirname(os.path.dirname(self.path))
        export.export_generator(self.generator, base, "other")
        config = model_server_config_pb2.ModelServerConfig()
        with open(os.path.join(base, export.MODELS_CONFIG)) as f:
            text_format.Parse(f.read(), config)
        entries = {c.name: c for c in config.model_config_list.config}
        self.assertEqual(sorted(entries), ["g", "other"])
        self.assertEqual(entries["g"].base_path, os.path.abspath(os.path.dirname(self.path)))
        self.assertEqual(entries["g"].model_platform, "tensorflow")
        with open(os.path.join(base, export.BATCHING_CONFIG)) as f:
            self.assertIn("max_batch_size { value: 64 }", f.read())

    def test_the_check_refuses_an_unservable_signature(self):
        module = tf.Module()
        module.f = tf.function(lambda x: {"scalar": tf.reduce_sum(x), "half": tf.cast(x, tf.float16)},
                               input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        path = os.path.join(self.get_temp_dir(), "unservable")
        tf.saved_model.save(module, path, signatures={"serving_default": module.f})
        with self.assertRaisesRegex(ValueError, r"output 'half' is half precision.*output 'scalar' has shape \[\]"):
            export.check_signatures(path)

    def test_a_toy_generator_answers_points(self):
        generator, _ = models.build("toy", image_shape=(2,), latent_dim=4, g_width=8, seed=0)
        path = export.export_generator(generator, self.get_temp_dir(), "toy")
        loaded = tf.saved_model.load(path)
        sampled = loaded.signatures["sample"](seed=tf.constant([1, 2], tf.int64))
        self.assertEqual(sorted(sampled), ["images", "z"])
        self.assertEqual(sampled["images"].shape, (2, 2))
        self.assertEqual(sampled["z"].shape, (2, 4))
        outputs = loaded.signatures["interpolate"](z_start=tf.zeros([1, 4]), z_end=tf.ones([1, 4]),
                                                   num_steps=tf.constant([3]))
        self.assertEqual(list(outputs), ["images"])
        self.assertEqual(outputs["images"].shape, (1, 3, 2))
        # No PNG output, so no PNG-filtered warmup request: the 4 records all replay.
        self.assertEqual(warmup.replay(servable.load("toy", 1, path)), 4)


if __name__ == "__main__":
    tf.test.main()
