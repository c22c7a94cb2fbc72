"""A fiscal year of records → the report's figures (typed, frozen, nothing rendered here).

Japanese fiscal year (年度): ``fiscal_year=2026`` is 2026-04-01 … 2027-03-31, Japan time. A record
belongs to the day it was sent (送信日時); a row that was not sent (an ERR_*/SKIP_* code, or no
code) belongs to its sheet's send day — the day most of that sheet's messages were sent — so its
code is counted in the same month, and it can serve the effectiveness table's reference group.
A sheet with no send at all has no day: its rows are counted as undated.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from itertools import compress, repeat
from operator import and_, is_not, mul, sub
from typing import cast

from .collect import Collection, ReadError, Record
from .columns import Columns, days
from .duplicates import Duplicate, duplicates, national_numbers

DELIVERED = "配信済"
UNDELIVERED = "不達"
NO_REASON = "（理由なし）"
WINDOWS = (7, 14, 30)  # days after the SMS within which a payment counts
BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("30日以下", None, 30),
    ("31〜90日", 31, 90),
    ("91〜180日", 91, 180),
    ("181日以上", 181, None),
)
SENT_GROUP = "送信"
REFERENCE_GROUP = "参考（未送信）"
_REASON = re.compile(r"[（(](.*)[）)]\s*$")


def fiscal_year_of(day: date) -> int:
    """The fiscal year (年度) a day falls in: April–March."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_months(fiscal_year: int) -> tuple[tuple[int, int], ...]:
    """(year, month) of the twelve months of a fiscal year, April first."""
    return tuple((fiscal_year + (m < 4), m) for m in (*range(4, 13), 1, 2, 3))


@dataclass(frozen=True)
class Tally:
    """Counts for one month, one 用途, or the whole year."""

    messages: int = 0  # send records: ACCEPTED, SCHEDULED, UNKNOWN
    segments: int = 0
    cost: float = 0.0  # yen: segments × the workbook's 単価
    delivered: int = 0
    undelivered: int = 0
    codes: Mapping[str, int] = field(default_factory=dict)  # result code -> rows

    @property
    def unconfirmed(self) -> int:
        """Sent, with no final delivery result (確認中, 不明, or not yet refreshed)."""
        return self.messages - self.delivered - self.undelivered

    @property
    def delivery_rate(self) -> float | None:
        """配信済 / messages sent (None when nothing was sent)."""
        return self.delivered / self.messages if self.messages else None


def _total(tallies: Iterable[Tally]) -> Tally:
    parts = list(tallies)
    codes: Counter[str] = Counter()
    for t in parts:
        codes.update(t.codes)
    return Tally(
        messages=sum(t.messages for t in parts),
        segments=sum(t.segments for t in parts),
        cost=sum(t.cost for t in parts),
        delivered=sum(t.delivered for t in parts),
        undelivered=sum(t.undelivered for t in parts),
        codes=dict(sorted(codes.items())),
    )


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    tally: Tally

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"


@dataclass(frozen=True)
class Purpose:
    name: str  # 用途 ('（未設定）' when neither the row nor 設定 names one)
    tally: Tally


@dataclass(frozen=True)
class Reason:
    reason: str  # the provider's reason from 不達（…）
    count: int


@dataclass(frozen=True)
class Effect:
    """One row of the effectiveness table: a group and an overdue bucket."""

    group: str  # 送信 or 参考（未送信）
    bucket: str  # how long overdue on the send day
    recipients: int
    paid: tuple[int, ...]  # paid within each of WINDOWS days after the send day

    def rate(self, i: int) -> float | None:
        return self.paid[i] / self.recipients if self.recipients else None


