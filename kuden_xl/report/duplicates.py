"""Recipients sent to from two or more workbooks in the year: same 管理番号, or number and body.

Most repeats are within one workbook (a reminder after a first notice); only keys found in two or
more files are grouped. Numbers are compared in their national form, whatever way they were
written; the report shows them masked.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import compress, groupby, repeat
from operator import is_not

from ..phone import mask
from .collect import Record
from .columns import Columns


@dataclass(frozen=True)
class Duplicate:
    """One recipient sent to from more than one workbook in the year."""

    kind: str  # 管理番号 or 電話番号と本文
    key: str  # the 管理番号, or the masked number
    sends: int
    files: tuple[str, ...]
    first: date
    last: date


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


def national_numbers(written: Iterable[str]) -> dict[str, str]:
    """Each distinct 電話番号 as written (not empty) → ``national(number)``."""
    distinct = set(written)
    distinct.discard("")
    # Most are written as 11 plain digits already: national() would return them as they are.
    return {w: w if len(w) == 11 and w.isdigit() and w.isascii() else national(w) for w in distinct}


def duplicates(sends: Columns, numbers: Mapping[str, str]) -> tuple[Duplicate, ...]:
    """Recipients sent to from two or more workbooks: same 管理番号, or same number and body.

    ``sends``: the year's send records; those without a 送信日時 do not count. ``numbers`` maps
    each 電話番号 as written to its national form (``national_numbers``).
    """
    dated = list(map(is_not, sends["sent_at"], repeat(None)))
    if not all(dated):
        sends = sends.only(dated)
    ids, files, written = sends["id"], sends["file"], sends["number"]
    national_of = list(map(numbers.get, written, written))
    more: dict[tuple[str, str], list[Record]] = defaultdict(list)
    repeated = _in_several_files(ids, files)
    for r in compress(sends.records, map(repeated.__contains__, ids)):
        more["管理番号", r.id].append(r)
    repeated = _in_several_files(national_of, files)
    in_several = map(repeated.__contains__, national_of)
    for r, number in compress(zip(sends.records, national_of, strict=True), in_several):
        if r.body:
            more["電話番号と本文", f"{number}\n{r.body}"].append(r)
    found: list[Duplicate] = []
    seen: set[frozenset[tuple[str, str, int]]] = set()
    for (kind, text), group in more.items():  # a 管理番号 group before the same rows by number
        if not _spans(group):
            continue
        rows = frozenset((r.file, r.sheet, r.row) for r in group)
        if rows in seen:
            continue
        seen.add(rows)
        shown = text if kind == "管理番号" else mask(text.split("\n", 1)[0])
        in_files = tuple(dict.fromkeys(r.file for r in group))
        days = sorted(r.sent_at.date() for r in group if r.sent_at is not None)
        found.append(Duplicate(kind, shown, len(group), in_files, days[0], days[-1]))
    return tuple(sorted(found, key=lambda d: (-d.sends, d.kind, d.key)))


def _in_several_files(keys: Sequence[str], files: Sequence[str]) -> set[str]:
    """Keys (non-empty) that occur with two or more files; ``keys[i]`` belongs to ``files[i]``."""
    per_file: dict[str, set[str]] = defaultdict(set)
    start = 0
    for file, run in groupby(files):  # a file's records come together
        stop = start + len(list(run))
        per_file[file].update(keys[start:stop])
        start = stop
    seen: set[str] = set()
    several: set[str] = set()
    for file_keys in per_file.values():
        several |= seen.intersection(file_keys)
        seen |= file_keys
    several.discard("")
    return several


def _spans(group: list[Record]) -> bool:
    """The group holds records of two or more files."""
    first = group[0].file
    return any(r.file != first for r in group)
