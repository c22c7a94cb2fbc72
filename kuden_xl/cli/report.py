"""The ``report`` command: the yearly report from send workbooks and CSV records."""

from __future__ import annotations

from pathlib import Path

import click

from .console import friendly, progress_bar, to_json


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--fiscal-year",
    type=int,
    metavar="YYYY",
    help="年度（2026 = 2026年4月〜2027年3月。既定: 今日の年度）",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="レポートのファイル（既定: 最初のフォルダの SMS年次レポート_YYYY年度.xlsx）",
)
@click.option("--json", "as_json", is_flag=True, help="主な数字と月別の件数を JSON で出力")
@friendly
def report_command(
    paths: tuple[Path, ...], fiscal_year: int | None, output: Path | None, as_json: bool
) -> None:
    """Build the yearly report from send workbooks and CSV records (年次レポート).

    Reads every .xlsx/.xlsm/.csv under PATH... (folders recursively) and writes one report
    workbook with charts and the effectiveness analysis.

    Example: kuden-xl report 送信記録/ --fiscal-year 2026 -o 年次レポート.xlsx
    """
    from .. import jobs

    with progress_bar("読み込み中", quiet=as_json) as step:
        outcome = jobs.report(
            list(paths),
            fiscal_year=fiscal_year,
            output=output,
            progress=lambda done, total, path: step(done, total),
        )
    s = outcome.summary
    if as_json:
        click.echo(to_json({"report": str(outcome.path), **s.headline()}))
        return
    rate = f"{s.total.delivery_rate:.1%}" if s.total.delivery_rate is not None else "—"
    click.echo(
        f"{s.fiscal_year}年度: 送信 {s.total.messages:,}件（{s.total.segments:,}通、"
        f"概算 {round(s.total.cost):,}円）、配信率 {rate}。"
        f"ファイル {s.files_read}件を読み込みました。"
    )
    if s.errors:
        click.echo(f"読めなかったファイル・注意 {len(s.errors)}件（「読込エラー」シート）:")
        for e in s.errors:
            click.echo(f"  {e.file}: {e.reason}")
    click.echo(f"レポートを作りました: {outcome.path}")
