"""A send on the terminal: the question before anything leaves, the progress bar, and a run
stopped midway (Ctrl+C, SIGTERM, an error) told with how many were sent."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfirmationDeclined, KudenError, WorkbookSaveError
from .console import EXIT_ERROR, EXIT_INTERRUPTED, out, progress_bar

if TYPE_CHECKING:
    from ..dispatch import RowResult
    from ..plan import SendPlan


def run_send(
    table: Any,
    gateway: Any,
    ledger: Any,
    rows: str | None,
    cli_values: dict[str, object],
    allow_resend: bool,
    yes: bool,
    as_json: bool,
) -> Any:
    """``jobs.send`` with a progress bar; a run stopped midway (Ctrl+C, SIGTERM, an error)
    tells how many were sent before it exits."""
    from .. import jobs

    tally = _Tally()
    try:
        with _sigterm_as_interrupt(), progress_bar("送信中", quiet=as_json) as progress:
            return jobs.send(
                table,
                gateway,
                ledger,
                rows=rows,
                confirm=_confirm_on_terminal(yes, as_json),
                progress=progress,
                cli=cli_values,
                allow_resend=allow_resend,
                observe=tally.add,
            )
    except KeyboardInterrupt:
        click.echo(f"送信を中断しました（Ctrl+C / 終了要求）。{tally.sent_text()}", err=True)
        sys.exit(EXIT_INTERRUPTED)  # the ledger and the workbook lock are released on the way
    except KudenError as exc:
        if not tally.done or isinstance(exc, WorkbookSaveError):
            raise  # nothing sent yet, or the error itself counts what was sent (a failed save)
        click.echo(f"エラー: {exc}", err=True)
        click.echo(f"送信を途中で止めました。{tally.sent_text()}", err=True)
        sys.exit(EXIT_ERROR)


def _confirm_on_terminal(yes: bool, as_json: bool) -> Callable[[SendPlan], bool]:
    from .text import plan_summary

    def confirm(send_plan: SendPlan) -> bool:
        if not as_json:
            out(plan_summary(send_plan))
        if not send_plan.outgoing:
            return True  # nothing leaves: skips and restored records are still written
        if yes:
            return True
        if not sys.stdin.isatty():
            raise ConfirmationDeclined(
                "確認の入力ができないため送信しませんでした。確認なしで送るには --yes を付けてください。"
                " / No terminal to confirm on; pass --yes."
            )
        return click.confirm(
            f"「{send_plan.book}」の「{send_plan.sheet}」シートの {len(send_plan.outgoing)}件を"
            "送信します。よろしいですか",
            default=False,
        )

    return confirm


class _Tally:
    """What this run has sent so far: told to staff when the run stops early."""

    def __init__(self) -> None:
        self.done = 0
        self.sent = 0
        self.unknown = 0

    def add(self, result: RowResult) -> None:
        from ..schema import ResultCode

        self.done += 1
        if result.code in (ResultCode.ACCEPTED, ResultCode.SCHEDULED):
            self.sent += 1
        elif result.code is ResultCode.UNKNOWN:
            self.unknown += 1

    def sent_text(self) -> str:
        if not self.done:
            return "何も送信していません。 / Nothing was sent."
        unknown = f"（ほかに結果不明 {self.unknown}件）" if self.unknown else ""
        return (
            f"この実行で送信したのは {self.sent}件です{unknown}。送信した分は送信記録（台帳）に"
            "記録済みで、ブックに書き込めなかった分も次回の実行で書き戻します。"
            "まだ送信していない行は、次回の実行で送信できます。"
            f" / {self.sent} sent this run, all recorded in the ledger."
        )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a send like Ctrl+C: in-flight messages are settled and the count told."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
