"""AOS 絶対リーチ!SMS (CommonMT P5, OpenAPI v1.4.7) as a Gateway.

Follows ``shared/specs/aos-zettai-reach-1.4.7.json``: ``token``, ``clientId`` and ``smsCode`` as
form / query fields (no auth header); HTTP 200 always, the answer in ``responseCode``. Our send
id is the ``clientTag``, which AOS requires to be unique: a second request with the same tag is
refused with 400 "Duplicate client tag", which proves the first one arrived. So every failed
attempt can be retried with the same tag (``idempotent``), and a duplicate is settled by looking
the tag up. AOS returns no message id: the clientTag is the メッセージID.

``responseCode`` 300 (the plan's sending quota is used up) stops the run like refused
credentials: no further message can succeed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests

from ..clock import JST
from ..clock import now as japan_now
from ..errors import GatewayAuthError, GatewayQuotaError, GatewayUnavailable
from ..schema import Delivery
from .base import Attempt, Capabilities, DeliveryStatus, GatewayIdentity, OutgoingMessage, Receipt
from .http import HttpClient, HttpSettings, classify_transport, expect_ok, json_object
from .registry import Setting, provider_connection

DEFAULT_BASE_URL = "https://sms-api.aossms.com"
# phoneNumber in the spec: ^(\+81|0)(([26789]0[1-9][0-9]{7}$)|(20[1-9][0-9]{10}$))
NUMBERS = re.compile(r"0(?:[26789]0[1-9][0-9]{7}|20[1-9][0-9]{10})")
STATUS_DAYS = 4  # status by date covers the sends of the last 4 days (carriers retry for 72 h)
SETTINGS = (  # key in [aos], environment variable
    Setting("client_id", "KUDEN_XL_AOS_CLIENT_ID"),
    Setting("sms_code", "KUDEN_XL_AOS_SMS_CODE"),
    Setting("base_url", "KUDEN_XL_BASE_URL", default=DEFAULT_BASE_URL),
    Setting("token", "KUDEN_XL_TOKEN", secret=True),
)
_ACCOUNT_FIELDS = ("token", "clientId", "smsCode")

# detailedStatusId's last 3 digits (the class; the 2-digit module in front names the carrier
# and the spec warns the codes change, so only the class is matched).
REASONS = {
    "721": "輻輳",
    "821": "輻輳",
    "732": "番号なし/解約",
    "823": "圏外・電源OFF",
    "824": "圏外・電源OFF",
    "833": "圏外・電源OFF",
    "834": "SMS受信拒否設定",
}


class AosGateway:
    """Thread-safe: one HttpClient shared by all dispatch workers."""

    name = "aos"
    capabilities = Capabilities(
        max_length=660,
        can_schedule=True,
        idempotent=True,  # a repeated clientTag is refused as a duplicate, never sent twice
        lookup_by_send_id=True,
        # The service's ceiling is 600 TPS; dispatch's token bucket may start a second with one
        # saved token, so 590 keeps every 1-second window at or under 600 requests.
        max_requests_per_second=590.0,
    )

    def __init__(self, settings: HttpSettings, *, client_id: str, sms_code: str) -> None:
        self._http = HttpClient(settings)
        self._account = {"token": settings.token, "clientId": client_id}
        self._sms_code = sms_code
        self.identity = GatewayIdentity(self.name, settings.base_url, client_id)

    def send(self, message: OutgoingMessage) -> Receipt:
        form = [*self._account.items(), ("smsCode", self._sms_code)]
        form += [("message", message.body), ("phoneNumber", message.to)]
        form.append(("clientTag", message.send_id))
        if message.scheduled_at is not None:
            form.append(("scheduleTime", schedule_time(message.scheduled_at)))
        outcome = self._http.attempt("POST", "/p5/api/mt.json", data=form)
        transport = classify_transport(message.send_id, outcome, provider=self.name)
        if transport is not None:
            return transport
        assert isinstance(outcome, requests.Response)
        data = json_object(outcome)
        if data is None or not isinstance(data.get("responseCode"), int):
            return Receipt(
                message.send_id, Attempt.MAYBE_PROCESSED, reason="事業者の応答を読めません"
            )
        code, text = data["responseCode"], str(data.get("responseMessage") or "")
        if code == 0:
            attempt = Attempt.ACCEPTED if message.scheduled_at is None else Attempt.SCHEDULED
            return Receipt(message.send_id, attempt, message.send_id)
        if code == 400:  # "Duplicate client tag.": our earlier attempt arrived
            try:
                found = self.lookup(message.send_id)
            except GatewayUnavailable:
                found = None
            if found is not None:
                return found
            return Receipt(message.send_id, Attempt.MAYBE_PROCESSED, reason=f"{text}（照会中）")
        _raise_for_account(code, text, outcome.status_code)
        if code in (100, 110, 120):
            return Receipt(message.send_id, Attempt.REJECTED, reason=_field_reason(code, text))
        # 500 "System error." or anything new: retried with the same clientTag.
        return Receipt(message.send_id, Attempt.MAYBE_PROCESSED, reason=f"{text}（{code}）")

    def lookup(self, send_id: str) -> Receipt | None:
        items = self._status({"clientTag": send_id})
        if items:
            return Receipt(send_id, Attempt.ACCEPTED, send_id)
        # Not sent yet: a reservation waiting for its time shows only here.
        answer, _ = self._query("/p5/api/checkreservation.json", {"clientTag": send_id}, sms=True)
        if answer.get("responseCode") == 130:  # "Already send." (sent since we asked)
            return Receipt(send_id, Attempt.ACCEPTED, send_id)
        reserved = answer.get("status")
        if answer.get("responseCode") == 0 and isinstance(reserved, list) and reserved:
            return Receipt(send_id, Attempt.SCHEDULED, send_id)
        return None

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        """By date when that takes fewer requests (one per day), else one per clientTag."""
        found: dict[str, Mapping[str, Any]] = {}
        wanted = set(message_ids)
        if len(wanted) > STATUS_DAYS:
            today = japan_now().date()
            for back in range(STATUS_DAYS):
                day = today - timedelta(days=back)
                for item in self._status({"date": f"{day:%Y%m%d}"}):
                    tag = item.get("clientTag")
                    if tag in wanted and tag not in found:
                        found[str(tag)] = item
        for tag in message_ids:
            if tag not in found:
                items = self._status({"clientTag": tag})
                if items:
                    found[tag] = items[-1]
        return [delivery_of(tag, found.get(tag)) for tag in message_ids]

    def check_connection(self) -> None:
        """A harmless authenticated read: today's statuses (nothing is sent)."""
        self._status({"date": f"{japan_now():%Y%m%d}"})

    def close(self) -> None:
        self._http.close()

    def _status(self, query: Mapping[str, str]) -> list[Mapping[str, Any]]:
        answer, status = self._query("/p5/api/status.json", query)
        code = answer.get("responseCode")
        items = answer.get("status")
        if code != 0 or not isinstance(items, list):
            raise GatewayUnavailable(
                f"AOSに照会できません（{code} {answer.get('responseMessage')}） / status failed",
                provider=self.name,
                status=status,
            )
        return [i for i in items if isinstance(i, Mapping)]

    def _query(
        self, path: str, query: Mapping[str, str], *, sms: bool = False
    ) -> tuple[dict[str, Any], int]:
        """The answer's JSON object and its HTTP status (200 whatever ``responseCode`` says)."""
        params = {**self._account, **({"smsCode": self._sms_code} if sms else {}), **query}
        response = expect_ok(self._http.attempt("GET", path, params=params), provider=self.name)
        answer = json_object(response)
        if answer is None:
            raise GatewayUnavailable(
                "AOSの応答を読めません / malformed AOS answer",
                provider=self.name,
                status=response.status_code,
            )
        code = answer.get("responseCode")
        if isinstance(code, int):
            message = str(answer.get("responseMessage") or "")
            _raise_for_account(code, message, response.status_code)
        return answer, response.status_code


