"""Helpers shared by the sandbox tests."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from kuden_xl.gateways.base import OutgoingMessage
from kuden_xl.sandbox import SandboxServer

# Short fault timings keep the suite fast: the slow answer (…05) outlasts the read timeout.
SLOW_S = 0.5
READ_TIMEOUT_S = 0.2
AUTH = {"Authorization": "Bearer sandbox-token"}


def number(last4: int, prefix: str = "090") -> str:
    """A synthetic number 0X0-1234-NNNN; the last two digits pick the sandbox's behaviour."""
    return f"{prefix}1234{last4:04d}"


def outgoing(to: str, body: str = "テスト送信です", send_id: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(send_id=send_id or uuid.uuid4().hex, to=to, body=body)


def accepted(server: SandboxServer) -> list[dict[str, Any]]:
    """Every message the sandbox accepted (its test endpoint)."""
    answer = requests.get(server.url + "/_sandbox/messages", timeout=5)
    assert answer.status_code == 200
    result: list[dict[str, Any]] = answer.json()
    return result
