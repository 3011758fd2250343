"""GetModelMetadata: a loaded version's signature defs, as TF Serving reports them."""

from tensorflow_serving.apis import get_model_metadata_pb2

from serving import errors
from serving.servable import Servable

SIGNATURE_DEF = "signature_def"


def check_request(request: get_model_metadata_pb2.GetModelMetadataRequest) -> None:
    """Raises TF Serving's INVALID_ARGUMENT unless the request asks for `signature_def` only."""
    if not request.HasField("model_spec"):
        raise errors.invalid_argument("Missing ModelSpec")
    if not request.metadata_field:
        raise errors.invalid_argument("GetModelMetadataRequest must specify at least one metadata_field")
    for field in request.metadata_field:
        if field != SIGNATURE_DEF:
            raise errors.invalid_argument(f"Metadata field {field} is not supported")


def metadata_response(servable: Servable) -> get_model_metadata_pb2.GetModelMetadataResponse:
    """model_spec (name, version) and metadata["signature_def"]: a packed SignatureDefMap."""
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    signature_defs = get_model_metadata_pb2.SignatureDefMap()
    for key, signature in servable.signature_defs.items():
        signature_defs.signature_def[key].CopyFrom(signature)
    response.metadata[SIGNATURE_DEF].Pack(signature_defs)
    return response
