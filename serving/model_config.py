"""What to serve: ModelServerConfig files, their checks, version policies, and file watching.

The config is TF Serving's own (`tensorflow_serving.config.ModelServerConfig`, text format),
so one file drives this server and `tensorflow_model_server --model_config_file` alike:

  model_config_list {
    config {
      name: "dcgan"  base_path: "/abs/exports/dcgan"  model_platform: "tensorflow"
      model_version_policy { latest { num_versions: 2 } }    # or all {} / specific { versions: 3 }
      version_labels { key: "stable" value: 3 }
    }
  }
"""

import os
import threading
from collections.abc import Callable, Iterable

from absl import logging
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import errors, layout

# The layout's rules, not copies: `model_config.version_numbers` is `layout.version_numbers`.
from serving.layout import PLATFORM, version_numbers


def check_model_name(name: str) -> None:
    """`layout.check_model_name` as the server answers it: INVALID_ARGUMENT.

    Raises:
      ServingError: empty (TF Serving's message), or not letters/digits/_/-/., or "." / "..".
    """
    try:
        layout.check_model_name(name)
    except ValueError as e:
        raise errors.invalid_argument(str(e)) from None


def single_model_config(name: str, base_path: str) -> model_server_config_pb2.ModelServerConfig:
    """The config `--model_name=NAME --model_base_path=DIR` stands for (base path made absolute)."""
    config = model_server_config_pb2.ModelServerConfig()
    config.model_config_list.config.add(name=name, base_path=os.path.abspath(base_path), model_platform=PLATFORM)
    return config


def read_config_file(path: str) -> model_server_config_pb2.ModelServerConfig:
    """Parses a text-format ModelServerConfig file.

    Raises:
      ServingError: NOT_FOUND for a missing file, INVALID_ARGUMENT (TF Serving's message plus
        the parser's) for a malformed one.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise errors.not_found(f"Cannot read --model_config_file {path}: {e.strerror}; check the path.") from None
    return parse_config_text(text, path)


def parse_config_text(text: str, path: str) -> model_server_config_pb2.ModelServerConfig:
    """Parses the text of a ModelServerConfig file read from `path` (named in errors)."""
    try:
        return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as e:
        raise errors.invalid_argument(
            f"Invalid protobuf file: '{path}': {e}; it must be a text-format tensorflow.serving.ModelServerConfig "
            "(model_config_list { config { ... } }).") from None


def model_configs(config: model_server_config_pb2.ModelServerConfig) -> dict[str, model_server_config_pb2.ModelConfig]:
    """name -> ModelConfig of a config, checked as TF Serving's ServerCore checks it.

    Raises:
      ServingError: INVALID_ARGUMENT for a custom_model_config, a bad or repeated name, a
        relative base path, or a platform other than tensorflow.
    """
    kind = config.WhichOneof("config")
    if kind is None:
        return {}
    if kind != "model_config_list":
        raise errors.invalid_argument("ServerModelConfig type not supported by HandleReloadConfigRequest. Only "
                                      "ModelConfigList is currently supported")
    configs = {}
    for model in config.model_config_list.config:
        check_model_name(model.name)
        if model.name in configs:
            raise errors.invalid_argument(f"Illegal to list model {model.name} multiple times in config list")
        if not os.path.isabs(model.base_path):
            raise errors.invalid_argument(f"Expected model {model.name} to have an absolute path or URI; got "
                                          f"base_path()={model.base_path}")
        if model.model_platform not in ("", PLATFORM):
            raise errors.invalid_argument(f"Model {model.name} requests unsupported platform {model.model_platform}")
        configs[model.name] = model
    return configs


def list_versions(model: model_server_config_pb2.ModelConfig) -> list[int]:
    """The integer version directories under a model's base path, ascending.

    Non-integer entries (such as the exporter's `.tmp-3-123` work directories) are ignored.

    Raises:
      ServingError: NOT_FOUND when the base path is not a directory.
    """
    if not os.path.isdir(model.base_path):
        raise errors.not_found(f"Could not find base path {model.base_path} for servable {model.name}; export a "
                               "model there (<base_path>/<version>/saved_model.pb) or fix the path.")
    return version_numbers(model.base_path)


def aspired_versions(model: model_server_config_pb2.ModelConfig, on_disk: Iterable[int]) -> set[int]:
    """The versions a model's policy wants served out of those on disk.

    latest { num_versions: N } (the default, N=1): the N largest; all {}: every one;
    specific { versions: ... }: the listed ones that exist.
    """
    on_disk = sorted(on_disk)
    policy = model.model_version_policy
    kind = policy.WhichOneof("policy_choice")
    if kind == "all":
        return set(on_disk)
    if kind == "specific":
        return set(policy.specific.versions) & set(on_disk)
    count = max(policy.latest.num_versions, 1) if kind == "latest" else 1
    return set(on_disk[-count:])


class ConfigFileWatcher:
    """Re-reads a config file every `poll_seconds` and hands every changed, valid config on.

    A file that does not parse is logged and skipped: the server keeps its last good config.
    """

    def __init__(self, path: str, poll_seconds: float,
                 on_change: Callable[[model_server_config_pb2.ModelServerConfig], None]):
        self._path = path
        self._poll_seconds = poll_seconds
        self._on_change = on_change
        self._last = self._read_text()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="config-file-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _read_text(self) -> str | None:
        try:
            with open(self._path, encoding="utf-8") as f:
                return f.read()
        except OSError:
            return None

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            text = self._read_text()
            if text is None or text == self._last:
                continue
            self._last = text
            try:
                self._on_change(parse_config_text(text, self._path))
            except errors.ServingError as e:
                logging.error("Config file %s changed but was not applied: %s", self._path, e)
