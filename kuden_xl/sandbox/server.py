"""The sandbox server: ``SandboxServer`` (in a thread) and ``serve`` (blocking, for the CLI).

A ThreadingHTTPServer on 127.0.0.1, one thread per connection (keep-alive), so latency_ms and
the slow-answer fault never serialise other clients. The protocol lives in ``handler.py``.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import SettingsError
from .handler import Handler
from .state import SandboxState

DEFAULT_TOKEN = "sandbox-token"
DEFAULT_SLOW_S = 3.0


class SandboxServer:
    """The sandbox on 127.0.0.1:``port`` (0 = a free port); ``start()`` serves in a thread."""

    def __init__(
        self,
        port: int = 0,
        state_path: Path | None = None,
        latency_ms: int = 0,
        deliver_after_s: float = 0.0,
        token: str = DEFAULT_TOKEN,
        *,
        slow_s: float = DEFAULT_SLOW_S,
        log: bool = False,
    ) -> None:
        self.latency_s = latency_ms / 1000.0
        self.deliver_after_s = deliver_after_s
        self.slow_s = slow_s
        self.token = token
        self.log = log
        self.state = SandboxState(state_path)
        try:
            self._http = HttpServer(("127.0.0.1", port), self)
        except OSError as exc:
            self.state.close()
            raise SettingsError(
                f"サンドボックスをポート {port} で起動できません（使用中の可能性）: {exc}"
                f" / cannot listen on port {port}"
            ) from exc
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (a keep-alive client should need one)."""
        return self._http.connections_accepted

    def start(self) -> SandboxServer:
        if self._thread is None:
            # A short poll interval keeps stop() (and every test fixture teardown) quick.
            self._thread = threading.Thread(
                target=self._http.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"kuden-xl-sandbox:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
        self._http.server_close()  # closes open connections, joins handler threads
        self.state.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    port: int,
    state_path: Path | None,
    latency_ms: int,
    deliver_after_s: float,
    *,
    slow_s: float = DEFAULT_SLOW_S,
    token: str = DEFAULT_TOKEN,
) -> None:
    """Run the sandbox until SIGINT/SIGTERM; print its URL (one line, flushed) once listening."""
    server = SandboxServer(
        port, state_path, latency_ms, deliver_after_s, token, slow_s=slow_s, log=True
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        server.start()
        print(server.url, flush=True)
        while not done.wait(0.5):  # a timed wait stays responsive to signals on every OS
            pass
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class HttpServer(ThreadingHTTPServer):
    # Handler threads are joined on close (after their sockets are shut), so stop() leaves
    # nothing running that could touch the closed state.
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.connections_accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._open_lock:
            self._open.add(sock)
            self.connections_accepted += 1
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        # Wake handler threads blocked reading idle keep-alive connections.
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away is normal here (timeouts are part of the act); stay quiet.
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handle_error(request, client_address)
