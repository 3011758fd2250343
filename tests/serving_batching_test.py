"""serving.batching: concurrent predict calls merged into one run and split back, as TF Serving's --enable_batching."""

import concurrent.futures
import os
import threading
import time
import types

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving import batching, errors, layout, predict
from serving import servable as servable_lib
from serving.server import Server
from tests.serving_fixtures import affine_request, config_text, wait_until, write_toy_models
from tests.serving_rest_test import http_json

# A batch that is not full waits this long. Tests fill theirs, so it only bounds how far apart a
# test's calls may arrive: generous, because a loaded 2-core machine can spread 8 calls over seconds.
LONG_TIMEOUT_MICROS = 60_000_000


def parameters(**fields):
    """BatchingParameters from keyword fields (wrapped values and allowed_batch_sizes)."""
    message = batching.BatchingParameters()
    for name, value in fields.items():
        if name == "allowed_batch_sizes":
            message.allowed_batch_sizes.extend(value)
        else:
            getattr(message, name).value = value
    return message


def fake_servable(function, inputs=None, outputs=None):
    """A Servable whose `serving_default` is `function`; inputs/outputs: alias -> shape (-1 unknown)."""
    signature = meta_graph_pb2.SignatureDef(method_name=layout.PREDICT_METHOD)
    for infos, shapes in ((signature.inputs, inputs or {"x": [-1, 2]}), (signature.outputs, outputs or {"y": [-1, 2]})):
        for alias, shape in shapes.items():
            infos[alias].name = f"{alias}:0"
            infos[alias].dtype = types_pb2.DT_FLOAT
            for size in shape:
                infos[alias].tensor_shape.dim.add(size=size)
    return servable_lib.Servable(name="fake", version=1, path="", signature_defs={"serving_default": signature},
                                 loaded=types.SimpleNamespace(signatures={"serving_default": function}))


class Recorder:
    """A signature function, y = 2x, that records the shape of every x it runs on."""

    def __init__(self):
        self.shapes = []
        self.inputs = []

    def __call__(self, x):
        self.shapes.append(tuple(x.shape))
        self.inputs.append(x.numpy())
        return {"y": 2.0 * x}


def run_concurrently(batcher, servable, feeds_list, signature="serving_default"):
    """batcher.run for each feeds on its own thread; the results (or exceptions) in order."""
    with concurrent.futures.ThreadPoolExecutor(len(feeds_list)) as pool:
        futures = [pool.submit(batcher.run, servable, signature, feeds) for feeds in feeds_list]
        concurrent.futures.wait(futures)
    return [f.exception() or f.result() for f in futures]


def rows(*values, width=2):
    return {"x": tf.constant(np.array([[v] * width for v in values], np.float32))}


