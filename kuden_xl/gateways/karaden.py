"""Karaden SMS API (``Karaden-Version: 2024-03-01``) as a Gateway.

Follows ``shared/specs/karaden-2024-03-01.yaml``: Bearer token, the tenant id in the path, form
fields ``service_id`` / ``to`` (11 digits) / ``body`` (≤ 660) / ``tags[]`` / ``scheduled_at``
(ISO 8601 +09:00, at most 30 days ahead). Our send id travels in ``tags[]``, so a send is found
again by listing with ``tag=<send id>``.

Karaden has no idempotency key: a timeout or a 5xx is MAYBE_PROCESSED and never resent (dispatch
makes it UNKNOWN), and the next run's reconciliation finds it by tag. The error object's
``code`` decides the rest: ``unauthentication`` / ``invalid_tenant`` stop the run,
``validation_error`` refuses the message with the field messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests

from ..clock import JST
from ..clock import now as japan_now
from ..errors import GatewayAuthError, GatewayUnavailable
from ..schema import Delivery
from .base import Attempt, Capabilities, DeliveryStatus, GatewayIdentity, OutgoingMessage, Receipt
from .http import HttpClient, HttpSettings, classify_transport, expect_ok, json_object
from .registry import Setting, provider_connection

VERSION = "2024-03-01"
DEFAULT_BASE_URL = "https://prg.karaden.jp/api"
SCHEDULE_HORIZON = timedelta(days=30)
NUMBERS = re.compile(r"[0-9]{11}")  # ``to``: ^[0-9]{11}$ (a 14-digit 020 number is refused)
STATUS_CONCURRENCY = 16  # detail lookups in flight during a status refresh (as reconcile)
SETTINGS = (  # key in [karaden], environment variable
    Setting("tenant_id", "KUDEN_XL_KARADEN_TENANT_ID"),
    Setting("service_id", "KUDEN_XL_KARADEN_SERVICE_ID"),
    Setting("base_url", "KUDEN_XL_BASE_URL", default=DEFAULT_BASE_URL),
    Setting("token", "KUDEN_XL_TOKEN", secret=True),
)


class KaradenGateway:
    """Thread-safe: one HttpClient shared by all dispatch workers."""

    name = "karaden"
    capabilities = Capabilities(
        max_length=660,
        can_schedule=True,
        idempotent=False,
        lookup_by_send_id=True,
        max_requests_per_second=None,  # Karaden publishes none; a 429 is honoured
    )

    def __init__(self, settings: HttpSettings, *, tenant_id: str, service_id: str) -> None:
        self._http = HttpClient(settings)
        self._tenant = tenant_id
        self._service = service_id
        self.identity = GatewayIdentity(self.name, settings.base_url, tenant_id)

    def send(self, message: OutgoingMessage) -> Receipt:
        form = [("service_id", self._service), ("to", message.to), ("body", message.body)]
        form.append(("tags[]", message.send_id))
        if message.scheduled_at is not None:
            at = message.scheduled_at.astimezone(JST)
            if at - japan_now() > SCHEDULE_HORIZON:
                return Receipt(
                    message.send_id,
                    Attempt.REJECTED,
                    reason=f"予約日時 {at:%Y-%m-%d %H:%M} はKaradenの予約上限（30日先）を超えています",
                )
            form.append(("scheduled_at", at.isoformat(timespec="seconds")))
        outcome = self._call("POST", f"/{self._tenant}/messages", data=form)
        if isinstance(outcome, requests.Response):
            _raise_for_account(outcome)  # before the generic 401: ours names the variable
        transport = classify_transport(message.send_id, outcome, provider=self.name)
        if transport is not None:
            return transport
        assert isinstance(outcome, requests.Response)
        return self._receipt(message.send_id, outcome)

    def lookup(self, send_id: str) -> Receipt | None:
        params = {"service_id": self._service, "tag": send_id, "per_page": "100"}
        response = self._expect(self._call("GET", f"/{self._tenant}/messages", params=params))
        data = (json_object(response) or {}).get("data")
        if not isinstance(data, list):
            raise _malformed(response)
        found = [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
        if not found:
            return None
        return _found(send_id, found[0])

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        with ThreadPoolExecutor(max_workers=STATUS_CONCURRENCY) as pool:
            return list(pool.map(self._one_status, message_ids))

    def check_connection(self) -> None:
        """A harmless authenticated read: one message of the list (nothing is sent)."""
        params = {"service_id": self._service, "per_page": "1"}
        self._expect(self._call("GET", f"/{self._tenant}/messages", params=params))

    def close(self) -> None:
        self._http.close()

    def _one_status(self, message_id: str) -> DeliveryStatus:
        outcome = self._call("GET", f"/{self._tenant}/messages/{message_id}")
        if isinstance(outcome, requests.Response) and outcome.status_code == 404:
            return DeliveryStatus(message_id, Delivery.UNKNOWN)
        return delivery_of(message_id, json_object(self._expect(outcome)) or {})

    def _expect(self, outcome: requests.Response | requests.RequestException) -> requests.Response:
        if isinstance(outcome, requests.Response):
            _raise_for_account(outcome)
        return expect_ok(outcome, provider=self.name)

    def _receipt(self, send_id: str, response: requests.Response) -> Receipt:
        data: dict[str, Any] = json_object(response) or {}
        code = response.status_code
        if 200 <= code < 300:
            if not isinstance(data.get("id"), str):
                return Receipt(send_id, Attempt.MAYBE_PROCESSED, reason="事業者の応答を読めません")
            return _found(send_id, data)
        if code == 422 or data.get("code") == "validation_error":
            return Receipt(send_id, Attempt.REJECTED, reason=_field_messages(data))
        if code == 404:
            raise GatewayUnavailable(
                "Karadenの接続先が見つかりません（HTTP 404）。KUDEN_XL_BASE_URL と"
                " KUDEN_XL_KARADEN_TENANT_ID を確認してください。 / Karaden endpoint not found.",
                provider=self.name,
                status=code,
            )
        # Another 4xx: Karaden refused this request and recorded nothing.
        message = data.get("message") or f"HTTP {code}"
        return Receipt(send_id, Attempt.REJECTED, reason=f"{message}（HTTP {code}）")

    def _call(
        self,
        method: str,
        path: str,
        *,
        data: Sequence[tuple[str, str]] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> requests.Response | requests.RequestException:
        headers = {"Karaden-Version": VERSION}
        return self._http.attempt(method, path, data=data, params=params, headers=headers)


def _raise_for_account(response: requests.Response) -> None:
    """``unauthentication`` / ``invalid_tenant``: no message can succeed, the run stops."""
    code = (json_object(response) or {}).get("code") if response.status_code >= 400 else None
    if code == "unauthentication" or response.status_code in (401, 403):
        raise GatewayAuthError(
            "KaradenがAPIトークンを受け付けませんでした。KUDEN_XL_TOKEN（または資格情報"
            "マネージャーの kuden_xl / karaden）を確認してください。 / Karaden refused the token.",
            provider=KaradenGateway.name,
            status=response.status_code,
        )
    if code == "invalid_tenant":
        raise GatewayAuthError(
            "KaradenがテナントIDを受け付けませんでした。KUDEN_XL_KARADEN_TENANT_ID を確認して"
            "ください。 / Karaden refused the tenant id.",
            provider=KaradenGateway.name,
            status=response.status_code,
        )


def _found(send_id: str, message: Mapping[str, Any]) -> Receipt:
    """A message Karaden holds: scheduled while it waits for its time, else accepted."""
    status = message.get("status")
    if status == "canceled":
        return Receipt(send_id, Attempt.REJECTED, message["id"], reason="送信が取り消されています")
    scheduled = status == "waiting" and bool(message.get("scheduled_at"))
    return Receipt(send_id, Attempt.SCHEDULED if scheduled else Attempt.ACCEPTED, message["id"])


def _field_messages(data: Mapping[str, Any]) -> str:
    """``errors`` as ``field: message``; the top message when there are none."""
    errors = data.get("errors")
    parts: list[str] = []
    if isinstance(errors, Mapping):
        for field, messages in errors.items():
            texts = messages if isinstance(messages, list) else [messages]
            parts.extend(f"{field}: {text}" for text in texts)
    return "、".join(parts) or str(data.get("message") or "入力内容に誤りがあります")


_SENT_RESULT = {  # sent_result -> (delivery, reason)
    "received": (Delivery.DELIVERED, None),
    "unconnected": (Delivery.UNDELIVERED, "圏外"),
    "error": (Delivery.UNDELIVERED, "エラー"),
    "unknown": (Delivery.UNKNOWN, None),
}


def delivery_of(message_id: str, message: Mapping[str, Any]) -> DeliveryStatus:
    """A message detail's ``status`` + ``sent_result`` as 配信結果 (the one mapping)."""
    status = message.get("status")
    if status in ("error", "processing_error"):
        return DeliveryStatus(message_id, Delivery.UNDELIVERED, "送信エラー")
    if status == "canceled":
        return DeliveryStatus(message_id, Delivery.UNDELIVERED, "送信取消")
    found = _SENT_RESULT.get(str(message.get("sent_result")))
    if status == "done" and found is not None:
        billed = message.get("charged_count_per_sent")
        segments = billed if isinstance(billed, int) and not isinstance(billed, bool) else None
        return DeliveryStatus(message_id, *found, segments=segments)
    if status in ("done", "waiting") or message.get("result") == "processing":
        return DeliveryStatus(message_id, Delivery.PENDING)  # carriers retry for up to 72 h
    return DeliveryStatus(message_id, Delivery.UNKNOWN)


def from_settings(base_url: str | None, config: Mapping[str, Any] | None = None) -> KaradenGateway:
    """The gateway from the environment / ``[karaden]`` in config.toml / the keyring.

    Raises:
        SettingsError: a setting or the token is missing (one message naming every variable).
    """
    values, http = provider_connection("karaden", SETTINGS, base_url, config)
    return KaradenGateway(http, tenant_id=values["tenant_id"], service_id=values["service_id"])


def _malformed(response: requests.Response) -> GatewayUnavailable:
    return GatewayUnavailable(
        "Karadenの応答を読めません / malformed Karaden answer",
        provider=KaradenGateway.name,
        status=response.status_code,
    )
