"""TF Serving's request batching (--enable_batching): concurrent predict calls merged into one run.

A `Batcher` is TF Serving's SharedBatchScheduler under its BatchingSession: one queue per
(model version, signature), `num_batch_threads` workers shared by every queue (round robin).
A call joins the open batch of its queue and blocks until its rows of the merged run's
outputs come back. A batch runs when it holds `max_batch_size` rows (the next call would
not fit), when its oldest call has waited `batch_timeout_micros`, or at once when the
timeout is 0 and a worker is free. The merged inputs are padded up to the next
`allowed_batch_sizes` entry with copies of the last row, and the padding is dropped from the
outputs; an error of the merged run is every call's error.

Where this differs from TF Serving:
- Calls whose inputs differ past the 0th dimension go to separate batches of the same queue
  (TF Serving fails such a batch with FAILED_PRECONDITION); `pad_variable_length_inputs` is
  refused, not implemented.
- A signature whose inputs or outputs do not all have an unknown 0th dimension (the batch)
  is not batched: its calls run alone, and the first one logs why.
- A call with 0 rows runs alone. Every output is computed, whatever the request's
  output_filter, so calls with different filters share batches.
- Request deadlines are not passed on (TF Serving drops calls that timed out in the queue).

`BatchingParameters` is the official message (`session_bundle_config.proto`): imported from
`tensorflow_serving.servables` when that module exists (the tensorflow-serving-api wheel does
not ship it), else built from the same field definitions, so the same text files parse with
the same errors.
"""

import collections
import concurrent.futures
import dataclasses
import os
import threading
import time
import weakref
from collections.abc import Mapping

import grpc
import tensorflow as tf
from absl import logging
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from serving import errors, tensors
from serving.servable import Servable

# TF Serving's BatchingParameters fields, numbered as in session_bundle_config.proto.
_FIELDS = (
    ("max_batch_size", 1, ".google.protobuf.Int64Value"),
    ("batch_timeout_micros", 2, ".google.protobuf.Int64Value"),
    ("max_enqueued_batches", 3, ".google.protobuf.Int64Value"),
    ("num_batch_threads", 4, ".google.protobuf.Int64Value"),
    ("thread_pool_name", 5, ".google.protobuf.StringValue"),
    ("allowed_batch_sizes", 6, None),
    ("pad_variable_length_inputs", 7, None),
    ("enable_large_batch_splitting", 8, ".google.protobuf.BoolValue"),
    ("max_execution_batch_size", 9, ".google.protobuf.Int64Value"),
)
# SharedBatchScheduler's defaults (input_batch_size_limit, batch_timeout_micros, max_enqueued_batches,
# num_batch_threads = MaxParallelism) and tensorflow_model_server's pool name without a parameters file.
DEFAULT_MAX_BATCH_SIZE = 1000
DEFAULT_MAX_ENQUEUED_BATCHES = 10
DEFAULT_THREAD_POOL_NAME = "model_server_batch_threads"


def _batching_parameters_class():
    try:
        from tensorflow_serving.servables.tensorflow import session_bundle_config_pb2
        return session_bundle_config_pb2.BatchingParameters
    except ImportError:
        pass
    # A private pool: a later import of the official module must not clash with this copy.
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/servables/tensorflow/session_bundle_config.proto", package="tensorflow.serving",
        syntax="proto3", dependency=[wrappers.name])
    message = file.message_type.add(name="BatchingParameters")
    field = descriptor_pb2.FieldDescriptorProto
    for name, number, type_name in _FIELDS:
        if type_name:
            message.field.add(name=name, number=number, type=field.TYPE_MESSAGE, type_name=type_name,
                              label=field.LABEL_OPTIONAL)
        elif name == "allowed_batch_sizes":
            message.field.add(name=name, number=number, type=field.TYPE_INT64, label=field.LABEL_REPEATED)
        else:
            message.field.add(name=name, number=number, type=field.TYPE_BOOL, label=field.LABEL_OPTIONAL)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


BatchingParameters = _batching_parameters_class()


