"""A small scripted provider on 127.0.0.1 (``http.server`` in a thread), and Prism in front of it.

``ScriptedServer(handler)``: every request is recorded (``Seen``) and answered by ``handler``,
a plain function ``Seen -> Reply``. A reply may ``hold`` an Event: the server answers only once
the test sets it (a "timeout after the provider accepted" without any sleep in the test).

``Prism``: ``prism proxy SPEC <server>`` with ``--errors`` on 127.0.0.1. A request that violates
the vendor's document is refused by Prism's validator (HTTP 422 and a ``✖`` line in its
output); ``violations()`` returns those lines, which every Prism test asserts empty.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

SPECS = Path(os.environ.get("KUDEN_XL_SPECS", Path(__file__).with_name("specs")))
NODE_DIR = Path(__file__).with_name("node")
PRISM = NODE_DIR / "node_modules" / ".bin" / "prism"


def spec(name: str) -> Path:
    """A vendor document: tests/providers/specs (copies of shared/specs), or KUDEN_XL_SPECS."""
    if not (SPECS / name).is_file():
        raise FileNotFoundError(SPECS / name)
    return SPECS / name


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    headers: dict[str, str]

    def field(self, name: str) -> str | None:
        return next((v for k, v in [*self.form, *self.query] if k == name), None)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None  # answer only after this is set


Handler = Callable[[Seen], Reply]


class ScriptedServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                form = parse_qsl(raw, keep_blank_values=True) if raw and "=" in raw else []
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    form,
                    {k.lower(): v for k, v in self.headers.items()},
                )
                with outer._lock:
                    outer.seen.append(seen)
                reply = outer.handler(seen)
                if reply.hold is not None:
                    reply.hold.wait(30)
                data = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (the timeout tests)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests_to(self, path_end: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.endswith(path_end)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prism_available() -> bool:
    return PRISM.is_file() and shutil.which("node") is not None


class Prism:
    """``prism proxy`` validating requests against ``spec_path`` before they reach ``upstream``."""

    def __init__(self, spec_path: Path, upstream: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._sentinels = 0
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"prism-{self.port}.log"
        self._log = self.log_path.open("w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [str(PRISM), "proxy", str(spec_path), upstream, "--errors"]
            + ["--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=NODE_DIR,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prism exited: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"prism did not start: {self.output()}")

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8")

    def violations(self) -> list[str]:
        """Lines where Prism's validator flagged one of our requests (``✖``).

        Prism logs asynchronously, so first a sentinel request to a path no document has is
        sent, and its own ``✖`` line awaited: every earlier request is logged by then.
        """
        self._sentinels += 1
        mark = f"/kuden-xl-sentinel-{self._sentinels}"
        requests.get(self.url + mark, timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = self.output().splitlines()
            if any(mark in line and "✖" in line for line in lines):
                return [ln for ln in lines if "✖" in ln and "kuden-xl-sentinel" not in ln]
            time.sleep(0.05)
        raise AssertionError(f"Prism never logged the sentinel request: {self.output()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        self.log_path.unlink(missing_ok=True)
