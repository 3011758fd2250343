"""The HTTP transport of the REST API: aiohttp's HTTP/1.1 server in a thread, model work on workers.

One background thread runs aiohttp's event loop. It accepts connections, parses requests and
reads bodies, so a slow or stalled client costs a coroutine, never a worker; the model work
(`rest.RestApi.handle`: JSON parsing and TensorFlow) runs on `num_threads` worker threads.

  headers   within `read_timeout_seconds` of connecting, or of the previous answer on a
            keep-alive connection (so this is also the idle keep-alive time); else the
            connection is closed. Lines up to 8190 bytes, 128 headers (aiohttp's limits).
  body      a Content-Length over `max_request_bytes`: 413 before reading; a chunked body is
            read up to the limit, 413 past it; the whole body within `read_timeout_seconds`
            of its headers, else 408. A Content-Length that is not a number (-1, abc): 400.
  admission at most `max_concurrent_requests` API requests running or waiting for a worker
            (429 beyond); bodies are read before admission, so trickling clients hold no slot.
  methods   GET, POST, HEAD, PUT, DELETE, OPTIONS and PATCH reach the API, as in TF Serving,
            which answers all but status, metadata and :predict with 400 "Malformed request";
            other methods (TRACE, CONNECT, ...) get 501, as TF Serving's HTTP server answers.

Every error, the transport's included, is TF Serving's `{"error": "<message>"}`. A client that
disconnects costs its request's answer and nothing else: no traceback in the log.
With `demo_dir`, GET /demo serves that directory and /demo/config.json the models served.
"""

import asyncio
import concurrent.futures
import os
import re
import socket
import threading

from absl import logging
from aiohttp import web

from serving import rest

WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
READ_TIMEOUT_SECONDS = 30.0
# Connections waiting to be accepted. A burst beyond the queue is dropped by the kernel and
# retried by clients a second later (http.server's backlog of 5 cost a p99 of ~1 s). The OS
# caps it (Linux at net.core.somaxconn); socket.SOMAXCONN is 128 in some Python builds.
LISTEN_BACKLOG = 4096
# What TF Serving's libevent server passes to its handler (evhttp_server.cc); it answers
# other methods 501.
_TF_SERVING_METHODS = frozenset(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])
_API_PREFIX = re.compile(r"(?i)/v1/")
_DEMO_PREFIX = "/demo"
_DEMO_CONFIG = "config.json"


