"""The sandbox's request handler: routing, validation, faults, one-send responses.

Endpoints (JSON; ``/v1/*`` needs ``Authorization: Bearer <token>``)::

    POST /v1/messages              {"to", "body", "scheduled_at"} + Idempotency-Key -> 201
    GET  /v1/messages/{id}         one message with its current status
    POST /v1/messages/status       {"ids": [...]} (<= 1000) -> {"messages": [...]}
    GET  /v1/messages?idempotency_key=K   -> {"messages": [0 or 1]}
    GET  /_sandbox/messages        every accepted message (tests assert exactly-once with it)
    POST /_sandbox/reset           forget everything

Speed: each response (status line, headers, body) leaves in one ``send`` (with TCP_NODELAY set
by the server on accepted sockets), so a keep-alive client never waits out a 40 ms delayed ACK;
the stdlib's default handler writes headers and body separately and hits exactly that stall.
"""

from __future__ import annotations

import hmac
import io
import json
import socket
import struct
import sys
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .rules import Fault, Invalid, current_status, fault_for, parse_ids, parse_send
from .state import Message, Verdict

if TYPE_CHECKING:
    from .http_server import HttpServer

_MAX_BODY_BYTES = 1 << 20
_TLS_HANDSHAKE = b"\x16"  # first byte of a TLS ClientHello record
# struct linger {on, seconds}: two ints on POSIX, two unsigned shorts on Windows.
_LINGER_RESET = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)
_ROUTES = frozenset(
    {"/v1/messages", "/v1/messages/status", "/_sandbox/messages", "/_sandbox/reset"}
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kuden-xl-sandbox"
    timeout = 120  # an idle keep-alive connection gives its thread back eventually
    server: HttpServer

    # -- plumbing ---------------------------------------------------------------------------

    def handle_one_request(self) -> None:
        if self.server.tls is not None:  # decrypted bytes: nothing to sniff
            self._started = time.perf_counter()
            super().handle_one_request()
            return
        # A TLS client on this plain port would otherwise wait for a line break that never
        # comes; closing at once gives it a prompt TLS error instead.
        try:
            first = self.rfile.peek(1)[:1] if isinstance(self.rfile, io.BufferedReader) else b""
        except OSError:
            self.close_connection = True
            return
        if first == _TLS_HANDSHAKE:
            self.close_connection = True
            return
        self._started = time.perf_counter()
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.log:
            sys.stderr.write(f"sandbox: {format % args}\n")

    def _reply(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        lines = [
            f"{self.protocol_version} {status} {HTTPStatus(status).phrase}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            self.wfile.write(data)  # one send: see the module docstring
        except OSError:
            self.close_connection = True
        if self.server.sandbox.log:
            took = (time.perf_counter() - self._started) * 1000
            path = urlsplit(self.path).path  # the query may hold a send id: keep it out
            self.log_message("%s %s %d %.1fms", self.command, path, status, took)

    def _error(self, status: int, error: str, reason: str) -> None:
        self._reply(status, {"error": error, "reason": reason})

    def _read_json(self) -> object:
        """The request body as JSON (None when empty); raises Invalid for bad JSON."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # we cannot find the next request's start
            raise Invalid("chunked_unsupported", "Content-Length を指定してください")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY_BYTES:
            self.close_connection = True
            raise Invalid("invalid_length", "Content-Length が不正です")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Invalid("invalid_json", "リクエスト本文がJSONとして読めません") from exc

    def _drop(self) -> None:
        """Reset the connection without answering (linger 0 turns the close into an RST)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.close_connection = True
        self.connection.close()

    # -- routing ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        payload: object = None
        invalid: Invalid | None = None
        try:
            # Read the body first, always: a keep-alive connection must stay in step.
            payload = self._read_json()
        except Invalid as exc:
            invalid = exc
        if url.path.startswith("/v1/"):
            if sandbox.latency_s:
                time.sleep(sandbox.latency_s)  # in this request's own thread: no serialising
            if not self._authorised(sandbox.token):
                self._error(401, "unauthorized", "APIトークンが正しくありません")
                return
        try:
            if invalid is not None:
                raise invalid
            self._dispatch(method, url.path, url.query, payload)
        except Invalid as exc:
            self._error(400, exc.error, exc.reason)

    def _authorised(self, token: str) -> bool:
        given = self.headers.get("Authorization", "").encode("utf-8")
        return hmac.compare_digest(given, f"Bearer {token}".encode())

    def _dispatch(self, method: str, path: str, query: str, payload: object) -> None:
        state = self.server.sandbox.state
        if (method, path) == ("POST", "/v1/messages"):
            self._send(payload)
        elif (method, path) == ("POST", "/v1/messages/status"):
            ids = parse_ids(payload)
            found = state.by_ids(ids)
            self._reply(200, {"messages": [self._view(found.get(i), i) for i in ids]})
        elif (method, path) == ("GET", "/v1/messages"):
            key = (parse_qs(query).get("idempotency_key") or [""])[0]
            if not key:
                raise Invalid("missing_idempotency_key", "idempotency_key を指定してください")
            message = state.by_key(key)
            self._reply(200, {"messages": [] if message is None else [self._view(message)]})
        elif method == "GET" and path.startswith("/v1/messages/"):
            message_id = path.removeprefix("/v1/messages/")
            message = state.by_ids([message_id]).get(message_id)
            if message is None:
                self._error(404, "not_found", "該当するメッセージがありません")
            else:
                self._reply(200, self._view(message))
        elif (method, path) == ("GET", "/_sandbox/messages"):
            self._reply(200, [_listing(m) for m in state.messages()])
        elif (method, path) == ("POST", "/_sandbox/reset"):
            state.reset()
            self._reply(200, {"reset": True})
        elif path in _ROUTES:
            self._error(405, "method_not_allowed", f"{method} は使えません")
        else:
            self._error(404, "not_found", "そのURLはありません")

    def _send(self, payload: object) -> None:
        sandbox = self.server.sandbox
        key = self.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 200:
            raise Invalid("missing_idempotency_key", "Idempotency-Key ヘッダーが必要です")
        request = parse_send(payload)
        fault = fault_for(request.to)
        if fault is Fault.UNREACHABLE:
            self._error(422, "unreachable", "圏外または存在しない番号")
            return
        admission = sandbox.state.admit(key, request, fault, time.time())
        message = admission.message
        if admission.verdict is Verdict.FAULT:
            if fault is Fault.THROTTLE:
                self._reply(
                    429,
                    {"error": "rate_limited", "reason": "混雑のため受付を制限しました"},
                    {"Retry-After": "0"},
                )
            elif fault is Fault.SERVER_ERROR:
                self._error(500, "internal", "模擬障害（記録なし）")
            elif fault is Fault.DROP:
                self._drop()
            else:  # SLOW: recorded; the answer comes after the client has given up
                time.sleep(sandbox.slow_s)
                assert message is not None
                self._reply(201, _answer(message))
            return
        assert message is not None
        if admission.verdict is Verdict.REPLAY and (message.to, message.body) != (
            request.to,
            request.body,
        ):
            self._error(
                422,
                "idempotency_key_mismatch",
                "同じ送信IDで別の宛先または本文が受付済みです",
            )
            return
        replayed = {"Idempotent-Replayed": "true"} if admission.verdict is Verdict.REPLAY else {}
        self._reply(201, _answer(message), replayed)

    def _view(self, message: Message | None, message_id: str = "") -> dict[str, object]:
        if message is None:
            return {
                "id": message_id,
                "status": "unknown",
                "reason": "該当するメッセージがありません",
            }
        sandbox = self.server.sandbox
        status, reason = current_status(
            received_ts=message.received_ts,
            scheduled_ts=message.scheduled_ts,
            outcome=message.outcome,
            reason=message.reason,
            now=time.time(),
            deliver_after_s=sandbox.deliver_after_s,
        )
        return {**_answer(message), "status": status, "reason": reason}


def _answer(message: Message) -> dict[str, object]:
    """The 201 answer to an accepted message; a replay with the same key gets it again."""
    return {
        "id": message.id,
        "status": message.initial_status,
        "to": message.to,
        "segments": message.segments,
        "idempotency_key": message.idempotency_key,
        "received_at": message.received_at,
        "scheduled_at": message.scheduled_at,
    }


def _listing(message: Message) -> dict[str, object]:
    return {
        "id": message.id,
        "to": message.to,
        "body": message.body,
        "idempotency_key": message.idempotency_key,
        "received_at": message.received_at,
        "scheduled_at": message.scheduled_at,
    }