@dataclass(frozen=True)
class Summary:
    fiscal_year: int
    start: date
    end: date  # inclusive
    total: Tally
    months: tuple[Month, ...]
    purposes: tuple[Purpose, ...]
    reasons: tuple[Reason, ...]
    duplicates: tuple[Duplicate, ...]
    effects: tuple[Effect, ...]
    effect_excluded: int  # paid before the send day: left out of the effectiveness table
    records: tuple[Record, ...]  # the fiscal year's records, in file order
    errors: tuple[ReadError, ...]
    files_read: int
    sheets_read: int
    outside_year: int  # records dated in another fiscal year
    undated: int  # records with no send day (their sheet has no send)
    recipients: int  # distinct numbers sent to

    def headline(self) -> dict[str, object]:
        """The headline figures and per-month counts, as JSON-ready values."""
        t = self.total
        return {
            "fiscal_year": self.fiscal_year,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "messages": t.messages,
            "segments": t.segments,
            "cost_yen": round(t.cost),
            "delivered": t.delivered,
            "undelivered": t.undelivered,
            "delivery_rate": t.delivery_rate,
            "recipients": self.recipients,
            "duplicates": len(self.duplicates),
            "codes": dict(t.codes),
            "files_read": self.files_read,
            "sheets_read": self.sheets_read,
            "unreadable": [{"file": e.file, "reason": e.reason} for e in self.errors],
            "outside_year": self.outside_year,
            "undated": self.undated,
            "months": [
                {
                    "month": f"{m.year}-{m.month:02d}",
                    "messages": m.tally.messages,
                    "segments": m.tally.segments,
                    "delivered": m.tally.delivered,
                    "undelivered": m.tally.undelivered,
                }
                for m in self.months
            ],
        }


_BUCKET_HIGHS = tuple(high for _, _, high in BUCKETS if high is not None)
_PAID_AFTER = (-1, *WINDOWS)  # bisect: 0 = paid before the send day, i = within WINDOWS[i-1]…
_UNPAID = 10**9  # a day ordinal past every window: no 納付日 is paid too late to count


def send_days(records: Columns, on: Sequence[date | None]) -> dict[tuple[str, str], date]:
    """Each sheet's send day: the day most of its messages were sent (``on``: each 送信日時's day)."""
    sheet_days = Counter(
        compress(zip(records["file"], records["sheet"], on, strict=True), records.sends())
    )
    counts: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    for (file, sheet, day), n in sheet_days.items():
        if day is not None:
            counts[file, sheet][day] += n
    return {key: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for key, c in counts.items()}


def _reason(delivery: str) -> str:
    m = _REASON.search(delivery)
    return m.group(1).strip() if m and m.group(1).strip() else NO_REASON


def effectiveness(
    rows: Iterable[tuple[Record, date]], paid_sheets: frozenset[tuple[str, str]]
) -> tuple[tuple[Effect, ...], int]:
    """Paid within 7/14/30 days of the send day, by days overdue then, for sent and unsent rows.

    Only rows with a 納期限, in sheets that carry a 納付日 column, count (an empty 納付日 is
    unpaid). A row paid before its send day is left out (the SMS cannot have caused it); the
    number left out is returned too.
    """
    pairs = list(rows)
    return _effects(Columns([r for r, _ in pairs]), [day for _, day in pairs], paid_sheets)


def _effects(
    records: Columns, on: Sequence[date], paid_sheets: frozenset[tuple[str, str]]
) -> tuple[tuple[Effect, ...], int]:
    """``effectiveness`` of the records, ``on[i]`` being record i's send day."""
    in_paid_sheet = map(
        paid_sheets.__contains__, zip(records["file"], records["sheet"], strict=True)
    )
    counted = list(map(and_, map(is_not, records["due"], repeat(None)), in_paid_sheet))
    day, due, paid = (list(compress(c, counted)) for c in (on, records["due"], records["paid"]))
    ordinal = {d: d.toordinal() for d in {*day, *due, *paid} if d is not None}
    day, due, paid = (list(map(ordinal.get, c, repeat(_UNPAID))) for c in (day, due, paid))
    overdue = map(partial(bisect_left, _BUCKET_HIGHS), map(sub, day, due))  # ≤30 → 0, 31–90 → 1…
    paid_within = map(partial(bisect_left, _PAID_AFTER), map(sub, paid, day))
    counts = Counter(zip(compress(records.sends(), counted), overdue, paid_within, strict=True))
    groups = (SENT_GROUP, REFERENCE_GROUP)
    cells = {(g, b): [0] * (1 + len(WINDOWS)) for g in groups for b in range(len(BUCKETS))}
    excluded = 0
    for (is_send, bucket, within), n in counts.items():
        if within == 0:
            excluded += n
            continue
        cell = cells[SENT_GROUP if is_send else REFERENCE_GROUP, bucket]
        cell[0] += n
        for i in range(within, len(WINDOWS) + 1):
            cell[i] += n
    effects = tuple(Effect(g, BUCKETS[b][0], c[0], tuple(c[1:])) for (g, b), c in cells.items())
    return effects, excluded


