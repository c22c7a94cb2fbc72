"""The worksheet contract (DESIGN §3, §4): column names, aliases, output columns, result codes.

Column names are matched after NFKC normalisation and trimming, so ``電話番号 `` and a
full-width ``ＰＨＯＮＥ`` both match. Nothing here reads a workbook: callers hand in the header
row values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from .errors import HeaderError

# The code a row the plan will send stands at (checks, previews, counts). Not a ResultCode: nothing
# is written to 結果コード for it.
SENDABLE = "OK"
# A number and body sent within this long are not sent again (SKIP_RECENT) unless staff allow it.
DEFAULT_GUARD = timedelta(days=7)


class ResultCode(str, Enum):
    """Stable result codes written to 結果コード; reports and staff filters depend on them."""

    ACCEPTED = "ACCEPTED"
    SCHEDULED = "SCHEDULED"
    UNKNOWN = "UNKNOWN"
    REJECTED = "REJECTED"
    GATEWAY_ERROR = "GATEWAY_ERROR"
    SKIP_EXCLUDED = "SKIP_EXCLUDED"
    SKIP_HIDDEN = "SKIP_HIDDEN"
    SKIP_ALREADY_SENT = "SKIP_ALREADY_SENT"
    SKIP_DUPLICATE = "SKIP_DUPLICATE"
    SKIP_RECENT = "SKIP_RECENT"
    ERR_NO_NUMBER = "ERR_NO_NUMBER"
    ERR_INVALID_NUMBER = "ERR_INVALID_NUMBER"
    ERR_NOT_MOBILE = "ERR_NOT_MOBILE"
    ERR_TEMPLATE = "ERR_TEMPLATE"
    ERR_TOO_LONG = "ERR_TOO_LONG"
    ERR_BAD_CHAR = "ERR_BAD_CHAR"
    HOLD_WINDOW = "HOLD_WINDOW"

    @property
    def label(self) -> str:
        """The Japanese label written to 結果."""
        return RESULT_LABELS[self]

    @property
    def is_send_record(self) -> bool:
        """True when a row with this code records a (possible) send and must never be resent."""
        return self in SEND_RECORD_CODES

    def __str__(self) -> str:
        return self.value


RESULT_LABELS: dict[ResultCode, str] = {
    ResultCode.ACCEPTED: "送信受付",
    ResultCode.SCHEDULED: "予約済",
    ResultCode.UNKNOWN: "結果不明",
    ResultCode.REJECTED: "送信不可(事業者)",
    ResultCode.GATEWAY_ERROR: "送信エラー",
    ResultCode.SKIP_EXCLUDED: "除外",
    ResultCode.SKIP_HIDDEN: "非表示行",
    ResultCode.SKIP_ALREADY_SENT: "送信済",
    ResultCode.SKIP_DUPLICATE: "重複番号",
    ResultCode.SKIP_RECENT: "直近送信済",
    ResultCode.ERR_NO_NUMBER: "番号なし",
    ResultCode.ERR_INVALID_NUMBER: "番号不正",
    ResultCode.ERR_NOT_MOBILE: "携帯番号以外",
    ResultCode.ERR_TEMPLATE: "差し込み不足",
    ResultCode.ERR_TOO_LONG: "文字数超過",
    ResultCode.ERR_BAD_CHAR: "使用不可文字",
    ResultCode.HOLD_WINDOW: "時間外保留",
}

SEND_RECORD_CODES = frozenset({ResultCode.ACCEPTED, ResultCode.SCHEDULED, ResultCode.UNKNOWN})


class Delivery(str, Enum):
    """Delivery outcome written to 配信結果 (its Japanese label)."""

    DELIVERED = "配信済"
    UNDELIVERED = "不達"
    PENDING = "確認中"
    UNKNOWN = "不明"

    @property
    def is_final(self) -> bool:
        return self in (Delivery.DELIVERED, Delivery.UNDELIVERED)


# Input columns: canonical name -> accepted aliases (already normalised by `normalize_header`).
PHONE = "電話番号"
ID = "管理番号"
EXCLUDE = "除外"
INPUT_ALIASES: dict[str, tuple[str, ...]] = {
    PHONE: ("電話番号", "phone", "携帯番号", "携帯電話番号"),
    ID: ("管理番号", "id"),
    EXCLUDE: ("除外", "exclude"),
}

# Output columns, in this order and adjacent (one block write covers them all).
SENT_AT = "送信日時"
BODY = "送信本文"
CODE = "結果コード"
RESULT = "結果"
SEGMENTS = "通数"
MESSAGE_ID = "メッセージID"
DELIVERY = "配信結果"
DELIVERY_CHECKED_AT = "配信確認日時"
OUTPUT_COLUMNS: tuple[str, ...] = (
    SENT_AT,
    BODY,
    CODE,
    RESULT,
    SEGMENTS,
    MESSAGE_ID,
    DELIVERY,
    DELIVERY_CHECKED_AT,
)

SETTINGS_SHEET = "設定"


def normalize_header(value: object) -> str:
    """NFKC-normalised, trimmed, case-folded header text ('' for an empty cell)."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


