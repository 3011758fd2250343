"""`python -m serving.server`: the model server, with tensorflow_model_server's flags.

  python -m serving.server --model_base_path=exports/dcgan --model_name=dcgan
  python -m serving.server --model_config_file=exports/models.config --model_config_file_poll_wait_seconds=10

gRPC on --port (8500), REST on --rest_api_port (8501, as TF Serving's docker image; 0
picks a free port, negative turns REST off), both on --host (127.0.0.1: reachable from
this machine only; 0.0.0.0 for every interface). REST speaks HTTP/1.1 with keep-alive
(serving.http_server, on aiohttp); a client has --rest_api_read_timeout_seconds (30) to send
a request's headers, then its body. SIGTERM or SIGINT stops it cleanly (exit 0); a startup
error prints one line naming the problem and exits 1.

`Server` is the same thing for Python programs and tests:

  with Server(model_config.single_model_config("dcgan", "exports/dcgan"), port=0, rest_api_port=0) as server:
      channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
"""

import concurrent.futures
import os
import signal
import sys
import threading

import grpc
from absl import app, flags, logging
from tensorflow_serving.config import model_server_config_pb2

from serving import batching, errors, grpc_service, http_server, model_config, rest
from serving.model_manager import ModelManager

GRPC_PORT = 8500
REST_API_PORT = 8501
MAX_BATCH_SIZE = 1024
MAX_REQUEST_BYTES = 64 << 20
MAX_CONCURRENT_REQUESTS = 256
LOAD_RETRY_INTERVAL_MICROS = 60_000_000  # TF Serving's default: one minute.
# tensorflow_model_server's default for both thread pools.
DEFAULT_THREADS = 4 * (os.cpu_count() or 1)


