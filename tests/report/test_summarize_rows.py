"""The summary, taken column by column, agrees with a plain count row by row on random records."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest

from kuden_xl.report.collect import Collection, Record
from kuden_xl.report.summarize import summarize

SENDS = {"ACCEPTED", "SCHEDULED", "UNKNOWN"}
CODES = ["ACCEPTED", "SCHEDULED", "UNKNOWN", "ERR_NO_NUMBER", "SKIP_EXCLUDED", "REJECTED", ""]
DELIVERY = ["", "配信済", "不達（圏外）", "不達", "確認中"]
PRICES = [8.0, 3.3, 0.1]


def _records(rnd: random.Random) -> list[Record]:
    records = []
    for file in (f"{i}.xlsx" for i in range(rnd.randint(1, 3))):
        for sheet in ("A", "B")[: rnd.randint(1, 2)]:
            for row in range(2, rnd.randint(2, 40)):
                code = rnd.choice(CODES)
                sent = datetime(2026, 1, 1) + timedelta(days=rnd.randint(0, 600), hours=9)
                moment = sent if code in SENDS and rnd.random() < 0.9 else None
                segments, delivery = rnd.randint(0, 3), rnd.choice(DELIVERY)
                number, price = rnd.choice(["09011112222", "090-1111-2222", ""]), rnd.choice(PRICES)
                fields = (moment, code, segments, delivery, None, None, number, "本文", price)
                records.append(Record(file, sheet, row, "", "", *fields))
    return records


def _by_row(
    records: list[Record], fiscal_year: int
) -> tuple[dict[tuple[int, int], tuple[object, ...]], int]:
    """Per month (messages, segments, delivered, undelivered, cost, codes); and the undated rows."""
    days: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    for r in records:
        if r.sent_at is not None and r.code in SENDS:
            days[r.file, r.sheet][r.sent_at.date()] += 1
    sheet_day = {k: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for k, c in days.items()}
    counts: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    codes: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    cost: dict[tuple[int, int], float] = defaultdict(float)
    undated = 0
    for r in records:
        day = r.sent_at.date() if r.sent_at else sheet_day.get((r.file, r.sheet))
        undated += day is None
        if day is None or fiscal_year != (day.year if day.month >= 4 else day.year - 1):
            continue
        month = (day.year, day.month)
        codes[month][r.code or "（なし）"] += 1
        if r.code in SENDS:
            counts[month]["messages"] += 1
            counts[month]["segments"] += r.segments
            counts[month]["delivered"] += r.delivery.startswith("配信済")
            counts[month]["undelivered"] += r.delivery.startswith("不達")
            cost[month] += r.segments * r.unit_price
    names = ("messages", "segments", "delivered", "undelivered")
    months = {
        m: (*(counts[m][n] for n in names), pytest.approx(cost[m]), dict(codes[m])) for m in codes
    }
    return months, undated


@pytest.mark.parametrize("seed", range(40))
def test_monthly_tallies_match_a_count_row_by_row(seed: int) -> None:
    records = _records(random.Random(seed))
    summary = summarize(Collection(tuple(records), (), (), (), frozenset(), "auto"), 2026)
    expected, undated = _by_row(records, 2026)
    assert summary.undated == undated
    for m in summary.months:
        t = m.tally
        got = (t.messages, t.segments, t.delivered, t.undelivered, t.cost, dict(t.codes))
        assert got == expected.get((m.year, m.month), (0, 0, 0, 0, 0.0, {})), m.label
