"""Which model versions are loaded: startup, file-system polling, config reloads, lookups, status.

Mirrors TF Serving's ServerCore with its AvailabilityPreservingPolicy: a version the policy
no longer wants is unloaded only once a wanted one is AVAILABLE (or none is wanted any
more), so replacing version 1 with 2 never leaves a gap, and a broken new export leaves
the old one serving. Every state a version passes through (LOADING, AVAILABLE, END, with
the load error if any) is kept for GetModelStatus, also after unloading.

A version that fails to load is retried, as TF Serving's loader retries, with a backoff:
the n-th retry comes `load_retry_seconds * 2**(n-1)` after the failure before it (at most
10 minutes apart, or the interval if longer), at the first scan past that time. A failure
counts against `max_load_retries` only if the version's files (names, sizes, mtimes) are
the same at the next scan: a version still being copied in waits, LOADING, until its files
stop changing, then loads. After the last retry it is END with its error, until its files
change again (a version repaired in place gets fresh attempts) or it goes away.
"""

import dataclasses
import os
import threading
import time

import grpc
from absl import logging
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.config import model_server_config_pb2

from serving import errors, model_config, warmup
from serving import servable as servable_lib
from serving.servable import Servable

State = get_model_status_pb2.ModelVersionStatus.State
# Longest wait between two load retries, unless the retry interval itself is longer.
MAX_RETRY_BACKOFF_SECONDS = 600.0


@dataclasses.dataclass
class _Retries:
    """A version that failed to load: its last error, and whether and when to try again.

    Attributes:
      files: the version directory's files when last looked at (`_files`).
      error: the last load error.
      failures: failures counted against max_load_retries (each on files that then did not change).
      uncounted: the last failure is not counted yet: it is, if the next scan finds the same files.
      next_attempt: time.monotonic() before which the version is not retried.
    """
    files: tuple
    error: errors.ServingError
    failures: int = 0
    uncounted: bool = True
    next_attempt: float = 0.0


