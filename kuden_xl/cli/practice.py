"""The practice commands: ``demo`` (the sample workbook through an in-process sandbox) and
``sandbox serve`` (the practice SMS gateway)."""

from __future__ import annotations

from pathlib import Path

import click

from .console import friendly


@click.command()
@click.argument("path", type=click.Path(path_type=Path), default="kuden_demo.xlsx")
@friendly
def demo(path: Path) -> None:
    """Send the sample workbook through a practice gateway and show the results (デモ).

    Copies the sample to PATH (default ./kuden_demo.xlsx), sends every row through an in-process
    sandbox with a throwaway ledger and the send window lifted, then refreshes delivery.
    """
    from .. import jobs
    from .text import outcome_text

    def copied(path: Path) -> None:
        click.echo(
            f"サンプルのブックを {path} にコピーしました。練習用の送信先（sandbox）に送信します。"
        )
        click.echo(
            "デモのため送信時間帯の制限を外しています（実際の送信では 設定「送信時間帯」が守られます）。"
        )

    status_outcome = jobs.demo(path, copied=copied, sent=lambda o: click.echo(outcome_text(o)))
    counts = "、".join(f"{k} {v}件" for k, v in status_outcome.counts.items())
    click.echo(f"配信結果: {counts}")
    click.echo(
        f"結果は {path.resolve()} の「送信リスト」シート右側の列（送信日時〜配信確認日時）にあります。"
    )


@click.group()
def sandbox() -> None:
    """The practice SMS gateway (練習用の送信先)."""


@sandbox.command(
    "serve",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@friendly
def sandbox_serve(args: tuple[str, ...]) -> None:
    """Run the sandbox gateway on 127.0.0.1 (or --host) until Ctrl+C: the options and defaults
    of ``python -m kuden_xl.sandbox`` (``--help`` lists them).

    Example: kuden-xl sandbox serve --port 8765 --state sandbox.sqlite3
    """
    from ..sandbox.__main__ import main

    main(list(args), prog="kuden-xl sandbox serve")
