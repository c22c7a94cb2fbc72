"""The ``addin build`` command: kuden_xl.xlam from the installed xlwings' add-in template."""

from __future__ import annotations

from pathlib import Path

import click

from .console import friendly


@click.group()
def addin() -> None:
    """The Excel add-in (Excel アドイン)."""


@addin.command("build")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("dist/kuden_xl.xlam"),
    show_default=True,
    help="作るアドインのファイル",
)
@click.option(
    "--interpreter",
    metavar="PATH",
    help="Excel が使う pythonw.exe のフルパス（省略時は PATH 上の pythonw）",
)
@friendly
def addin_build(output: Path, interpreter: str | None) -> None:
    """Build kuden_xl.xlam from the installed xlwings' add-in template (no Excel needed).

    Example: kuden-xl addin build -o dist/kuden_xl.xlam --interpreter C:\\Python311\\pythonw.exe
    """
    from ..excel.addin.build import build_addin

    output.parent.mkdir(parents=True, exist_ok=True)
    report = build_addin(output, interpreter=interpreter)
    click.echo(
        f"{report.output} を作りました（{report.size:,} バイト、xlwings {report.xlwings_version}、"
        f"ボタン {len(report.buttons)} 個、ワークシート関数 {len(report.udf_functions)} 個）。"
    )
