"""serving.layout, the one module exporter and server share, and the boundary it stands on.

`serving/` imports nothing of `tfgan_course`; `tfgan_course.export` imports nothing of
`serving` but `serving.layout`; `serving.layout` imports nothing of `serving`.
"""

import ast
import os
import pkgutil
import subprocess
import sys

import grpc
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.config import model_server_config_pb2

import serving
from serving import errors, layout, model_config, servable
from tests.serving_fixtures import write_toy_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def imported_modules(path):
    """Every module a Python file imports (absolute names; `from a import b` counts as a.b and a)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


class BoundaryTest(tf.test.TestCase):

    def test_serving_imports_nothing_of_tfgan_course(self):
        modules = sorted(f"serving.{info.name}" for info in pkgutil.iter_modules(serving.__path__))
        self.assertContainsSubset(["serving.client", "serving.layout", "serving.server"], modules)
        for module in modules:
            path = os.path.join(ROOT, *module.split(".")) + ".py"
            self.assertEmpty([name for name in imported_modules(path) if name.split(".")[0] == "tfgan_course"],
                             module)
        # And at run time, transitively: the client and the server run without the training project.
        code = (f"import sys\nimport {', '.join(modules)}\n"
                "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tfgan_course'))")
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                                check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stdout.strip().splitlines()[-1], "[]")

    def test_export_uses_only_the_layout_of_serving(self):
        names = imported_modules(os.path.join(ROOT, "tfgan_course", "export.py"))
        self.assertEqual(sorted(name for name in names if name.split(".")[0] == "serving"),
                         ["serving", "serving.layout"])

    def test_layout_is_a_leaf(self):
        names = imported_modules(os.path.join(ROOT, "serving", "layout.py"))
        self.assertEmpty([name for name in names if name.split(".")[0] in ("serving", "tfgan_course")])

    def test_the_server_uses_the_layout_s_rules_not_copies(self):
        self.assertIs(model_config.version_numbers, layout.version_numbers)
        from serving import warmup  # pylint: disable=import-outside-toplevel
        self.assertEqual(warmup.WARMUP_FILE, layout.WARMUP_FILE)
        for module in ("servable", "model_config", "warmup"):
            with open(os.path.join(ROOT, "serving", f"{module}.py"), encoding="utf-8") as f:
                text = f.read()
            for twin in ("def version_numbers", "def read_signature_defs", "WARMUP_FILE =", "_MODEL_NAME ="):
                self.assertNotIn(twin, text, module)


class LayoutTest(tf.test.TestCase):

    def test_model_names(self):
        for name in ("dcgan_fashion_mnist", "a.b-c_1"):
            layout.check_model_name(name)
            self.assertTrue(layout.is_model_name(name))
        for name, message in (("", "ModelSpec has no name specified"), ("a/b", "Invalid model name"),
                              ("..", "Invalid model name"), (".", "Invalid model name"), ("a b", "Invalid model name")):
            with self.subTest(name=name):
                with self.assertRaisesRegex(ValueError, message):
                    layout.check_model_name(name)
                self.assertFalse(layout.is_model_name(name))
                # The server answers the same rule as INVALID_ARGUMENT.
                with self.assertRaises(errors.ServingError) as raised:
                    model_config.check_model_name(name)
                self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
                self.assertRegex(raised.exception.message, message)

    def test_version_numbers_are_integer_directories(self):
        model_dir = self.get_temp_dir()
        for name in ("3", "10", ".tmp-11-123", "latest", "007"):
            os.makedirs(os.path.join(model_dir, name))
        open(os.path.join(model_dir, "12"), "w").close()  # A file, not a version.
        self.assertEqual(layout.version_numbers(model_dir), [3, 7, 10])
        self.assertEqual(layout.version_numbers(os.path.join(model_dir, "missing")), [])

    def test_read_signature_defs_and_its_errors(self):
        path = write_toy_model(os.path.join(self.get_temp_dir(), "toy"))
        signatures = layout.read_signature_defs(path)
        self.assertIn("serving_default", signatures)
        self.assertFalse(any(key.startswith("__") for key in signatures))
        self.assertEqual(signatures["serving_default"].method_name, layout.PREDICT_METHOD)

        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        with self.assertRaisesRegex(FileNotFoundError, "Could not find SavedModel .pb"):
            layout.read_signature_defs(empty)
        garbage = os.path.join(self.get_temp_dir(), "garbage")
        os.makedirs(garbage)
        with open(os.path.join(garbage, "saved_model.pb"), "wb") as f:
            f.write(b"\xff not a protobuf")
        with self.assertRaisesRegex(ValueError, "Could not parse"):
            layout.read_signature_defs(garbage)
        untagged = os.path.join(self.get_temp_dir(), "untagged")
        os.makedirs(untagged)
        saved_model = saved_model_pb2.SavedModel()
        saved_model.meta_graphs.add().meta_info_def.tags.append("train")
        with open(os.path.join(untagged, "saved_model.pb"), "wb") as f:
            f.write(saved_model.SerializeToString())
        with self.assertRaisesRegex(ValueError, r"tags 'serve' could not be found.*\[\['train'\]\]"):
            layout.read_signature_defs(untagged)

        # The server answers them with TF Serving's codes.
        for directory, code in ((empty, grpc.StatusCode.NOT_FOUND), (garbage, grpc.StatusCode.INVALID_ARGUMENT),
                                (untagged, grpc.StatusCode.INVALID_ARGUMENT)):
            with self.subTest(directory=directory):
                with self.assertRaises(errors.ServingError) as raised:
                    servable.load("toy", 1, directory)
                self.assertEqual(raised.exception.code, code)

    def test_server_configs_list_every_model_with_a_version(self):
        base = self.get_temp_dir()
        for model, version in (("b", "2"), ("a", "1"), ("bad name", "1"), ("only_tmp", ".tmp-1-99")):
            os.makedirs(os.path.join(base, model, version))  # The layout looks at directory names only.
        os.makedirs(os.path.join(base, "no_versions"))
        self.assertEqual(layout.model_names(base), ["a", "b"])
        layout.write_server_configs(base)
        with open(os.path.join(base, layout.MODELS_CONFIG), encoding="utf-8") as f:
            config = text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
        # What the server reads from it is what was written.
        configs = model_config.model_configs(config)
        self.assertEqual(sorted(configs), ["a", "b"])
        self.assertEqual(configs["a"].base_path, os.path.join(os.path.abspath(base), "a"))
        self.assertEqual(configs["a"].model_platform, layout.PLATFORM)
        with open(os.path.join(base, layout.BATCHING_CONFIG), encoding="utf-8") as f:
            batching = f.read()
        self.assertIn("max_batch_size { value: 64 }", batching)
        self.assertIn(f"num_batch_threads {{ value: {max(os.cpu_count() or 1, 1)} }}", batching)
        self.assertFalse([name for name in os.listdir(base) if ".tmp-" in name])
        self.assertEqual(layout.model_names(os.path.join(base, "missing")), [])


if __name__ == "__main__":
    tf.test.main()
