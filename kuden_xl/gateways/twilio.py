"""Twilio Programmable Messaging, REST API 2010-04-01 (``shared/specs/twilio-api-v2010-messages.json``).

- Auth: HTTP Basic, Account SID + auth token, or API key SID + secret (``KUDEN_XL_TOKEN`` or
  the keyring either way); the Account SID is in every path and is the identity's ``account``.
- Send: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` form-encoded: ``To`` in E.164,
  ``From`` (a number or an alphanumeric sender) or ``MessagingServiceSid``, ``Body``. Scheduling
  needs a messaging service (``ScheduleType=fixed``, ``SendAt`` 15 min – 35 days ahead); without
  one ``can_schedule`` is False and the plan holds rows outside the send window.
- Errors: 21211 / 21408 / 21612 / 21614 / 21610 (and any other 4xx) → REJECTED with a Japanese
  reason; 20429 / HTTP 429 → NOT_PROCESSED; 5xx / timeout → MAYBE_PROCESSED.
- No client reference: Twilio keeps nothing of ours, so a send is not idempotent and cannot be
  looked up by our send id. Reconciliation lists the account's messages sent since the
  reservation and matches number and body (``find_sent``), never a message the ledger records
  for another send; a miss or two matches decide nothing (the row stays UNKNOWN).
- Delivery: ``status`` + ``error_code`` (30003 … 30008) → 配信結果, one fetch per message.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from ..errors import GatewayUnavailable, SettingsError
from ..schema import Delivery
from .base import (
    Attempt,
    Capabilities,
    DeliveryStatus,
    GatewayIdentity,
    OutgoingMessage,
    Receipt,
    SentQuery,
)
from .http import HttpClient, HttpSettings, classify_transport, created, expect_ok, json_object
from .registry import Setting, with_connection_settings
from .twilio_answers import REJECTIONS, delivery_of, matches, receipt

NAME = "twilio"
DEFAULT_BASE_URL = "https://api.twilio.com"
API = "/2010-04-01"
MAX_BODY = 1600  # characters per message (Twilio's Body limit)
SCHEDULE_MIN_AHEAD = timedelta(minutes=15)
SCHEDULE_MAX_AHEAD = timedelta(days=35)
STATUS_CONCURRENCY = 8  # message fetches in flight during a status refresh
STATUS_ATTEMPTS = 3  # per message fetch, when Twilio answers 429
STATUS_RETRY_CAP_S = 5.0
LIST_PAGE_SIZE = 1000  # the spec's maximum PageSize
LIST_MAX_PAGES = 20  # a reconciliation reads at most this many pages, then cannot tell
CLOCK_SKEW = timedelta(minutes=5)  # this PC's clock against Twilio's, for the listing window

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
SENDER = re.compile(r"\+[1-9]\d{1,14}|[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*")


SETTINGS: tuple[Setting, ...] = (
    Setting("account_sid", "KUDEN_XL_TWILIO_ACCOUNT_SID"),
    Setting("from", "KUDEN_XL_TWILIO_FROM"),
    Setting("messaging_service_sid", "KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID"),
    Setting("api_key_sid", "KUDEN_XL_TWILIO_API_KEY_SID"),
    Setting("base_url", "KUDEN_XL_BASE_URL", default=DEFAULT_BASE_URL),
    Setting("token", "KUDEN_XL_TOKEN", secret=True),
)


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    sender: str | None = None  # From: an E.164 number or an alphanumeric sender id
    messaging_service_sid: str | None = None
    api_key_sid: str | None = None  # Basic auth user instead of the Account SID

    @property
    def can_schedule(self) -> bool:
        return self.messaging_service_sid is not None


def read_settings(
    environ: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None
) -> TwilioSettings:
    """The ``[twilio]`` settings: environment > config.toml > none, validated.

    Raises:
        SettingsError: a missing or malformed setting, named by its environment variable.
    """
    environ = os.environ if environ is None else environ
    if config is None:
        from ..config import read_config_file

        config = read_config_file()
    table = config.get(NAME) or {}
    table = table if isinstance(table, Mapping) else {}

    def value(key: str) -> str | None:
        setting = next(s for s in SETTINGS if s.key == key)
        text = environ.get(setting.env, "").strip() or str(table.get(key) or "").strip()
        return text or None

    account = value("account_sid")
    if account is None:
        raise _missing("KUDEN_XL_TWILIO_ACCOUNT_SID", "Account SID（AC で始まる 34 文字）")
    _check(account, ACCOUNT_SID, "KUDEN_XL_TWILIO_ACCOUNT_SID", "AC で始まる 34 文字")
    service = value("messaging_service_sid")
    if service is not None:
        _check(service, SERVICE_SID, "KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID", "MG で始まる 34 文字")
    sender = value("from")
    if sender is not None:
        _check(sender, SENDER, "KUDEN_XL_TWILIO_FROM", "+81… の番号か英数字の送信者名")
    if sender is None and service is None:
        raise SettingsError(
            "Twilio の送信元がありません。環境変数 KUDEN_XL_TWILIO_FROM（送信元の番号か英数字の"
            "送信者名）か KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID（Messaging Service の SID）を"
            "設定してください。 / Set KUDEN_XL_TWILIO_FROM or KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID."
        )
    key = value("api_key_sid")
    if key is not None:
        _check(key, API_KEY_SID, "KUDEN_XL_TWILIO_API_KEY_SID", "SK で始まる 34 文字")
    return TwilioSettings(account, sender, service, key)


def _missing(env: str, what: str) -> SettingsError:
    return SettingsError(
        f"Twilio の設定 {env}（{what}）がありません。環境変数か設定ファイルの [twilio] に"
        f"設定してください。 / {env} is not set."
    )


def _check(text: str, pattern: re.Pattern[str], env: str, shape: str) -> None:
    if not pattern.fullmatch(text):
        raise SettingsError(
            f"Twilio の設定 {env} の形が正しくありません（{shape}）。 / {env} is malformed."
        )


def e164(national: str) -> str:
    """``09012345678`` → ``+819012345678`` (the plan hands on national numbers only)."""
    return "+81" + national[1:] if national.startswith("0") else national


class TwilioGateway:
    """Thread-safe: one HttpClient (one pooled session) shared by all dispatch workers."""

    name = NAME

    def __init__(self, http: HttpSettings, settings: TwilioSettings) -> None:
        self._http = HttpClient(replace(http, bearer=False))  # Basic auth, per request
        self._settings = settings
        user = settings.api_key_sid or settings.account_sid
        basic = base64.b64encode(f"{user}:{http.token}".encode()).decode("ascii")
        self._auth = {"Authorization": f"Basic {basic}"}
        self._messages = f"{API}/Accounts/{settings.account_sid}/Messages"
        self.identity = GatewayIdentity(NAME, http.base_url, settings.account_sid)
        self.capabilities = Capabilities(
            max_length=MAX_BODY,
            can_schedule=settings.can_schedule,
            idempotent=False,
            lookup_by_send_id=False,
            schedule_min_ahead=SCHEDULE_MIN_AHEAD,
            schedule_max_ahead=SCHEDULE_MAX_AHEAD,
        )

    def send(self, message: OutgoingMessage) -> Receipt:
        form = {"To": e164(message.to), "Body": message.body}
        if self._settings.messaging_service_sid:
            form["MessagingServiceSid"] = self._settings.messaging_service_sid
        else:
            form["From"] = self._settings.sender or ""
        if message.scheduled_at is not None:
            if not self._settings.can_schedule:
                return Receipt(
                    message.send_id,
                    Attempt.REJECTED,
                    reason="Twilio の予約送信には Messaging Service の設定が必要です",
                )
            form["ScheduleType"] = "fixed"
            form["SendAt"] = _iso_utc(message.scheduled_at)
        outcome = self._call("POST", f"{self._messages}.json", data=form)
        transport = classify_transport(message.send_id, outcome, provider=NAME)
        if transport is not None:
            return transport
        assert isinstance(outcome, requests.Response)
        return receipt(message.send_id, outcome)

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        if not message_ids:
            return []
        workers = min(STATUS_CONCURRENCY, len(message_ids))
        with ThreadPoolExecutor(workers, thread_name_prefix="kuden-twilio-status") as pool:
            return list(pool.map(self._status_of, message_ids))

    def lookup(self, send_id: str) -> Receipt | None:
        """Twilio keeps nothing of ours to look up by (``lookup_by_send_id`` is False)."""
        raise GatewayUnavailable(
            "Twilio は送信IDで照会できません。 / Twilio cannot look up by send id; use find_sent.",
            provider=NAME,
        )

    def find_sent(self, query: SentQuery) -> Receipt | None:
        """The one message sent since the reservation whose number and body match and that no
        other send of the ledger records (``query.taken``); else None.

        Lists every page of outbound messages with ``DateSent>`` a little before the
        reservation (this PC's clock may be off) and keeps those created since. None — the row
        stays UNKNOWN — when none or several match, or the listing is longer than we read.
        """
        since = query.reserved_at - CLOCK_SKEW
        params: Mapping[str, str] | None = {
            "DateSent>": _iso_utc(since),
            "PageSize": str(LIST_PAGE_SIZE),
        }
        path = f"{self._messages}.json"
        found: list[dict[str, Any]] = []
        for _ in range(LIST_MAX_PAGES):
            response = expect_ok(self._call("GET", path, params=params), provider=NAME)
            page = json_object(response) or {}
            messages = page.get("messages")
            if not isinstance(messages, list):
                raise _malformed(response)
            found += [m for m in messages if matches(m, query, since)]
            next_page = page.get("next_page_uri")
            if not isinstance(next_page, str) or not next_page.startswith(API):
                break
            path, params = next_page, None  # the next page's query is in its URI
        else:
            return None
        if len(found) != 1 or not isinstance(found[0].get("sid"), str):
            return None
        message = found[0]
        if message.get("status") == "failed" and message.get("error_code") in REJECTIONS:
            reason = REJECTIONS[message["error_code"]]
            return Receipt(query.send_id, Attempt.REJECTED, message["sid"], reason=reason)
        return created(query.send_id, message, "sid")

    def check_connection(self) -> None:
        """Fetch the account (``GET /Accounts/{Sid}.json``): authenticated, sends nothing."""
        account = f"{API}/Accounts/{self._settings.account_sid}.json"
        expect_ok(self._call("GET", account), provider=NAME)

    def close(self) -> None:
        self._http.close()

    def _status_of(self, message_id: str) -> DeliveryStatus:
        if not MESSAGE_SID.fullmatch(message_id):
            return DeliveryStatus(message_id, Delivery.UNKNOWN)
        for attempt in range(STATUS_ATTEMPTS):
            response = self._call("GET", f"{self._messages}/{message_id}.json")
            busy = (
                classify_transport(message_id, response, provider=NAME)
                if _is_429(response)
                else None
            )
            if busy is None or attempt == STATUS_ATTEMPTS - 1:
                break
            # 20429: too many concurrent requests, never processed; wait as told, then again.
            time.sleep(min(STATUS_RETRY_CAP_S, busy.retry_after_s or 0.5 * 2**attempt))
        if isinstance(response, requests.Response) and response.status_code == 404:
            return DeliveryStatus(message_id, Delivery.UNKNOWN)
        return delivery_of(message_id, json_object(expect_ok(response, provider=NAME)) or {})

    def _call(
        self,
        method: str,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> requests.Response | requests.RequestException:
        form = list(data.items()) if data is not None else None
        return self._http.attempt(method, path, data=form, params=params, headers=self._auth)


def _is_429(outcome: requests.Response | requests.RequestException) -> bool:
    return isinstance(outcome, requests.Response) and outcome.status_code == 429


def _iso_utc(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _malformed(response: requests.Response) -> GatewayUnavailable:
    return GatewayUnavailable(
        "Twilio の応答を読めません / malformed Twilio answer",
        provider=NAME,
        status=response.status_code,
    )


def from_settings(
    base_url: str | None = None, config: Mapping[str, Any] | None = None
) -> TwilioGateway:
    """The gateway from the environment and config.toml (the registry's line for Twilio).

    Raises:
        SettingsError: a setting or the token is missing or malformed (named by its variable).
    """
    from ..credentials import gateway_token

    if config is None:
        from ..config import read_config_file

        config = read_config_file()
    settings = read_settings(config=config)
    table = config.get(NAME) or {}
    url = (
        base_url
        or os.environ.get("KUDEN_XL_BASE_URL", "").strip()
        or str((table if isinstance(table, Mapping) else {}).get("base_url") or "").strip()
        or DEFAULT_BASE_URL
    )
    token = gateway_token(NAME)
    http = with_connection_settings(HttpSettings(base_url=url.rstrip("/"), token=token), config)
    return TwilioGateway(http, settings)
