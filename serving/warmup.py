"""Replays a version's `assets.extra/tf_serving_warmup_requests` at load, as TF Serving does.

The file is a TFRecord of PredictionLog protos. Running them before the version is marked
AVAILABLE traces and optimises the functions, so no user request pays for that. A request
that fails fails the load, as in TF Serving; a version without the file loads as usual.
"""

import os

import tensorflow as tf
from absl import logging
from google.protobuf import message
from tensorflow_serving.apis import prediction_log_pb2

from serving import errors, predict
from serving.layout import WARMUP_FILE
from serving.servable import Servable

MAX_RECORDS = 1000  # TF Serving's WarmupConsts::kMaxNumRecords


def replay(servable: Servable) -> int:
    """Runs every warmup request of a servable through Predict.

    Args:
      servable: a freshly loaded version.

    Returns:
      The number of records replayed (0 without a warmup file).

    Raises:
      ServingError: a record does not parse, is not a predict log, or its request fails.
    """
    path = os.path.join(servable.path, WARMUP_FILE)
    if not os.path.exists(path):
        return 0
    count = 0
    try:
        for record in tf.data.TFRecordDataset(path):
            if count >= MAX_RECORDS:
                raise errors.invalid_argument(f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}")
            try:
                log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
            except message.DecodeError:
                raise errors.invalid_argument(f"Failed to parse warmup record {count} from {path}") from None
            kind = log.WhichOneof("log_type")
            if kind != "predict_log":
                raise errors.unimplemented(f"Unsupported log_type for warmup: {kind} (record {count} of {path}); "
                                           "this server replays predict_log records only.")
            predict.predict(servable, log.predict_log.request)
            count += 1
    except tf.errors.DataLossError as e:
        raise errors.from_code_number(e.error_code, f"{e.message}. Please verify your warmup data is in TFRecord "
                                      "format.") from None
    logging.info("Finished reading warmup data for model at %s. Number of warmup records read: %d.", path, count)
    return count
