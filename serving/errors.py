"""The one error type every serving layer raises: a gRPC status code and a message.

gRPC answers it with `context.abort(code, message)`; REST with the HTTP status TF Serving
maps the code to and `{"error": message}`. Messages copy TF Serving's wording where TF
Serving has one, so clients that match on them keep working.
"""

import grpc


class ServingError(Exception):
    """A request or load failure with the gRPC status code it is answered with.

    Attributes:
      code: grpc.StatusCode, e.g. INVALID_ARGUMENT for a bad request, NOT_FOUND for an
        unknown model or version.
      message: human-readable text naming the problem (and the fix, where we add one).
    """

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self):
        return f"{self.code.name}: {self.message}"


def invalid_argument(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.NOT_FOUND, message)


def failed_precondition(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.FAILED_PRECONDITION, message)


def internal(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INTERNAL, message)


def unimplemented(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.UNIMPLEMENTED, message)


def from_code_number(number: int, message: str) -> ServingError:
    """The error for a numeric status code: TensorFlow's error codes are gRPC's numbers.

    Args:
      number: e.g. `tf.errors.OpError.error_code`, or `StatusProto.error_code`.
      message: the message to carry.
    """
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return ServingError(code, message)
    return ServingError(grpc.StatusCode.UNKNOWN, message)
