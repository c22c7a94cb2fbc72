"""The planner's ledger and timing rules, with a real SQLite ledger (no gateway needed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import mobile

from kuden_xl.books.base import SheetRows
from kuden_xl.campaign import parse_window
from kuden_xl.clock import JST
from kuden_xl.config import campaign_settings
from kuden_xl.jobs.planning import _LedgerRecords
from kuden_xl.ledger import Ledger, State
from kuden_xl.plan import Scheduling, plan
from kuden_xl.schema import ResultCode, find_header

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=JST)


def sheet(numbers: list[str], *, book: str = "book.xlsx") -> SheetRows:
    header = find_header([["氏名", "電話番号"]], sheet="送信リスト")
    rows = {i + 2: [f"住民{i}", n] for i, n in enumerate(numbers)}
    return SheetRows(book, "送信リスト", header, rows, len(numbers) + 1)


def settings(**sheet_values: object):  # type: ignore[no-untyped-def]
    return campaign_settings({"本文": "{氏名}様 お知らせ", **sheet_values}, environ={}, config={})


def schedule(now: datetime, *, cap: int | None = None, can_schedule: bool = True) -> Scheduling:
    return Scheduling(now, parse_window("09:00-19:00"), cap, can_schedule)


def codes(send_plan) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.code.value if r.code else "OK" for r in send_plan.rows]


def test_in_window_sends_now() -> None:
    p = plan(sheet([mobile(10), mobile(11)]), [2, 3], settings(), scheduling=schedule(NOW))
    assert codes(p) == ["OK", "OK"] and all(r.scheduled_at is None for r in p.rows)


def test_window_is_japan_time_whatever_the_zone_of_now() -> None:
    from datetime import timezone

    lunch_jst = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)  # 13:00 in Japan
    evening_jst = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)  # 21:00 in Japan
    p = plan(sheet([mobile(10)]), [2], settings(), scheduling=schedule(lunch_jst))
    assert p.rows[0].scheduled_at is None
    p = plan(sheet([mobile(10)]), [2], settings(), scheduling=schedule(evening_jst))
    assert p.rows[0].scheduled_at == datetime(2026, 11, 28, 9, 0, tzinfo=JST)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 27, 22, 30, tzinfo=JST), datetime(2026, 11, 28, 9, 0, tzinfo=JST)),
        (datetime(2026, 11, 27, 6, 0, tzinfo=JST), datetime(2026, 11, 27, 9, 0, tzinfo=JST)),
        (datetime(2026, 11, 27, 19, 0, tzinfo=JST), datetime(2026, 11, 28, 9, 0, tzinfo=JST)),
    ],
    ids=["night", "early-morning", "window-end-is-exclusive"],
)
def test_outside_window_schedules_the_next_opening(now: datetime, expected: datetime) -> None:
    p = plan(sheet([mobile(10)]), [2], settings(), scheduling=schedule(now))
    assert p.rows[0].code is None and p.rows[0].scheduled_at == expected


def test_outside_window_without_scheduling_holds() -> None:
    night = datetime(2026, 11, 27, 23, 0, tzinfo=JST)
    p = plan(sheet([mobile(10)]), [2], settings(), scheduling=schedule(night, can_schedule=False))
    assert codes(p) == ["HOLD_WINDOW"] and "送信時間帯" in p.rows[0].reason


def test_hourly_cap_spreads_sends_over_hours_and_days() -> None:
    late = datetime(2026, 11, 27, 17, 30, tzinfo=JST)
    p = plan(
        sheet([mobile(10 + i) for i in range(7)]),
        list(range(2, 9)),
        settings(),
        scheduling=schedule(late, cap=2),
    )
    slots = [r.scheduled_at for r in p.rows]
    assert slots[:2] == [None, None]
    assert slots[2:4] == [datetime(2026, 11, 27, 18, 0, tzinfo=JST)] * 2
    assert slots[4:6] == [datetime(2026, 11, 28, 9, 0, tzinfo=JST)] * 2  # 19:00 is closed
    assert slots[6] == datetime(2026, 11, 28, 10, 0, tzinfo=JST)


def test_hourly_cap_without_scheduling_holds_the_rest() -> None:
    p = plan(
        sheet([mobile(10 + i) for i in range(3)]),
        [2, 3, 4],
        settings(),
        scheduling=schedule(NOW, cap=2, can_schedule=False),
    )
    assert codes(p) == ["OK", "OK", "HOLD_WINDOW"] and "上限" in p.rows[2].reason


def _sent(ledger: Ledger, number: str, body: str, *, workbook: str, at: datetime) -> None:
    identity = ledger.identity(number, body)
    ledger.reserve(
        identity,
        send_id=f"s-{number}-{workbook}",
        provider="sandbox",
        segments=1,
        workbook=workbook,
        sheet="送信リスト",
        row=2,
        at=at,
    )
    ledger.settle(
        f"s-{number}-{workbook}",
        state=State.ACCEPTED,
        code=ResultCode.ACCEPTED,
        message_id="sbx-1",
        at=at,
    )


def test_lost_record_is_restored_not_resent(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _sent(
            ledger,
            mobile(10),
            "住民0様 お知らせ",
            workbook="book.xlsx",
            at=NOW - timedelta(minutes=3),
        )
        p = plan(
            sheet([mobile(10), mobile(11)]),
            [2, 3],
            settings(),
            ledger=_LedgerRecords(ledger),
            scheduling=schedule(NOW),
        )
    assert codes(p) == ["ACCEPTED", "OK"]
    assert p.rows[0].restored is not None and p.rows[0].restored.message_id == "sbx-1"
    assert len(p.outgoing) == 1


def test_same_message_from_another_workbook_is_recent(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _sent(
            ledger,
            mobile(10),
            "住民0様 お知らせ",
            workbook="other.xlsx",
            at=NOW - timedelta(days=2),
        )
        view = _LedgerRecords(ledger)
        recent = plan(sheet([mobile(10)]), [2], settings(), ledger=view, scheduling=schedule(NOW))
        allowed = plan(
            sheet([mobile(10)]),
            [2],
            settings(),
            ledger=view,
            scheduling=schedule(NOW),
            allow_resend=True,
        )
        later = plan(
            sheet([mobile(10)]),
            [2],
            settings(),
            ledger=view,
            scheduling=schedule(NOW + timedelta(days=6)),
        )
    assert codes(recent) == ["SKIP_RECENT"] and codes(allowed) == ["OK"]
    assert codes(later) == ["OK"]  # 8 days after: outside the 7-day guard


def test_same_sheet_past_the_guard_is_a_new_campaign(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _sent(
            ledger,
            mobile(10),
            "住民0様 お知らせ",
            workbook="book.xlsx",
            at=NOW - timedelta(days=30),
        )
        p = plan(
            sheet([mobile(10)]),
            [2],
            settings(),
            ledger=_LedgerRecords(ledger),
            scheduling=schedule(NOW),
        )
    assert codes(p) == ["OK"]


def test_unknown_settings_keys_warn() -> None:
    p = plan(sheet([mobile(10)]), [2], settings(本分="typo"))
    assert any("本分" in w for w in p.warnings)


def test_unknown_row_resolved_by_the_ledger_gets_its_record(tmp_path: Path) -> None:
    header = find_header(
        [["氏名", "電話番号", "送信本文", "結果コード", "通数"]], sheet="送信リスト"
    )
    rows = {
        2: ["住民0", mobile(10), "前回の本文", "UNKNOWN", 1.0],
        3: ["住民1", mobile(11), "前回の本文", "UNKNOWN", 1.0],
    }
    data = SheetRows("book.xlsx", "送信リスト", header, rows, 3)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        _sent(ledger, mobile(10), "前回の本文", workbook="book.xlsx", at=NOW - timedelta(hours=1))
        p = plan(data, [2, 3], settings(), ledger=_LedgerRecords(ledger), scheduling=schedule(NOW))
    assert codes(p) == ["ACCEPTED", "SKIP_ALREADY_SENT"]  # row 3: the ledger still can't tell
    assert p.rows[0].restored is not None and p.rows[0].body == "前回の本文"
    assert p.outgoing == []


def test_unknown_row_found_never_sent_becomes_sendable_again(tmp_path: Path) -> None:
    header = find_header([["氏名", "電話番号", "送信本文", "結果コード"]], sheet="送信リスト")
    data = SheetRows(
        "book.xlsx", "送信リスト", header, {2: ["住民0", mobile(10), "前回の本文", "UNKNOWN"]}, 2
    )
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        identity = ledger.identity(mobile(10), "前回の本文")
        ledger.reserve(
            identity,
            send_id="s1",
            provider="sandbox",
            segments=1,
            workbook="book.xlsx",
            sheet="送信リスト",
            row=2,
            at=NOW,
        )
        ledger.settle(
            "s1",
            state=State.FAILED,
            code=ResultCode.GATEWAY_ERROR,
            reason="事業者に届いていないことを確認しました。もう一度送信できます",
            at=NOW,
        )
        p = plan(data, [2], settings(), ledger=_LedgerRecords(ledger), scheduling=schedule(NOW))
    assert codes(p) == ["GATEWAY_ERROR"] and "もう一度送信できます" in p.rows[0].reason
    assert p.rows[0].restored is None and p.outgoing == []


def test_hourly_cap_counts_sends_already_made_this_hour() -> None:
    at = datetime(2026, 11, 27, 10, 15, tzinfo=JST)
    ten, eleven = (datetime(2026, 11, 27, h, 0, tzinfo=JST) for h in (10, 11))
    scheduling = Scheduling(at, parse_window("09:00-19:00"), 3, True, {ten: 2, eleven: 1})
    p = plan(
        sheet([mobile(10 + i) for i in range(4)]), [2, 3, 4, 5], settings(), scheduling=scheduling
    )
    assert [r.scheduled_at for r in p.rows] == [
        None,
        eleven,
        eleven,
        datetime(2026, 11, 27, 12, 0, tzinfo=JST),
    ]
