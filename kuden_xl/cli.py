"""The ``kuden-xl`` command line: each command parses, calls one job, prints the outcome.

Exit status: 0 done (skipped rows are data), 2 could not run (bad input or settings, or the run
stopped: gateway unreachable, ledger unwritable), 3 finished but some selected rows are UNKNOWN or
GATEWAY_ERROR (reconciliation's included), 130 interrupted by Ctrl+C or SIGTERM (what was sent
is in the ledger). A ``KudenError`` is printed as one line, never a traceback; output cut short
by its reader (``| head``) is not an error.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .errors import (
    ConfirmationDeclined,
    KudenError,
    RowSpecError,
    SettingsError,
    WorkbookSaveError,
)

if TYPE_CHECKING:
    from .dispatch import RowResult
    from .jobs import Preview, SendOutcome
    from .plan import SendPlan

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_ERROR, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 2, 3, 130


def _out(text: str) -> None:
    """Print to stdout; a reader that went away (``| head``) only ends the output."""
    try:
        click.echo(text)
    except BrokenPipeError:
        _stdout_gone()


def _stdout_gone() -> None:
    # Point stdout at devnull so the interpreter's final flush does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


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
        except BrokenPipeError:  # stdout's reader went away mid-print: nothing to tell it
            _stdout_gone()
            sys.exit(EXIT_ERROR)
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
@click.option(
    "--sheet",
    help="シート名（既定: 電話番号の列があるアクティブなシート、なければ最初の表示シート。非表示のシートは指定したときだけ）",
)
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
    from .cli_text import check_json, check_text

    _out(_json(check_json(report)) if as_json else check_text(report))


def _confirm_on_terminal(yes: bool, as_json: bool) -> Callable[[SendPlan], bool]:
    from .cli_text import plan_summary

    def confirm(send_plan: SendPlan) -> bool:
        if not as_json:
            _out(plan_summary(send_plan))
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


@cli.command()
@_book_argument
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
@_friendly
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
    from . import jobs
    from .books.xlsx import XlsxTable

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
        outcome = _run_send(table, gateway, ledger, rows, cli_values, allow_resend, yes, as_json)
    _print_outcome(outcome, as_json)
    if outcome.incomplete:
        sys.exit(EXIT_INCOMPLETE)


def _run_send(
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
    from . import jobs

    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if as_json or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="送信中", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    tally = _Tally()
    try:
        with _sigterm_as_interrupt():
            try:
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
            finally:
                if bar is not None:
                    bar.__exit__(None, None, None)
    except KeyboardInterrupt:
        click.echo(f"送信を中断しました（Ctrl+C / 終了要求）。{tally.sent_text()}", err=True)
        sys.exit(EXIT_INTERRUPTED)  # the ledger and the workbook lock are released on the way
    except KudenError as exc:
        if not tally.done or isinstance(exc, WorkbookSaveError):
            raise  # nothing sent yet, or the error itself counts what was sent (a failed save)
        click.echo(f"エラー: {exc}", err=True)
        click.echo(f"送信を途中で止めました。{tally.sent_text()}", err=True)
        sys.exit(EXIT_ERROR)


class _Tally:
    """What this run has sent so far: told to staff when the run stops early."""

    def __init__(self) -> None:
        self.done = 0
        self.sent = 0
        self.unknown = 0

    def add(self, result: RowResult) -> None:
        from .schema import ResultCode

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


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _print_preview(shown: Preview, as_json: bool) -> None:
    from .cli_text import plan_summary, preview_json, preview_lines

    if as_json:
        _out(_json(preview_json(shown)))
        return
    _out(plan_summary(shown.plan))
    _out("\n".join(preview_lines(shown)))
    _out("（プレビューです。送信もブックへの書き込みもしていません）")


def _print_outcome(outcome: SendOutcome, as_json: bool) -> None:
    from .cli_text import outcome_json, outcome_text

    _out(_json(outcome_json(outcome)) if as_json else outcome_text(outcome))


@cli.command()
@_book_argument
@click.option("--sheet", help="シート名")
@click.option("--provider", help="送信事業者")
@click.option("--base-url", help="事業者の接続先 URL")
@click.option("--json", "as_json", is_flag=True, help="件数を JSON で出力")
@_friendly
def status(
    book: Path, sheet: str | None, provider: str | None, base_url: str | None, as_json: bool
) -> None:
    """Fill 配信結果 / 配信確認日時 for sent rows (配信結果を更新).

    Example: kuden-xl status 送信リスト.xlsx
    """
    from . import jobs
    from .books.xlsx import XlsxTable

    table = XlsxTable(book, sheet=sheet)
    with jobs.connect(table, provider=provider, base_url=base_url) as (gateway, ledger):
        outcome = jobs.refresh_status(table, gateway, ledger)
    if as_json:
        _out(_json({"checked": outcome.checked, "counts": outcome.counts}))
    else:
        counts = "、".join(f"{k} {v}件" for k, v in outcome.counts.items()) or "なし"
        _out(
            f"配信結果を確認しました（ブック: {table.book_name}  シート: {table.sheet_name}）:"
            f" {outcome.checked}件（{counts}）"
        )


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), default="kuden_demo.xlsx")
@_friendly
def demo(path: Path) -> None:
    """Send the sample workbook through a practice gateway and show the results (デモ).

    Copies the sample to PATH (default ./kuden_demo.xlsx), sends every row through an in-process
    sandbox with a throwaway ledger and the send window lifted, then refreshes delivery.
    """
    from . import jobs
    from .cli_text import outcome_text

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


@cli.group()
def sandbox() -> None:
    """The practice SMS gateway (練習用の送信先)."""


@sandbox.command(
    "serve",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@_friendly
def sandbox_serve(args: tuple[str, ...]) -> None:
    """Run the sandbox gateway on 127.0.0.1 (or --host) until Ctrl+C: the options and defaults
    of ``python -m kuden_xl.sandbox`` (``--help`` lists them).

    Example: kuden-xl sandbox serve --port 8765 --state sandbox.sqlite3
    """
    from .sandbox.__main__ import main

    main(list(args), prog="kuden-xl sandbox serve")


@cli.group()
def ledger() -> None:
    """The send ledger (送信記録の台帳)."""


@ledger.command("reset")
@click.option(
    "--i-understand",
    "understood",
    is_flag=True,
    help="台帳にない送信は再び送られうることを理解した上で、今の台帳を受け入れる",
)
@_friendly
def ledger_reset(understood: bool) -> None:
    """Accept the ledger as it is now, after a run stopped because it was lost (台帳の受け入れ).

    A run stops when the ledger is missing, empty, replaced, or older than this PC last saw:
    everything it recorded could be sent again. Restore the latest ledger from a backup if you
    can; only if you cannot, run this. It records the current ledger (a new empty one if none
    is there) as the one this PC has seen. Nothing is deleted.

    Example: kuden-xl ledger reset --i-understand
    """
    from .ledger import accept_as_is, default_ledger_path

    path = default_ledger_path(sandbox=False)
    if not understood:
        raise SettingsError(
            f"送信記録（台帳）「{path}」を今の状態で受け入れるには --i-understand を付けて"
            "実行してください。受け入れると、この台帳にない送信は同じ番号・同じ本文でも再び送信"
            "されることがあります。 / Pass --i-understand to accept the ledger as it is."
        )
    _, count = accept_as_is(path)
    click.echo(
        f"送信記録（台帳）「{path}」を今の状態で受け入れました（記録 {count} 件）。"
        "次回からこの台帳で送信します。"
    )


@cli.group()
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
@_friendly
def addin_build(output: Path, interpreter: str | None) -> None:
    """Build kuden_xl.xlam from the installed xlwings' add-in template (no Excel needed).

    Example: kuden-xl addin build -o dist/kuden_xl.xlam --interpreter C:\\Python311\\pythonw.exe
    """
    from .excel.addin.build import build_addin

    output.parent.mkdir(parents=True, exist_ok=True)
    report = build_addin(output, interpreter=interpreter)
    click.echo(
        f"{report.output} を作りました（{report.size:,} バイト、xlwings {report.xlwings_version}、"
        f"ボタン {len(report.buttons)} 個、ワークシート関数 {len(report.udf_functions)} 個）。"
    )


def main() -> None:
    cli(prog_name="kuden-xl")


@cli.command("report")
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
@_friendly
def report_command(
    paths: tuple[Path, ...], fiscal_year: int | None, output: Path | None, as_json: bool
) -> None:
    """Build the yearly report from send workbooks and CSV records (年次レポート).

    Reads every .xlsx/.xlsm/.csv under PATH... (folders recursively) and writes one report
    workbook with charts and the effectiveness analysis.

    Example: kuden-xl report 送信記録/ --fiscal-year 2026 -o 年次レポート.xlsx
    """
    from . import jobs

    bar: Any = None

    def progress(done: int, total: int, path: Path) -> None:
        nonlocal bar
        if as_json or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="読み込み中", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        outcome = jobs.report(
            list(paths), fiscal_year=fiscal_year, output=output, progress=progress
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    s = outcome.summary
    if as_json:
        click.echo(_json({"report": str(outcome.path), **s.headline()}))
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


@cli.group()
def config() -> None:
    """The user's settings file and the settings in force (設定)."""


