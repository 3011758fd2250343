"""TF Serving's REST API on the standard library's ThreadingHTTPServer.

  GET  /v1/models/NAME[/versions/N | /labels/L]             model status JSON
  GET  /v1/models/NAME[/versions/N | /labels/L]/metadata    signature defs JSON
  POST /v1/models/NAME[/versions/N | /labels/L]:predict     {"instances": ...} or {"inputs": ...}

With --demo_page, GET /demo serves serving/web/ (the demo page) and /demo/config.json lists
the models served (a project extension: the page works without it against TF Serving).

Errors are {"error": "<message>"} with TF Serving's HTTP status for the gRPC code (400 for
INVALID_ARGUMENT and FAILED_PRECONDITION, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, ...).
Bodies over --max_request_bytes get 413 before they are read; at most
--max_concurrent_requests are admitted at once (more get 429) and --rest_api_num_threads
of them run at a time, the rest waiting their turn.
"""

import http.server
import json
import mimetypes
import os
import re
import threading
import urllib.parse

import grpc
from absl import logging
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from serving import errors, json_tensors, metadata, predict
from serving.batching import Batcher
from serving.model_manager import ModelManager

# TF Serving's URL patterns (http_rest_api_util.cc), case-insensitive.
_PREDICT_PATH = re.compile(r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:"
                           r"(classify|regress|predict)")
