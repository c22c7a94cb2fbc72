"""The ``kuden-xl`` command line: each command parses, calls one job, prints the outcome.

Exit status: 0 done (skipped rows are data), 2 could not run (bad input or settings), 3 finished
but some rows are UNKNOWN or GATEWAY_ERROR. A ``KudenError`` is printed as one line, never a
traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import KudenError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_ERROR, EXIT_INCOMPLETE = 0, 2, 3


def _friendly(fn: F) -> F:
    """Turn a KudenError (and any surprise) into one line on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KudenError as exc:
            click.echo(f"エラー: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: still one line for staff; KUDEN_XL_DEBUG=1 shows it
            if os.environ.get("KUDEN_XL_DEBUG"):
                raise
            click.echo(
                f"エラー: 予期しない問題が起きました（{type(exc).__name__}: {exc}）。"
                "担当者に連絡してください。 / Unexpected error; rerun with KUDEN_XL_DEBUG=1.",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kuden_xl")
def cli() -> None:
    """kuden-xl: ワークシートの行に SMS を送り、結果をブックに記録します。

    Send SMS to the rows of an Excel worksheet; the workbook is the record.
    """


def _book_argument(fn: F) -> F:
    return click.argument("book", type=click.Path(path_type=Path))(fn)


@cli.command()
@_book_argument
@click.option("--sheet", help="シート名（既定: 電話番号の列がある最初のシート）")
@click.option(
    "--rows", "rows", metavar="SPEC", help="確認する行番号。例: 2-40,45（既定: すべての行）"
)
@click.option("--body", help="本文（設定シートの「本文」より優先）")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON 配列で出力")
@_friendly
def check(book: Path, sheet: str | None, rows: str | None, body: str | None, as_json: bool) -> None:
    """Check numbers and bodies without sending anything (番号・本文のチェック).

    Example: kuden-xl check 送信リスト.xlsx --rows 2-40
    """
    from . import jobs
    from .books.xlsx import XlsxTable

    report = jobs.check(XlsxTable(book, sheet=sheet), rows=rows, cli={"本文": body})
    if as_json:
        out = [
            {
                "row": r.row,
                "code": r.code.value if r.code else "OK",
                "reason": r.reason,
                "number": r.number,
                "segments": r.segments,
            }
            for r in report.plan.rows
        ]
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    from .report_text import check_text

    click.echo(check_text(report))


def main() -> None:
    cli(prog_name="kuden-xl")
