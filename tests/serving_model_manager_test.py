"""serving.model_manager and serving.model_config: versions on disk, policies, polling, reloads, labels."""

import os
import shutil
import tempfile
import time
from unittest import mock

import grpc
import tensorflow as tf

from serving import errors, model_config, servable
from serving.model_manager import ModelManager
from tests.serving_fixtures import (
    State,
    add_version,
    affine_request,
    config_text,
    version_state,
    wait_until,
    write_toy_models,
    write_warmup,
)


class ModelManagerTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root, cls.template = write_toy_models()

    def setUp(self):
        super().setUp()
        self.managers = []

    def tearDown(self):
        for manager in self.managers:
            manager.stop()
        super().tearDown()

    def base_path(self, versions=(1,)):
        base = tempfile.mkdtemp(dir=self.root)
        for version in versions:
            add_version(self.template, base, version)
        return base

    def start(self, config, **kwargs):
        manager = ModelManager(**{"poll_seconds": 0, **kwargs})
        self.managers.append(manager)
        manager.start(config)
        return manager

    def assertServingError(self, code, message, call, *args, **kwargs):
        with self.assertRaises(errors.ServingError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.code, code)
        self.assertEqual(caught.exception.message, message)

    def test_latest_version_by_default_and_lookups(self):
        manager = self.start(model_config.single_model_config("toy", self.base_path((1, 2, 3))))
        self.assertEqual(manager.available_versions(), {"toy": [3]})
        self.assertEqual(manager.lookup("toy").version, 3)
        self.assertEqual(manager.lookup("toy", version=3).version, 3)
        self.assertServingError(grpc.StatusCode.NOT_FOUND, "Servable not found for request: Specific(toy, 2)",
                                manager.lookup, "toy", version=2)
        self.assertServingError(grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(other)",
                                manager.lookup, "other")
        for name in ("", "..", "a/b", "x y"):
            with self.assertRaises(errors.ServingError) as caught:
                manager.lookup(name)
            self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)

    def test_version_policies(self):
        base = self.base_path((1, 2, 3))
        for policy, expected in (("latest { num_versions: 2 }", [2, 3]), ("all {}", [1, 2, 3]),
                                 ("specific { versions: 1 versions: 3 versions: 7 }", [1, 3])):
            manager = self.start(config_text(f'model_config_list {{ config {{ name: "toy" base_path: "{base}" '
                                             f'model_platform: "tensorflow" model_version_policy {{ {policy} }} }} }}'))
            self.assertEqual(manager.available_versions(), {"toy": expected}, policy)
            manager.stop()

    def test_only_integer_directories_are_versions(self):
        base = self.base_path((2,))
        shutil.copytree(self.template, os.path.join(base, ".tmp-9-123"))
        shutil.copytree(self.template, os.path.join(base, "v10"))
        open(os.path.join(base, "11"), "w").close()
        manager = self.start(model_config.single_model_config("toy", base))
        self.assertEqual(manager.available_versions(), {"toy": [2]})

    def test_polling_loads_new_versions_and_unloads_removed_ones(self):
        base = self.base_path((1,))
        manager = self.start(config_text(f'model_config_list {{ config {{ name: "toy" base_path: "{base}" '
                                         'model_version_policy { all {} } } }'), poll_seconds=0.2)
        add_version(self.template, base, 2)
        self.assertTrue(wait_until(lambda: manager.available_versions()["toy"] == [1, 2]))
        shutil.rmtree(os.path.join(base, "1"))
        self.assertTrue(wait_until(lambda: manager.available_versions()["toy"] == [2]))
        self.assertServingError(grpc.StatusCode.NOT_FOUND, "Servable not found for request: Specific(toy, 1)",
                                manager.lookup, "toy", version=1)
        states = {status.version: status.state for status in manager.status("toy").model_version_status}
        self.assertEqual(states, {1: State.END, 2: State.AVAILABLE})

    def test_a_broken_new_version_leaves_the_old_one_serving(self):
        base = self.base_path((1,))
        manager = self.start(model_config.single_model_config("toy", base), poll_seconds=0.2, max_load_retries=0)
        os.makedirs(os.path.join(base, "2"))
        with open(os.path.join(base, "2", "saved_model.pb"), "wb") as f:
            f.write(b"not a SavedModel")
        self.assertTrue(wait_until(lambda: version_state(manager, "toy", 2) == State.END))
        status = manager.status("toy", 2).model_version_status[0].status
        self.assertEqual(status.error_code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIn("Could not parse", status.error_message)
        self.assertEqual(manager.lookup("toy").version, 1)

    def test_a_version_copied_in_slowly_loads_once_complete(self):
        base = self.base_path((1,))
        # Without a retry due for seconds, only a change of the files brings the next attempt.
        manager = self.start(model_config.single_model_config("toy", base), poll_seconds=0.05, max_load_retries=1,
                             load_retry_seconds=5.0)
        version = os.path.join(base, "2")
        # Not renamed into place: variables/ first, then saved_model.pb in pieces, each over several scans.
        shutil.copytree(self.template, version, ignore=shutil.ignore_patterns("saved_model.pb"))
        with open(os.path.join(self.template, "saved_model.pb"), "rb") as f:
            content = f.read()
        pieces = 5
        with open(os.path.join(version, "saved_model.pb"), "wb") as f:
            for i in range(pieces):
                f.write(content[i * len(content) // pieces:(i + 1) * len(content) // pieces])
                f.flush()
                time.sleep(0.3)
                if i < pieces - 1:  # Neither given up nor loaded from a partial copy.
                    self.assertIn(version_state(manager, "toy", 2), (None, State.LOADING))
        self.assertTrue(wait_until(lambda: version_state(manager, "toy", 2) == State.AVAILABLE, timeout=10))
        self.assertEqual(manager.lookup("toy").version, 2)

    def test_a_broken_version_is_retried_with_backoff_then_given_up_until_its_files_change(self):
        base = self.base_path((1,))
        attempts = []
        load = servable.load

        def counted_load(name, version, path):
            if version == 2:
                attempts.append(time.monotonic())
            return load(name, version, path)

        with mock.patch.object(servable, "load", counted_load):
            manager = self.start(model_config.single_model_config("toy", base), poll_seconds=0.05, max_load_retries=2,
                                 load_retry_seconds=0.1)
            temp = os.path.join(base, ".tmp-2")
            os.makedirs(temp)
            with open(os.path.join(temp, "saved_model.pb"), "wb") as f:
                f.write(b"not a SavedModel")
            os.rename(temp, os.path.join(base, "2"))
            self.assertTrue(wait_until(lambda: version_state(manager, "toy", 2) == State.END, timeout=10))
            time.sleep(0.3)
            # The first attempt and 2 retries, 0.1 s then 0.2 s after the failure before them.
            self.assertLen(attempts, 3)
            self.assertGreaterEqual(attempts[1] - attempts[0], 0.1)
            self.assertGreaterEqual(attempts[2] - attempts[1], 0.2)
            status = manager.status("toy", 2).model_version_status[0].status
            self.assertEqual(status.error_code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
            self.assertIn("Could not parse", status.error_message)
            self.assertEqual(manager.lookup("toy").version, 1)
            # Repaired in place: fresh attempts.
            shutil.copytree(self.template, os.path.join(base, "2"), dirs_exist_ok=True)
            self.assertTrue(wait_until(lambda: version_state(manager, "toy", 2) == State.AVAILABLE, timeout=10))

    def test_warmup_requests_are_replayed_and_a_failing_one_fails_the_load(self):
        good = self.base_path((1,))
        write_warmup(os.path.join(good, "1"), [affine_request([[1.0, 2.0]])])
        self.start(model_config.single_model_config("toy", good))
        bad = self.base_path((1,))
        broken_request = affine_request([[1.0, 2.0]])
        broken_request.inputs["extra"].CopyFrom(tf.make_tensor_proto(1.0))
        write_warmup(os.path.join(bad, "1"), [broken_request])
        with self.assertRaisesRegex(errors.ServingError, "1 model.s. did not become available: {toy: input size does "
                                    "not match signature: 2!=1"):
            self.start(model_config.single_model_config("toy", bad))
        manager = self.start(model_config.single_model_config("toy", bad), enable_warmup=False)
        self.assertEqual(manager.available_versions(), {"toy": [1]})

    def test_version_labels(self):
        base = self.base_path((1, 2))
        manager = self.start(config_text(
            f'model_config_list {{ config {{ name: "toy" base_path: "{base}" model_version_policy {{ all {{}} }} '
            'version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 2 } } }'))
        self.assertEqual(manager.lookup("toy", label="stable").version, 1)
        self.assertEqual(manager.lookup("toy", label="canary").version, 2)
        self.assertServingError(grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: nope",
                                manager.lookup, "toy", label="nope")
        self.assertServingError(
            grpc.StatusCode.FAILED_PRECONDITION,
            "Request to assign label to version 5 of model toy, which is not currently available for inference",
            manager.reload, config_text(f'model_config_list {{ config {{ name: "toy" base_path: "{base}" '
                                        'version_labels { key: "stable" value: 5 } } }'))

    def test_reload_adds_and_removes_models(self):
        first, second = self.base_path((1,)), self.base_path((4,))
        manager = self.start(model_config.single_model_config("first", first))
        manager.reload(config_text(f'model_config_list {{ config {{ name: "second" base_path: "{second}" }} }}'))
        self.assertEqual(manager.available_versions(), {"second": [4]})
        self.assertServingError(grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(first)",
                                manager.lookup, "first")
        self.assertEqual(manager.status("first").model_version_status[0].state, State.END)
        # A rejected config changes nothing.
        self.assertServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                "Illegal to list model second multiple times in config list", manager.reload,
                                config_text(f'model_config_list {{ config {{ name: "second" base_path: "{second}" }} '
                                            f'config {{ name: "second" base_path: "{first}" }} }}'))
        missing = os.path.join(self.root, "missing")
        self.assertServingError(
            grpc.StatusCode.NOT_FOUND, f"Could not find base path {missing} for servable third; export a model there "
            "(<base_path>/<version>/saved_model.pb) or fix the path.",
            manager.reload, config_text(f'model_config_list {{ config {{ name: "third" base_path: "{missing}" }} }}'))
        self.assertEqual(manager.available_versions(), {"second": [4]})
        # A model that cannot be served yet is an error, but stays configured (and polled).
        empty = self.base_path(())
        self.assertServingError(
            grpc.StatusCode.UNKNOWN, f"2 model(s) did not become available: {{second: none of versions [4] matches "
            f"its model_version_policy}}, {{empty: No versions of servable empty found under base path {empty}}}",
            manager.reload, config_text(
                f'model_config_list {{ config {{ name: "second" base_path: "{second}" model_version_policy {{ '
                f'specific {{ versions: 7 }} }} }} config {{ name: "empty" base_path: "{empty}" }} }}'))
        self.assertEqual(manager.available_versions(), {"second": [], "empty": []})

    def test_status(self):
        manager = self.start(model_config.single_model_config("toy", self.base_path((1,))))
        (status,) = manager.status("toy").model_version_status
        self.assertEqual((status.version, status.state, status.status.error_code), (1, State.AVAILABLE, 0))
        self.assertServingError(grpc.StatusCode.NOT_FOUND, "Could not find version 3 of model toy",
                                manager.status, "toy", 3)
        self.assertServingError(grpc.StatusCode.NOT_FOUND, "Could not find any versions of model other",
                                manager.status, "other")

    def test_startup_errors_name_the_path_and_the_fix(self):
        empty = tempfile.mkdtemp(dir=self.root)
        self.assertServingError(grpc.StatusCode.NOT_FOUND, f"No versions of servable toy found under base path "
                                f"{empty}. Did you forget to name your leaf directory as a number (eg. '/1/')?",
                                ModelManager().start, model_config.single_model_config("toy", empty))
        self.assertServingError(grpc.StatusCode.INVALID_ARGUMENT, "Expected model toy to have an absolute path or URI; "
                                "got base_path()=relative/path", ModelManager().start,
                                config_text('model_config_list { config { name: "toy" base_path: "relative/path" } }'))
        self.assertServingError(grpc.StatusCode.INVALID_ARGUMENT, 'Invalid model name "../up": use letters, digits, '
                                '"_", "-" and "." only (and not "." or "..").', ModelManager().start,
                                config_text(f'model_config_list {{ config {{ name: "../up" base_path: "{empty}" }} }}'))

    def test_config_files(self):
        path = os.path.join(self.root, "models.config")
        with open(path, "w") as f:
            f.write('model_config_list { config { name: "a" base_path: "/x" model_version_policy { latest { '
                    'num_versions: 2 } } } }')
        config = model_config.read_config_file(path)
        self.assertEqual(config.model_config_list.config[0].model_version_policy.latest.num_versions, 2)
        with open(path, "w") as f:
            f.write("model_config_list { nonsense }")
        with self.assertRaisesRegex(errors.ServingError, f"Invalid protobuf file: '{path}'"):
            model_config.read_config_file(path)


if __name__ == "__main__":
    tf.test.main()