_STATUS_PATH = re.compile(r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?")
_API_PREFIX = re.compile(r"(?i)/v1/")
_DEMO_PREFIX = "/demo"
_DEMO_CONFIG = "config.json"
WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")

# TF Serving's ToHTTPStatusCode (http_server.cc).
_HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


def http_status(code: grpc.StatusCode) -> int:
    """The HTTP status TF Serving answers a gRPC status code with."""
    return _HTTP_STATUS.get(code, 500)


class RestApi:
    """The /v1/ API without the HTTP transport: (method, path, body) -> (HTTP status, JSON bytes)."""

    def __init__(self, manager: ModelManager, max_batch_size: int | None, batcher: Batcher | None = None):
        self._manager = manager
        self._max_batch_size = max_batch_size
        self._batcher = batcher

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """Answers one request under /v1/.

        Args:
          method: "GET", "POST", ...
          path: the URL path, without the query string.
          body: the request body (empty for GET).

        Returns:
          (HTTP status, UTF-8 JSON body).
        """
        try:
            return 200, self._answer(method, path, body)
        except errors.ServingError as e:
            return http_status(e.code), _error_json(e.message)
        except Exception as e:  # pylint: disable=broad-except
            # A bug must cost one request a 500, not the server.
            logging.exception("Unexpected error answering %s %s", method, path)
            return 500, _error_json(f"{type(e).__name__}: {e}")

    def _answer(self, method: str, path: str, body: bytes) -> bytes:
        predict_match = _PREDICT_PATH.fullmatch(path) if method == "POST" else None
        status_match = _STATUS_PATH.fullmatch(path) if method == "GET" else None
        if predict_match:
            name, version, label, verb = predict_match.groups()
            verb = verb.lower()
            if verb != "predict":
                raise errors.unimplemented(f"{verb} is not supported by this embedded server: it serves predict "
                                           "signatures only. Use :predict, or tensorflow_model_server.")
            return self._predict(_unquote(name), _version(version), _unquote(label), body)
        if status_match:
            name, version, label, subresource = status_match.groups()
            if not name:
                raise errors.invalid_argument("Missing model name in request.")
            name, version, label = _unquote(name), _version(version), _unquote(label)
            if subresource:
                servable = self._manager.lookup(name, version, label)
                return _metadata_json(metadata.metadata_response(servable))
            if label:
                version = self._manager.label_version(name, label)
            return _proto_json(self._manager.status(name, version))
        raise errors.invalid_argument(f"Malformed request: {method} {path}")

    def demo_config(self) -> bytes:
        """The demo page's config.json: {"models": {name: [available versions, ascending]}}.

        TF Serving has no endpoint listing its models; the page offers these names.
        """
        return json.dumps({"models": self._manager.available_versions()}, indent=1).encode()

    def _predict(self, name: str, version: int | None, label: str | None, body: bytes) -> bytes:
        servable = self._manager.lookup(name, version, label)

        def input_infos(signature_name):
            key = signature_name or predict.DEFAULT_SIGNATURE
            if key not in servable.signature_defs:
                # TF Serving's REST words this differently from gRPC, and answers 400.
                raise errors.invalid_argument(f'Serving signature name: "{key}" not found in signature def')
            return servable.signature_defs[key].inputs

        request = json_tensors.parse_predict_request(body, input_infos)
        outputs = predict.run(servable, request.signature_name, request.inputs, max_batch_size=self._max_batch_size,
                              batcher=self._batcher)
        return json_tensors.format_predict_response(outputs, request.format)


class RestServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer with TF Serving's API, request limits and an optional /demo page."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: RestApi, *, num_threads: int, max_concurrent_requests: int,
                 max_request_bytes: int, demo_dir: str | None = None):
        """
        Args:
          address: (host, port); port 0 picks a free one (see `server_address`).
          api: answers the /v1/ requests.
          num_threads: requests processed at once; admitted ones beyond wait.
          max_concurrent_requests: requests admitted (processing or waiting); more get 429.
          max_request_bytes: larger bodies get 413 without being read.
          demo_dir: a directory served under /demo (index.html at /demo), or None.
        """
        self.api = api
        self.max_request_bytes = max_request_bytes
        self.demo_dir = demo_dir
        self.admitted = threading.BoundedSemaphore(max_concurrent_requests)
        self.workers = threading.BoundedSemaphore(num_threads)
        super().__init__(address, _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so an idle keep-alive client holds no thread.
    protocol_version = "HTTP/1.0"
    server_version = "tfgan-serving"
    server: RestServer

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        logging.debug("REST %s " + format, self.client_address[0], *args)

    def _dispatch(self, method: str) -> None:
        if not self.server.admitted.acquire(blocking=False):
            self._send_error(429, "Too many concurrent requests (over --max_concurrent_requests); retry later.")
            return
        try:
            with self.server.workers:
                self._route(method)
        finally:
            self.server.admitted.release()

    def _route(self, method: str) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if _API_PREFIX.match(path):
            body = self._read_body() if method == "POST" else b""
            if body is not None:
                self._send(*self.server.api.handle(method, path, body))
        elif self.server.demo_dir and method == "GET" and (path == _DEMO_PREFIX or path.startswith(_DEMO_PREFIX + "/")):
            relative = path[len(_DEMO_PREFIX):].lstrip("/") or "index.html"
            if relative == _DEMO_CONFIG:
                self._send(200, self.server.api.demo_config())
            else:
                self._send_demo_file(relative)
        else:
            self._send_error(404, f"Not found: {method} {path}. The API is under /v1/models/<name> "
                             "(status, /metadata, :predict).")

    def _read_body(self) -> bytes | None:
        """The body, or None after answering 411/413 for one that cannot or must not be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send_error(411, "Chunked request bodies are not supported; send a Content-Length header.")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self._send_error(400, "Content-Length is not a number.")
            return None
        if length > self.server.max_request_bytes:
            self._send_error(413, f"Request body of {length} bytes is over this server's limit of "
                             f"{self.server.max_request_bytes} bytes (--max_request_bytes): send smaller batches, "
                             "or restart the server with a larger --max_request_bytes.")
            self._discard_body(length)
            return None
        return self.rfile.read(length)

    def _discard_body(self, length: int) -> None:
        # Reading (not keeping) what the client is still sending lets it see the answer
        # instead of a broken pipe mid-upload; past a bound (4x the limit, at least 16 MiB)
        # or a 5 s stall the connection is just closed.
        self.connection.settimeout(5.0)
        remaining = min(length, max(4 * self.server.max_request_bytes, 1 << 24))
        try:
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:
            pass

    def _send_demo_file(self, relative: str) -> None:
        root = os.path.realpath(self.server.demo_dir)
        path = os.path.realpath(os.path.join(root, relative))
        if os.path.commonpath([root, path]) != root or not os.path.isfile(path):
            self._send_error(404, f"Not found: /demo/{relative}")
            return
        with open(path, "rb") as f:
            content = f.read()
        self._send(200, content, mimetypes.guess_type(path)[0] or "application/octet-stream")

    def _send_error(self, status: int, message: str) -> None:
        self._send(status, _error_json(message))

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _error_json(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def _proto_json(message) -> bytes:
    return json.dumps(_proto_dict(message), indent=1).encode()


def _proto_dict(message) -> dict:
    # TF Serving prints protos with field names as declared and every field, set or not.
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def _metadata_json(response: get_model_metadata_pb2.GetModelMetadataResponse) -> bytes:
    """TF Serving's metadata JSON: the Any unpacked, so signature_def nests twice."""
    signature_defs = get_model_metadata_pb2.SignatureDefMap()
    response.metadata[metadata.SIGNATURE_DEF].Unpack(signature_defs)
    return json.dumps({"model_spec": _proto_dict(response.model_spec),
                       "metadata": {metadata.SIGNATURE_DEF: _proto_dict(signature_defs)}}, indent=1).encode()


def _version(text: str | None) -> int | None:
    return None if text is None else int(text)


def _unquote(text: str | None) -> str | None:
    return None if text is None else urllib.parse.unquote(text)