@dataclasses.dataclass(frozen=True)
class _Options:
    """BatchingParameters with TF Serving's defaults filled in, checked."""
    max_batch_size: int
    batch_timeout_micros: int
    max_enqueued_batches: int
    num_batch_threads: int
    thread_pool_name: str
    enable_large_batch_splitting: bool
    max_execution_batch_size: int
    allowed_batch_sizes: tuple[int, ...]


def _options(parameters) -> _Options:
    """Raises ValueError naming the first bad field (TF Serving's wording where it has one)."""
    def value(name, default):
        return getattr(parameters, name).value if parameters.HasField(name) else default

    max_batch_size = value("max_batch_size", DEFAULT_MAX_BATCH_SIZE)
    splitting = value("enable_large_batch_splitting", False)
    options = _Options(
        max_batch_size=max_batch_size,
        batch_timeout_micros=value("batch_timeout_micros", 0),
        max_enqueued_batches=value("max_enqueued_batches", DEFAULT_MAX_ENQUEUED_BATCHES),
        num_batch_threads=value("num_batch_threads", os.cpu_count() or 1),
        thread_pool_name=value("thread_pool_name", "batch_threads"),
        enable_large_batch_splitting=splitting,
        max_execution_batch_size=value("max_execution_batch_size", max_batch_size) if splitting else max_batch_size,
        allowed_batch_sizes=tuple(parameters.allowed_batch_sizes))
    for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads", "max_execution_batch_size"):
        if getattr(options, name) < 1:
            raise ValueError(f"{name} must be positive; got {getattr(options, name)}")
    if options.batch_timeout_micros < 0:
        raise ValueError(f"batch_timeout_micros must be non-negative; got {options.batch_timeout_micros}")
    if splitting and options.max_execution_batch_size > max_batch_size:
        raise ValueError(f"max_execution_batch_size ({options.max_execution_batch_size}) must not exceed "
                         f"max_batch_size ({max_batch_size})")
    sizes = options.allowed_batch_sizes
    if sizes:
        if sizes[0] < 1 or any(b <= a for a, b in zip(sizes, sizes[1:])):
            raise ValueError(f"allowed_batch_sizes entries must be positive and monotonically increasing; got "
                             f"{list(sizes)}")
        if splitting and sizes[-1] != options.max_execution_batch_size:
            raise ValueError(f"Last entry in allowed_batch_sizes must be equal to max_execution_batch_size; last "
                             f"entry was {sizes[-1]}; expected {options.max_execution_batch_size}")
        if not splitting and sizes[-1] != max_batch_size:
            raise ValueError(f"Last entry in allowed_batch_sizes must match max_batch_size; last entry was "
                             f"{sizes[-1]}; expected {max_batch_size}")
    if parameters.pad_variable_length_inputs:
        raise ValueError("pad_variable_length_inputs is not supported by this embedded server (requests whose "
                         "inputs differ past the 0th dimension run in separate batches instead); remove it, or "
                         "serve with tensorflow_model_server")
    return options


def parse_parameters(text: str, source: str = "BatchingParameters"):
    """A text-format BatchingParameters, checked.

    Args:
      text: e.g. "max_batch_size { value: 64 } batch_timeout_micros { value: 2000 }".
      source: what the text came from, for messages (a file path).

    Returns:
      BatchingParameters.

    Raises:
      ServingError: INVALID_ARGUMENT, one line naming `source` and the bad field.
    """
    parameters = BatchingParameters()
    try:
        text_format.Parse(text, parameters)
        _options(parameters)
    except (text_format.ParseError, ValueError) as e:
        raise errors.invalid_argument(f"Invalid batching parameters in {source}: {e}") from None
    return parameters