def _groups(records: Columns, on: Sequence[date]) -> tuple[list[tuple[int, int, str]], list[int]]:
    """The (year, month, 用途) groups, and each record's group as an index into them."""
    pairs = set(zip(on, records["purpose"], strict=True))
    key_of = {(d, p): (d.year, d.month, p or "（未設定）") for d, p in pairs}
    keys = list(dict.fromkeys(key_of.values()))
    index = {key: i for i, key in enumerate(keys)}
    group_of = {pair: index[key] for pair, key in key_of.items()}
    return keys, list(map(group_of.__getitem__, zip(on, records["purpose"], strict=True)))


def _tallies(records: Columns, on: Sequence[date]) -> dict[tuple[int, int, str], Tally]:
    """A Tally per (year, month, 用途) of the records, in the order each group first appears."""
    keys, group = _groups(records, on)
    sends, segments = records.sends(), records["segments"]
    codes = Counter(zip(group, records["code"], strict=True))
    sent = Counter(compress(zip(group, records["delivery"], segments, strict=True), sends))
    cost: list[float] = [0] * len(keys)
    yen = map(mul, segments, records["unit_price"])
    for g, amount in compress(zip(group, yen, strict=True), sends):
        cost[g] += amount  # in record order, as summing the rows would add
    figures = [[0, 0, 0, 0] for _ in keys]  # messages, segments, delivered, undelivered
    for (g, delivery, n_segments), n in sent.items():
        f = figures[g]
        f[0] += n
        f[1] += n * n_segments
        f[2] += n * delivery.startswith(DELIVERED)
        f[3] += n * delivery.startswith(UNDELIVERED)
    by_code: dict[int, Counter[str]] = defaultdict(Counter)  # first appearance order
    for (g, code), n in codes.items():
        by_code[g][code or "（なし）"] += n
    tallies = {}
    for g, c in by_code.items():
        messages, n_segments, delivered, undelivered = figures[g]
        codes_of = dict(sorted(c.items()))
        tallies[keys[g]] = Tally(messages, n_segments, cost[g], delivered, undelivered, codes_of)
    return tallies


def summarize(collection: Collection, fiscal_year: int) -> Summary:
    """Aggregate the records of ``collection`` that fall in ``fiscal_year``."""
    start, end = date(fiscal_year, 4, 1), date(fiscal_year + 1, 3, 31)
    records = Columns(collection.records)
    on = days(records["sent_at"])
    sheet_day = send_days(records, on)
    if None in on:  # a row not sent belongs to its sheet's send day
        sheets = zip(on, records["file"], records["sheet"], strict=True)
        on = [d if d is not None else sheet_day.get((f, s)) for d, f, s in sheets]
    inside = {d: d is not None and start <= d <= end for d in set(on)}
    keep = list(map(inside.__getitem__, on))
    undated = on.count(None)
    year = records if all(keep) else records.only(keep)
    outside = len(records) - len(year) - undated
    in_year = cast("list[date]", on if year is records else list(compress(on, keep)))
    by_month: dict[tuple[int, int], list[Tally]] = defaultdict(list)
    by_purpose: dict[str, list[Tally]] = defaultdict(list)
    for (y, m, purpose), tally in _tallies(year, in_year).items():
        by_month[y, m].append(tally)
        by_purpose[purpose].append(tally)
    reasons: Counter[str] = Counter()
    for delivery, n in Counter(compress(year["delivery"], year.sends())).items():
        if delivery.startswith(UNDELIVERED):
            reasons[_reason(delivery)] += n
    months = tuple(Month(y, m, _total(by_month[y, m])) for y, m in fiscal_months(fiscal_year))
    effects, excluded = _effects(year, in_year, collection.paid_sheets)
    sends = year.only(year.sends())
    numbers = national_numbers(sends["number"])
    return Summary(
        fiscal_year=fiscal_year,
        start=start,
        end=end,
        total=_total(m.tally for m in months),
        months=months,
        purposes=tuple(
            sorted(
                (Purpose(name, _total(ts)) for name, ts in by_purpose.items()),
                key=lambda p: (-sum(p.tally.codes.values()), p.name),
            )
        ),
        reasons=tuple(
            Reason(k, v) for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        duplicates=duplicates(sends, numbers),
        effects=effects,
        effect_excluded=excluded,
        records=tuple(year.records),
        errors=collection.errors,
        files_read=len(collection.files),
        sheets_read=len(collection.sheets),
        outside_year=outside,
        undated=undated,
        recipients=len(set(numbers.values()) - {""}),
    )