class BatcherTest(tf.test.TestCase):
    """The Batcher on fake signature functions, which count and record their runs."""

    def batcher(self, **fields):
        batcher = batching.Batcher(parameters(**fields))
        self.addCleanup(batcher.stop)
        return batcher

    def test_concurrent_calls_merge_into_one_run(self):
        recorder = Recorder()
        batcher = self.batcher(max_batch_size=4, batch_timeout_micros=LONG_TIMEOUT_MICROS, num_batch_threads=1)
        results = run_concurrently(batcher, fake_servable(recorder), [rows(i) for i in range(4)])
        self.assertEqual(recorder.shapes, [(4, 2)])
        for i, result in enumerate(results):
            self.assertAllEqual(result["y"], [[2.0 * i, 2.0 * i]])
        self.assertEqual(batcher.stats(), batching.BatchStats(batches=1, tasks=4, rows=4))

    def test_a_lone_call_runs_when_the_timeout_expires(self):
        recorder = Recorder()
        batcher = self.batcher(max_batch_size=64, batch_timeout_micros=200_000)
        start = time.monotonic()
        result = batcher.run(fake_servable(recorder), "serving_default", rows(3))
        elapsed = time.monotonic() - start
        self.assertAllEqual(result["y"], [[6.0, 6.0]])
        self.assertEqual(recorder.shapes, [(1, 2)])
        self.assertBetween(elapsed, 0.2, 5.0)

    def test_padding_up_to_an_allowed_batch_size_is_run_and_dropped(self):
        recorder = Recorder()
        batcher = self.batcher(max_batch_size=4, allowed_batch_sizes=[2, 4])
        result = batcher.run(fake_servable(recorder), "serving_default", rows(1, 2, 3))
        self.assertEqual(recorder.shapes, [(4, 2)])
        self.assertAllEqual(recorder.inputs[0][3], [1.0, 1.0])  # TF Serving pads with the first row
        self.assertAllEqual(result["y"], [[2.0, 2.0], [4.0, 4.0], [6.0, 6.0]])

    def test_calls_whose_inputs_differ_past_the_0th_dimension_run_in_separate_batches(self):
        recorder = Recorder()
        servable = fake_servable(recorder, inputs={"x": [-1, -1]}, outputs={"y": [-1, -1]})
        batcher = self.batcher(max_batch_size=2, batch_timeout_micros=LONG_TIMEOUT_MICROS)
        calls = [(1, 2), (2, 3), (3, 2), (4, 3)]  # (value, width)
        results = run_concurrently(batcher, servable, [rows(value, width=width) for value, width in calls])
        self.assertCountEqual(recorder.shapes, [(2, 2), (2, 3)])
        for (value, width), result in zip(calls, results):
            self.assertAllEqual(result["y"], [[2.0 * value] * width])

    def test_a_full_queue_refuses_with_tf_servings_unavailable(self):
        entered, release = threading.Event(), threading.Event()

        def blocking(x):
            entered.set()
            release.wait(30)
            return {"y": 2.0 * x}

        servable = fake_servable(blocking)
        batcher = self.batcher(max_batch_size=1, max_enqueued_batches=1, num_batch_threads=1)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            running = pool.submit(batcher.run, servable, "serving_default", rows(1))
            self.assertTrue(entered.wait(30))
            queued = pool.submit(batcher.run, servable, "serving_default", rows(2))
            self.assertTrue(wait_until(lambda: batcher.enqueued_tasks() == 1))
            with self.assertRaises(errors.ServingError) as caught:
                batcher.run(servable, "serving_default", rows(3))
            release.set()
            self.assertAllEqual(running.result()["y"], [[2.0, 2.0]])
            self.assertAllEqual(queued.result()["y"], [[4.0, 4.0]])
        self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(caught.exception.message, "The batch scheduling queue to which this task was submitted is "
                         "full; currently 1 batches enqueued and max_enqueued_batches is 1")

    def test_a_call_over_max_batch_size_is_refused_unless_large_batches_are_split(self):
        recorder = Recorder()
        servable = fake_servable(recorder)
        with self.assertRaises(errors.ServingError) as caught:
            self.batcher(max_batch_size=4).run(servable, "serving_default", rows(*range(5)))
        self.assertEqual(str(caught.exception), "INVALID_ARGUMENT: Task size 5 is larger than maximum input batch size 4")
        self.assertEqual(recorder.shapes, [])

        splitting = self.batcher(max_batch_size=8, enable_large_batch_splitting=True, max_execution_batch_size=2)
        result = splitting.run(servable, "serving_default", rows(*range(5)))
        self.assertAllEqual(result["y"], [[2.0 * i] * 2 for i in range(5)])
        self.assertEqual(sorted(recorder.shapes), [(1, 2), (2, 2), (2, 2)])

    def test_inputs_of_one_call_with_different_0th_dimensions_are_refused(self):
        servable = fake_servable(lambda a, b: {"y": a + b}, inputs={"a": [-1], "b": [-1]}, outputs={"y": [-1]})
        with self.assertRaises(errors.ServingError) as caught:
            self.batcher().run(servable, "serving_default", {"a": tf.zeros([2]), "b": tf.zeros([3])})
        self.assertEqual(str(caught.exception),
                         "INVALID_ARGUMENT: Batching Run() input tensors must have equal 0th-dimension size")

    def test_a_signature_with_an_output_without_batch_dimension_is_not_batched(self):
        calls = []

        def total(x):
            calls.append(tuple(x.shape))
            return {"total": tf.reduce_sum(x)}

        servable = fake_servable(total, outputs={"total": []})
        self.assertEqual(batching.unbatchable_reason(servable.signature_defs["serving_default"]),
                         'output "total" has shape [], not a batch (-1) as 0th dimension')
        batcher = self.batcher(max_batch_size=2, batch_timeout_micros=LONG_TIMEOUT_MICROS)
        results = run_concurrently(batcher, servable, [rows(1), rows(2)])
        self.assertEqual(calls, [(1, 2), (1, 2)])
        self.assertEqual(sorted(float(result["total"]) for result in results), [2.0, 4.0])
        self.assertEqual(batcher.stats().batches, 0)

    def test_stop_runs_the_queued_calls_then_refuses_new_ones(self):
        recorder = Recorder()
        servable = fake_servable(recorder)
        batcher = self.batcher(max_batch_size=64, batch_timeout_micros=LONG_TIMEOUT_MICROS)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(batcher.run, servable, "serving_default", rows(1))
            self.assertTrue(wait_until(lambda: batcher.enqueued_tasks() == 1))
            start = time.monotonic()
            batcher.stop()
            self.assertAllEqual(waiting.result(timeout=5)["y"], [[2.0, 2.0]])
        self.assertLess(time.monotonic() - start, 5.0)
        with self.assertRaises(errors.ServingError) as caught:
            batcher.run(servable, "serving_default", rows(2))
        self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)


