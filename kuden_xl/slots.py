"""When a send may leave: the send window (Japan time) and the hourly cap, in one place.

The planner gives every row a slot in advance (for the confirmation and the preview); the
dispatcher asks again for each message just before it leaves, with the clock of that moment, so a
run that reaches the end of 送信時間帯 schedules or holds the rest (DESIGN §6). Both use
``SlotBook``, so the rule exists once.

A slot is "now", or the start of a later clock hour (or of the window's next opening) that still
has room under the cap. The cap counts per clock hour in Japan time, keyed by the hour's start;
a scheduled send counts in the hour it leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .campaign import SendWindow
from .clock import JST


@dataclass(frozen=True)
class Scheduling:
    """When sends may leave: the window (Japan time), the hourly cap, the gateway's abilities."""

    now: datetime
    window: SendWindow
    hourly_cap: int | None = None
    can_schedule: bool = False
    # Sends already made or scheduled per clock hour (Japan time, keyed by the hour's start):
    # the cap paces call-backs, so earlier runs in the same hour count against it.
    already: Mapping[datetime, int] = field(default_factory=dict)
    # The gateway's bounds on a scheduled send's lead time (``Capabilities``); None: unbounded.
    min_ahead: timedelta | None = None
    max_ahead: timedelta | None = None


@dataclass(frozen=True)
class Slot:
    """Where one message goes: ``at`` None is now, else the start of a later slot."""

    at: datetime | None
    hour: datetime  # the clock hour it counts in, for the cap
    moved_by: str = ""  # why it is not now: "window" or "cap"


def hour_of(t: datetime) -> datetime:
    return t.astimezone(JST).replace(minute=0, second=0, microsecond=0)


def in_window(t: datetime, window: SendWindow) -> bool:
    return window.contains(t.astimezone(JST).time().replace(tzinfo=None))


def next_window_start(t: datetime, window: SendWindow) -> datetime:
    t = t.astimezone(JST)
    start = t.replace(hour=window.start.hour, minute=window.start.minute, second=0, microsecond=0)
    return start if start > t else start + timedelta(days=1)


def hold_reason(slot: Slot, window: SendWindow, cap: int | None, *, during_run: bool) -> str:
    """Why a message that cannot be scheduled is held (HOLD_WINDOW), for 結果."""
    if slot.moved_by == "cap":
        why = f"1時間あたり上限（{cap}通）を超えました"
    elif during_run:
        why = f"送信中に送信時間帯（{window}）が終わりました"
    else:
        why = f"送信時間帯（{window}）の外です"
    return f"{why}。時間帯内にもう一度送信してください"


class SlotBook:
    """Slots handed out so far, per clock hour; thread-safe (the dispatcher's workers share one).

    ``already``: sends made or scheduled per hour before this book was opened (the ledger's
    count), so earlier runs in the same hour share the cap. ``can_schedule``: whether a later
    slot can be used at all; without it such a message is held and takes no room.
    """

    def __init__(
        self,
        window: SendWindow,
        cap: int | None,
        already: Mapping[datetime, int] | None = None,
        *,
        can_schedule: bool = True,
        min_ahead: timedelta | None = None,
        max_ahead: timedelta | None = None,
    ) -> None:
        self.window = window
        self.cap = cap if cap is None else max(1, cap)  # a cap of 0 would never find a slot
        self.can_schedule = can_schedule
        self.min_ahead, self.max_ahead = min_ahead, max_ahead
        self._counts: dict[datetime, int] = dict(already or {})
        self._lock = threading.Lock()

    def take(self, now: datetime) -> Slot:
        """The earliest slot from ``now`` on with room, counted when it will be used."""
        with self._lock:
            slot = self._earliest(now.astimezone(JST))
            if slot.at is None or self.schedulable(slot, now):
                self._counts[slot.hour] = self._counts.get(slot.hour, 0) + 1
            return slot

    def schedulable(self, slot: Slot, now: datetime) -> bool:
        """A later slot the gateway can schedule from ``now`` (within its lead-time bounds)."""
        if slot.at is None or not self.can_schedule:
            return False
        lead = slot.at - now
        too_soon = self.min_ahead is not None and lead < self.min_ahead
        too_far = self.max_ahead is not None and lead > self.max_ahead
        return not (too_soon or too_far)

    def bounds_note(self) -> str:
        """For a hold the gateway's lead-time bounds caused: how far ahead it can schedule."""
        if not self.can_schedule or (self.min_ahead is None and self.max_ahead is None):
            return ""
        return f"（予約できるのは {_lead(self.min_ahead)}〜{_lead(self.max_ahead)} 先です）"

    def give_back(self, slot: Slot) -> None:
        """A slot whose message was not sent after all (refused, failed, skipped)."""
        with self._lock:
            self._counts[slot.hour] = max(0, self._counts.get(slot.hour, 0) - 1)

    def is_open(self, now: datetime) -> bool:
        """True while ``now`` lies in the window (a retry of a message sent "now" may leave)."""
        return in_window(now, self.window)

    def _earliest(self, now: datetime) -> Slot:
        t = now if in_window(now, self.window) else next_window_start(now, self.window)
        while True:
            hour = hour_of(t)
            if self.cap is None or self._counts.get(hour, 0) < self.cap:
                if t == now:
                    return Slot(None, hour)
                return Slot(t, hour, "window" if not in_window(now, self.window) else "cap")
            t = hour + timedelta(hours=1)
            if not in_window(t, self.window):
                t = next_window_start(t, self.window)


def _lead(lead: timedelta | None) -> str:
    if lead is None:
        return ""
    if lead >= timedelta(days=1):
        return f"{lead.days}日"
    return f"{int(lead.total_seconds() // 60)}分"
