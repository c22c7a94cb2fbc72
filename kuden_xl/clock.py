"""Japan time for everything user-facing (DESIGN §5), and one fixed clock for tests.

``KUDEN_XL_NOW`` (an ISO date-time in Japan time, e.g. ``2026-11-27T10:00:00``) fixes ``now()``
so tests and benchmarks never depend on the wall clock or the machine's time zone.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SettingsError

NOW_ENV = "KUDEN_XL_NOW"


def _japan_zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Tokyo")
    except ZoneInfoNotFoundError:
        # Windows without the tzdata package has no zone database. Japan has had no DST since
        # 1951, so a fixed +09:00 gives the same answers for every date we handle.
        return timezone(timedelta(hours=9), "JST")


JST: tzinfo = _japan_zone()


def parse_now(text: str) -> datetime:
    """Parse a ``KUDEN_XL_NOW`` value: naive means Japan time; an explicit offset is honoured."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise SettingsError(
            f"環境変数 {NOW_ENV} の日時「{text}」を読めません。2026-11-27T10:00:00 の形で"
            f"指定してください。 / {NOW_ENV} is not an ISO date-time."
        ) from exc
    if value.tzinfo is None:
        return value.replace(tzinfo=JST)
    return value.astimezone(JST)


def now() -> datetime:
    """The current time, aware, in Japan time (``KUDEN_XL_NOW`` when set)."""
    fixed = os.environ.get(NOW_ENV, "").strip()
    if fixed:
        return parse_now(fixed)
    return datetime.now(JST)
