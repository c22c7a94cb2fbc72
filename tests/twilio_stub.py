"""A small scripted Twilio (REST API 2010-04-01) on 127.0.0.1, for the gateway's behaviour tests.

It keeps the messages it created, answers the list / fetch / account reads the gateway makes,
and plays a script of answers for the next sends: an error body, 429 with Retry-After, or
"create the message, then never answer" (a timeout after Twilio accepted).
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "tw-known-secret-7f3a9c"  # scanned for in every captured output
SERVICE = "MG" + "fedcba9876543210" * 2
API_KEY = "SK" + "00112233445566778899aabbccddeeff"

Answer = tuple[int, dict[str, Any], dict[str, str]]


def error(status: int, code: int, headers: dict[str, str] | None = None) -> Answer:
    body = {
        "code": code,
        "message": f"The 'To' number +819012340000 is not valid ({code})",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return status, body, headers or {}


class _Server(ThreadingHTTPServer):
    """The handshake runs in the connection's own thread, so a silent client blocks no one."""

    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            return super().finish_request(request, client_address)
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust us: nothing to answer
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


HANG_AFTER_CREATE = (0, {"hang": "after"}, {})
HANG_BEFORE_CREATE = (0, {"hang": "before"}, {})


class TwilioStub:
    def __init__(
        self,
        *,
        user: str = ACCOUNT,
        token: str = TOKEN,
        host: str = "127.0.0.1",
        tls: tuple[Path, Path] | None = None,  # (certificate, key): HTTPS, as Twilio serves
    ) -> None:
        self.user, self.token = user, token
        self.messages: list[dict[str, Any]] = []
        self.script: list[Answer] = []  # answers for the next POSTs, in order
        self.requests: list[tuple[str, str, dict[str, list[str]], dict[str, list[str]]]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                stub.handle(self, "GET")

            def do_POST(self) -> None:
                stub.handle(self, "POST")

        self.server = _Server((host, 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.tls = context
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> TwilioStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(self, to: str, body: str, status: str = "queued", **extra: Any) -> dict[str, Any]:
        now = format_datetime(datetime.now(timezone.utc))
        message = {
            "sid": "SM" + secrets.token_hex(16),
            "account_sid": ACCOUNT,
            "to": to,
            "from": "KUDEN",
            "body": body,
            "status": status,
            "direction": "outbound-api",
            "error_code": None,
            "num_segments": "1",
            "date_created": now,
            "date_sent": now,
            **extra,
        }
        with self.lock:
            self.messages.append(message)
        return message

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        with self.lock:
            for m in self.messages:
                if m["sid"] == sid:
                    m["status"], m["error_code"] = status, error_code

    # -- the handler ---------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        length = int(h.headers.get("Content-Length") or 0)
        form = parse_qs(h.rfile.read(length).decode()) if length else {}
        with self.lock:
            self.requests.append((method, parts.path, query, form))
        expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        if h.headers.get("Authorization") != f"Basic {expected}":
            return self.reply(h, *error(401, 20003))
        base = f"/2010-04-01/Accounts/{ACCOUNT}"
        if method == "GET" and parts.path == f"{base}.json":
            return self.reply(h, 200, {"sid": ACCOUNT, "status": "active"}, {})
        if method == "POST" and parts.path == f"{base}/Messages.json":
            return self.send(h, form)
        if method == "GET" and parts.path == f"{base}/Messages.json":
            return self.list(h, query)
        if method == "GET" and parts.path.startswith(f"{base}/Messages/"):
            sid = parts.path.rsplit("/", 1)[1].removesuffix(".json")
            found = [m for m in self.messages if m["sid"] == sid]
            if not found:
                return self.reply(h, *error(404, 20404))
            return self.reply(h, 200, found[0], {})
        return self.reply(h, *error(404, 20404))

    def send(self, h: BaseHTTPRequestHandler, form: dict[str, list[str]]) -> None:
        with self.lock:
            answer = self.script.pop(0) if self.script else None
        if answer is HANG_BEFORE_CREATE:
            self.release.wait(30)
            return
        if answer is not None and answer is not HANG_AFTER_CREATE:
            return self.reply(h, *answer)
        status = "scheduled" if "SendAt" in form else "queued"
        message = self.create(form["To"][0], form["Body"][0], status)
        if answer is HANG_AFTER_CREATE:
            self.release.wait(30)  # Twilio took it; the answer never comes
            return
        self.reply(h, 201, message, {})

    def list(self, h: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        since = query.get("DateSent>", [None])[0]
        size = int(query.get("PageSize", ["50"])[0])
        page = int(query.get("Page", ["0"])[0])
        with self.lock:
            chosen = list(reversed(self.messages))  # newest first, like Twilio
        if since:
            floor = datetime.fromisoformat(since.replace("Z", "+00:00"))
            chosen = [m for m in chosen if _rfc2822(m["date_sent"]) >= floor.replace(microsecond=0)]
        chunk = chosen[page * size : (page + 1) * size]
        more = (page + 1) * size < len(chosen)
        path = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        next_uri = (
            f"{path}?PageSize={size}&Page={page + 1}&PageToken=PA{page + 1}" if more else None
        )
        if since and next_uri:
            next_uri += f"&DateSent%3E={since}"
        body = {"messages": chunk, "page": page, "page_size": size, "next_page_uri": next_uri}
        self.reply(h, 200, body, {})

    @staticmethod
    def reply(
        h: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


def _rfc2822(text: str) -> datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(text)
