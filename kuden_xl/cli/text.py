"""What the command line prints: Japanese text summaries for staff, and JSON rows for scripts."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from ..schema import INCOMPLETE_NOTE, SENDABLE, label
from ..texts import deferred_lines

if TYPE_CHECKING:
    from ..jobs import CheckReport, Preview, SendOutcome
    from ..plan import SendPlan
    from ..row_plan import RowPlan


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def counts_table(plan: SendPlan) -> list[str]:
    lines = [f"  {_pad('結果コード', 20)}{_pad('内容', 18)}{'件数':>4}"]
    for code, n in plan.counts().items():
        lines.append(f"  {_pad(code, 20)}{_pad(label(code), 18)}{n:>6}")
    return lines


def check_text(report: CheckReport) -> str:
    plan, data = report.plan, report.data
    rows = plan.rows
    span = f"{rows[0].row}〜{rows[-1].row}行目（{len(rows)}行）" if rows else "なし"
    lines = [f"ブック: {data.book}  シート: {data.sheet}  対象: {span}"]
    if not report.has_body:
        lines.append("本文がないため、本文の確認（差し込み・文字数・使用不可文字）は行いません。")
    lines += counts_table(plan)
    if report.has_body:
        ok = plan.outgoing
        lines.append(f"  送信可能 {len(ok)}件 / 合計 {plan.segments}通 / 概算 {plan.cost:,.0f}円")
    problems = [r for r in rows if r.code is not None]
    if problems:
        lines.append("送信しない行:")
        for r in problems:
            assert r.code is not None
            column = r.column or "-"
            lines.append(f"  {r.row}行目  {column}  {r.code.value}  {r.code.label}: {r.reason}")
    lines += [f"注意: {w}" for w in plan.warnings]
    return "\n".join(lines)


def where(plan: SendPlan) -> str:
    """The workbook and sheet a plan is for, as every plan and summary names them."""
    return f"ブック: {plan.book}  シート: {plan.sheet}"


def plan_summary(plan: SendPlan) -> str:
    lines = [f"送信の計画（{where(plan)}）:"] + counts_table(plan)
    scheduled = sum(1 for r in plan.outgoing if r.scheduled_at)
    lines.append(
        f"  送信 {len(plan.outgoing)}件（うち予約 {scheduled}件） / 合計 {plan.segments}通"
        f" / 概算 {plan.cost:,.0f}円"
    )
    lines += [f"注意: {w}" for w in plan.warnings]
    return "\n".join(lines)


def preview_lines(preview: Preview) -> list[str]:
    lines = []
    for r in preview.rows:
        number = r.number or "-"
        if r.code == SENDABLE:
            when = f" 予約 {r.scheduled_at:%m/%d %H:%M}" if r.scheduled_at else ""
            lines.append(f"  {r.row}行目  {number}  {r.segments}通{when}  {r.body}")
        else:
            lines.append(f"  {r.row}行目  {number}  {r.code}  {r.label}: {r.reason}")
    return lines


def outcome_json(outcome: SendOutcome) -> list[dict[str, object]]:
    """``send --json``: one object per selected row (naming its workbook and sheet)."""
    from dataclasses import asdict

    plan = outcome.plan
    return [{"book": plan.book, "sheet": plan.sheet, **asdict(r)} for r in outcome.rows()]


def outcome_text(outcome: SendOutcome) -> str:
    lines = [f"送信結果（{where(outcome.plan)}）:"]
    for code, n in outcome.counts().items():
        lines.append(f"  {_pad(code, 20)}{_pad(label(code), 18)}{n:>6}")
    lines += deferred_lines(outcome.deferred())
    if outcome.reconciled:
        lines.append(f"  前回中断した送信 {outcome.reconciled}件を事業者に照会して記録しました。")
    if outcome.incomplete:
        lines.append(INCOMPLETE_NOTE)
    return "\n".join(lines)


def _code(plan_row: RowPlan) -> str:
    return plan_row.shown_code


def check_json(report: CheckReport) -> list[dict[str, object]]:
    """``check --json``: one object per row checked (naming its workbook and sheet)."""
    return [
        {
            "book": report.plan.book,
            "sheet": report.plan.sheet,
            "row": r.row,
            "code": _code(r),
            "reason": r.reason,
            "number": r.number,
            "segments": r.segments,
        }
        for r in report.plan.rows
    ]


def preview_json(preview: Preview) -> list[dict[str, object]]:
    """``send --dry-run --json``: one object per selected row (naming its workbook and sheet),
    with the body it would get."""
    return [
        {
            "book": preview.book,
            "sheet": preview.sheet,
            "row": r.row,
            "code": r.code,
            "message_id": None,
            "segments": r.segments,
            "body": r.body,
            "scheduled_at": r.scheduled_at.isoformat() if r.scheduled_at else None,
        }
        for r in preview.rows
    ]