class ToyModelTest(tf.test.TestCase):
    """The Batcher under predict.run, on the toy SavedModel's signatures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, template = write_toy_models()
        cls.servable = servable_lib.load("toy", 1, template)

    def test_each_call_gets_exactly_its_rows_of_the_unbatched_answer(self):
        batcher = batching.Batcher(parameters(max_batch_size=6, batch_timeout_micros=LONG_TIMEOUT_MICROS))
        self.addCleanup(batcher.stop)
        inputs = [np.arange(2 * n, dtype=np.float32).reshape(n, 2) + 10 * n for n in (1, 2, 3)]
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            batched = list(pool.map(lambda x: predict.run(self.servable, "", {"x": x}, batcher=batcher), inputs))
        self.assertEqual(batcher.stats(), batching.BatchStats(batches=1, tasks=3, rows=6))
        for x, result in zip(inputs, batched):
            alone = predict.run(self.servable, "", {"x": x})
            self.assertEqual(sorted(result), ["total", "y"])
            for alias in alone:
                self.assertAllEqual(result[alias], alone[alias])

    def test_an_error_of_the_merged_run_goes_to_every_call_in_it(self):
        batcher = batching.Batcher(parameters(max_batch_size=2, batch_timeout_micros=LONG_TIMEOUT_MICROS))
        self.addCleanup(batcher.stop)

        def root(x):
            try:
                return predict.run(self.servable, "root", {"x": np.array([x], np.float32)}, batcher=batcher)
            except errors.ServingError as e:
                return e

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(root, [4.0, -1.0]))
        for answer in answers:
            self.assertIsInstance(answer, errors.ServingError)
            self.assertEqual(answer.code, grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("x must be non-negative", answer.message)
        self.assertEqual(batcher.stats(), batching.BatchStats(batches=1, tasks=2, rows=2))
        self.assertAllEqual(predict.run(self.servable, "root", {"x": np.array([4.0], np.float32)})["y"], [2.0])


class ParametersTest(tf.test.TestCase):

    def test_batching_is_off_by_default_and_the_flags_follow_tf_serving(self):
        self.assertIsNone(batching.parameters_from_flags(False, ""))
        with self.assertRaises(errors.ServingError) as caught:
            batching.parameters_from_flags(False, "/some/batching.config")
        self.assertEqual(caught.exception.message, "server_options.batching_parameters_file is set without setting "
                         "server_options.enable_batching to true.")
        defaults = batching.parameters_from_flags(True, "")
        self.assertEqual(defaults.thread_pool_name.value, "model_server_batch_threads")
        self.assertFalse(defaults.HasField("max_batch_size"))

    def test_the_exports_batching_config_parses(self):
        export_base = self.get_temp_dir()
        layout.write_server_configs(export_base)
        read = batching.parameters_from_flags(True, os.path.join(export_base, layout.BATCHING_CONFIG))
        self.assertEqual((read.max_batch_size.value, read.batch_timeout_micros.value, read.max_enqueued_batches.value,
                          read.num_batch_threads.value), (64, 2000, 100, max(os.cpu_count() or 1, 1)))

    def test_a_bad_parameters_file_is_one_line_naming_the_file_and_the_problem(self):
        cases = {
            "max_batch { value: 8 }": 'has no field named "max_batch"',
            "max_batch_size: 8": 'Expected "{"',
            "max_batch_size { value: 0 }": "max_batch_size must be positive; got 0",
            "batch_timeout_micros { value: -1 }": "batch_timeout_micros must be non-negative; got -1",
            "max_batch_size { value: 8 } allowed_batch_sizes: 2 allowed_batch_sizes: 4":
                "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 4; expected 8",
            "max_batch_size { value: 8 } allowed_batch_sizes: 8 allowed_batch_sizes: 4":
                "allowed_batch_sizes entries must be positive and monotonically increasing; got [8, 4]",
            "pad_variable_length_inputs: true": "pad_variable_length_inputs is not supported by this embedded server",
        }
        for text, problem in cases.items():
            path = os.path.join(self.get_temp_dir(), "batching.config")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            with self.assertRaises(errors.ServingError, msg=text) as caught:
                batching.read_parameters(path)
            self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn(problem, caught.exception.message)
            self.assertIn(path, caught.exception.message)
            self.assertNotIn("\n", caught.exception.message)
        with self.assertRaises(errors.ServingError) as caught:
            batching.read_parameters(os.path.join(self.get_temp_dir(), "missing.config"))
        self.assertIn("Cannot read the batching parameters file", caught.exception.message)


class ServerTest(tf.test.TestCase):
    """Server(batching_parameters=...) batches gRPC Predict calls; without it, nothing is batched."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root, _ = write_toy_models({"toy": (1,)})
        cls.config = config_text(f'model_config_list {{ config {{ name: "toy" base_path: "{cls.root}/toy" }} }}')

    def test_concurrent_grpc_and_rest_predicts_are_answered_from_one_batch(self):
        server = Server(self.config, port=0, rest_api_port=0, file_system_poll_wait_seconds=0,
                        batching_parameters=parameters(max_batch_size=8, batch_timeout_micros=LONG_TIMEOUT_MICROS))
        server.start()
        self.addCleanup(server.stop)
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        self.addCleanup(channel.close)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        url = f"http://127.0.0.1:{server.rest_port}/v1/models/toy:predict"
        # Connect both ways first, so the calls below arrive together rather than after a handshake.
        grpc.channel_ready_future(channel).result(timeout=60)
        self.assertEqual(http_json(f"http://127.0.0.1:{server.rest_port}/v1/models/toy")[0], 200)

        def y(i):
            if i % 2:
                return tf.make_ndarray(stub.Predict(affine_request([[i, -i]]), timeout=60).outputs["y"])
            status, answer = http_json(url, "POST", {"instances": [[i, -i]]})
            self.assertEqual(status, 200, answer)
            return [prediction["y"] for prediction in answer["predictions"]]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(y, range(8)))
        for i, answer in enumerate(answers):
            self.assertAllEqual(answer, [[2 * i + 1, -2 * i + 1]])
        self.assertEqual(server.batcher.stats(), batching.BatchStats(batches=1, tasks=8, rows=8))

    def test_batching_is_off_by_default(self):
        with Server(self.config, port=0, rest_api_port=-1, file_system_poll_wait_seconds=0) as server:
            self.assertIsNone(server.batcher)