def read_parameters(path: str):
    """The BatchingParameters text file at `path` (--batching_parameters_file), checked.

    Raises:
      ServingError: INVALID_ARGUMENT for a file that cannot be read, does not parse, or holds
        a bad value; one line naming the file and the problem.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise errors.invalid_argument(f"Cannot read the batching parameters file {path}: {e}") from None
    return parse_parameters(text, path)


def parameters_from_flags(enable_batching: bool, batching_parameters_file: str):
    """The BatchingParameters tensorflow_model_server's two flags ask for; None when batching is off.

    Raises:
      ServingError: INVALID_ARGUMENT for a file without --enable_batching (TF Serving's
        message), or a bad file.
    """
    if not enable_batching:
        if batching_parameters_file:
            raise errors.invalid_argument("server_options.batching_parameters_file is set without setting "
                                          "server_options.enable_batching to true.")
        return None
    if batching_parameters_file:
        return read_parameters(batching_parameters_file)
    parameters = BatchingParameters()
    parameters.thread_pool_name.value = DEFAULT_THREAD_POOL_NAME
    return parameters


@dataclasses.dataclass
class BatchStats:
    """What a Batcher has run so far: merged runs, the calls (or call pieces) in them, their rows."""
    batches: int = 0
    tasks: int = 0
    rows: int = 0


class _Task:
    __slots__ = ("feeds", "rows", "future")

    def __init__(self, feeds: Mapping[str, tf.Tensor], rows: int):
        self.feeds = feeds
        self.rows = rows
        self.future = concurrent.futures.Future()


class _Batch:
    __slots__ = ("shape_key", "tasks", "rows", "start", "closed")

    def __init__(self, shape_key: tuple, start: float):
        self.shape_key = shape_key
        self.tasks: list[_Task] = []
        self.rows = 0
        self.start = start
        self.closed = False


class _Queue:
    """The batches of one (model version, signature), oldest first; one open batch per input shape."""

    def __init__(self, function, options: _Options):
        self.function = function
        self.options = options
        self.batches: collections.deque[_Batch] = collections.deque()
        self.open: dict[tuple, _Batch] = {}

    def add(self, feeds: Mapping[str, tf.Tensor], rows: int, now: float) -> list[_Task]:
        """Places a call's rows (split in pieces if enabled); the tasks to wait on, in row order."""
        options = self.options
        if rows > options.max_batch_size:
            raise errors.invalid_argument(
                f"Task size {rows} is larger than maximum input batch size {options.max_batch_size}")
        shape_key = tuple((alias, tuple(value.shape[1:])) for alias, value in sorted(feeds.items()))
        batch = self.open.get(shape_key)
        room = options.max_execution_batch_size - batch.rows if batch is not None else 0
        if not options.enable_large_batch_splitting:
            if rows > room and len(self.batches) >= options.max_enqueued_batches:
                raise errors.ServingError(
                    grpc.StatusCode.UNAVAILABLE,
                    "The batch scheduling queue to which this task was submitted is full; currently "
                    f"{len(self.batches)} batches enqueued and max_enqueued_batches is {options.max_enqueued_batches}")
            return [self._place(shape_key, _Task(feeds, rows), now)]
        capacity = (options.max_enqueued_batches - len(self.batches)) * options.max_execution_batch_size + room
        if rows > capacity:
            raise errors.ServingError(
                grpc.StatusCode.UNAVAILABLE,
                f"The batch scheduling queue to which this task was submitted is full; task size is {rows} but "
                f"scheduling capacity is only {capacity} (num_enqueued_batches={len(self.batches)}, "
                f"max_enqueued_batches={options.max_enqueued_batches}, open_batch_size="
                f"{batch.rows if batch is not None else 0}, max_execution_batch_size="
                f"{options.max_execution_batch_size})")
        sizes = [min(rows, room)] if room else []
        while sum(sizes) < rows:
            sizes.append(min(rows - sum(sizes), options.max_execution_batch_size))
        if len(sizes) == 1:
            return [self._place(shape_key, _Task(feeds, rows), now)]
        tasks, start = [], 0
        for size in sizes:
            piece = {alias: value[start:start + size] for alias, value in feeds.items()}
            tasks.append(self._place(shape_key, _Task(piece, size), now))
            start += size
        return tasks

    def _place(self, shape_key: tuple, task: _Task, now: float) -> _Task:
        batch = self.open.get(shape_key)
        if batch is None or batch.rows + task.rows > self.options.max_execution_batch_size:
            if batch is not None:
                self._close(batch)
            batch = _Batch(shape_key, now)
            self.batches.append(batch)
            self.open[shape_key] = batch
        batch.tasks.append(task)
        batch.rows += task.rows
        if batch.rows >= self.options.max_execution_batch_size:
            self._close(batch)
        return task

    def _close(self, batch: _Batch) -> None:
        batch.closed = True
        if self.open.get(batch.shape_key) is batch:
            del self.open[batch.shape_key]

    def pop_ready(self, now: float, draining: bool) -> tuple[_Batch | None, float | None]:
        """(the oldest batch ready to run, None) or (None, when the next one times out)."""
        timeout = self.options.batch_timeout_micros / 1e6
        earliest = None
        for batch in self.batches:
            if batch.closed or draining or now >= batch.start + timeout:
                self.batches.remove(batch)
                self._close(batch)
                return batch, None
            earliest = batch.start + timeout if earliest is None else min(earliest, batch.start + timeout)
        return None, earliest

    def run(self, batch: _Batch) -> list[dict[str, tf.Tensor]]:
        """Runs a batch as one call; each task's rows of every output."""
        tasks = batch.tasks
        target = next((size for size in self.options.allowed_batch_sizes if size >= batch.rows), batch.rows)
        padding = target - batch.rows
        if len(tasks) == 1 and not padding:
            merged = tasks[0].feeds
        else:
            merged = {}
            for alias, last in tasks[-1].feeds.items():
                parts = [task.feeds[alias] for task in tasks]
                if padding:
                    # TF Serving pads with the last call's first row: a valid input, whatever the model.
                    parts.append(tf.repeat(last[:1], padding, axis=0))
                merged[alias] = tf.concat(parts, axis=0)
        results = self.function(**merged)
        sizes = [task.rows for task in tasks] + ([padding] if padding else [])
        split = [{} for _ in tasks]
        for alias, value in results.items():
            if value.shape.rank == 0:
                raise errors.failed_precondition("Batched output tensor has 0 dimensions")
            if value.shape[0] != target:
                raise errors.failed_precondition("Batched output tensor's 0th dimension does not equal the sum of "
                                                 "the 0th dimension sizes of the input tensors")
            parts = tf.split(value, sizes, axis=0) if len(sizes) > 1 else [value]
            for outputs, part in zip(split, parts):
                outputs[alias] = part
        return split


