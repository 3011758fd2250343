"""The export: TF Serving's layout, the serving_default signature, atomic versions."""

import os

import numpy as np
import tensorflow as tf

from tfgan_course import export, models


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
        serve = export.load_serving_fn(export.export_generator(generator, self.base, "cmlp_test"))
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

    def test_versions_increase_and_no_temporary_directory_is_left(self):
        export.export_generator(self.generator, self.base, "m")
        export.export_generator(self.generator, self.base, "m")
        self.assertEqual(sorted(os.listdir(os.path.join(self.base, "m"))), ["1", "2"])
        with self.assertRaisesRegex(FileExistsError, "already exists"):
            export.export_generator(self.generator, self.base, "m", version=2)

    def test_failed_export_leaves_nothing(self):
        class Broken(tf.keras.Model if hasattr(tf, "keras") else object):
            pass

        with self.assertRaises(Exception):
            export.export_generator(Broken(), self.base, "broken")
        self.assertEqual(os.listdir(os.path.join(self.base, "broken")) if os.path.isdir(
            os.path.join(self.base, "broken")) else [], [])

    def test_bad_model_name(self):
        with self.assertRaisesRegex(ValueError, "Invalid model name"):
            export.export_generator(self.generator, self.base, "a/b")


if __name__ == "__main__":
    tf.test.main()
