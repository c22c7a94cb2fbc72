"""The sandbox server: ``SandboxServer`` (in a thread) and ``serve`` (blocking, for the CLI).

A ThreadingHTTPServer on 127.0.0.1, one thread per connection (keep-alive), so latency_ms and
the slow-answer fault never serialise other clients. The protocol lives in ``handler.py``.

With ``tls_cert``/``tls_key`` it speaks HTTPS, to rehearse an LGWAN gateway behind a private CA
(bind ``host`` 127.0.0.2 so the client treats it as remote and goes through its proxy). The TLS
handshake runs in the connection's own thread, never in the accept loop: a client that connects
and stays silent holds only its own thread.
"""

from __future__ import annotations

import signal
import ssl
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import SettingsError
from .handler import Handler
from .http_server import HttpServer
from .state import SandboxState

DEFAULT_TOKEN = "sandbox-token"
DEFAULT_SLOW_S = 3.0


class SandboxServer:
    """The sandbox on ``host``:``port`` (0 = a free port); ``start()`` serves in a thread.

    Raises:
        SettingsError: the address cannot be bound, or the certificate or key cannot be loaded.
    """

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
        host: str = "127.0.0.1",
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
    ) -> None:
        self.latency_s = latency_ms / 1000.0
        self.deliver_after_s = deliver_after_s
        self.slow_s = slow_s
        self.token = token
        self.log = log
        self.host = host
        tls = _tls_context(tls_cert, tls_key) if tls_cert or tls_key else None
        self.state = SandboxState(state_path)
        try:
            self._http = HttpServer((host, port), self, Handler, tls)
        except OSError as exc:
            self.state.close()
            raise SettingsError(
                f"サンドボックスを {host}:{port} で起動できません（使用中の可能性）: {exc}"
                f" / cannot listen on {host}:{port}"
            ) from exc
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def tls(self) -> bool:
        return self._http.tls is not None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

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
    host: str = "127.0.0.1",
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> None:
    """Run the sandbox until SIGINT/SIGTERM; print its URL (one line, flushed) once listening."""
    server = SandboxServer(
        port,
        state_path,
        latency_ms,
        deliver_after_s,
        token,
        slow_s=slow_s,
        log=True,
        host=host,
        tls_cert=tls_cert,
        tls_key=tls_key,
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


def _tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext:
    if cert is None or key is None:
        raise SettingsError(
            "TLS には証明書と秘密鍵の両方を指定してください（--tls-cert と --tls-key）。"
            " / pass both --tls-cert and --tls-key"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(
            f"サンドボックスの証明書「{cert}」または秘密鍵「{key}」を読めません: {exc}"
            " / cannot load the TLS certificate or key"
        ) from exc
    return context