def unbatchable_reason(signature: meta_graph_pb2.SignatureDef) -> str | None:
    """Why a signature cannot be batched (an input or output without an unknown 0th dimension), or None."""
    if not signature.inputs:
        return "it has no inputs"
    for kind, infos in (("input", signature.inputs), ("output", signature.outputs)):
        for alias in sorted(infos):
            shape = tensors.shape_list(infos[alias].tensor_shape)
            if shape is None:
                return f'{kind} "{alias}" has an unknown rank'
            if not shape or shape[0] != -1:
                return f'{kind} "{alias}" has shape {tensors.shape_text(shape)}, not a batch (-1) as 0th dimension'
    return None


class Batcher:
    """Merges concurrent `run` calls per (servable, signature) and runs them on batch threads.

    Thread-safe. `stop()` runs what is queued, then ends the threads; later calls get UNAVAILABLE.
    """

    def __init__(self, parameters=None):
        """
        Args:
          parameters: BatchingParameters; None or an empty message: TF Serving's defaults.

        Raises:
          ServingError: INVALID_ARGUMENT naming a bad field.
        """
        try:
            self._options = _options(parameters if parameters is not None else BatchingParameters())
        except ValueError as e:
            raise errors.invalid_argument(f"Invalid batching parameters: {e}") from None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        # servable -> signature key -> its queue, or None when the signature is not batched.
        self._queues: weakref.WeakKeyDictionary[Servable, dict[str, _Queue | None]] = weakref.WeakKeyDictionary()
        self._ready: dict[_Queue, None] = {}  # queues holding batches, in round-robin order
        self._stopping = False
        self._stats = BatchStats()
        self._threads = [threading.Thread(target=self._work, name=f"{self._options.thread_pool_name}_{i}", daemon=True)
                         for i in range(self._options.num_batch_threads)]
        for thread in self._threads:
            thread.start()

    def run(self, servable: Servable, signature_key: str, feeds: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """What `servable.function(signature_key)(**feeds)` returns, computed in a merged run.

        Blocks until this call's rows are ready.

        Raises:
          ServingError: INVALID_ARGUMENT when the inputs' 0th dimensions differ or exceed
            max_batch_size, UNAVAILABLE when the queue is full or batching has stopped, or the
            merged run's output check; otherwise what the merged run raised (every call in it
            gets the same error).
        """
        queue = self._queue(servable, signature_key)
        rows = {value.shape[0] if len(value.shape) else None for value in feeds.values()}
        if queue is None or rows == {0}:
            return servable.function(signature_key)(**feeds)
        if None in rows:
            raise errors.invalid_argument("Batching Run() input tensors must have at least one dimension")
        if len(rows) != 1:
            raise errors.invalid_argument("Batching Run() input tensors must have equal 0th-dimension size")
        with self._wake:
            if self._stopping:
                raise errors.ServingError(grpc.StatusCode.UNAVAILABLE,
                                          "Batching has stopped: the server is shutting down.")
            tasks = queue.add(feeds, rows.pop(), time.monotonic())
            self._ready.setdefault(queue)
            self._wake.notify()
        parts = [task.future.result() for task in tasks]
        if len(parts) == 1:
            return parts[0]
        return {alias: tf.concat([part[alias] for part in parts], axis=0) for alias in parts[0]}

    def stats(self) -> BatchStats:
        """A copy of the counts of batches run so far."""
        with self._lock:
            return dataclasses.replace(self._stats)

    def enqueued_tasks(self) -> int:
        """Calls (or pieces of split calls) waiting in a queue, not yet running."""
        with self._lock:
            return sum(len(batch.tasks) for queue in self._ready for batch in queue.batches)

    def stop(self) -> None:
        """Runs every queued batch, then ends the batch threads; idempotent."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join()

    def _queue(self, servable: Servable, signature_key: str) -> _Queue | None:
        with self._lock:
            queues = self._queues.setdefault(servable, {})
            if signature_key not in queues:
                reason = unbatchable_reason(servable.signature_defs[signature_key])
                if reason:
                    logging.warning("Not batching signature %r of %s version %d: %s. Its requests run one at a time.",
                                    signature_key, servable.name, servable.version, reason)
                    queues[signature_key] = None
                else:
                    # The queue holds the function, not the servable, so an unloaded version can go.
                    queues[signature_key] = _Queue(servable.function(signature_key), self._options)
            return queues[signature_key]

    def _work(self) -> None:
        while True:
            with self._wake:
                while True:
                    queue, batch, wait = self._next_batch()
                    if batch is not None:
                        break
                    if self._stopping and not self._ready:
                        return
                    self._wake.wait(wait)
            try:
                outputs = queue.run(batch)
            except Exception as e:  # pylint: disable=broad-except
                # Every call of the batch gets the error; the predict layer maps it to a status.
                for task in batch.tasks:
                    task.future.set_exception(e)
            else:
                for task, task_outputs in zip(batch.tasks, outputs):
                    task.future.set_result(task_outputs)

    def _next_batch(self) -> tuple[_Queue | None, _Batch | None, float | None]:
        """(queue, batch to run, None), or (None, None, seconds until one may be ready) under the lock."""
        now = time.monotonic()
        earliest = None
        for queue in list(self._ready):
            batch, deadline = queue.pop_ready(now, self._stopping)
            if batch is not None:
                del self._ready[queue]
                if queue.batches:
                    self._ready[queue] = None  # to the back: queues take turns
                self._stats.batches += 1
                self._stats.tasks += len(batch.tasks)
                self._stats.rows += batch.rows
                return queue, batch, None
            if deadline is not None:
                earliest = deadline if earliest is None else min(earliest, deadline)
        return None, None, None if earliest is None else max(earliest - now, 0.0)
