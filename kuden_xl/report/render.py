"""The report workbook (openpyxl): 概要, 月別, 用途別, 効果分析, 不達理由, 重複送信, 読込エラー, 明細.

Native Excel charts (monthly messages with the delivery rate; payment within 30 days by overdue
bucket), Japanese fonts, widths and number formats, A4 landscape printing. 明細 holds every
record as an Excel table; a year can be a quarter of a million rows, so openpyxl writes that
sheet's header, one styled row and the table, and its rows are then streamed into the sheet's
XML with the same cell styles (openpyxl alone would take longer than reading the year).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..clock import now
from ..errors import WorkbookError
from ..schema import RESULT_LABELS, ResultCode
from .detail import DAY, INT, stream_detail, write_template
from .layout import print_setup, rate, styles, table, title, widths
from .summarize import REFERENCE_GROUP, SENT_GROUP, WINDOWS, Summary, Tally

CODE_ORDER = tuple(c.value for c in ResultCode)
SHEETS = ("概要", "月別", "用途別", "効果分析", "不達理由", "重複送信", "読込エラー", "明細")
YEN, RATE = '#,##0"円"', "0.0%"


# --- sheets ----------------------------------------------------------------------------------


def _overview(ws: Any, st: dict[str, Any], s: Summary) -> None:
    t = s.total
    top = title(
        ws,
        st,
        f"SMS送信 年次レポート（{s.fiscal_year}年度）",
        f"対象期間: {s.start.year}年4月1日〜{s.end.year}年3月31日（日本時間）　"
        f"作成: {now():%Y年%m月%d日 %H:%M}",
    )
    rows: list[tuple[str, object, str | None]] = [
        ("送信件数（通）", t.messages, INT),
        ("通数（課金単位）", t.segments, INT),
        ("概算費用", round(t.cost), YEN),
        ("配信済", t.delivered, INT),
        ("不達", t.undelivered, INT),
        ("確認中・不明・未確認", t.unconfirmed, INT),
        ("配信率（配信済 ÷ 送信件数）", rate(t.delivery_rate), RATE),
        ("送信した電話番号（重複を除く）", s.recipients, INT),
        ("複数のブックから送った相手", len(s.duplicates), INT),
        ("読み込んだファイル", s.files_read, INT),
        ("読み込んだシート", s.sheets_read, INT),
        ("読めなかったファイル・注意", len(s.errors), INT),
        ("年度外の行（集計に含めず）", s.outside_year, INT),
        ("送信日のない行（集計に含めず）", s.undated, INT),
    ]
    last = table(ws, st, top, ("項目", "値"), [(k, v) for k, v, _ in rows], (None, None))
    for i, (_, _, fmt) in enumerate(rows, top + 1):
        if fmt:
            ws.cell(i, 2).number_format = fmt
    top = last + 2
    head = ("滞納日数（送信時）", "送信: 30日以内の納付率", "参考（未送信）: 30日以内の納付率")
    sent = {e.bucket: e for e in s.effects if e.group == SENT_GROUP}
    ref = {e.bucket: e for e in s.effects if e.group == REFERENCE_GROUP}
    ws.cell(top, 1, "効果（詳しくは「効果分析」シート）").font = st["heading"]
    table(
        ws,
        st,
        top + 1,
        head,
        [(b, rate(sent[b].rate(2)), rate(ref[b].rate(2))) for b in sent],
        (None, RATE, RATE),
    )
    widths(ws, (34, 24, 30))


def _tally_row(label: str, t: Tally, codes: Sequence[str]) -> list[object]:
    return [
        label,
        t.messages,
        t.segments,
        round(t.cost),
        t.delivered,
        t.undelivered,
        t.unconfirmed,
        rate(t.delivery_rate),
        *(t.codes.get(c, 0) for c in codes),
    ]


_TALLY_HEAD = ("送信件数", "通数", "概算費用", "配信済", "不達", "確認中・不明", "配信率")
_TALLY_FORMATS = (INT, INT, YEN, INT, INT, INT, RATE)


def _codes(s: Summary) -> list[str]:
    present = set(s.total.codes)
    return [c for c in CODE_ORDER if c in present] + sorted(present - set(CODE_ORDER))


def _code_head(code: str) -> str:
    try:
        return f"{RESULT_LABELS[ResultCode(code)]}\n{code}"
    except ValueError:
        return code


def _monthly(ws: Any, st: dict[str, Any], s: Summary) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference

    codes = _codes(s)
    top = title(
        ws, st, f"月別（{s.fiscal_year}年度）", "結果コード別の件数は、送信しなかった行も含みます。"
    )
    rows = [_tally_row(m.label, m.tally, codes) for m in s.months]
    rows.append(_tally_row("合計", s.total, codes))
    head = ("月", *_TALLY_HEAD, *(_code_head(c) for c in codes))
    last = table(ws, st, top, head, rows, (None, *_TALLY_FORMATS, *[INT] * len(codes)), total=True)
    ws.row_dimensions[top].height = 30
    widths(ws, (12, 10, 10, 12, 10, 10, 12, 9, *[12] * len(codes)))
    ws.freeze_panes = ws.cell(top + 1, 2)

    bars = BarChart()
    bars.title = "月別の送信件数と配信率"
    bars.y_axis.title = "送信件数"
    bars.add_data(Reference(ws, min_col=2, min_row=top, max_row=last - 1), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=last - 1))
    line = LineChart()
    line.add_data(Reference(ws, min_col=8, min_row=top, max_row=last - 1), titles_from_data=True)
    line.y_axis.axId = 200
    line.y_axis.title = "配信率"
    line.y_axis.number_format = "0%"
    line.y_axis.scaling.min = 0
    line.y_axis.scaling.max = 1
    line.y_axis.crosses = "max"
    bars += line
    bars.height, bars.width = 8, 22
    ws.add_chart(bars, f"A{last + 2}")
    print_setup(ws)


def _by_purpose(ws: Any, st: dict[str, Any], s: Summary) -> None:
    codes = _codes(s)
    top = title(
        ws,
        st,
        f"用途別（{s.fiscal_year}年度）",
        "用途は行の「用途」列、なければブックの設定シートの「用途」です。",
    )
    rows = [_tally_row(p.name, p.tally, codes) for p in s.purposes]
    rows.append(_tally_row("合計", s.total, codes))
    head = ("用途", *_TALLY_HEAD, *(_code_head(c) for c in codes))
    table(ws, st, top, head, rows, (None, *_TALLY_FORMATS, *[INT] * len(codes)), total=True)
    ws.row_dimensions[top].height = 30
    widths(ws, (22, 10, 10, 12, 10, 10, 12, 9, *[12] * len(codes)))
    print_setup(ws)


def _effect(ws: Any, st: dict[str, Any], s: Summary) -> None:
    top = title(
        ws,
        st,
        f"効果分析（{s.fiscal_year}年度）",
        "SMS を送った日から 7・14・30 日以内に納付した人の割合を、送った日に何日滞納していたかで分けています"
        "（納期限と納付日の列があるシートの行だけ）。",
    )
    ws.cell(
        3,
        1,
        (
            f"「{REFERENCE_GROUP}」は同じブックの送らなかった行（番号なし・除外など）で、その日を送信日とみなした数字です。"
            "無作為に選んだ群ではないため、差をそのまま SMS の効果とは言えません。"
            f" 送信日より前に納付済みの {s.effect_excluded:,} 行は除いています。"
        ),
    ).font = st["note"]
    top += 1
    head = ["区分", "滞納日数（送信時）", "対象者"]
    for w in WINDOWS:
        head += [f"{w}日以内に納付", f"{w}日以内の納付率"]
    rows = []
    for e in s.effects:
        row: list[object] = [e.group, e.bucket, e.recipients]
        for i in range(len(WINDOWS)):
            row += [e.paid[i], rate(e.rate(i))]
        rows.append(row)
    formats = (None, None, INT, *[INT, RATE] * len(WINDOWS))
    last = table(ws, st, top, head, rows, formats)
    ws.row_dimensions[top].height = 30
    widths(ws, (16, 18, 15, *[13] * (2 * len(WINDOWS))))

    _effect_chart(ws, st, s, last + 2)
    print_setup(ws)


def _effect_chart(ws: Any, st: dict[str, Any], s: Summary, top: int) -> None:
    """The chart's data at ``top`` (30-day rates, one column per group) and the chart beside it."""
    from openpyxl.chart import BarChart, Reference

    sent = [e for e in s.effects if e.group == SENT_GROUP]
    ref = {e.bucket: e for e in s.effects if e.group == REFERENCE_GROUP}
    chart_rows = [(e.bucket, rate(e.rate(2)), rate(ref[e.bucket].rate(2))) for e in sent]
    head = ("30日以内の納付率", SENT_GROUP, REFERENCE_GROUP)
    table(ws, st, top, head, chart_rows, (None, RATE, RATE))
    chart = BarChart()
    chart.type = "col"
    chart.title = "30日以内の納付率（滞納日数別）"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.title = "納付率"
    chart.x_axis.title = "送信時の滞納日数"
    end = top + len(chart_rows)
    chart.add_data(
        Reference(ws, min_col=2, max_col=3, min_row=top, max_row=end), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=end))
    chart.height, chart.width = 8, 18
    ws.add_chart(chart, f"E{top}")


