"""The sandbox provider (kuden_xl.sandbox) as a Gateway: the default until a real one is set.

The sandbox honours our send id as Idempotency-Key and documents that its 5xx never records a
message, so a 5xx is NOT_PROCESSED here (for real providers it is MAYBE_PROCESSED).

Its identity is its base URL: two sandboxes on two ports are two gateways, each knowing only its
own messages. The embedded one (a new free port every run) is identified by its state file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from ..errors import GatewayUnavailable
from ..sandbox import SandboxServer
from ..sandbox.rules import MAX_STATUS_IDS
from ..schema import Delivery
from .base import (
    Attempt,
    Capabilities,
    DeliveryStatus,
    GatewayIdentity,
    OutgoingMessage,
    Receipt,
)
from .http import HttpClient, HttpSettings, classify_transport, created, expect_ok, json_object


class SandboxGateway:
    """Thread-safe: one HttpClient (one pooled session) shared by all dispatch workers."""

    name = "sandbox"
    capabilities = Capabilities(
        max_length=660,
        can_schedule=True,
        idempotent=True,
        lookup_by_send_id=True,
        max_requests_per_second=None,
        max_status_ids=MAX_STATUS_IDS,  # per POST /v1/messages/status
    )

    def __init__(self, settings: HttpSettings, *, identity: GatewayIdentity | None = None) -> None:
        """``identity``: by default the base URL; the embedded sandbox passes its own."""
        self._http = HttpClient(settings)
        self.identity = identity or GatewayIdentity(self.name, settings.base_url)

    def send(self, message: OutgoingMessage) -> Receipt:
        payload = {
            "to": message.to,
            "body": message.body,
            "scheduled_at": message.scheduled_at.isoformat() if message.scheduled_at else None,
        }
        outcome = self._http.attempt(
            "POST", "/v1/messages", json=payload, headers={"Idempotency-Key": message.send_id}
        )
        transport = classify_transport(
            message.send_id, outcome, server_error=Attempt.NOT_PROCESSED, provider=self.name
        )
        if transport is not None:
            return transport
        assert isinstance(outcome, requests.Response)
        return _receipt(message.send_id, outcome)

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        result: list[DeliveryStatus] = []
        step = self.capabilities.max_status_ids or MAX_STATUS_IDS
        for start in range(0, len(message_ids), step):
            ids = list(message_ids[start : start + step])
            outcome = self._http.attempt("POST", "/v1/messages/status", json={"ids": ids})
            answer = json_object(expect_ok(outcome, provider=self.name))
            found = {
                m["id"]: m
                for m in (answer or {}).get("messages", [])
                if isinstance(m, dict) and isinstance(m.get("id"), str)
            }
            for message_id in ids:
                m = found.get(message_id, {})
                delivery = delivery_of(m.get("status"))
                reason = m.get("reason") if delivery is Delivery.UNDELIVERED else None
                reason = reason if isinstance(reason, str) else None
                result.append(DeliveryStatus(message_id, delivery, reason))
        return result

    def lookup(self, send_id: str) -> Receipt | None:
        outcome = self._http.attempt("GET", "/v1/messages", params={"idempotency_key": send_id})
        response = expect_ok(outcome, provider=self.name)
        messages = (json_object(response) or {}).get("messages")
        if not isinstance(messages, list):
            raise _malformed(response)
        if not messages:
            return None
        found = messages[0]
        if not isinstance(found, dict) or not isinstance(found.get("id"), str):
            raise _malformed(response)
        return created(send_id, found)

    def check_connection(self) -> None:
        """A lookup of a send id nobody uses: authenticated, harmless."""
        self.lookup("connection-test")

    def close(self) -> None:
        self._http.close()


def delivery_of(status: object) -> Delivery:
    """The sandbox's message status as a Delivery (the one mapping for this provider)."""
    if status == "delivered":
        return Delivery.DELIVERED
    if status in ("undelivered", "rejected"):
        return Delivery.UNDELIVERED
    if status in ("accepted", "scheduled"):
        return Delivery.PENDING
    return Delivery.UNKNOWN  # "unknown" (no such id), missing, or anything new


def _receipt(send_id: str, response: requests.Response) -> Receipt:
    """Read an answer the transport left to us: 2xx accepted, 4xx refused."""
    data: dict[str, Any] = json_object(response) or {}
    code = response.status_code
    if 200 <= code < 300:
        return created(send_id, data)
    reason = data.get("reason") or data.get("error") or f"HTTP {code}"
    if code in (400, 422):
        return Receipt(send_id, Attempt.REJECTED, reason=str(reason))
    # Any other answer (404 from a wrong URL, 405…): the sandbox recorded nothing.
    return Receipt(send_id, Attempt.NOT_PROCESSED, reason=f"{reason}（HTTP {code}）")


def _malformed(response: requests.Response) -> GatewayUnavailable:
    return GatewayUnavailable(
        "サンドボックスの応答を読めません / malformed sandbox answer",
        provider=SandboxGateway.name,
        status=response.status_code,
    )


def start_embedded(state_path: Path, **kw: Any) -> SandboxServer:
    """Start an in-process sandbox on a free port (the CLI's default provider); stop() it."""
    return SandboxServer(port=0, state_path=state_path, **kw).start()


def embedded_identity(state_path: Path) -> GatewayIdentity:
    """The embedded sandbox's identity: its state file, since its port changes every run."""
    return GatewayIdentity(SandboxGateway.name, "embedded", str(Path(state_path).resolve()))


def settings_for(server: SandboxServer, **kw: Any) -> HttpSettings:
    """HttpSettings that reach ``server`` with its token (kw: timeouts, pool_size)."""
    return HttpSettings(base_url=server.url, token=server.token, **kw)
