"""Twilio's answers read: a send's receipt (documented refusals in Japanese), a listed message
matched to a send, a Message resource's delivery result (``twilio.py`` makes the requests).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from ..schema import Delivery
from .base import Attempt, DeliveryStatus, Receipt, SentQuery
from .http import created, json_object

# Send errors that refuse this one message (https://www.twilio.com/docs/api/errors/<code>).
REJECTIONS: dict[int, str] = {
    21211: "宛先の電話番号が正しくありません",
    21408: "この宛先の国・地域への送信が許可されていません（Twilio の地域設定）",
    21610: "受信者が配信停止（STOP）を申し出ています",
    21612: "この送信元からこの宛先へは送信できません",
    21614: "SMS を受信できない番号です（固定電話など）",
}
# Delivery errors of undelivered / failed messages, as 配信結果's reason.
DELIVERY_REASONS: dict[int, str] = {
    30003: "圏外・電源OFF",
    30005: "番号なし/解約",
    30006: "固定電話・SMS非対応",
    30007: "迷惑SMSとして遮断",
    30008: "原因不明",
}
_PENDING = {"queued", "sending", "sent", "accepted", "scheduled", "receiving", "received", "read"}
_FAILED = {"failed", "undelivered", "canceled"}


def national(number: str) -> str:
    """``+819012345678`` → ``09012345678``; anything else as given."""
    return "0" + number[3:] if number.startswith("+81") else number


def delivery_of(message_id: str, message: Mapping[str, Any]) -> DeliveryStatus:
    """A Message resource's ``status`` and ``error_code`` as 配信結果."""
    status = message.get("status")
    if status == "delivered":
        return DeliveryStatus(message_id, Delivery.DELIVERED)
    if status in _FAILED:
        code = message.get("error_code")
        reason = DELIVERY_REASONS.get(code) if isinstance(code, int) else None
        if reason is None:
            reason = "配信停止（キャンセル）" if status == "canceled" else _code_reason(code)
        return DeliveryStatus(message_id, Delivery.UNDELIVERED, reason)
    if status in _PENDING:
        return DeliveryStatus(message_id, Delivery.PENDING)
    return DeliveryStatus(message_id, Delivery.UNKNOWN)


def _code_reason(code: object) -> str | None:
    return f"Twilio エラー {code}" if isinstance(code, int) else None


def matches(message: object, query: SentQuery, since: datetime) -> bool:
    """A listed message is the send ``query`` looks for: outbound, created since ``since``, to
    the number and with the body the ledger's hashes name, and no other send's."""
    if not isinstance(message, dict) or message.get("direction") != "outbound-api":
        return False
    to, body, created = message.get("to"), message.get("body"), message.get("date_created")
    if not (isinstance(to, str) and isinstance(body, str) and isinstance(created, str)):
        return False
    try:
        if parsedate_to_datetime(created) < since:
            return False
    except (TypeError, ValueError):
        return False
    return query.matches(national(to), body) and not query.taken(str(message.get("sid")))


def receipt(send_id: str, response: requests.Response) -> Receipt:
    """Read an answer the transport left to us: 201 created, 4xx refused."""
    data: dict[str, Any] = json_object(response) or {}
    code = response.status_code
    if 200 <= code < 300:
        return created(send_id, data, "sid")
    error = data.get("code")
    if error == 20429:
        return Receipt(
            send_id, Attempt.NOT_PROCESSED, reason="混雑のため Twilio が受付を制限しました"
        )
    known = REJECTIONS.get(error) if isinstance(error, int) else None
    if known is not None:
        return Receipt(send_id, Attempt.REJECTED, reason=f"{known}（Twilio {error}）")
    # Twilio's own message may quote the number: give only its code.
    detail = f"Twilio {error}" if isinstance(error, int) else f"HTTP {code}"
    if 400 <= code < 500:
        return Receipt(
            send_id, Attempt.REJECTED, reason=f"事業者が受け付けませんでした（{detail}）"
        )
    return Receipt(send_id, Attempt.MAYBE_PROCESSED, reason=f"事業者の応答を読めません（{detail}）")