class ModelManager:
    """Loads, polls, serves and unloads the versions of every configured model.

    Thread-safe: lookups and status reads take a short lock and never wait for a load.
    """

    def __init__(self, poll_seconds: float = 1.0, enable_warmup: bool = True, max_load_retries: int = 5,
                 load_retry_seconds: float = 60.0):
        """
        Args:
          poll_seconds: seconds between scans of every base path for new and removed
            versions (TF Serving's --file_system_poll_wait_seconds); 0 scans once, at start
            (and never retries).
          enable_warmup: replay each version's assets.extra/tf_serving_warmup_requests before
            marking it AVAILABLE.
          max_load_retries: retries of a version that failed to load on files that did not
            change (TF Serving's --max_num_load_retries); then it is left alone until its
            files change, it goes away or the server restarts.
          load_retry_seconds: wait before the first retry, doubled for each next one (TF
            Serving's --load_retry_interval_micros, there without backoff).
        """
        self._poll_seconds = poll_seconds
        self._enable_warmup = enable_warmup
        self._max_load_retries = max_load_retries
        self._load_retry_seconds = max(load_retry_seconds, 0.0)
        self._lock = threading.Lock()  # guards the maps below; never held while loading
        self._sync_lock = threading.Lock()  # one reconciliation (start, poll or reload) at a time
        self._configs: dict[str, model_server_config_pb2.ModelConfig] = {}
        self._servables: dict[str, dict[int, Servable]] = {}
        self._labels: dict[str, dict[str, int]] = {}
        self._states: dict[str, dict[int, tuple[int, errors.ServingError | None]]] = {}
        self._retries: dict[tuple[str, int], _Retries] = {}  # only touched under _sync_lock
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def start(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """Loads every model of `config` and starts polling; returns when each model is AVAILABLE.

        Raises:
          ServingError: a bad config, a missing base path or one without versions (naming it
            and the fix), or a model none of whose wanted versions loaded.
        """
        for model in model_config.model_configs(config).values():
            if not model_config.list_versions(model):
                raise errors.not_found(
                    f"No versions of servable {model.name} found under base path {model.base_path}. Did you forget "
                    "to name your leaf directory as a number (eg. '/1/')?")
        self._apply(config)
        if self._poll_seconds > 0:
            self._poller = threading.Thread(target=self._poll_loop, name="version-poller", daemon=True)
            self._poller.start()

    def stop(self) -> None:
        """Stops polling and releases every loaded version."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        with self._sync_lock:
            for name in list(self._servables):
                self._unload_all(name)

    def reload(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """Replaces the model list: loads added models, unloads removed ones, re-reads changed ones.

        Nothing changes when the config is invalid or an added model's base path is missing.

        Raises:
          ServingError: INVALID_ARGUMENT / NOT_FOUND for a rejected config; UNKNOWN when a model
            has no AVAILABLE version afterwards; FAILED_PRECONDITION for a label on a version
            that is not AVAILABLE.
        """
        if config.WhichOneof("config") != "model_config_list":
            raise errors.invalid_argument("ServerModelConfig type not supported by HandleReloadConfigRequest. Only "
                                          "ModelConfigList is currently supported")
        for model in model_config.model_configs(config).values():
            model_config.list_versions(model)
        self._apply(config)

    def lookup(self, name: str, version: int | None = None, label: str | None = None) -> Servable:
        """The servable a request's model_spec names: latest, a version, or a labelled version.

        Raises:
          ServingError: INVALID_ARGUMENT for a bad name or unknown label; NOT_FOUND (TF
            Serving's "Servable not found for request: Latest(NAME)" / "Specific(NAME, V)").
        """
        model_config.check_model_name(name)
        if label:
            version = self.label_version(name, label)
        with self._lock:
            available = self._servables.get(name, {})
            if version is None:
                if not available:
                    raise errors.not_found(f"Servable not found for request: Latest({name})")
                return available[max(available)]
            if version not in available:
                raise errors.not_found(f"Servable not found for request: Specific({name}, {version})")
            return available[version]

    def label_version(self, name: str, label: str) -> int:
        """The version a config's version_labels entry points at.

        Raises:
          ServingError: INVALID_ARGUMENT "Unrecognized servable version label: L".
        """
        model_config.check_model_name(name)
        with self._lock:
            version = self._labels.get(name, {}).get(label)
        if version is None:
            raise errors.invalid_argument(f"Unrecognized servable version label: {label}")
        return version

    def status(self, name: str, version: int | None = None) -> get_model_status_pb2.GetModelStatusResponse:
        """GetModelStatus: the state of one version, or of every version ever seen (newest first).

        Raises:
          ServingError: INVALID_ARGUMENT for a bad name, NOT_FOUND (TF Serving's messages).
        """
        model_config.check_model_name(name)
        with self._lock:
            states = dict(self._states.get(name, {}))
        if version is not None:
            if version not in states:
                raise errors.not_found(f"Could not find version {version} of model {name}")
            states = {version: states[version]}
        elif not states:
            raise errors.not_found(f"Could not find any versions of model {name}")
        response = get_model_status_pb2.GetModelStatusResponse()
        for number in sorted(states, reverse=True):
            state, error = states[number]
            entry = response.model_version_status.add(version=number, state=state)
            entry.status.SetInParent()
            if error is not None:
                entry.status.error_code = error.code.value[0]
                entry.status.error_message = error.message
        return response

    def available_versions(self) -> dict[str, list[int]]:
        """model name -> its AVAILABLE versions, ascending (models without one included)."""
        with self._lock:
            return {name: sorted(self._servables.get(name, {})) for name in self._configs}

    def poll(self) -> None:
        """One scan of every base path: loads new wanted versions, unloads unwanted ones."""
        with self._sync_lock:
            with self._lock:
                configs = dict(self._configs)
            for name, model in configs.items():
                try:
                    self._sync(name, model)
                except errors.ServingError as e:
                    # TF Serving keeps serving what it has when a base path disappears.
                    logging.warning("Polling %s: %s", name, e.message)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            self.poll()

    def _apply(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        configs = model_config.model_configs(config)
        with self._sync_lock:
            with self._lock:
                removed = set(self._configs) - set(configs)
                changed = {name for name in set(self._configs) & set(configs) if self._configs[name] != configs[name]}
                self._configs = dict(configs)
            for key in [key for key in self._retries if key[0] in removed | changed]:
                del self._retries[key]
            for name in removed:
                self._unload_all(name)
            problems = {}
            for name, model in configs.items():
                try:
                    self._sync(name, model)
                except errors.ServingError as e:
                    problems[name] = e.message
            with self._lock:
                unavailable = [model for name, model in configs.items() if not self._servables.get(name)]
            if unavailable:
                details = ", ".join(f"{{{model.name}: {problems.get(model.name) or self._why_unavailable(model)}}}"
                                    for model in unavailable)
                raise errors.ServingError(grpc.StatusCode.UNKNOWN,
                                          f"{len(unavailable)} model(s) did not become available: {details}")
            self._set_labels(configs)

    def _why_unavailable(self, model: model_server_config_pb2.ModelConfig) -> str:
        """Why a model has no AVAILABLE version: its newest load error, or what is on disk."""
        for (name, _), retries in sorted(self._retries.items(), reverse=True):
            if name == model.name:
                return retries.error.message
        with self._lock:
            for _, (_, error) in sorted(self._states.get(model.name, {}).items(), reverse=True):
                if error is not None:
                    return error.message
        on_disk = model_config.list_versions(model)
        if on_disk:
            return f"none of versions {on_disk} matches its model_version_policy"
        return f"No versions of servable {model.name} found under base path {model.base_path}"

    def _sync(self, name: str, model: model_server_config_pb2.ModelConfig) -> None:
        """Makes the loaded versions of one model match its policy and what is on disk."""
        on_disk = model_config.list_versions(model)
        wanted = model_config.aspired_versions(model, on_disk)
        with self._lock:
            loaded = set(self._servables.get(name, {}))
        for version in sorted(wanted - loaded):
            path = os.path.join(model.base_path, str(version))
            if self._should_load(name, version, path):
                self._load(name, version, path)
        with self._lock:
            keep_old = bool(wanted) and not wanted & set(self._servables.get(name, {}))
        if not keep_old:
            for version in sorted(loaded - wanted):
                self._unload(name, version)
        for key in [key for key in self._retries if key[0] == name and key[1] not in on_disk]:
            # A version re-exported under the same number deserves fresh attempts.
            del self._retries[key]

    def _should_load(self, name: str, version: int, path: str) -> bool:
        """Whether to try loading a version now: a new one yes; a failed one when its retry is due."""
        retries = self._retries.get((name, version))
        if retries is None:
            return True
        files = _files(path)
        if files != retries.files:
            # Still being written, or replaced: what failed before does not count; load once it stops changing.
            if retries.failures > self._max_load_retries:
                logging.info("Servable {name: %s version: %d} changed on disk: loading it again once its files stop "
                             "changing", name, version)
                self._set_state(name, version, State.LOADING)
            retries.files, retries.failures, retries.uncounted, retries.next_attempt = files, 0, False, 0.0
            return False
        if retries.uncounted:
            retries.uncounted = False
            retries.failures += 1
            if retries.failures > self._max_load_retries:
                logging.error("Giving up loading servable {name: %s version: %d} after %d retries (--max_num_load_"
                              "retries): %s", name, version, self._max_load_retries, retries.error)
                self._set_state(name, version, State.END, retries.error)
                return False
            backoff = self._load_retry_seconds * 2 ** (retries.failures - 1)
            retries.next_attempt = time.monotonic() + min(
                backoff, max(self._load_retry_seconds, MAX_RETRY_BACKOFF_SECONDS))
        return retries.failures <= self._max_load_retries and time.monotonic() >= retries.next_attempt

    def _load(self, name: str, version: int, path: str) -> None:
        self._set_state(name, version, State.LOADING)
        files = _files(path)  # Before loading: a copy still going on during the load shows at the next scan.
        try:
            servable = servable_lib.load(name, version, path)
            if self._enable_warmup:
                warmup.replay(servable)
        except Exception as e:  # pylint: disable=broad-except
            # Whatever a broken export raises, the poller and the other versions carry on.
            error = e if isinstance(e, errors.ServingError) else errors.internal(f"{type(e).__name__}: {e}")
            retries = self._retries.setdefault((name, version), _Retries(files, error))
            retries.files, retries.error, retries.uncounted = files, error, True
            logging.error("Loading servable: {name: %s version: %d} failed: %s", name, version, error)
            return
        with self._lock:
            self._servables.setdefault(name, {})[version] = servable
            self._states.setdefault(name, {})[version] = (State.AVAILABLE, None)
        self._retries.pop((name, version), None)
        logging.info("Successfully loaded servable version {name: %s version: %d}", name, version)

    def _unload(self, name: str, version: int) -> None:
        with self._lock:
            # In-flight requests hold their own reference and finish on the old version.
            self._servables.get(name, {}).pop(version, None)
            self._states.setdefault(name, {})[version] = (State.END, None)
        logging.info("Unloaded servable version {name: %s version: %d}", name, version)

    def _unload_all(self, name: str) -> None:
        with self._lock:
            versions = sorted(self._servables.get(name, {}))
        for version in versions:
            self._unload(name, version)

    def _set_state(self, name: str, version: int, state: int, error: errors.ServingError | None = None) -> None:
        with self._lock:
            self._states.setdefault(name, {})[version] = (state, error)

    def _set_labels(self, configs: dict[str, model_server_config_pb2.ModelConfig]) -> None:
        labels = {}
        with self._lock:
            for name, model in configs.items():
                for label, version in model.version_labels.items():
                    if version not in self._servables.get(name, {}):
                        raise errors.failed_precondition(
                            f"Request to assign label to version {version} of model {name}, which is not currently "
                            "available for inference")
                    labels.setdefault(name, {})[label] = version
            self._labels = labels


def _files(path: str) -> tuple:
    """A version directory's files as (relative path, size, mtime in ns), sorted; directories with size -1."""
    entries = []
    for root, dirs, names in os.walk(path):
        for entry in dirs + names:
            full = os.path.join(root, entry)
            try:
                stat = os.stat(full)
            except OSError:
                continue  # Removed while we looked: the next scan sees the change.
            size = -1 if entry in dirs else stat.st_size
            entries.append((os.path.relpath(full, path), size, 0 if size < 0 else stat.st_mtime_ns))
    return tuple(sorted(entries))
