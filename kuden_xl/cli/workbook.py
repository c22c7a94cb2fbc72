"""The workbook commands: ``check`` (nothing sent), ``send`` (or its ``--dry-run`` preview) and
``status`` (delivery results)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import RowSpecError
from .console import EXIT_INCOMPLETE, book_argument, friendly, out, to_json
from .send_run import run_send

if TYPE_CHECKING:
    from ..jobs import Preview, SendOutcome


@click.command()
@book_argument
@click.option(
    "--sheet",
    help="シート名（既定: 電話番号の列があるアクティブなシート、なければ最初の表示シート。非表示のシートは指定したときだけ）",
)
@click.option(
    "--rows", "rows", metavar="SPEC", help="確認する行番号。例: 2-40,45（既定: すべての行）"
)
@click.option("--body", help="本文（設定シートの「本文」より優先）")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON 配列で出力")
@friendly
def check(book: Path, sheet: str | None, rows: str | None, body: str | None, as_json: bool) -> None:
    """Check numbers and bodies without sending anything (番号・本文のチェック).

    Example: kuden-xl check 送信リスト.xlsx --rows 2-40
    """
    from .. import jobs
    from ..books.xlsx import XlsxTable

    report = jobs.check(XlsxTable(book, sheet=sheet), rows=rows, cli={"本文": body})
    from .text import check_json, check_text

    out(to_json(check_json(report)) if as_json else check_text(report))


@click.command()
@book_argument
@click.option("--rows", "rows", metavar="SPEC", help="送信する行番号。例: 2-40,45")
@click.option("--all", "all_rows", is_flag=True, help="すべての行を送信")
@click.option(
    "--sheet",
    help="シート名（既定: 電話番号の列があるアクティブなシート、なければ最初の表示シート。非表示のシートは指定したときだけ）",
)
@click.option("--provider", help="送信事業者（既定: 設定 → KUDEN_XL_PROVIDER → sandbox）")
@click.option("--base-url", help="事業者の接続先 URL（KUDEN_XL_BASE_URL）")
@click.option("--dry-run", is_flag=True, help="送信せずに計画と各行の本文を表示（プレビュー）")
@click.option("--yes", is_flag=True, help="確認せずに送信")
@click.option("--allow-resend", is_flag=True, help="直近に同じ本文を送った番号にも送信")
@click.option("--output", type=click.Path(path_type=Path), help="結果を別のブックに書き出す")
@click.option("--body", help="本文（設定シートの「本文」より優先）")
@click.option("--json", "as_json", is_flag=True, help="行ごとの結果を JSON 配列で出力")
@friendly
def send(
    book: Path,
    rows: str | None,
    all_rows: bool,
    sheet: str | None,
    provider: str | None,
    base_url: str | None,
    dry_run: bool,
    yes: bool,
    allow_resend: bool,
    output: Path | None,
    body: str | None,
    as_json: bool,
) -> None:
    """Send an SMS to each selected row and write the results beside it (選択行を送信).

    \b
    Exit status (終了コード):
      0    every selected row is final (送信・予約・保留・スキップ)
      3    some rows are UNKNOWN or GATEWAY_ERROR (結果不明・送信エラー)
      2    could not run, or stopped (入力・設定の誤り、送信先に接続できない等)
      130  interrupted by Ctrl+C or SIGTERM (中断); what was sent is in the ledger

    Example: kuden-xl send 送信リスト.xlsx --rows 2-40
    """
    from .. import jobs
    from ..books.xlsx import XlsxTable

    if bool(rows) == all_rows:
        raise RowSpecError(
            "--rows か --all のどちらかを指定してください。 / Pass --rows SPEC or --all."
        )
    table = XlsxTable(book, sheet=sheet, output=output)
    cli_values: dict[str, object] = {"本文": body, "プロバイダ": provider}
    with jobs.connect(table, provider=provider, base_url=base_url, cli=cli_values) as (
        gateway,
        ledger,
    ):
        if dry_run:
            shown = jobs.preview(
                table, gateway, ledger, rows=rows, cli=cli_values, allow_resend=allow_resend
            )
            _print_preview(shown, as_json)
            return
        outcome = run_send(table, gateway, ledger, rows, cli_values, allow_resend, yes, as_json)
    _print_outcome(outcome, as_json)
    if outcome.incomplete:
        sys.exit(EXIT_INCOMPLETE)


def _print_preview(shown: Preview, as_json: bool) -> None:
    from .text import plan_summary, preview_json, preview_lines

    if as_json:
        out(to_json(preview_json(shown)))
        return
    out(plan_summary(shown.plan))
    out("\n".join(preview_lines(shown)))
    out("（プレビューです。送信もブックへの書き込みもしていません）")


def _print_outcome(outcome: SendOutcome, as_json: bool) -> None:
    from .text import outcome_json, outcome_text

    out(to_json(outcome_json(outcome)) if as_json else outcome_text(outcome))


@click.command()
@book_argument
@click.option("--sheet", help="シート名")
@click.option("--provider", help="送信事業者")
@click.option("--base-url", help="事業者の接続先 URL")
@click.option("--json", "as_json", is_flag=True, help="件数を JSON で出力")
@friendly
def status(
    book: Path, sheet: str | None, provider: str | None, base_url: str | None, as_json: bool
) -> None:
    """Fill 配信結果 / 配信確認日時 for sent rows (配信結果を更新).

    Example: kuden-xl status 送信リスト.xlsx
    """
    from .. import jobs
    from ..books.xlsx import XlsxTable

    table = XlsxTable(book, sheet=sheet)
    with jobs.connect(table, provider=provider, base_url=base_url) as (gateway, ledger):
        outcome = jobs.refresh_status(table, gateway, ledger)
    if as_json:
        out(to_json({"checked": outcome.checked, "counts": outcome.counts}))
    else:
        counts = "、".join(f"{k} {v}件" for k, v in outcome.counts.items()) or "なし"
        out(
            f"配信結果を確認しました（ブック: {table.book_name}  シート: {table.sheet_name}）:"
            f" {outcome.checked}件（{counts}）"
        )