def _reasons(ws: Any, st: dict[str, Any], s: Summary) -> None:
    top = title(
        ws,
        st,
        "不達理由",
        "配信結果が「不達（理由）」の件数です。理由は送信事業者の表記のままです。",
    )
    total = sum(r.count for r in s.reasons)
    rows: list[list[object]] = [[r.reason, r.count, r.count / total] for r in s.reasons]
    rows.append(["合計", total, 1.0 if total else "—"])
    table(ws, st, top, ("不達の理由", "件数", "割合"), rows, (None, INT, RATE), total=True)
    widths(ws, (36, 10, 10))
    print_setup(ws)


def _duplicates(ws: Any, st: dict[str, Any], s: Summary) -> None:
    top = title(
        ws,
        st,
        "重複送信（複数のブックから同じ相手へ）",
        "同じ管理番号、または同じ電話番号と本文で、2 つ以上のブックから送った相手です。電話番号は一部を伏せています。",
    )
    rows: list[tuple[object, ...]] = [
        (d.kind, d.key, d.sends, "\n".join(d.files), d.first, d.last) for d in s.duplicates
    ] or [("なし", "", None, "", None, None)]
    head = (
        "一致した項目",
        "管理番号・電話番号",
        "送信回数",
        "ブック",
        "最初の送信日",
        "最後の送信日",
    )
    table(ws, st, top, head, rows, (None, None, INT, None, DAY, DAY))
    for r in range(top + 1, top + 1 + len(rows)):
        ws.cell(r, 4).alignment = st["wrap"]
    widths(ws, (16, 20, 10, 60, 14, 14))
    ws.print_title_rows = f"{top}:{top}"
    print_setup(ws, f"{top}:{top}")