@config.command("path")
@_friendly
def config_path() -> None:
    """Print where the settings file is (設定ファイルの場所).

    Example: kuden-xl config path
    """
    from .paths import user_config_path

    click.echo(str(user_config_path()))


@config.command("show")
@click.option("--provider", help="送信事業者（既定: KUDEN_XL_PROVIDER → 設定ファイル → sandbox）")
@click.option("--base-url", help="事業者の接続先 URL")
@_friendly
def config_show(provider: str | None, base_url: str | None) -> None:
    """Show each setting in force and where it came from; secrets masked (設定の確認).

    Example: kuden-xl config show --provider twilio
    """
    from . import config_view
    from .config import read_config_file
    from .gateways.registry import provider_name
    from .paths import user_config_path

    data = read_config_file()
    name = provider_name(provider, None, data)
    shown = config_view.settings(name, {"provider": provider, "base_url": base_url}, data)
    click.echo("\n".join(config_view.lines(name, str(user_config_path()), shown)))


@config.command("init")
@_friendly
def config_init() -> None:
    """Write a commented settings file to fill in; an existing one is left alone (設定ファイル作成).

    Example: kuden-xl config init
    """
    from .config_view import TEMPLATE
    from .paths import user_config_path

    path = user_config_path()
    if path.exists():
        raise SettingsError(
            f"設定ファイル {path} は既にあります。そのまま編集してください。 / {path} exists."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE, encoding="utf-8")
    click.echo(f"設定ファイルを作りました: {path}")


