"""The sandbox's listening socket: a threading HTTP(S) server whose connection threads are joined.

It knows the sandbox only as the few settings its request handler reads (``Sandbox``), and the
handler class is passed in, so the handler and this server do not import each other.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from http.server import ThreadingHTTPServer
from socketserver import BaseRequestHandler, TCPServer
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .state import SandboxState

HANDSHAKE_TIMEOUT_S = 10.0  # a connection that has not finished its TLS handshake by then is cut


class Sandbox(Protocol):
    """What a request reads of the sandbox it is served by (``server.SandboxServer``)."""

    state: SandboxState
    token: str
    log: bool
    latency_s: float
    slow_s: float
    deliver_after_s: float


class HttpServer(ThreadingHTTPServer):
    # Handler threads are joined on close (after their sockets are shut), so stop() leaves
    # nothing running that could touch the closed state.
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        sandbox: Sandbox,
        handler: type[BaseRequestHandler],
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.tls = tls
        self.connections_accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks reverse DNS for the host (getfqdn): slow or hanging for
        # an address like 127.0.0.2 on some networks, and the name is never used here.
        TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            # Wrapping does no I/O; the handshake waits for the connection's thread.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self._open.add(sock)
            self.connections_accepted += 1
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Runs in the connection's own thread (ThreadingMixIn.process_request_thread).
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(HANDSHAKE_TIMEOUT_S)
                request.do_handshake()
            except OSError:  # ssl.SSLError too: an untrusting or silent client; just close
                return
        super().finish_request(request, client_address)

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