class RestServer:
    """TF Serving's REST API over HTTP/1.1 (keep-alive) on a port, with request limits and /demo.

      server = RestServer(("127.0.0.1", 0), api, num_threads=4, max_concurrent_requests=64,
                          max_request_bytes=1 << 20).start()
      ... http://127.0.0.1:{server.port}/v1/models/NAME ...
      server.stop()
    """

    def __init__(self, address: tuple[str, int], api: rest.RestApi, *, num_threads: int,
                 max_concurrent_requests: int, max_request_bytes: int,
                 read_timeout_seconds: float = READ_TIMEOUT_SECONDS, demo_dir: str | None = None):
        """
        Args:
          address: (host, port); port 0 picks a free one (see `port` after `start`).
          api: answers the /v1/ requests.
          num_threads: API requests processed at once; admitted ones beyond wait.
          max_concurrent_requests: API requests admitted (processing or waiting); more get 429.
          max_request_bytes: larger bodies get 413, read no further than the limit.
          read_timeout_seconds: time a client has to send a request's headers, and then its
            body; slower connections are closed (a late body gets 408 first).
          demo_dir: a directory served under /demo (index.html at /demo), or None.
        """
        self._address = address
        self._api = api
        self._num_threads = num_threads
        self._max_concurrent_requests = max_concurrent_requests
        self._max_request_bytes = max_request_bytes
        self._read_timeout = read_timeout_seconds
        self._demo_dir = demo_dir
        self._admitted = 0  # Touched by the event loop's thread only.
        self._workers: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._web_server: web.Server | None = None
        self._listener: asyncio.AbstractServer | None = None
        self.port: int | None = None

    def start(self) -> "RestServer":
        """Binds the port and starts serving; returns once requests are accepted.

        Raises:
          OSError: the address cannot be bound (busy port, unknown host).
        """
        sock = _listen(*self._address)
        self.port = sock.getsockname()[1]
        self._workers = concurrent.futures.ThreadPoolExecutor(self._num_threads, thread_name_prefix="rest")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rest-http", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(sock), self._loop).result()
        except BaseException:
            sock.close()
            self.stop()
            raise
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stops accepting, gives running requests `grace` seconds (None: none), closes every connection."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(grace), self._loop).result()
        # Model work already running finishes before the caller unloads the models.
        self._workers.shutdown(wait=True, cancel_futures=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = None

    def __enter__(self) -> "RestServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    async def _serve(self, sock: socket.socket) -> None:
        self._web_server = _WebServer(self._handle, keepalive_timeout=self._read_timeout,
                                      access_log_class=_AccessLog,
                                      # Bodies as sent, as TF Serving reads them (and bounded as sent).
                                      auto_decompress=False)
        self._listener = await asyncio.get_running_loop().create_server(self._web_server, sock=sock,
                                                                         backlog=LISTEN_BACKLOG)

    async def _close(self, grace: float | None) -> None:
        if self._listener is not None:
            self._listener.close()
            self._web_server.pre_shutdown()  # Idle keep-alive connections close now.
            # aiohttp reads a timeout of 0 as no limit at all.
            await self._web_server.shutdown(max(grace or 0.0, 1e-3))
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answers one request; every refusal is TF Serving's {"error": ...} JSON."""
        method, path = request.method, request.rel_url.raw_path
        try:
            if method not in _TF_SERVING_METHODS:
                raise _Refusal(501, f"Method {method} is not implemented by this server: the API takes GET and POST.")
            if _API_PREFIX.match(path):
                body = await self._read_body(request) if method == "POST" else b""
                return _json_response(*await self._call_api(self._api.handle, method, path, body))
            if self._demo_dir and method in ("GET", "HEAD") and (path == _DEMO_PREFIX or
                                                                 path.startswith(_DEMO_PREFIX + "/")):
                return await self._demo(path[len(_DEMO_PREFIX):].lstrip("/") or "index.html")
            raise _Refusal(404, f"Not found: {method} {path}. The API is under /v1/models/<name> (status, "
                           "/metadata, :predict).")
        except _Refusal as refusal:
            return refusal.response()
        except ConnectionError:
            # The client left mid-body: there is no one to answer, and nothing to log.
            return _json_response(499, rest.error_json("Client closed the connection."))

    async def _read_body(self, request: web.BaseRequest) -> bytes:
        """The body, within the read timeout and the size limit.

        Raises:
          _Refusal: 413 over max_request_bytes (before reading when Content-Length says so),
            408 when it does not arrive in time, 400 for a malformed chunked body.
        """
        length = request.content_length
        if length is not None and length > self._max_request_bytes:
            raise _Refusal(413, self._too_large(f" of {length} bytes"))
        if request.version >= (1, 1) and request.headers.get("Expect", "").lower() == "100-continue":
            # curl asks before sending a body over 1 KiB, and waits a second for this otherwise.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            return await asyncio.wait_for(self._read_bounded(request.content), self._read_timeout)
        except asyncio.TimeoutError:
            raise _Refusal(408, f"The request body did not arrive within {self._read_timeout:g} s "
                           "(--rest_api_read_timeout_seconds).") from None
        except web.RequestPayloadError as e:
            raise _Refusal(400, f"Malformed request body: {e}") from None

    async def _read_bounded(self, content) -> bytes:
        body = bytearray()
        while chunk := await content.readany():
            body += chunk
            if len(body) > self._max_request_bytes:
                raise _Refusal(413, self._too_large(""))
        return bytes(body)

    def _too_large(self, size: str) -> str:
        return (f"Request body{size} is over this server's limit of {self._max_request_bytes} bytes "
                "(--max_request_bytes): send smaller batches, or restart the server with a larger "
                "--max_request_bytes.")

    async def _call_api(self, function, *args) -> tuple[int, bytes]:
        """function(*args) -> (status, body) on a worker, or 429 past max_concurrent_requests."""
        if self._admitted >= self._max_concurrent_requests:
            return 429, rest.error_json("Too many concurrent requests (over --max_concurrent_requests); retry later.")
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._workers, function, *args)
        finally:
            self._admitted -= 1

    async def _demo(self, relative: str) -> web.StreamResponse:
        if relative == _DEMO_CONFIG:
            return _json_response(*await self._call_api(lambda: (200, self._api.demo_config())))
        root = os.path.realpath(self._demo_dir)
        path = os.path.realpath(os.path.join(root, relative))
        if os.path.commonpath([root, path]) != root or not os.path.isfile(path):
            raise _Refusal(404, f"Not found: /demo/{relative}")
        return web.FileResponse(path)


class _Refusal(Exception):
    """A request answered with an error before it reaches the API."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> web.Response:
        # After a refused or unfinished body the connection is not at a request boundary.
        return _json_response(self.status, rest.error_json(self.message), close=self.status in (400, 408, 413))


class _Connection(web.RequestHandler):
    """aiohttp's HTTP/1.1 connection, answering requests it cannot parse with TF Serving's JSON."""

    def handle_error(self, request, status=500, exc=None, message=None):
        if status >= 500:
            return super().handle_error(request, status, exc, message)  # A bug: aiohttp logs its traceback.
        # A client's mistake (Content-Length: -1, a header line over 8190 bytes, ...) is
        # answered, not logged as the server's error.
        lines = str(message or exc or "").strip().splitlines()
        reason = lines[0].rstrip(":") if lines else "bad request"
        logging.debug("REST: malformed request from %s: %s", request.remote, reason)
        return _json_response(status, rest.error_json(f"Malformed HTTP request: {reason}"), close=True)


class _WebServer(web.Server):
    """aiohttp's low-level server (one handler for every request), making _Connections."""

    def __init__(self, handler, **connection_options):
        super().__init__(handler)
        self._connection_options = connection_options

    def __call__(self) -> _Connection:
        return _Connection(self, loop=asyncio.get_running_loop(), **self._connection_options)


class _AccessLog(web.AbstractAccessLogger):
    """One debug line per request (`--v=1`), instead of aiohttp's INFO access log."""

    def log(self, request, response, time):
        logging.debug("REST %s %s %s -> %d in %.1f ms", request.remote, request.method, request.path,
                      response.status, 1000 * time)

    @property
    def enabled(self) -> bool:
        return logging.level_debug()


def _json_response(status: int, body: bytes, close: bool = False) -> web.Response:
    response = web.Response(status=status, body=body, content_type="application/json")
    if close:
        response.force_close()
    return response


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening; an IPv6 host for a ':' in it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        # A restarted server need not wait out its predecessor's TIME_WAIT; a port another
        # socket listens on stays busy (no SO_REUSEPORT).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
