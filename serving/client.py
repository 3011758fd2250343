"""Query a served generator over gRPC or REST and save what it draws as a PNG grid.

    python -m serving.client --target=localhost:8500 --model=dcgan_fashion_mnist --num=16 --out=grid.png
    python -m serving.client --target=http://localhost:8501 --model=cdcgan_mnist --label=3
    python -m serving.client --target=localhost:8500 --interpolate --num=10 --seed=4 --out=path.png
    python -m serving.client --target=localhost:8500 --model=pix2pix_edges --translate=in.png,other.png
    python -m serving.client --target=localhost:8500 --model=srgan_fashion_mnist_4x --upscale=small.png
    python -m serving.client --target=localhost:8500 --model=context_encoder_fashion_mnist --inpaint=a.png --mask=hole.png

A target `host:port` (or `grpc://host:port`) speaks gRPC through the official
tensorflow-serving-api stubs; `http://host:port` speaks TF Serving's REST API. Either
works unchanged against the real `tensorflow_model_server` and the embedded
`python -m serving.server`. The client reads the model's signatures from its metadata,
so it needs nothing but the model's name.

Samples come from the export's `sample` signature (seeds --seed .. --seed+num-1); an
interpolation from `interpolate`, between the latent vectors of --seed and --seed+1. The
client asks `sample` for those two vectors (its `z` output, with output_filter=["z"] over
gRPC), so the interpolation's ends are those two samples whatever the model's latent
distribution (Gaussian, uniform, with InfoGAN codes). An export older than that output has
no `z` to give: the client then draws N(0, I) rows itself, row i
`tf.random.stateless_normal([D], seed=[seed_i, 0])`, which is what such exports' `sample`
drew by default; for an old export of a non-Gaussian z the ends are then not its samples.

An image-to-image translator (pix2pix, CycleGAN) takes PNG files: --translate sends them to
its `translate_png` signature (a CycleGAN's `reverse_png` with --reverse), which resizes each
to the trained size, and the grid shows each input beside its translation. An upscaler
(SRResNet, SRGAN) takes PNG files of any size: --upscale sends them to its `upscale_png`
signature, which answers each at s times its own size, and the grid shows each input
(enlarged by pixel repetition, to see its pixels) beside its upscaling. An inpainter (a context
encoder) takes PNG files and masks (white = missing): --inpaint with --mask (one mask for every
file, or one per file) sends them to its `inpaint_png`, and the grid shows each input beside its
completion.

It needs only the official tensorflow-serving-api stubs (and the tensorflow they use for
`make_tensor_proto` / `make_ndarray`), numpy and PIL: nothing of the training project.
"""

import base64
import io
import json
import math
import os
import re
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import grpc
import numpy as np
import tensorflow as tf
from absl import app, flags
from PIL import Image
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

# Generated grids easily pass gRPC's default 4 MB receive limit.
_GRPC_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


class ServingError(RuntimeError):
    """A model server answered an error (or none): `code` names its status, e.g. NOT_FOUND or UNAVAILABLE."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def summary(self) -> str:
        """One line: the code and, for a failed assertion of the model's graph (TF Serving sends the whole
        graph error), only the assertion's own message, e.g. "INVALID_ARGUMENT: text: every prompt needs at
        least one word; got an empty one"."""
        match = re.search(r"assertion failed: \[([^\]]*)\]", self.message)
        if match:
            return f"{self.code}: {match.group(1)}"
        first_line = self.message.splitlines()[0] if self.message else ""
        return f"{self.code}: {first_line}"


@dataclass(frozen=True)
class TensorInfo:
    dtype: tf.DType
    shape: tuple  # -1 for a dynamic dimension


@dataclass(frozen=True)
class Signature:
    inputs: dict  # alias -> TensorInfo
    outputs: dict


@dataclass(frozen=True)
class Answer:
    outputs: dict  # alias -> numpy array (bytes objects for strings)
    version: int | None  # the version that ran (REST answers do not say: None unless one was asked for)
    latency_ms: float  # the request's wall time, client side


