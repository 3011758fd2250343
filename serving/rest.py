"""TF Serving's REST API without the transport: (method, path, body) -> (HTTP status, JSON).

  GET  /v1/models/NAME[/versions/N | /labels/L]             model status JSON
  GET  /v1/models/NAME[/versions/N | /labels/L]/metadata    signature defs JSON
  POST /v1/models/NAME[/versions/N | /labels/L]:predict     {"instances": ...} or {"inputs": ...}

Anything else under /v1/ is TF Serving's 400 "Malformed request: METHOD PATH". Errors are
{"error": "<message>"} with TF Serving's HTTP status for the gRPC code (400 for
INVALID_ARGUMENT and FAILED_PRECONDITION, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, ...).
`http_server` puts this on HTTP (connections, timeouts, body limits, admission, /demo);
`RestApi.demo_config` is the demo page's /demo/config.json, a project extension.
"""

import json
import re
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
          path: the URL path as sent (percent-encoded), without the query string.
          body: the request body (empty for GET).

        Returns:
          (HTTP status, UTF-8 JSON body).
        """
        try:
            return 200, self._answer(method, path, body)
        except errors.ServingError as e:
            return http_status(e.code), error_json(e.message)
        except Exception as e:  # pylint: disable=broad-except
            # A bug must cost one request a 500, not the server.
            logging.exception("Unexpected error answering %s %s", method, path)
            return 500, error_json(f"{type(e).__name__}: {e}")

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


def error_json(message: str) -> bytes:
    """TF Serving's error body: {"error": message}."""
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
