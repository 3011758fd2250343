"""TF Serving's gRPC services: PredictionService and ModelService, over the shared layers.

Classify, Regress and MultiInference answer UNIMPLEMENTED: the models this project serves
have predict signatures only (tensorflow_model_server implements those three).
"""

from collections.abc import Callable

import grpc
from absl import logging
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving import errors, metadata, predict
from serving.batching import Batcher
from serving.model_manager import ModelManager
from serving.servable import Servable

_PREDICT_ONLY = ("{} is not supported by this embedded server: it serves predict signatures only. Use Predict, or "
                 "tensorflow_model_server for classify/regress signatures.")


def lookup(manager: ModelManager, spec: model_pb2.ModelSpec) -> Servable:
    """The servable a ModelSpec names: by version, by version_label, or the latest."""
    choice = spec.WhichOneof("version_choice")
    return manager.lookup(spec.name, version=spec.version.value if choice == "version" else None,
                          label=spec.version_label if choice == "version_label" else None)


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict and GetModelMetadata, as tensorflow_model_server answers them."""

    def __init__(self, manager: ModelManager, max_batch_size: int | None, max_input_bytes: int | None = None,
                 batcher: Batcher | None = None):
        self._manager = manager
        self._max_batch_size = max_batch_size
        self._max_input_bytes = max_input_bytes
        self._batcher = batcher

    def Predict(self, request: predict_pb2.PredictRequest, context) -> predict_pb2.PredictResponse:
        def answer():
            if not request.HasField("model_spec"):
                raise errors.invalid_argument("Missing ModelSpec")
            servable = lookup(self._manager, request.model_spec)
            return predict.predict(servable, request, self._max_batch_size, self._max_input_bytes, self._batcher)
        return _call(context, answer)

    def GetModelMetadata(self, request: get_model_metadata_pb2.GetModelMetadataRequest,
                         context) -> get_model_metadata_pb2.GetModelMetadataResponse:
        def answer():
            metadata.check_request(request)
            return metadata.metadata_response(lookup(self._manager, request.model_spec))
        return _call(context, answer)

    def Classify(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, _PREDICT_ONLY.format("Classify"))

    def Regress(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, _PREDICT_ONLY.format("Regress"))

    def MultiInference(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, _PREDICT_ONLY.format("MultiInference"))


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """GetModelStatus and HandleReloadConfigRequest."""

    def __init__(self, manager: ModelManager):
        self._manager = manager

    def GetModelStatus(self, request: get_model_status_pb2.GetModelStatusRequest,
                       context) -> get_model_status_pb2.GetModelStatusResponse:
        def answer():
            if not request.HasField("model_spec"):
                raise errors.invalid_argument("Missing ModelSpec")
            spec = request.model_spec
            choice = spec.WhichOneof("version_choice")
            if choice == "version_label":
                return self._manager.status(spec.name, self._manager.label_version(spec.name, spec.version_label))
            return self._manager.status(spec.name, spec.version.value if choice == "version" else None)
        return _call(context, answer)

    def HandleReloadConfigRequest(self, request: model_management_pb2.ReloadConfigRequest,
                                  context) -> model_management_pb2.ReloadConfigResponse:
        def answer():
            self._manager.reload(request.config)
            response = model_management_pb2.ReloadConfigResponse()
            response.status.SetInParent()
            return response
        return _call(context, answer)


def add_to_server(server: grpc.Server, manager: ModelManager, max_batch_size: int | None,
                  max_input_bytes: int | None = None, batcher: Batcher | None = None) -> None:
    """Registers both services on a grpc.Server (the limits: see `predict.predict`; `batcher` merges
    concurrent Predict calls, None: off)."""
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(manager, max_batch_size, max_input_bytes, batcher), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(manager), server)


def _call(context, answer: Callable):
    try:
        return answer()
    except errors.ServingError as e:
        context.abort(e.code, e.message)
    except Exception as e:  # pylint: disable=broad-except
        # A bug must cost one request an INTERNAL error, not the server.
        logging.exception("Unexpected error")
        context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")
