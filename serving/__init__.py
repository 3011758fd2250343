"""An embedded, TensorFlow-Serving-compatible model server for the course's SavedModels.

`python -m serving.server --model_base_path=DIR --model_name=NAME` serves every integer
version directory under DIR (TF Serving's layout) over TF Serving's gRPC API
(PredictionService, ModelService) and REST API (/v1/models/...), with TF Serving's error
codes, messages and JSON formats, so clients written against the official
`tensorflow-serving-api` stubs, or against TF Serving's REST documentation, work unchanged.
The modules, from the wire inwards: `server` (flags, wiring), `http_server` (the REST API's
HTTP/1.1 transport on aiohttp: connections, timeouts, body limits, admission, /demo),
`grpc_service` and `rest` (the two front ends), `json_tensors` and `tensors` (codecs),
`predict` (the shared Predict), `model_manager` (versions, polling, reloads), `servable`
and `warmup` (one loaded version), `model_config` (config files and version policies),
`layout` (what an exporter and the server agree on: model names, version directories, the
warmup file, models.config, reading signature defs; a leaf, and the only module the
exporter `tfgan_course.export` uses) and `errors` (the error every layer raises); `client`
queries either this server or TF Serving. Nothing here imports `tfgan_course`. See
serving/README.md for where the server differs from TF Serving.
"""

import os

# oneDNN's CPU kernels even where TensorFlow's default leaves them off (AVX2-only CPUs): the reason is in
# tfgan_course/__init__.py. Set before anything here imports TensorFlow; TF_ENABLE_ONEDNN_OPTS=0 keeps them off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
