"""A fiscal year of the known corpus, counted by hand, and the effectiveness table on its own case."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from kuden_xl.report.collect import Collection, Record, collect
from kuden_xl.report.summarize import (
    REFERENCE_GROUP,
    SENT_GROUP,
    Summary,
    effectiveness,
    fiscal_months,
    fiscal_year_of,
    summarize,
)


@pytest.fixture(scope="module")
def year(corpus: Path) -> Summary:
    return summarize(collect([corpus]), 2026)


def test_fiscal_year_is_april_to_march() -> None:
    assert fiscal_year_of(date(2026, 4, 1)) == 2026
    assert fiscal_year_of(date(2027, 3, 31)) == 2026
    assert fiscal_year_of(date(2026, 3, 31)) == 2025
    assert fiscal_months(2026)[0] == (2026, 4) and fiscal_months(2026)[-1] == (2027, 3)


def test_totals_for_the_year(year: Summary) -> None:
    t = year.total
    # Sends: 送信リスト K001 K002 K003 K006 K007, 11月分 K101 K102, 案内 K001 K201 K204, C001, C101.
    assert (t.messages, t.segments, t.cost) == (12, 16, 144.0)  # 督促 at 8 yen, others at 10
    assert (t.delivered, t.undelivered, t.unconfirmed) == (6, 4, 2)
    assert t.delivery_rate == 0.5
    assert t.codes == {
        "ACCEPTED": 10,
        "ERR_NO_NUMBER": 2,
        "REJECTED": 1,
        "SCHEDULED": 1,
        "SKIP_EXCLUDED": 1,
        "UNKNOWN": 1,
    }
    assert (year.outside_year, year.undated) == (2, 0)  # 案内 K202 (FY2025) and K203 (FY2027)
    assert year.recipients == 11  # 090-0000-0002 was sent from two workbooks
    assert (year.files_read, year.sheets_read, len(year.errors)) == (4, 5, 4)


def test_per_month(year: Summary) -> None:
    got = {
        m.label: (m.tally.messages, m.tally.segments, m.tally.cost, m.tally.delivered)
        for m in year.months
    }
    assert [m.label for m in year.months][:2] == ["2026年4月", "2026年5月"]
    assert {k: v for k, v in got.items() if v != (0, 0, 0.0, 0)} == {
        "2026年10月": (5, 6, 48.0, 2),
        "2026年11月": (2, 2, 16.0, 1),
        "2026年12月": (2, 2, 20.0, 2),
        "2027年1月": (1, 1, 10.0, 1),
        "2027年2月": (1, 2, 20.0, 0),
        "2027年3月": (1, 3, 30.0, 0),
    }
    october = year.months[6].tally.codes
    # Rows not sent are counted in the month their sheet was sent.
    assert october == {"ACCEPTED": 4, "ERR_NO_NUMBER": 1, "SCHEDULED": 1, "SKIP_EXCLUDED": 1}
    assert year.months[10].tally.codes == {"ACCEPTED": 1, "ERR_NO_NUMBER": 1}  # the cp932 CSV


def test_per_purpose(year: Summary) -> None:
    got = {
        p.name: (p.tally.messages, p.tally.segments, p.tally.cost, sum(p.tally.codes.values()))
        for p in year.purposes
    }
    assert got == {
        "督促": (6, 7, 56.0, 8),  # the 設定 用途, also for 11月分's row without one
        "催告": (1, 1, 8.0, 1),  # the row's own 用途
        "（未設定）": (3, 5, 50.0, 3),
        "還付": (2, 3, 30.0, 4),
    }


def test_undelivered_reasons_and_duplicates(year: Summary) -> None:
    assert [(r.reason, r.count) for r in year.reasons] == [("圏外", 3), ("電源オフ", 1)]
    dups = {
        (d.kind, d.key): (d.sends, [Path(f).name for f in d.files], d.first, d.last)
        for d in year.duplicates
    }
    assert dups == {
        ("管理番号", "K001"): (
            2,
            ["案内_12月.xlsx", "督促_10月.xlsx"],
            date(2026, 10, 5),
            date(2026, 12, 1),
        ),
        ("電話番号と本文", "090-****-0002"): (
            2,
            ["案内_12月.xlsx", "督促_10月.xlsx"],
            date(2026, 10, 5),
            date(2026, 12, 1),
        ),
    }


def test_effectiveness_of_the_corpus(year: Summary) -> None:
    table = {(e.group, e.bucket): (e.recipients, e.paid) for e in year.effects}
    assert table == {
        (SENT_GROUP, "30日以下"): (3, (2, 2, 2)),  # K001 (3 days), 案内 K001 (4 days), K201 unpaid
        (SENT_GROUP, "31〜90日"): (1, (0, 0, 0)),  # K002 unpaid
        (SENT_GROUP, "91〜180日"): (1, (0, 0, 1)),  # K003 after 25 days
        (SENT_GROUP, "181日以上"): (1, (0, 1, 1)),  # K007 after 14 days
        (REFERENCE_GROUP, "30日以下"): (2, (1, 1, 1)),  # K004 (no number) paid, K005 (除外) not
        (REFERENCE_GROUP, "31〜90日"): (0, (0, 0, 0)),
        (REFERENCE_GROUP, "91〜180日"): (0, (0, 0, 0)),
        (REFERENCE_GROUP, "181日以上"): (0, (0, 0, 0)),
    }
    assert year.effect_excluded == 1  # K006 paid before its SMS


def _row(
    code: str, sent: date, due: date, paid: date | None, *, file: str = "a.xlsx"
) -> tuple[Record, date]:
    moment = datetime(sent.year, sent.month, sent.day, 10) if code == "ACCEPTED" else None
    record = Record(file, "S", 2, "", "", moment, code, 1, "", due, paid, "", "", 10.0)
    return record, sent


def test_effectiveness_on_a_constructed_case() -> None:
    day = date(2026, 6, 1)
    rows = [
        # ≤ 30 days overdue (due 2026-05-20: 12 days) — 4 sent: paid after 0, 7, 8, 31 days.
        _row("ACCEPTED", day, date(2026, 5, 20), date(2026, 6, 1)),
        _row("ACCEPTED", day, date(2026, 5, 20), date(2026, 6, 8)),
        _row("ACCEPTED", day, date(2026, 5, 20), date(2026, 6, 9)),
        _row("ACCEPTED", day, date(2026, 5, 20), date(2026, 7, 2)),
        # exactly 30 and exactly 31 days overdue: the bucket edges.
        _row("ACCEPTED", day, date(2026, 5, 2), date(2026, 6, 15)),  # 30 overdue, paid after 14
        _row("ACCEPTED", day, date(2026, 5, 1), None),  # 31 overdue, unpaid
        # 91–180: 150 days overdue, paid after 30 days exactly; 181: paid the day before (left out).
        _row("ACCEPTED", day, date(2026, 1, 2), date(2026, 7, 1)),
        _row("ACCEPTED", day, date(2025, 12, 2), date(2026, 5, 31)),
        # The reference group: 2 rows ≤ 30 days, one paid after 20 days.
        _row("ERR_NO_NUMBER", day, date(2026, 5, 20), date(2026, 6, 21)),
        _row("SKIP_EXCLUDED", day, date(2026, 5, 20), None),
        # A sheet without a 納付日 column does not count at all.
        _row("ACCEPTED", day, date(2026, 5, 20), None, file="no-paid-column.xlsx"),
    ]
    effects, excluded = effectiveness(rows, frozenset({("a.xlsx", "S")}))
    table = {(e.group, e.bucket): (e.recipients, e.paid) for e in effects}
    assert table[SENT_GROUP, "30日以下"] == (5, (2, 4, 4))
    assert table[SENT_GROUP, "31〜90日"] == (1, (0, 0, 0))
    assert table[SENT_GROUP, "91〜180日"] == (1, (0, 0, 1))
    assert table[SENT_GROUP, "181日以上"] == (0, (0, 0, 0))
    assert table[REFERENCE_GROUP, "30日以下"] == (2, (0, 0, 1))
    assert excluded == 1
    first = next(e for e in effects if e.group == SENT_GROUP)
    assert first.rate(0) == 0.4 and first.rate(2) == 0.8


def test_an_empty_year() -> None:
    empty = summarize(Collection((), (), (), (), frozenset(), "auto"), 2030)
    assert empty.total.messages == 0 and empty.total.delivery_rate is None
    assert len(empty.months) == 12 and all(e.rate(0) is None for e in empty.effects)
    assert empty.headline()["messages"] == 0