class GrpcClient:
    """TF Serving's gRPC PredictionService through the official stubs."""

    def __init__(self, target: str, timeout: float = 30.0):
        self.target = target.removeprefix("grpc://")
        self.timeout = timeout
        self._channel = grpc.insecure_channel(self.target, options=_GRPC_OPTIONS)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def signatures(self, model: str, version: int = 0) -> dict:
        """{signature key: Signature} from GetModelMetadata."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _set_spec(request.model_spec, model, version)
        response = self._call(self._stub.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return {key: Signature(*({alias: TensorInfo(tf.as_dtype(info.dtype),
                                                    tuple(d.size for d in info.tensor_shape.dim))
                                  for alias, info in tensors.items()}
                                 for tensors in (signature.inputs, signature.outputs)))
                for key, signature in signature_map.signature_def.items()}

    def predict(self, model: str, signature: str, inputs: dict, version: int = 0, output_filter=()) -> Answer:
        request = predict_pb2.PredictRequest(output_filter=list(output_filter))
        _set_spec(request.model_spec, model, version, signature)
        for alias, value in inputs.items():
            request.inputs[alias].CopyFrom(tf.make_tensor_proto(value))
        start = time.perf_counter()
        response = self._call(self._stub.Predict, request)
        latency_ms = 1000 * (time.perf_counter() - start)
        return Answer({alias: tf.make_ndarray(proto) for alias, proto in response.outputs.items()},
                      response.model_spec.version.value, latency_ms)

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            message = e.details()
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                message = f"no model server answers at {self.target} ({message}); is it running?"
            raise ServingError(e.code().name, message) from None


class RestClient:
    """TF Serving's REST API: /v1/models/NAME[/versions/N]/metadata and :predict (columnar `inputs`)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._lone_outputs = {}  # (model, version, signature) -> the alias of a signature's only output

    def close(self):
        pass

    def signatures(self, model: str, version: int = 0) -> dict:
        answer = self._request(f"{self._model_url(model, version)}/metadata")
        signature_map = answer["metadata"]["signature_def"]["signature_def"]
        return {key: Signature(*({alias: TensorInfo(tf.as_dtype(types_pb2.DataType.Value(info["dtype"])),
                                                    tuple(int(d["size"]) for d in info["tensor_shape"].get("dim", [])))
                                  for alias, info in signature.get(kind, {}).items()}
                                 for kind in ("inputs", "outputs")))
                for key, signature in signature_map.items()}

    def predict(self, model: str, signature: str, inputs: dict, version: int = 0, output_filter=()) -> Answer:
        """`output_filter` is applied client-side: TF Serving's REST API has no such field."""
        body = {"signature_name": signature, "inputs": {alias: _to_json(value) for alias, value in inputs.items()}}
        start = time.perf_counter()
        answer = self._request(f"{self._model_url(model, version)}:predict", body)
        latency_ms = 1000 * (time.perf_counter() - start)
        outputs = answer["outputs"]
        if not isinstance(outputs, dict):  # TF Serving answers a lone output bare.
            outputs = {self._lone_output(model, version, signature): outputs}
        outputs = {alias: _from_json(value) for alias, value in outputs.items()
                   if not output_filter or alias in output_filter}
        return Answer(outputs, version or None, latency_ms)

    def _lone_output(self, model, version, signature):
        key = (model, version, signature)
        if key not in self._lone_outputs:
            self._lone_outputs[key] = next(iter(self.signatures(model, version)[signature].outputs))
        return self._lone_outputs[key]

    def _model_url(self, model, version):
        return f"{self.base_url}/v1/models/{model}" + (f"/versions/{version}" if version else "")

    def _request(self, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as e:
            try:
                message = json.load(e).get("error", e.reason)
            except ValueError:
                message = e.reason
            raise ServingError(f"HTTP {e.code}", message) from None
        except (urllib.error.URLError, ConnectionError) as e:
            raise ServingError("UNAVAILABLE", f"no model server answers at {self.base_url} ({e}); is it running?") \
                from None


def connect(target: str, timeout: float = 30.0):
    """A GrpcClient for `host:port` / `grpc://host:port`, a RestClient for `http(s)://host:port`."""
    if target.startswith(("http://", "https://")):
        return RestClient(target, timeout)
    return GrpcClient(target, timeout)


def sample(client, model: str, num: int, seed: int = 0, label: int | None = None, version: int = 0):
    """(uint8 [num, H, W, C] images from seeds seed..seed+num-1, Answer) via the `sample` signature."""
    inputs = {"seed": np.arange(seed, seed + num, dtype=np.int64)}
    if label is not None:
        inputs["label"] = np.full([num], label, np.int32)
    answer = client.predict(model, "sample", inputs, version, output_filter=["images_png_bytes"])
    return _decode_pngs(answer.outputs["images_png_bytes"]), answer


def seeded_z(client, model: str, seeds, label: int | None = None, version: int = 0) -> np.ndarray:
    """float32 [len(seeds), D]: the generator input the `sample` signature draws for each seed.

    The export's `sample` signature answers it as its output `z` (asked for alone:
    output_filter=["z"]), so this holds for any latent distribution. For an export older
    than that output, falls back to N(0, I): row i is
    `tf.random.stateless_normal([D], seed=[seeds[i], 0])`, what those exports' `sample` drew
    by default (an old export of a uniform-z or InfoGAN generator drew otherwise).

    Args:
      client: a GrpcClient or RestClient.
      model: the served model's name.
      seeds: int seeds.
      label: a conditional model's class (its `sample` signature requires one; z does not depend on it).
      version: the model version; 0 = the latest.
    """
    signatures = client.signatures(model, version)
    seeds = np.asarray(seeds, np.int64)
    if "z" in signatures["sample"].outputs:
        inputs = {"seed": seeds}
        if label is not None:
            inputs["label"] = np.full([len(seeds)], label, np.int32)
        answer = client.predict(model, "sample", inputs, version, output_filter=["z"])
        return np.asarray(answer.outputs["z"], np.float32)
    # An export written before `sample` had a `z` output: N(0, I), the z such exports' `sample` drew by
    # default (`normal_seeded_inputs`). Right for them; for an old uniform-z or InfoGAN export it is not.
    latent_dim = signatures["interpolate"].inputs["z_start"].shape[1]
    return np.stack([tf.random.stateless_normal([latent_dim], seed=[int(s), 0]).numpy() for s in seeds]).astype(
        np.float32)


def interpolate(client, model: str, num_steps: int, seed: int = 0, label: int | None = None, version: int = 0):
    """(uint8 [num_steps, H, W, C] from seed's sample to seed+1's, Answer) via the `interpolate` signature.

    The two ends' z come from `seeded_z` (the `sample` signature's `z` output, or N(0, I)
    for an export older than it).
    """
    z = seeded_z(client, model, [seed, seed + 1], label, version)
    inputs = {"z_start": z[:1], "z_end": z[1:], "num_steps": np.array([num_steps], np.int32)}
    if label is not None:
        inputs["label"] = np.array([label], np.int32)
    answer = client.predict(model, "interpolate", inputs, version, output_filter=["images_png_bytes"])
    return _decode_pngs(answer.outputs["images_png_bytes"][0]), answer


def generate(client, model: str, prompts, seed: int = 0, version: int = 0):
    """(uint8 [N, H, W, C] images of N prompts, prompt i with seed seed + i, Answer) via a text-to-image
    model's `generate` signature. An empty prompt is INVALID_ARGUMENT (a ServingError)."""
    inputs = {"text": np.array([prompt.encode() for prompt in prompts], dtype=object),
              "seed": np.arange(seed, seed + len(prompts), dtype=np.int64)}
    answer = client.predict(model, "generate", inputs, version, output_filter=["images_png_bytes"])
    return _decode_pngs(answer.outputs["images_png_bytes"]), answer


def translate(client, model: str, png_files, reverse: bool = False, version: int = 0):
    """(uint8 [N, H, W, Cout] translations of N PNG files, Answer) via `translate_png` (or `reverse_png`).

    The files may be of any size, grey, RGB or RGBA: the export composites each over white,
    converts it to its input channels and resizes it to its trained size.
    """
    signature = "reverse_png" if reverse else "translate_png"
    inputs = {"images_png_bytes": np.array(list(png_files), dtype=object)}
    answer = client.predict(model, signature, inputs, version, output_filter=["images_png_bytes"])
    return _decode_pngs(answer.outputs["images_png_bytes"]), answer


def upscale(client, model: str, png_files, version: int = 0):
    """([uint8 [s H_i, s W_i, Cout] for each file], Answer): N PNG files of any sizes via `upscale_png`.

    Each file keeps its own size (composited over white and converted to the input's channels
    by the export); the list holds each at s times it, s the model's scale.
    """
    inputs = {"images_png_bytes": np.array(list(png_files), dtype=object)}
    answer = client.predict(model, "upscale_png", inputs, version, output_filter=["images_png_bytes"])
    return [_decode_pngs(png)[0] for png in np.ravel(answer.outputs["images_png_bytes"])], answer


def inpaint(client, model: str, png_files, mask_files, version: int = 0):
    """(uint8 [N, H, W, C] completions, Answer) of N PNG files with N mask PNG files via `inpaint_png`.

    A mask's light pixels (luma at least half white) are missing, its dark ones known; the export
    reads both as `translate_png` reads files (at its trained size) and answers the known pixels as they were.
    """
    inputs = {"images_png_bytes": np.array(list(png_files), dtype=object),
              "mask_png_bytes": np.array(list(mask_files), dtype=object)}
    answer = client.predict(model, "inpaint_png", inputs, version, output_filter=["images_png_bytes"])
    return _decode_pngs(answer.outputs["images_png_bytes"]), answer


def enlarged_beside(png_files, upscaled, pad_value: int = 76) -> np.ndarray:
    """uint8 RGB [2N, H, W, 3]: each input file repeated to its upscaling's size, then the upscaling.

    Pixel repetition (nearest neighbour) shows the input's own pixels at the output's size; pairs of
    different sizes are padded with `pad_value` to the largest, so they fit one grid.
    """
    rows = []
    for png, output in zip(png_files, upscaled):
        shown = _on_white(png).resize(output.shape[1::-1], Image.NEAREST)
        rows += [np.asarray(shown), np.repeat(output, 3 // output.shape[-1], axis=-1)]
    height, width = max(row.shape[0] for row in rows), max(row.shape[1] for row in rows)
    return np.stack([np.pad(row, ((0, height - row.shape[0]), (0, width - row.shape[1]), (0, 0)),
                            constant_values=pad_value) for row in rows])


def _on_white(png: bytes) -> Image.Image:
    """A PNG file as an RGB picture, composited over white (as the exports read their inputs)."""
    shown = Image.open(io.BytesIO(png)).convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", shown.size, (255, 255, 255, 255)), shown).convert("RGB")


def side_by_side(png_files, translations) -> np.ndarray:
    """uint8 RGB [2N, H, W, 3]: each input file (resized for display) followed by its translation."""
    height, width = translations.shape[1:3]
    rows = []
    for png, output in zip(png_files, translations):
        shown = _on_white(png).resize((width, height), Image.BILINEAR)
        rows += [np.asarray(shown), np.repeat(output, 3 // output.shape[-1], axis=-1)]
    return np.stack(rows)


def image_grid(images, nrow: int = 8, padding: int = 2, pad_value: int = 76) -> np.ndarray:
    """uint8 [N, H, W, C] (C = 1 or 3) -> one uint8 RGB picture of them, row by row.

    torchvision's make_grid layout, as the project's sample grids: cols = min(nrow, N)
    columns and rows = ceil(N / cols), `padding` pixels of `pad_value` around and between
    the cells (and in a last row's empty ones): [rows * (H + padding) + padding,
    cols * (W + padding) + padding, 3].
    """
    images = np.asarray(images, np.uint8)
    if images.ndim != 4 or not len(images) or images.shape[-1] not in (1, 3):
        raise ValueError(f"image_grid expects uint8 [N, H, W, C] with N >= 1 and C in (1, 3), got {images.shape}")
    n, h, w, _ = images.shape
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    cells = np.full((rows * cols, h + padding, w + padding, 3), pad_value, np.uint8)
    cells[:n, padding:, padding:] = images
    grid = cells.reshape(rows, cols, h + padding, w + padding, 3).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(rows * (h + padding), cols * (w + padding), 3)
    return np.pad(grid, ((0, padding), (0, padding), (0, 0)), constant_values=pad_value)


def save_grid(images, path: str, nrow: int = 8) -> None:
    """Writes `image_grid(images, nrow)` as a PNG file, atomically (a reader never sees half of it)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = f"{path}.tmp-{os.getpid()}"
    try:
        Image.fromarray(image_grid(images, nrow)).save(temp, format="PNG")
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()


def _decode_pngs(encoded) -> np.ndarray:
    images = [np.asarray(Image.open(io.BytesIO(png))) for png in np.ravel(encoded)]
    return np.stack([image[..., None] if image.ndim == 2 else image for image in images])


def _to_json(value):
    """numpy -> a JSON tensor value; bytes leaves become {"b64": ...}, as TF Serving's REST API reads them."""
    value = np.asarray(value)
    if value.dtype.kind not in ("O", "S"):
        return value.tolist()
    encode = np.vectorize(lambda b: {"b64": base64.b64encode(b).decode("ascii")}, otypes=[object])
    return encode(value).tolist()


def _from_json(value):
    """A JSON tensor value -> numpy; {"b64": ...} leaves become bytes."""
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    if isinstance(value, list) and value and _contains_b64(value):
        return np.array(_decode_b64(value), dtype=object)
    return np.asarray(value)


def _contains_b64(value):
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, dict)


def _decode_b64(value):
    return [_decode_b64(v) for v in value] if isinstance(value, list) else base64.b64decode(value["b64"])


def _set_spec(spec, model, version, signature=None):
    spec.name = model
    if version:
        spec.version.value = version
    if signature:
        spec.signature_name = signature


def define_flags():
    flags.DEFINE_string("target", "localhost:8500", "host:port (gRPC) or http://host:port (REST) of a model server.")
    flags.DEFINE_string("model", "dcgan_fashion_mnist", "The served model's name.")
    flags.DEFINE_integer("version", 0, "Model version; 0 = the latest the server has.")
    flags.DEFINE_integer("num", 16, "Images to sample, or steps of the interpolation (both ends included).")
    flags.DEFINE_integer("seed", 0, "First seed: samples use seed..seed+num-1; --interpolate goes seed -> seed+1.")
    flags.DEFINE_integer("label", None, "Class of a conditional model's images.")
    flags.DEFINE_bool("interpolate", False, "Draw the path between two samples instead of a grid of samples.")
    flags.DEFINE_list("translate", [], "PNG files for an image-to-image translator: each input beside its output.")
    flags.DEFINE_bool("reverse", False, "With --translate: a CycleGAN's other direction (B -> A).")
    flags.DEFINE_list("upscale", [], "PNG files (any size) for an upscaler: each input beside its upscaling.")
    flags.DEFINE_list("inpaint", [], "PNG files for an inpainter, with --mask: each input beside its completion.")
    flags.DEFINE_list("mask", [], "With --inpaint: PNG masks (white = missing), one for every file or one per file.")
    flags.DEFINE_string("prompt", None, "A text-to-image model's prompt: --num images of it, seeds seed..seed+num-1.")
    flags.DEFINE_string("out", "grid.png", "Where the PNG grid goes.")
    flags.DEFINE_float("timeout", 30.0, "Seconds to wait for an answer.")
    flags.DEFINE_float("wait_seconds", 0.0, "Keep retrying this long while the server is unreachable or has not "
                       "loaded the model yet (for scripts that have just started one).")


def main(argv):
    del argv
    FLAGS = flags.FLAGS  # pylint: disable=invalid-name
    if FLAGS.num < 1 or (FLAGS.interpolate and FLAGS.num < 2):
        print(f"--num={FLAGS.num}: ask for at least {2 if FLAGS.interpolate else 1}.", file=sys.stderr)
        return 2
    client = connect(FLAGS.target, FLAGS.timeout)
    draw = interpolate if FLAGS.interpolate else sample
    if FLAGS.prompt is not None:
        def draw(client, model, num, seed, label, version):
            del label
            return generate(client, model, [FLAGS.prompt] * num, seed, version)
    given = [name for name in ("translate", "upscale", "inpaint") if getattr(FLAGS, name)]
    if len(given) > 1:
        print(f"--{' and --'.join(given)}: give one of them (a translator takes --translate, an upscaler --upscale, "
              "an inpainter --inpaint).", file=sys.stderr)
        return 2
    if bool(FLAGS.inpaint) != bool(FLAGS.mask) or len(FLAGS.mask) not in (1, len(FLAGS.inpaint or FLAGS.mask)):
        print("--inpaint and --mask go together: PNG files and their masks (white = missing), one mask for every "
              "file or one per file.", file=sys.stderr)
        return 2
    files_flag = given[0] if given else None
    if files_flag:
        try:
            png_files = [_read_file(path) for path in getattr(FLAGS, files_flag)]
            mask_files = [_read_file(path) for path in FLAGS.mask] * (len(png_files) if len(FLAGS.mask) == 1 else 1)
        except OSError as e:
            print(f"--{files_flag} or --mask: cannot read {e.filename}: {e.strerror}.", file=sys.stderr)
            return 2

        def draw(client, model, num, seed, label, version):
            del num, seed, label
            if FLAGS.inpaint:
                completions, answer = inpaint(client, model, png_files, mask_files, version)
                return side_by_side(png_files, completions), answer
            if FLAGS.upscale:
                upscaled, answer = upscale(client, model, png_files, version)
                return enlarged_beside(png_files, upscaled), answer
            translations, answer = translate(client, model, png_files, FLAGS.reverse, version)
            return side_by_side(png_files, translations), answer
    deadline = time.time() + FLAGS.wait_seconds
    try:
        while True:
            try:
                images, answer = draw(client, FLAGS.model, FLAGS.num, FLAGS.seed, FLAGS.label, FLAGS.version)
                break
            except ServingError as e:
                # A server that is still starting refuses connections or has not loaded the model yet.
                if e.code not in ("UNAVAILABLE", "NOT_FOUND", "HTTP 404") or time.time() > deadline:
                    print(f"{FLAGS.target}: {e.summary()}", file=sys.stderr)
                    return 1
                time.sleep(0.5)
    finally:
        client.close()
    save_grid(images, FLAGS.out, nrow=2 if files_flag else FLAGS.num if FLAGS.interpolate else 8)
    if files_flag:
        count, kind = len(png_files), {"translate": "translations (input | output)",
                                       "upscale": "upscalings (input enlarged | output)",
                                       "inpaint": "completions (input | output)"}[files_flag]
    else:
        count, kind = FLAGS.num, "interpolation steps" if FLAGS.interpolate else "samples"
    version = f"version {answer.version}" if answer.version else "latest version"
    print(f"{count} {kind} of {FLAGS.model} ({version}) from {FLAGS.target} "
          f"in {answer.latency_ms:.1f} ms -> {FLAGS.out}")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