@cli.group()
def credentials() -> None:
    """The provider's token in the OS keyring (認証情報)."""


def _known_provider(provider: str) -> str:
    from .gateways.registry import PROVIDERS

    name = provider.strip().lower()
    if name not in PROVIDERS:
        raise SettingsError(
            f"プロバイダ「{provider}」には未対応です（使えるもの: {'、'.join(PROVIDERS)}）。"
            f" / Unknown provider {provider!r}."
        )
    return name


@credentials.command("set")
@click.argument("provider")
@_friendly
def credentials_set(provider: str) -> None:
    """Store PROVIDER's token in the OS keyring; asked for without echo (トークンの登録).

    Example: kuden-xl credentials set twilio
    """
    from .credentials import store_token

    name = _known_provider(provider)
    token = click.prompt(f"{name} のトークン（表示されません）", hide_input=True)
    store_token(name, token)
    click.echo(f"{name} のトークンを OS の資格情報ストアに登録しました。")


@credentials.command("delete")
@click.argument("provider")
@_friendly
def credentials_delete(provider: str) -> None:
    """Remove PROVIDER's token from the OS keyring (トークンの削除).

    Example: kuden-xl credentials delete twilio
    """
    from .credentials import delete_token

    name = _known_provider(provider)
    if delete_token(name):
        click.echo(f"{name} のトークンを削除しました。")
    else:
        click.echo(f"{name} のトークンは登録されていません。")


@credentials.command("status")
@click.argument("provider")
@_friendly
def credentials_status(provider: str) -> None:
    """Say where PROVIDER's token comes from, never the token itself (トークンの確認).

    Example: kuden-xl credentials status twilio
    """
    from .credentials import TOKEN_ENV, token_source

    name = _known_provider(provider)
    source = token_source(name)
    if source == "environment":
        click.echo(f"{name}: 環境変数 {TOKEN_ENV} のトークンを使います（値は表示しません）。")
    elif source == "keyring":
        click.echo(f"{name}: OS の資格情報ストアのトークンを使います（値は表示しません）。")
    else:
        click.echo(
            f"{name}: トークンがありません。kuden-xl credentials set {name} で登録してください。"
        )
        sys.exit(EXIT_INCOMPLETE)


@cli.group()
def connection() -> None:
    """The connection to the SMS provider (接続)."""


@connection.command("test")
@click.option("--provider", help="送信事業者（既定: KUDEN_XL_PROVIDER → 設定ファイル → sandbox）")
@click.option("--base-url", help="事業者の接続先 URL")
@_friendly
def connection_test(provider: str | None, base_url: str | None) -> None:
    """Check proxy, CONNECT, TLS and credentials step by step; nothing is sent (接続テスト).

    Example: kuden-xl connection test --provider twilio
    """
    from . import jobs

    report = jobs.connection_test(provider, base_url=base_url)
    click.echo("\n".join(report.lines()))
    if not report.ok:
        sys.exit(EXIT_INCOMPLETE)
