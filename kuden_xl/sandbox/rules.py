"""What the sandbox decides, apart from HTTP and storage: validation, faults, delivery status.

The outcome of a message is fixed by the last two digits of its number, so a test, a demo sheet
or a training session can ask for any behaviour by choosing the number (OUTCOMES is the table
the README shows). The "first attempt" faults fire once per idempotency key, whatever the
concurrency: the mark is stored with the messages, so a crash-rerun with the same key sees the
fault only once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

JST = timezone(timedelta(hours=9), "JST")  # Japan has no DST: a fixed offset is exact
MAX_BODY = 660
MAX_STATUS_IDS = 1000
UNREACHABLE_REASON = "圏外または存在しない番号"
UNDELIVERED_REASON = "圏外"

# 11 digits: mobile 090/080/070/060, and 020 (M2M) which carriers also deliver to.
_TO = re.compile(r"0[6789]0\d{8}|020\d{8}")


class Fault(str, Enum):
    """Behaviour chosen by the number's last two digits (anything else: accepted, delivered)."""

    UNREACHABLE = "01"  # 422 every time; nothing recorded
    UNDELIVERED = "02"  # accepted; delivery result 不達（圏外）
    THROTTLE = "03"  # first request per key: 429 Retry-After 0, nothing recorded
    SERVER_ERROR = "04"  # first request per key: 500, nothing recorded
    SLOW = "05"  # first request per key: recorded, answered after slow_s (client times out)
    DROP = "06"  # first request per key: nothing recorded, connection reset without answer


FIRST_ATTEMPT_FAULTS = frozenset({Fault.THROTTLE, Fault.SERVER_ERROR, Fault.SLOW, Fault.DROP})

# (last two digits, English, Japanese) — the README table is generated from this.
OUTCOMES: tuple[tuple[str, str, str], ...] = (
    (
        "01",
        "Refused: 422 `unreachable`, reason 圏外または存在しない番号; nothing recorded.",
        "送信不可：422 `unreachable`（圏外または存在しない番号）。記録されない。",
    ),
    (
        "02",
        "Accepted; delivery result undelivered, reason 圏外.",
        "受付。配信結果は 不達（圏外）。",
    ),
    (
        "03",
        "First request per Idempotency-Key: 429 with `Retry-After: 0`, nothing recorded; "
        "the next succeeds.",
        "同じ送信IDの初回のみ 429（Retry-After: 0）、記録されない。2回目は受付。",
    ),
    (
        "04",
        "First request per key: 500, nothing recorded (a sandbox 5xx never records); "
        "the next succeeds.",
        "初回のみ 500、記録されない（サンドボックスの5xxは記録しない）。2回目は受付。",
    ),
    (
        "05",
        "First request per key: recorded, but answered only after `slow_s` (default 3 s, "
        "longer than the client's 2 s read timeout); a retry with the same key gets the "
        "stored answer.",
        "初回のみ 記録した上で `slow_s` 秒（既定3秒）後に応答＝クライアントはタイムアウト。"
        "同じ送信IDで再送すると記録済みの応答が返る。",
    ),
    (
        "06",
        "First request per key: nothing recorded, the connection is reset without an "
        "answer; the next succeeds.",
        "初回のみ 記録せず応答なしで接続を切断。2回目は受付。",
    ),
    ("other", "Accepted and delivered.", "受付・配信済。"),
)


def fault_for(to: str) -> Fault | None:
    try:
        return Fault(to[-2:])
    except ValueError:
        return None


def segments(body: str) -> int:
    """Billed parts: one SMS holds 70 characters; a long SMS carries 67 per part."""
    n = len(body)
    return 1 if n <= 70 else math.ceil(n / 67)


class Invalid(Exception):
    """A request the sandbox answers with 400; ``reason`` is Japanese, shown to staff."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(error, reason)
        self.error = error
        self.reason = reason


@dataclass(frozen=True)
class SendRequest:
    to: str
    body: str
    scheduled_at: str | None  # ISO text, normalised
    scheduled_ts: float | None


def parse_send(payload: object) -> SendRequest:
    """Validate a POST /v1/messages body.

    Raises:
        Invalid: the request is malformed; nothing is recorded.
    """
    if not isinstance(payload, dict):
        raise Invalid("invalid_json", "リクエスト本文がJSONオブジェクトではありません")
    to = payload.get("to")
    if not isinstance(to, str) or not _TO.fullmatch(to):
        raise Invalid("invalid_to", "宛先番号の形式が不正です（11桁の携帯番号）")
    body = payload.get("body")
    if not isinstance(body, str) or not body:
        raise Invalid("invalid_body", "本文が空です")
    if len(body) > MAX_BODY:
        raise Invalid("body_too_long", f"本文が{MAX_BODY}文字を超えています（{len(body)}文字）")
    raw = payload.get("scheduled_at")
    if raw is None:
        return SendRequest(to, body, None, None)
    when = _parse_time(raw)
    return SendRequest(to, body, when.isoformat(), when.timestamp())


def _parse_time(raw: object) -> datetime:
    if isinstance(raw, str):
        try:
            # Python 3.10's fromisoformat does not take a trailing Z.
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if when.tzinfo is not None:
                return when
    raise Invalid("invalid_scheduled_at", "予約日時はタイムゾーン付きのISO形式で指定してください")


def parse_ids(payload: object) -> list[str]:
    """Validate a POST /v1/messages/status body: ``{"ids": [...]}``, at most 1000 strings."""
    ids = payload.get("ids") if isinstance(payload, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise Invalid("invalid_ids", "ids はメッセージIDの配列で指定してください")
    if len(ids) > MAX_STATUS_IDS:
        raise Invalid("too_many_ids", f"一度に照会できるのは{MAX_STATUS_IDS}件までです")
    return list(ids)


def iso_now(ts: float) -> str:
    return datetime.fromtimestamp(ts, JST).isoformat(timespec="milliseconds")


def current_status(
    *,
    received_ts: float,
    scheduled_ts: float | None,
    outcome: str,
    reason: str | None,
    now: float,
    deliver_after_s: float,
) -> tuple[str, str | None]:
    """Status at ``now``: scheduled until its time, accepted for deliver_after_s, then final.

    Computed on read from stored times, so there is no background worker and a restarted server
    reports the same thing.
    """
    if scheduled_ts is not None and now < scheduled_ts:
        return "scheduled", None
    start = max(received_ts, scheduled_ts or 0.0)
    if now < start + deliver_after_s:
        return "accepted", None
    return outcome, reason
