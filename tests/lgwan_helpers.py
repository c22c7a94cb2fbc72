"""LGWAN stand-ins for tests: a private CA, an HTTPS sandbox process, an HTTP CONNECT proxy.

Everything stays on 127.0.0.0/8. The sandbox listens on 127.0.0.2, which the client does not
count as loopback, so it goes through the proxy as it would to a real gateway. The proxy is the
minimum a municipality's forward proxy does for HTTPS: read ``CONNECT host:port``, open a TCP
connection there, answer 200, relay bytes both ways. It records every CONNECT target, and can
refuse them all with a status (407, 403).
"""

from __future__ import annotations

import selectors
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from conftest import StandaloneSandbox


@dataclass(frozen=True)
class Pki:
    """A private CA (``ca``: the PEM a client trusts) and a server certificate it signed."""

    ca: Path
    cert: Path
    key: Path


def make_pki(directory: Path, ip: str) -> Pki:
    """A CA and a certificate for ``ip`` (subjectAltName IP), made with the openssl tool."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the LGWAN tests need the openssl command-line tool on PATH")
    d = directory
    ext = d / "server.ext"
    ext.write_text(
        f"subjectAltName = IP:{ip}\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid, issuer\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]
        + ["-subj", "/O=Test City/CN=Test City LGWAN Private CA"]
        + ["-addext", "basicConstraints=critical,CA:TRUE"]
        + ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={ip}"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key"]
        + ["-set_serial", "2", "-days", "2", "-out", "server.pem", "-extfile", ext.name],
    ]
    for step in steps:
        subprocess.run([openssl, *step], cwd=d, check=True, capture_output=True)
    return Pki(ca=d / "ca.pem", cert=d / "server.pem", key=d / "server.key")


GATEWAY_IP = "127.0.0.2"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TlsSandbox(StandaloneSandbox):
    """The sandbox as a separate process serving HTTPS on 127.0.0.2 with ``pki``'s certificate.

    ``command`` is how it is started: ``python -m kuden_xl.sandbox`` by default, or e.g.
    ``("-m", "kuden_xl", "sandbox", "serve")`` for the click command.
    """

    def __init__(
        self,
        pki: Pki,
        state: Path,
        command: tuple[str, ...] = ("-m", "kuden_xl.sandbox"),
    ) -> None:
        self.pki = pki
        tls = ("--host", GATEWAY_IP, "--tls-cert", str(pki.cert), "--tls-key", str(pki.key))
        super().__init__(state, *tls, url_prefix=f"https://{GATEWAY_IP}:", command=command)

    def messages(self) -> list[dict[str, Any]]:
        """Every message the sandbox accepted: straight to it (no proxy), trusting the CA."""
        with requests.Session() as session:
            session.trust_env = False  # no HTTPS_PROXY from the shell
            answer = session.get(
                f"{self.url}/_sandbox/messages", verify=str(self.pki.ca), timeout=10
            )
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()
        return data


class ConnectProxy:
    """A threaded HTTP CONNECT proxy on 127.0.0.1; ``close()`` ends every connection."""

    def __init__(self, refuse: int | None = None) -> None:
        self.refuse = refuse  # answer every CONNECT with this status instead of tunnelling
        self.connects: list[str] = []  # "CONNECT host:port", in order
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # the accept loop notices close() this quickly
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start(self._accept_loop)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._closed.is_set():
                sock.close()
                return False
            self._open.add(sock)
            return True

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if self._track(client):
                self._start(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = request_line.split(" ", 2)
            with self._lock:
                self.connects.append(f"{method} {target}")
            if method != "CONNECT" or self.refuse is not None:
                status = self.refuse or 405
                client.sendall(f"HTTP/1.1 {status} Refused\r\nContent-Length: 0\r\n\r\n".encode())
                return
            host, port = target.rsplit(":", 1)
            try:
                upstream = socket.create_connection((host, int(port)), timeout=5)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            upstream.settimeout(None)
            if not self._track(upstream):
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._relay(client, upstream, head.split(b"\r\n\r\n", 1)[1])
        except (OSError, ValueError):
            pass  # a client or server that went away; the tunnel just ends
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    sock.close()

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket, early: bytes) -> None:
        if early:  # bytes the client sent right behind the CONNECT head
            upstream.sendall(early)
        peer = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for side in peer:
                selector.register(side, selectors.EVENT_READ, data=side)
            while True:
                for key, _ in selector.select():
                    source: socket.socket = key.data
                    data = source.recv(65536)
                    if not data:
                        return  # either side closed: the tunnel is over
                    peer[source].sendall(data)

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            open_now = list(self._open)
        self._listener.close()
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the relay threads blocked in select
            except OSError:
                pass
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        assert not any(t.is_alive() for t in threads), "proxy threads still running"

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
