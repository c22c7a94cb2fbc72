"""A fiscal year of records → the report's figures (typed, frozen, nothing rendered here).

Japanese fiscal year (年度): ``fiscal_year=2026`` is 2026-04-01 … 2027-03-31, Japan time. A record
belongs to the day it was sent (送信日時); a row that was not sent (an ERR_*/SKIP_* code, or no
code) belongs to its sheet's send day — the day most of that sheet's messages were sent — so its
code is counted in the same month, and it can serve the effectiveness table's reference group.
A sheet with no send at all has no day: its rows are counted as undated.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from ..phone import mask
from ..schema import SEND_RECORD_CODES
from .collect import Collection, ReadError, Record

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
_SEND_CODES = frozenset(c.value for c in SEND_RECORD_CODES)
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


def _tally(records: Sequence[Record]) -> Tally:
    codes = Counter([r.code or "（なし）" for r in records])
    sent = [r for r in records if r.code in _SEND_CODES]
    return Tally(
        messages=len(sent),
        segments=sum([r.segments for r in sent]),
        cost=sum([r.segments * r.unit_price for r in sent]),
        delivered=sum([1 for r in sent if r.delivery.startswith(DELIVERED)]),
        undelivered=sum([1 for r in sent if r.delivery.startswith(UNDELIVERED)]),
        codes=dict(sorted(codes.items())),
    )


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
class Duplicate:
    """One recipient sent to from more than one workbook in the year."""

    kind: str  # 管理番号 or 電話番号と本文
    key: str  # the 管理番号, or the masked number
    sends: int
    files: tuple[str, ...]
    first: date
    last: date


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


def send_days(records: Sequence[Record]) -> dict[tuple[str, str], date]:
    """Each sheet's send day: the day most of its messages were sent."""
    days: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    for r in records:
        if r.sent_at is not None and r.code in _SEND_CODES:
            days[r.file, r.sheet][r.sent_at.date()] += 1
    return {key: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for key, c in days.items()}


def _reason(delivery: str) -> str:
    m = _REASON.search(delivery)
    return m.group(1).strip() if m and m.group(1).strip() else NO_REASON


_BUCKET_HIGHS = tuple(high for _, _, high in BUCKETS if high is not None)


def effectiveness(
    rows: Iterable[tuple[Record, date]], paid_sheets: frozenset[tuple[str, str]]
) -> tuple[tuple[Effect, ...], int]:
    """Paid within 7/14/30 days of the send day, by days overdue then, for sent and unsent rows.

    Only rows with a 納期限, in sheets that carry a 納付日 column, count (an empty 納付日 is
    unpaid). A row paid before its send day is left out (the SMS cannot have caused it); the
    number left out is returned too.
    """
    groups = (SENT_GROUP, REFERENCE_GROUP)
    counts = {(g, b): [0] * (1 + len(WINDOWS)) for g in groups for b in range(len(BUCKETS))}
    excluded = 0
    for r, day in rows:
        if r.due is None or (r.file, r.sheet) not in paid_sheets:
            continue
        after = (r.paid - day).days if r.paid is not None else None
        if after is not None and after < 0:
            excluded += 1
            continue
        bucket = bisect_left(_BUCKET_HIGHS, (day - r.due).days)  # ≤30 → 0, 31–90 → 1, …
        cell = counts[SENT_GROUP if r.code in _SEND_CODES else REFERENCE_GROUP, bucket]
        cell[0] += 1
        if after is not None:
            for i, window in enumerate(WINDOWS, 1):
                if after <= window:
                    cell[i] += 1
    effects = tuple(Effect(g, BUCKETS[b][0], c[0], tuple(c[1:])) for (g, b), c in counts.items())
    return effects, excluded


def national(number: str) -> str:
    """A 電話番号 as written → its national digits, for telling the same number apart.

    Only the written form is cleaned: full-width digits, hyphens, ``+81``, a leading 0 lost when
    the number was stored as a number. Whether it is a valid mobile number does not matter here.
    """
    if number.isascii() and number.isdigit():
        digits = number
    else:
        digits = "".join(ch for ch in unicodedata.normalize("NFKC", number) if ch.isdigit())
    if len(digits) == 12 and digits.startswith("81"):
        return "0" + digits[2:]
    if len(digits) == 10 and digits[0] in "6789":
        return "0" + digits
    return digits


def national_numbers(records: Iterable[Record]) -> dict[str, str]:
    """Each distinct 電話番号 as written → ``national(number)``."""
    return {w: national(w) for w in {r.number for r in records} if w}


