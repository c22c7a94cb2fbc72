"""Plain-text summaries for the terminal (Japanese; staff read them)."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from .schema import ResultCode

if TYPE_CHECKING:
    from .jobs import CheckReport
    from .plan import SendPlan


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def label(code: str) -> str:
    return "送信可能" if code == "OK" else ResultCode(code).label


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