class Server:
    """gRPC and REST front ends over one ModelManager."""

    def __init__(self, config: model_server_config_pb2.ModelServerConfig | str, *, host: str = "127.0.0.1",
                 port: int = GRPC_PORT, rest_api_port: int = REST_API_PORT,
                 file_system_poll_wait_seconds: float = 1.0, model_config_file_poll_wait_seconds: float = 0.0,
                 grpc_max_threads: int = DEFAULT_THREADS, rest_api_num_threads: int = DEFAULT_THREADS,
                 max_batch_size: int = MAX_BATCH_SIZE, max_request_bytes: int = MAX_REQUEST_BYTES,
                 max_concurrent_requests: int = MAX_CONCURRENT_REQUESTS,
                 rest_api_read_timeout_seconds: float = http_server.READ_TIMEOUT_SECONDS,
                 enable_model_warmup: bool = True, max_num_load_retries: int = 5,
                 load_retry_interval_micros: int = LOAD_RETRY_INTERVAL_MICROS, demo_page: bool = False,
                 batching_parameters=None):
        """
        Args:
          config: a ModelServerConfig, or the path of a text-format one (re-read every
            `model_config_file_poll_wait_seconds` when that is > 0). For one model:
            `model_config.single_model_config(name, base_path)`.
          host: interface both servers listen on.
          port: gRPC port; 0 picks a free one (see `grpc_port`).
          rest_api_port: REST port; 0 picks a free one (see `rest_port`); negative: no REST.
          file_system_poll_wait_seconds: seconds between scans for new or removed versions;
            0 scans once, at start.
          model_config_file_poll_wait_seconds: seconds between re-reads of a config file; 0
            reads it once.
          grpc_max_threads: gRPC requests processed at once.
          rest_api_num_threads: REST requests processed at once (their model work: slow
            clients are read and written by an event loop, and hold no thread).
          max_batch_size: largest 0th dimension of a predict input, and most examples an output
            may hold (the product of its -1 dims, e.g. rows x steps; a project limit).
          max_request_bytes: largest request accepted, gRPC message or REST body; larger ones
            are refused (gRPC RESOURCE_EXHAUSTED, HTTP 413) before they are processed. Also
            the largest gRPC input tensor in memory (one value may fill a large shape).
          max_concurrent_requests: requests admitted at once per front end, waiting included;
            beyond it gRPC answers RESOURCE_EXHAUSTED and REST 429.
          rest_api_read_timeout_seconds: time a REST client has to send a request's headers
            (from connecting, or from the previous answer: also the keep-alive idle time), then
            its body; slower connections are closed, a late body answered 408 first.
          enable_model_warmup: replay assets.extra/tf_serving_warmup_requests at load.
          max_num_load_retries: retries of a version that failed to load on files that did not
            change since (a version still being copied in waits until its files stop changing).
          load_retry_interval_micros: wait before the first retry, doubled for each next one.
          demo_page: serve serving/web/ under /demo on the REST port, if that directory exists.
          batching_parameters: a `batching.BatchingParameters` to merge concurrent predict
            requests into batches (TF Serving's --enable_batching; see `batcher`); None: off.
        """
        self._config = config
        self._host = host
        self._port = port
        self._rest_api_port = rest_api_port
        self._config_poll_seconds = model_config_file_poll_wait_seconds
        self._grpc_max_threads = grpc_max_threads
        self._rest_api_num_threads = rest_api_num_threads
        self._max_batch_size = max_batch_size
        self._max_request_bytes = max_request_bytes
        self._max_concurrent_requests = max_concurrent_requests
        self._rest_api_read_timeout = rest_api_read_timeout_seconds
        self._demo_dir = http_server.WEB_DIR if demo_page and os.path.isdir(http_server.WEB_DIR) else None
        self.manager = ModelManager(file_system_poll_wait_seconds, enable_model_warmup, max_num_load_retries,
                                    load_retry_interval_micros / 1e6)
        self._batching_parameters = batching_parameters
        self.batcher: batching.Batcher | None = None
        self._grpc_server: grpc.Server | None = None
        self._rest_server: http_server.RestServer | None = None
        self._watcher: model_config.ConfigFileWatcher | None = None
        self.grpc_port: int | None = None
        self.rest_port: int | None = None

    def start(self) -> "Server":
        """Loads the models, then opens both ports; returns when requests can be served.

        Raises:
          ServingError: a bad config, a model that did not load, or a port that cannot be
            bound; the message names the cause and the fix.
        """
        if self._rest_api_port > 0 and self._rest_api_port == self._port:
            raise errors.invalid_argument("--rest_api_port cannot be same as --port. Please use a different port "
                                          "for HTTP/REST API.")
        config = (model_config.read_config_file(self._config) if isinstance(self._config, str) else self._config)
        try:
            if self._batching_parameters is not None:
                self.batcher = batching.Batcher(self._batching_parameters)
            self.manager.start(config)
            self._start_grpc()
            if self._rest_api_port >= 0:
                self._start_rest()
            if isinstance(self._config, str) and self._config_poll_seconds > 0:
                self._watcher = model_config.ConfigFileWatcher(self._config, self._config_poll_seconds,
                                                               self._reload_logged)
                self._watcher.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stops accepting requests, lets running ones finish for up to `grace` seconds, unloads."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._grpc_server is not None:
            self._grpc_server.stop(grace).wait()
            self._grpc_server = None
        if self._rest_server is not None:
            self._rest_server.stop(grace)
            self._rest_server = None
        if self.batcher is not None:
            self.batcher.stop()
        self.manager.stop()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _start_grpc(self) -> None:
        self._grpc_server = grpc.server(
            concurrent.futures.ThreadPoolExecutor(self._grpc_max_threads, thread_name_prefix="grpc"),
            maximum_concurrent_rpcs=self._max_concurrent_requests,
            # Responses may be large (image batches): clients raise their own receive limit.
            # Without so_reuseport 0, a second server on a busy port would silently share it.
            options=[("grpc.max_receive_message_length", self._max_request_bytes),
                     ("grpc.max_send_message_length", -1), ("grpc.so_reuseport", 0)])
        grpc_service.add_to_server(self._grpc_server, self.manager, self._max_batch_size,
                                   max_input_bytes=self._max_request_bytes, batcher=self.batcher)
        address = f"[{self._host}]:{self._port}" if ":" in self._host else f"{self._host}:{self._port}"
        try:
            self.grpc_port = self._grpc_server.add_insecure_port(address)
        except RuntimeError as e:
            raise errors.ServingError(grpc.StatusCode.UNAVAILABLE, f"Cannot listen for gRPC on {address} ({e}); "
                                      "choose another --port or --host.") from None
        self._grpc_server.start()

    def _start_rest(self) -> None:
        self._rest_server = http_server.RestServer(
            (self._host, self._rest_api_port), rest.RestApi(self.manager, self._max_batch_size, self.batcher),
            num_threads=self._rest_api_num_threads, max_concurrent_requests=self._max_concurrent_requests,
            max_request_bytes=self._max_request_bytes, read_timeout_seconds=self._rest_api_read_timeout,
            demo_dir=self._demo_dir)
        try:
            self.rest_port = self._rest_server.start().port
        except OSError as e:
            raise errors.ServingError(grpc.StatusCode.UNAVAILABLE, f"Cannot listen for HTTP/REST on {self._host}:"
                                      f"{self._rest_api_port} ({e.strerror}); choose another --rest_api_port or "
                                      "--host.") from None

    def _reload_logged(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        try:
            self.manager.reload(config)
            logging.info("Reloaded the model config: %s", self.manager.available_versions())
        except errors.ServingError as e:
            logging.error("Reloading the model config failed: %s", e)


def _define_flags() -> None:
    flags.DEFINE_integer("port", GRPC_PORT, "TCP port for the gRPC API; 0 picks a free port (logged).")
    flags.DEFINE_integer("rest_api_port", REST_API_PORT,
                         "TCP port for the HTTP/REST API; 0 picks a free port (logged); negative turns REST off.")
    flags.DEFINE_string("host", "127.0.0.1", "Interface to listen on (project flag); 0.0.0.0 for every interface.")
    flags.DEFINE_string("model_name", "default", "Name of the model (ignored if --model_config_file is set).")
    flags.DEFINE_string("model_base_path", "", "Path to the model's versions <path>/<integer>/ (ignored if "
                        "--model_config_file is set, otherwise required).")
    flags.DEFINE_string("model_config_file", "", "A text-format ModelServerConfig naming the models to serve.")
    flags.DEFINE_float("model_config_file_poll_wait_seconds", 0,
                       "Seconds between re-reads of --model_config_file; 0 reads it once.")
    flags.DEFINE_float("file_system_poll_wait_seconds", 1,
                       "Seconds between scans of the base paths for new model versions; 0 scans once, at start.")
    flags.DEFINE_integer("grpc_max_threads", DEFAULT_THREADS, "Max gRPC server threads to handle gRPC messages.")
    flags.DEFINE_integer("rest_api_num_threads", DEFAULT_THREADS, "Number of threads for HTTP/REST API processing.")
    flags.DEFINE_float("rest_api_read_timeout_seconds", http_server.READ_TIMEOUT_SECONDS,
                       "Seconds a REST client has to send a request's headers (from connecting or from the previous "
                       "answer: also the keep-alive idle time), then its body; slower connections are closed, a late "
                       "body gets HTTP 408 (project flag).")
    flags.DEFINE_boolean("enable_model_warmup", True,
                         "Replay assets.extra/tf_serving_warmup_requests when a version loads.")
    flags.DEFINE_integer("max_num_load_retries", 5,
                         "Retries of a version that failed to load; then it is left alone until its files change. A "
                         "failure while the version's files are still changing (being copied in) does not count.")
    flags.DEFINE_integer("load_retry_interval_micros", LOAD_RETRY_INTERVAL_MICROS,
                         "Microseconds before the first load retry, doubled for each next one (at most 10 minutes).")
    flags.DEFINE_integer("max_batch_size", MAX_BATCH_SIZE, "Largest 0th dimension of a predict input, and most "
                         "examples per output (the product of its -1 dims: rows x steps for interpolate); more get "
                         "INVALID_ARGUMENT (project flag).")
    flags.DEFINE_integer("max_request_bytes", MAX_REQUEST_BYTES, "Largest gRPC request message or REST body, and gRPC "
                         "input tensor in memory; larger ones get RESOURCE_EXHAUSTED / HTTP 413 (project flag).")
    flags.DEFINE_integer("max_concurrent_requests", MAX_CONCURRENT_REQUESTS, "Requests admitted at once per API, "
                         "waiting ones included; more get RESOURCE_EXHAUSTED / HTTP 429 (project flag).")
    flags.DEFINE_boolean("demo_page", False, "Serve serving/web/ under /demo on the REST port (project flag).")
    flags.DEFINE_boolean("enable_batching", False, "Merge concurrent predict requests to the same model version and "
                         "signature into batches.")
    flags.DEFINE_string("batching_parameters_file", "", "A text-format BatchingParameters (such as an export's "
                        "batching.config) instead of the defaults; needs --enable_batching.")


def main(argv) -> int:
    del argv  # Everything comes from flags.
    config_flags = flags.FLAGS
    try:
        if config_flags.model_config_file:
            config = config_flags.model_config_file
        elif config_flags.model_base_path:
            config = model_config.single_model_config(config_flags.model_name, config_flags.model_base_path)
        else:
            raise errors.invalid_argument("Both --model_base_path and --model_config_file are empty; pass one.")
        server = Server(
            config, host=config_flags.host, port=config_flags.port, rest_api_port=config_flags.rest_api_port,
            file_system_poll_wait_seconds=config_flags.file_system_poll_wait_seconds,
            model_config_file_poll_wait_seconds=config_flags.model_config_file_poll_wait_seconds,
            grpc_max_threads=config_flags.grpc_max_threads, rest_api_num_threads=config_flags.rest_api_num_threads,
            max_batch_size=config_flags.max_batch_size, max_request_bytes=config_flags.max_request_bytes,
            max_concurrent_requests=config_flags.max_concurrent_requests,
            rest_api_read_timeout_seconds=config_flags.rest_api_read_timeout_seconds,
            enable_model_warmup=config_flags.enable_model_warmup,
            max_num_load_retries=config_flags.max_num_load_retries,
            load_retry_interval_micros=config_flags.load_retry_interval_micros, demo_page=config_flags.demo_page,
            batching_parameters=batching.parameters_from_flags(config_flags.enable_batching,
                                                               config_flags.batching_parameters_file)).start()
    except errors.ServingError as e:
        print(f"serving.server: error: {e.message}", file=sys.stderr, flush=True)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    logging.info("Models: %s", ", ".join(f"{name} versions {versions}"
                                         for name, versions in server.manager.available_versions().items()))
    logging.info("Running gRPC ModelServer at %s:%d ...", config_flags.host, server.grpc_port)
    if server.rest_port is not None:
        logging.info("Exporting HTTP/REST API at:%s:%d ...", config_flags.host, server.rest_port)
        if config_flags.demo_page:
            logging.info("Demo page at http://%s:%d/demo/", config_flags.host, server.rest_port)
    # A timed wait keeps the main thread responsive to signals.
    while not stop.wait(1.0):
        pass
    logging.info("Stopping.")
    server.stop(grace=5.0)
    return 0


if __name__ == "__main__":
    _define_flags()
    app.run(main)