def duplicates(records: Sequence[Record], numbers: Mapping[str, str]) -> tuple[Duplicate, ...]:
    """Recipients sent to from two or more workbooks: same 管理番号, or same number and body.

    ``numbers`` maps each 電話番号 as written to its national form (``national_numbers``).
    """
    sends = [r for r in records if r.sent_at is not None and r.code in _SEND_CODES]
    more: dict[tuple[str, str], list[Record]] = defaultdict(list)
    # Only keys found in two or more files are grouped (most repeats are within one workbook).
    national_of = [numbers.get(r.number, r.number) for r in sends]
    sent_from = [r.file for r in sends]
    repeated_ids = _in_several_files([r.id for r in sends], sent_from)
    repeated_numbers = _in_several_files(national_of, sent_from)
    for r, number in zip(sends, national_of, strict=True):
        if r.id in repeated_ids:
            more["管理番号", r.id].append(r)
        if number in repeated_numbers and r.body:
            more["電話番号と本文", f"{number}\n{r.body}"].append(r)
    found: list[Duplicate] = []
    seen: set[frozenset[tuple[str, str, int]]] = set()
    for (kind, text), group in more.items():
        if not _spans(group):
            continue
        rows = frozenset((r.file, r.sheet, r.row) for r in group)
        if rows in seen:
            continue
        seen.add(rows)
        shown = text if kind == "管理番号" else mask(text.split("\n", 1)[0])
        files = tuple(dict.fromkeys(r.file for r in group))
        days = sorted(r.sent_at.date() for r in group if r.sent_at is not None)
        found.append(Duplicate(kind, shown, len(group), files, days[0], days[-1]))
    return tuple(sorted(found, key=lambda d: (-d.sends, d.kind, d.key)))


def _in_several_files(keys: Sequence[str], files: Sequence[str]) -> set[str]:
    """Keys (non-empty) that occur with two or more files; ``keys[i]`` belongs to ``files[i]``."""
    per_file: dict[str, list[str]] = defaultdict(list)
    for key, file in zip(keys, files, strict=True):
        per_file[file].append(key)
    files_per_key: Counter[str] = Counter()
    for file_keys in per_file.values():
        files_per_key.update(set(file_keys))  # each key once per file
    return {key for key, n in files_per_key.items() if n > 1 and key}


def _spans(group: list[Record]) -> bool:
    """The group holds records of two or more files."""
    first = group[0].file
    return any(r.file != first for r in group)


def summarize(collection: Collection, fiscal_year: int) -> Summary:
    """Aggregate the records of ``collection`` that fall in ``fiscal_year``."""
    days = send_days(collection.records)
    start, end = date(fiscal_year, 4, 1), date(fiscal_year + 1, 3, 31)
    records = collection.records
    sheet_day = days.get
    on = [
        r.sent_at.date() if r.sent_at is not None else sheet_day((r.file, r.sheet)) for r in records
    ]
    dated = [(r, day) for r, day in zip(records, on, strict=True) if day and start <= day <= end]
    undated = on.count(None)
    outside = len(records) - len(dated) - undated
    in_year = [r for r, _ in dated]
    groups: dict[tuple[int, int, str], list[Record]] = defaultdict(list)
    for r, day in dated:
        groups[day.year, day.month, r.purpose or "（未設定）"].append(r)
    tallies = {key: _tally(rs) for key, rs in groups.items()}
    by_month: dict[tuple[int, int], list[Tally]] = defaultdict(list)
    by_purpose: dict[str, list[Tally]] = defaultdict(list)
    for (year, month, purpose), tally in tallies.items():
        by_month[year, month].append(tally)
        by_purpose[purpose].append(tally)
    reasons = Counter(
        [
            _reason(r.delivery)
            for r in in_year
            if r.delivery.startswith(UNDELIVERED) and r.code in _SEND_CODES
        ]
    )
    months = tuple(Month(y, m, _total(by_month[y, m])) for y, m in fiscal_months(fiscal_year))
    effects, excluded = effectiveness(dated, collection.paid_sheets)
    sends = [r for r in in_year if r.code in _SEND_CODES]
    numbers = national_numbers(sends)
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
        records=tuple(in_year),
        errors=collection.errors,
        files_read=len(collection.files),
        sheets_read=len(collection.sheets),
        outside_year=outside,
        undated=undated,
        recipients=len(set(numbers.values()) - {""}),
    )