def _errors(ws: Any, st: dict[str, Any], s: Summary) -> None:
    top = title(ws, st, "読込エラー", "読めなかったファイルと、読めたが注意が必要なファイルです。")
    rows = [(e.file, e.reason) for e in s.errors] or [("なし", "")]
    table(ws, st, top, ("ファイル", "理由"), rows, (None, None))
    for r in range(top + 1, top + 1 + len(rows)):
        ws.cell(r, 2).alignment = st["wrap"]
    widths(ws, (60, 70))
    print_setup(ws, f"{top}:{top}")


def render(summary: Summary, path: Path) -> Path:
    """Write the report workbook to ``path`` (atomically: a temp file beside it, then replace).

    Raises:
        WorkbookError: the report cannot be saved (a folder that does not exist, no permission,
            or the report open in Excel).
    """
    import openpyxl

    st = styles()
    wb = openpyxl.Workbook()
    writers: dict[str, Callable[[Any, dict[str, Any], Summary], None]] = {
        "概要": _overview,
        "月別": _monthly,
        "用途別": _by_purpose,
        "効果分析": _effect,
        "不達理由": _reasons,
        "重複送信": _duplicates,
        "読込エラー": _errors,
    }
    ws = wb.active
    for i, name in enumerate(SHEETS):
        ws = ws if i == 0 else wb.create_sheet(name)
        ws.title = name
        ws.sheet_view.zoomScale = 100
        if name == "明細":
            write_template(ws, st, len(summary.records))
        else:
            writers[name](ws, st, summary)
    print_setup(wb["概要"])
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=".~kuden-report-", suffix=".xlsx", dir=path.parent if path.parent.exists() else None
    )
    os.close(fd)
    try:
        wb.save(tmp)
        stream_detail(Path(tmp), summary.records)
        os.replace(tmp, path)
    except OSError as exc:
        raise WorkbookError(
            f"レポート「{path}」を保存できません: {exc}。フォルダがあるか、同じ名前のファイルが Excel で開かれていないか確認してください。"
            f" / Cannot save the report {path}: {exc}"
        ) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