_ALIAS_TO_CANONICAL = {
    normalize_header(alias): canonical
    for canonical, aliases in INPUT_ALIASES.items()
    for alias in aliases
}
_OUTPUT_NORMALISED = {normalize_header(name): name for name in OUTPUT_COLUMNS}


def canonical_name(value: object) -> str:
    """The contract name for a header cell: an alias maps to its canonical name, others pass."""
    key = normalize_header(value)
    return (
        _ALIAS_TO_CANONICAL.get(key)
        or _OUTPUT_NORMALISED.get(key)
        or (unicodedata.normalize("NFKC", str(value)).strip() if value is not None else "")
    )


def is_phone_header(value: object) -> bool:
    return _ALIAS_TO_CANONICAL.get(normalize_header(value)) == PHONE


@dataclass(frozen=True)
class Header:
    """A sheet's header: which row it is on and where each column sits (0-based indices)."""

    row: int  # 1-based sheet row number of the header
    names: tuple[str, ...]  # canonical name per column ('' for an empty header cell)
    columns: dict[str, int]  # canonical name -> 0-based column index (first occurrence wins)

    @property
    def phone_column(self) -> int:
        return self.columns[PHONE]

    def output_column(self, name: str) -> int | None:
        return self.columns.get(name)

    @property
    def variables(self) -> dict[str, int]:
        """Template variables: every named input column (outputs are not variables)."""
        return {n: i for n, i in self.columns.items() if n and n not in OUTPUT_COLUMNS}


def accepted_phone_headers() -> str:
    return "・".join(INPUT_ALIASES[PHONE])


def find_header(rows: Iterable[Sequence[object]], *, sheet: str, first_row: int = 1) -> Header:
    """Find the header: the first row holding 電話番号 or an alias.

    Raises:
        HeaderError: no row holds a phone column; the message names the sheet and the accepted
            header names.
    """
    for offset, values in enumerate(rows):
        if any(is_phone_header(v) for v in values):
            names = tuple(canonical_name(v) for v in values)
            columns: dict[str, int] = {}
            for i, name in enumerate(names):
                if name and name not in columns:
                    columns[name] = i
            return Header(row=first_row + offset, names=names, columns=columns)
    raise HeaderError(
        f"シート「{sheet}」に電話番号の列が見つかりません。見出し行に"
        f"「{accepted_phone_headers()}」のいずれかの列名を入れてください。"
        f" / No phone column in sheet {sheet!r}.",
        sheet=sheet,
    )


# What staff read when a run ends with UNKNOWN or GATEWAY_ERROR rows (the CLI and the ribbon alike):
# the next send reconciles UNKNOWN before anything leaves.
INCOMPLETE_NOTE = (
    "結果不明（UNKNOWN）または送信エラー（GATEWAY_ERROR）の行があります。"
    "送信エラーの行はもう一度送信できます。結果不明の行は次回の送信で照合します。"
)


def label(code: str) -> str:
    """The 日本語 label of a result code, or 送信可能 for ``SENDABLE``."""
    return "送信可能" if code == SENDABLE else ResultCode(code).label
