"""Rows → SendPlan. Every skip decision of DESIGN §4 is made here (the ledger's in
``plan_ledger``) and nowhere else.

Per row, in this order: already sent (a record is never touched) · hidden · 除外 · number ·
body (template, length, characters) · duplicate number among the rows processed · the ledger
(restore a lost record, or the recently-sent guard) · send window and hourly cap.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from .books.base import SheetRows, Uncomputed
from .campaign import CampaignSettings
from .errors import SettingsError
from .message import BodyCheck, Template
from .phone import PhoneCheck, check_many
from .plan_ledger import LedgerView, ledger_decisions, resolved_unknown
from .row_plan import RowPlan
from .schema import CODE, DEFAULT_GUARD, EXCLUDE, PHONE, SENDABLE, ResultCode
from .slots import Scheduling, SlotBook, hold_reason
from .yesno import yes_no


@dataclass(frozen=True)
class SendPlan:
    rows: tuple[RowPlan, ...]
    unit_price: float = 10.0
    warnings: tuple[str, ...] = field(default=())
    book: str = ""  # the workbook and sheet planned: every plan and summary names them
    sheet: str = ""
    # The rules the slots were given under: dispatch applies them again to each message.
    scheduling: Scheduling | None = None

    @property
    def outgoing(self) -> list[RowPlan]:
        return [r for r in self.rows if r.sends]

    @property
    def segments(self) -> int:
        return sum(r.segments for r in self.rows if r.sends)

    @property
    def cost(self) -> float:
        return self.segments * self.unit_price

    def counts(self) -> dict[str, int]:
        """Rows per code ('OK' for rows to send), in a stable order. A record still UNKNOWN
        counts as UNKNOWN: it is not known to be sent."""
        result: dict[str, int] = {}
        for r in self.rows:
            key = r.standing
            result[key] = result.get(key, 0) + 1
        return dict(sorted(result.items(), key=lambda kv: (kv[0] != SENDABLE, kv[0])))


def is_excluded(value: object) -> bool:
    """除外: any value but an empty cell or a no of the yes/no rule (FALSE, 0, いいえ…) excludes
    the row: staff also write a reason there (転居)."""
    return value is not None and yes_no(value) is not False


def _require_computed(data: SheetRows, value: object) -> object:
    if isinstance(value, Uncomputed):
        raise value.error(data.sheet)
    return value


def plan(
    data: SheetRows,
    rows: Sequence[int],
    settings: CampaignSettings,
    *,
    max_length: int | None = None,
    hidden: Collection[int] = frozenset(),
    ledger: LedgerView | None = None,
    guard: timedelta | None = DEFAULT_GUARD,
    allow_resend: bool = False,
    scheduling: Scheduling | None = None,
    require_body: bool = True,
    accepted: re.Pattern[str] | None = None,
) -> SendPlan:
    """Decide, for each of ``rows`` (sheet row numbers), whether and what to send.

    Args:
        max_length: the effective length limit (the smaller of 最大文字数 and the gateway's).
        ledger: the send ledger, for restoring records and the recently-sent guard (None in
            ``check``, which needs no gateway).
        require_body: False lets ``check`` run the number rules on a sheet with no 本文 yet.
        scheduling: the window and hourly cap; None skips them (``check``).
        accepted: the national numbers the provider accepts (AOS: ``0[26789]0…``); a mobile
            number outside it is refused like a non-mobile one. None: every mobile number.

    Raises:
        SettingsError: no 本文, or a malformed template.
        WorkbookError: a needed formula cell has no computed value.
    """
    template = _body_template(settings, require_body)
    planner = _Planner(
        data,
        settings,
        template,
        template.used_columns(data.header.variables) if template is not None else (),
        min(settings.max_length, max_length or settings.max_length),
        hidden,
        ledger,
        accepted,
    )
    numbers = check_many(
        [_require_computed(data, data.value(r, PHONE)) for r in rows],
        allow_m2m=settings.allow_m2m,
    )
    decided = [planner.row(r, phone) for r, phone in zip(rows, numbers, strict=True)]
    decided = ledger_decisions(decided, data, ledger, guard, allow_resend, scheduling)
    if scheduling is not None:
        decided = _schedule(decided, scheduling)
    warnings = tuple(
        f"設定シートの「{k}」は使われない項目です（入力ミスではありませんか）。"
        for k in settings.unknown_keys
    )
    return SendPlan(
        tuple(decided), settings.unit_price, warnings, data.book, data.sheet, scheduling
    )


def _body_template(settings: CampaignSettings, require_body: bool) -> Template | None:
    """The parsed 本文; None when there is none and none is required (``check``)."""
    if settings.body and settings.body.strip():
        return Template.parse(settings.body)
    if require_body:
        raise SettingsError(
            "本文がありません。設定シートの「本文」に送信する文面を入力するか、--body で指定してください。"
            " / No message body: set 本文 in the 設定 sheet or pass --body."
        )
    return None


_SEND_RECORDS = frozenset(c.value for c in ResultCode if c.is_send_record)


@dataclass
class _Planner:
    """One plan's row decisions, in sheet order (a number is ``claimed`` by the first row)."""

    data: SheetRows
    settings: CampaignSettings
    template: Template | None  # None: no 本文 (``check`` before the body is written)
    used: Collection[str]
    limit: int
    hidden: Collection[int]
    ledger: LedgerView | None  # for an UNKNOWN row settled since (the rows to send: plan)
    accepted: re.Pattern[str] | None  # the provider's numbers (None: every mobile number)
    claimed: set[str] = field(default_factory=set)  # numbers taken by an earlier row or a record

    def row(self, r: int, phone: PhoneCheck) -> RowPlan:
        code_cell = self.data.value(r, CODE)
        previous = str(code_cell).strip() if code_cell is not None else ""
        if previous in _SEND_RECORDS:
            return self._recorded(r, phone, previous)
        skipped = self._skipped(r, phone)
        if skipped is not None:
            return skipped
        if self.template is None:
            if phone.national in self.claimed:
                return RowPlan(
                    r,
                    ResultCode.SKIP_DUPLICATE,
                    "同じ番号が上の行にあります",
                    PHONE,
                    phone.national,
                )
            self.claimed.add(phone.national or "")
            return RowPlan(r, None, "", None, phone.national)
        return self._rendered(r, phone, self.template)

    def _recorded(self, r: int, phone: PhoneCheck, previous: str) -> RowPlan:
        """A row whose 結果コード records a send."""
        if phone.national:
            self.claimed.add(phone.national)
        recorded = RowPlan(
            r,
            ResultCode.SKIP_ALREADY_SENT,
            f"送信済みの行です（結果コード {previous}）",
            CODE,
            phone.national,
            recorded=ResultCode(previous),
        )
        if previous == ResultCode.UNKNOWN.value:
            return resolved_unknown(self.data, recorded, self.ledger) or recorded
        return recorded

    def _skipped(self, r: int, phone: PhoneCheck) -> RowPlan | None:
        """Hidden, excluded, or a number that cannot receive an SMS."""
        if r in self.hidden:
            return RowPlan(r, ResultCode.SKIP_HIDDEN, "非表示の行です", None, phone.national)
        data = self.data
        if EXCLUDE in data.header.columns and is_excluded(
            _require_computed(data, data.value(r, EXCLUDE))
        ):
            return RowPlan(
                r, ResultCode.SKIP_EXCLUDED, "除外の列に印があります", EXCLUDE, phone.national
            )
        if not phone.ok:
            return RowPlan(r, phone.code, phone.reason, PHONE, phone.national)
        if self.accepted is not None and not self.accepted.fullmatch(phone.national or ""):
            reason = "この送信事業者はこの番号に送信できません（受け付ける番号の範囲外）"
            return RowPlan(r, ResultCode.ERR_NOT_MOBILE, reason, PHONE, phone.national)
        return None

    def _rendered(self, r: int, phone: PhoneCheck, template: Template) -> RowPlan:
        """A row to send, once its body renders and its number is its own (the ledger: ``plan``)."""
        data, settings, variables = self.data, self.settings, self.data.header.variables
        values = data.rows.get(r, ())
        row_values = {
            name: _require_computed(data, values[i]) if i < len(values) else None
            for name, i in variables.items()
            if name in self.used
        }
        formats = {
            name: data.number_formats.get((r, i))
            for name, i in variables.items()
            if name in self.used and data.number_formats
        }
        body: BodyCheck = template.render(
            row_values,
            date_style=settings.date_style,
            max_length=self.limit,
            number_formats=formats,
        )
        if not body.ok:
            column = _problem_column(body, row_values, settings)
            return RowPlan(
                r, body.code, body.reason, column, phone.national, body.body or None, body.segments
            )
        assert phone.national is not None
        if phone.national in self.claimed:
            return RowPlan(
                r,
                ResultCode.SKIP_DUPLICATE,
                "同じ番号が上の行にあります（1回の送信で1通だけ送ります）",
                PHONE,
                phone.national,
                body.body,
                body.segments,
            )
        self.claimed.add(phone.national)
        return RowPlan(r, None, "", None, phone.national, body.body, body.segments)


def _problem_column(body: BodyCheck, values: dict[str, object], settings: CampaignSettings) -> str:
    """The column to point staff at: the placeholder's column, or the one holding a bad char."""
    if body.code is ResultCode.ERR_TEMPLATE:
        for name in values:
            if f"「{name}」" in body.reason:
                return name
    if body.code is ResultCode.ERR_BAD_CHAR:
        chars = {b.char for b in body.bad_chars}
        for name, value in values.items():
            if value is not None and chars & set(str(value)):
                return name
            if f"差し込み項目「{name}」" in body.reason:  # a URL in this column's value
                return name
    return "本文"


def _schedule(rows: list[RowPlan], s: Scheduling) -> list[RowPlan]:
    """Give each row to send a slot: now, a scheduled time, or HOLD_WINDOW."""
    book = SlotBook(
        s.window,
        s.hourly_cap,
        s.already,
        can_schedule=s.can_schedule,
        min_ahead=s.min_ahead,
        max_ahead=s.max_ahead,
    )
    out: list[RowPlan] = []
    for row in rows:
        if not row.sends:
            out.append(row)
            continue
        slot = book.take(s.now)
        if slot.at is None:
            out.append(row)
        elif book.schedulable(slot, s.now):
            out.append(replace(row, code=None, scheduled_at=slot.at))
        else:
            reason = hold_reason(slot, s.window, s.hourly_cap, during_run=False)
            reason = reason.replace("。", book.bounds_note() + "。", 1)
            out.append(replace(row, code=ResultCode.HOLD_WINDOW, reason=reason))
    return out