def schedule_time(at: datetime) -> str:
    """``yyyy-MM-dd HH:mm`` Japan time, rounded up to the minute (never before the slot)."""
    local = at.astimezone(JST)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return f"{local:%Y-%m-%d %H:%M}"


def _raise_for_account(code: int, text: str, status: int) -> None:
    """Refused credentials (100/110 on token, clientId, smsCode) and 300 stop the run.

    ``status`` is the answer's HTTP status (AOS answers 200 and puts the outcome in ``code``).
    """
    if code == 300:
        raise GatewayQuotaError(
            "AOSの契約プランの送信可能件数を超えました（Exceed sending count）。送信を止めました。"
            "送信済みの行は記録されています。残りの行は上限の変更後にもう一度送信できます。"
            " / AOS sending quota exhausted.",
            provider=AosGateway.name,
            status=status,
        )
    if code in (100, 110) and any(field in text for field in _ACCOUNT_FIELDS):
        raise GatewayAuthError(
            f"AOSが認証情報を受け付けませんでした（{text}）。KUDEN_XL_TOKEN・"
            f"KUDEN_XL_AOS_CLIENT_ID・KUDEN_XL_AOS_SMS_CODE を確認してください。"
            " / AOS refused the credentials.",
            provider=AosGateway.name,
            status=status,
        )


def _field_reason(code: int, text: str) -> str:
    what = {100: "必須項目がありません", 110: "項目の内容が不正です", 120: "項目が長すぎます"}
    return f"{what[code]}（{text}）"


def delivery_of(tag: str, item: Mapping[str, Any] | None) -> DeliveryStatus:
    """``statusId`` + ``detailedStatusId`` as 配信結果 (the one mapping for AOS)."""
    if item is None:
        return DeliveryStatus(tag, Delivery.UNKNOWN)
    status = str(item.get("statusId"))
    billed = item.get("separatedSuccessCount")  # valid for statusId 2 and 3 only
    segments = billed if isinstance(billed, int) and not isinstance(billed, bool) else None
    if status == "2":
        return DeliveryStatus(tag, Delivery.DELIVERED, segments=segments)
    if status == "3":
        detail = str(item.get("detailedStatusId") or "")
        return DeliveryStatus(tag, Delivery.UNDELIVERED, REASONS.get(detail[-3:]), segments)
    if status in ("0", "1"):
        return DeliveryStatus(tag, Delivery.PENDING)  # a KDDI failure can take ~20 min
    return DeliveryStatus(tag, Delivery.UNKNOWN)


def from_settings(base_url: str | None, config: Mapping[str, Any] | None = None) -> AosGateway:
    """The gateway from the environment / ``[aos]`` in config.toml / the keyring.

    Raises:
        SettingsError: a setting or the token is missing (one message naming every variable).
    """
    values, http = provider_connection("aos", SETTINGS, base_url, config, bearer=False)
    return AosGateway(http, client_id=values["client_id"], sms_code=values["sms_code"])
