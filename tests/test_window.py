"""The send window and the hourly cap hold for every message as it leaves, not only at planning.

A run goes through ``jobs.send`` on a real workbook, the real sandbox server and a SQLite ledger.
Time is ``KUDEN_XL_NOW``, moved forward by the gateway wrapper below by a fixed step per send
(as if each message took that long): deterministic, whatever the threads do.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from conftest import MakeBook, WrappedGateway, mobile

from kuden_xl import jobs
from kuden_xl.books.xlsx import XlsxTable
from kuden_xl.cli.text import outcome_text
from kuden_xl.clock import JST, NOW_ENV
from kuden_xl.dispatch import DispatchSettings
from kuden_xl.gateways.base import OutgoingMessage, Receipt
from kuden_xl.gateways.sandbox import SandboxGateway, settings_for
from kuden_xl.ledger import Ledger
from kuden_xl.sandbox import SandboxServer

BODY = "【○○市】{氏名}様 お知らせです"
# Far in the future: the sandbox keeps real time and accepts only future scheduled times.
CLOSING = datetime(2099, 6, 1, 18, 59, 0, tzinfo=JST)  # window 09:00-19:00 closes in 60 s
NEXT_OPENING = datetime(2099, 6, 2, 9, 0, tzinfo=JST)


class Advancing(WrappedGateway):
    """The real SandboxGateway, each send moving the clock (KUDEN_XL_NOW) on by ``step_s``.

    Records the clock as each send starts, and what it was asked to schedule.
    """

    def __init__(self, inner: SandboxGateway, start: datetime, step_s: float, **caps: object):
        super().__init__(inner, **caps)
        self.step = timedelta(seconds=step_s)
        self.sends: list[tuple[datetime, datetime | None]] = []
        self._now = start
        self._lock = threading.Lock()
        os.environ[NOW_ENV] = start.isoformat()

    def send(self, message: OutgoingMessage) -> Receipt:
        with self._lock:
            self.sends.append((self._now, message.scheduled_at))
        receipt = self.inner.send(message)
        with self._lock:
            self._now += self.step
            os.environ[NOW_ENV] = self._now.isoformat()
        return receipt

    def late(self, end: datetime) -> int:
        """Sends that left for "now" at or after ``end``."""
        return sum(1 for at, scheduled in self.sends if scheduled is None and at >= end)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def gateway(sandbox: SandboxServer) -> Iterator[SandboxGateway]:
    gw = SandboxGateway(settings_for(sandbox))
    yield gw
    gw.close()


@pytest.fixture(autouse=True)
def _restore_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NOW_ENV, CLOSING.isoformat())  # monkeypatch restores it afterwards


def book_of(make_book: MakeBook, n: int, **settings: object) -> Path:
    # Last two digits 10-99: numbers the sandbox answers without a fault.
    tails = (1000 + (i // 90) * 100 + 10 + i % 90 for i in range(n))
    rows = [["氏名", "電話番号"]] + [[f"住民{i}", mobile(t)] for i, t in enumerate(tails)]
    return make_book(rows, {"本文": BODY, **settings})


def run(book: Path, gw: Advancing, ledger: Ledger, concurrency: int) -> jobs.SendOutcome:
    return jobs.send(
        XlsxTable(book),
        gw,
        ledger,
        rows=None,
        confirm=lambda plan: True,
        settings=DispatchSettings(concurrency=concurrency),
    )


def codes_in_book(book: Path) -> Counter[str]:
    ws = openpyxl.load_workbook(book)["送信リスト"]
    header = [c.value for c in ws[1]]
    column = header.index("結果コード")
    return Counter(row[column] for row in ws.iter_rows(min_row=2, values_only=True))


def test_a_run_reaching_the_end_of_the_window_schedules_the_rest(
    make_book: MakeBook, gateway: SandboxGateway, ledger: Ledger
) -> None:
    # 60 rows planned at 18:59:00, each send taking 1.5 s: 40 fit before 19:00.
    book = book_of(make_book, 60)
    gw = Advancing(gateway, CLOSING, 1.5)
    outcome = run(book, gw, ledger, concurrency=1)
    end = CLOSING.replace(hour=19, minute=0)
    assert gw.late(end) == 0  # nothing left for "now" after 19:00
    assert Counter(r.code.value for r in outcome.results) == {"ACCEPTED": 40, "SCHEDULED": 20}
    scheduled = [s for _, s in gw.sends if s is not None]
    assert scheduled == [NEXT_OPENING] * 20
    assert all(r.sent_at == NEXT_OPENING for r in outcome.results if r.code.value == "SCHEDULED")
    assert codes_in_book(book) == {"ACCEPTED": 40, "SCHEDULED": 20}
    assert outcome.deferred() == {("window", "SCHEDULED"): 20}
    text = outcome_text(outcome)
    assert "送信中に送信時間帯が終わったため20件を次の送信可能な時間に予約しました" in text
    assert not outcome.incomplete


def test_many_workers_never_send_long_after_the_window_closed(
    make_book: MakeBook, gateway: SandboxGateway, ledger: Ledger
) -> None:
    # 200 rows at 0.5 s each from 18:59:00. Each worker checks the clock just before its send;
    # other workers' sends move the clock meanwhile, so at most concurrency - 1 sends can start
    # at 19:00 or later (checked just before, in time) — never the 80 that did not fit.
    book = book_of(make_book, 200)
    gw = Advancing(gateway, CLOSING, 0.5)
    outcome = run(book, gw, ledger, concurrency=8)
    assert gw.late(CLOSING.replace(hour=19, minute=0)) <= 7
    counts = Counter(r.code.value for r in outcome.results)
    assert counts["ACCEPTED"] + counts["SCHEDULED"] == 200 and counts["SCHEDULED"] >= 80 - 7
    assert {s for _, s in gw.sends if s is not None} == {NEXT_OPENING}
    assert len(gw.sends) == 200  # each row once


def test_without_scheduling_the_rest_is_held(
    make_book: MakeBook, gateway: SandboxGateway, ledger: Ledger
) -> None:
    book = book_of(make_book, 60)
    gw = Advancing(gateway, CLOSING, 1.5, can_schedule=False)
    outcome = run(book, gw, ledger, concurrency=1)
    assert gw.late(CLOSING.replace(hour=19, minute=0)) == 0
    assert len(gw.sends) == 40  # the held rows never reached the gateway
    assert Counter(r.code.value for r in outcome.results) == {"ACCEPTED": 40, "HOLD_WINDOW": 20}
    held = [r for r in outcome.results if r.code.value == "HOLD_WINDOW"]
    assert all("送信中に送信時間帯" in r.reason for r in held)
    assert ledger.count() == 40  # a held row leaves nothing in the ledger: sent next time
    ws = openpyxl.load_workbook(book)["送信リスト"]
    header = [c.value for c in ws[1]]
    last = [dict(zip(header, r, strict=False)) for r in ws.iter_rows(values_only=True)][-1]
    assert last["結果コード"] == "HOLD_WINDOW" and last["送信日時"] is None  # not a send record
    assert "20件を送信せずに保留しました" in outcome_text(outcome)


def test_the_hourly_cap_holds_as_the_clock_crosses_the_hour(
    make_book: MakeBook, gateway: SandboxGateway, ledger: Ledger
) -> None:
    # Cap 3 an hour, planned at 10:59:30 (3 now, 3 at 11:00, 3 at 12:00, 1 at 13:00), each send
    # taking 15 s: the plan's third "now" would leave at 11:00, making four in that hour.
    start = datetime(2099, 6, 1, 10, 59, 30, tzinfo=JST)
    book = book_of(make_book, 10, **{"1時間あたり上限": 3})
    gw = Advancing(gateway, start, 15)
    outcome = run(book, gw, ledger, concurrency=1)
    per_hour = Counter(
        (scheduled or at).replace(minute=0, second=0, microsecond=0) for at, scheduled in gw.sends
    )
    assert len(gw.sends) == 10 and max(per_hour.values()) <= 3, per_hour
    assert all(r.code.value in ("ACCEPTED", "SCHEDULED") for r in outcome.results)


def test_a_full_hour_defers_a_message_planned_for_now(
    make_book: MakeBook, gateway: SandboxGateway, ledger: Ledger
) -> None:
    # Planned with room for 2 this hour; before it sends, another run takes one of them.
    book = book_of(make_book, 2, **{"1時間あたり上限": 2})
    start = datetime(2099, 6, 1, 10, 0, tzinfo=JST)
    gw = Advancing(gateway, start, 1)

    def confirm(plan: object) -> bool:
        other = ledger.identity(mobile(9999), "別の本文")
        ledger.reserve(other, send_id="other-run", provider="sandbox", segments=1, at=start)
        return True

    outcome = jobs.send(XlsxTable(book), gw, ledger, rows=None, confirm=confirm)
    # Whichever worker comes second finds the hour full (the order is the threads' choice).
    assert Counter(r.code.value for r in outcome.results) == {"ACCEPTED": 1, "SCHEDULED": 1}
    assert sorted(str(s) for _, s in gw.sends) == sorted([str(None), str(start.replace(hour=11))])
    assert outcome.deferred() == {("cap", "SCHEDULED"): 1}
    assert "1時間あたり上限に達したため1件を" in outcome_text(outcome)


def test_a_retry_never_leaves_after_the_window_closed(
    make_book: MakeBook, gateway: SandboxGateway, ledger: Ledger
) -> None:
    # …03: the sandbox answers 429 once. The first attempt is refused at 18:59:59; by the retry
    # it is 19:00, so the message is scheduled for the next opening instead of leaving now.
    rows = [["氏名", "電話番号"], ["住民0", mobile(1003)]]
    book = make_book(rows, {"本文": BODY})
    start = CLOSING.replace(second=59)
    gw = Advancing(gateway, start, 1)
    outcome = run(book, gw, ledger, concurrency=1)
    [result] = outcome.results
    assert result.code.value == "SCHEDULED" and result.sent_at == NEXT_OPENING
    assert gw.sends[0] == (start, None)
    assert all(scheduled == NEXT_OPENING for _, scheduled in gw.sends[1:])
    assert outcome.deferred() == {("window", "SCHEDULED"): 1}
    assert gw.late(start.replace(hour=19, minute=0, second=0)) == 0
