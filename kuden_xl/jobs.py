"""One function per user action over a Table (and the demo). The CLI and the ribbon call these.

Jobs hold the orchestration (read → plan → confirm → dispatch → write) once; faces pass
callbacks for confirmation and progress and turn ``KudenError`` into their own messages.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import schema
from .books.base import OutputRow, SheetRows, Table, parse_rows
from .campaign import CampaignSettings
from .clock import JST, now
from .config import campaign_settings
from .errors import (
    ConfirmationDeclined,
    RowSpecError,
    SettingsError,
    WorkbookError,
    WorkbookSaveError,
)
from .message import Template
from .outputs import excel_time, plan_outputs, result_output
from .plan import LedgerRecord, SendPlan, plan
from .schema import DEFAULT_GUARD, Delivery, ResultCode
from .slots import Scheduling

if TYPE_CHECKING:
    from .dispatch import DispatchSettings, RowResult
    from .gateways.base import Gateway
    from .ledger import Entry, Ledger


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found: the plan for every row checked (nothing is sent)."""

    data: SheetRows
    settings: CampaignSettings
    plan: SendPlan

    @property
    def has_body(self) -> bool:
        return bool(self.settings.body and self.settings.body.strip())


def selected_rows(
    data: SheetRows, spec: str | None, row_numbers: Sequence[int] | None = None
) -> list[int]:
    """Sheet rows to process: the data rows that a ``--rows`` spec or explicit row numbers (the
    Excel selection) cover, or every data row. Blank rows and rows that are no data rows (only
    helper formulas or notes) are never processed.

    Raises:
        RowSpecError: the spec cannot be read or points outside the data rows, a row number
            lies above them, or nothing chosen is a data row.
    """
    first = data.header.row + 1
    if row_numbers is not None:
        if spec is not None:
            raise ValueError("pass either a rows spec or row numbers, not both")
        if not row_numbers:
            raise RowSpecError("送信する行が選択されていません。 / No rows selected.")
        above = [r for r in row_numbers if r < first]
        if above:
            raise RowSpecError(
                f"{min(above)}行目はデータの範囲外です（データ行: {first}行目から）。"
                f" / Row {min(above)} is above the data rows."
            )
        # A selection covers blank rows and rows holding only helper formulas or notes: the data
        # rows among them are processed, the others are not rows at all.
        chosen = sorted(set(row_numbers) & set(data.rows))
        if not chosen:
            raise RowSpecError(
                "選択した範囲にデータの行がありません。電話番号（または本文で使う列）に値がある行を"
                "選択してください。 / No data rows in the selection."
            )
        return chosen
    if spec is None:
        return sorted(data.rows)
    chosen = [r for r in parse_rows(spec, first=first, last=data.last_row) if r in data.rows]
    if not chosen:
        raise RowSpecError(
            f"行の指定「{spec}」の範囲にデータの行がありません。 / No data rows in {spec!r}."
        )
    return chosen


def load_settings(table: Table, cli: Mapping[str, object] | None = None) -> CampaignSettings:
    return campaign_settings(table.settings(), cli)


def read_data(table: Table, settings: CampaignSettings) -> SheetRows:
    """The table's data rows: its phone column or a column the body uses holds a value.

    Raises:
        SettingsError: a malformed template.
    """
    data = table.read()
    body = settings.body if settings.body and settings.body.strip() else None
    used = Template.parse(body).used_columns(data.header.variables) if body else ()
    return data.data_rows(used)


def check(
    table: Table,
    *,
    rows: str | None = None,
    row_numbers: Sequence[int] | None = None,
    cli: Mapping[str, object] | None = None,
) -> CheckReport:
    """Run every planning rule that needs no gateway on the chosen rows (default: all)."""
    from .gateways.registry import number_rule, provider_name

    settings = load_settings(table, cli)
    data = read_data(table, settings)
    chosen = selected_rows(data, rows, row_numbers)
    accepted = number_rule(provider_name(None, settings.provider))
    result = plan(
        data,
        chosen,
        settings,
        hidden=table.hidden_rows(chosen),
        require_body=False,
        accepted=accepted,
    )
    return CheckReport(data, settings, result)


# --- send ------------------------------------------------------------------------------------
# Everything below imports the ledger, dispatcher and gateways lazily: check and the UDFs
# must stay cheap to import.

Confirm = Callable[["SendPlan"], bool]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowOutcome:
    """Where one selected row ended: its code ('OK' only if the run stopped before sending it)."""

    row: int
    code: str
    message_id: str | None
    segments: int


# Rows in these states are not final: exit status 3, and never counted or labelled as sent.
_NOT_FINAL = frozenset({ResultCode.UNKNOWN.value, ResultCode.GATEWAY_ERROR.value})


@dataclass(frozen=True)
class SendOutcome:
    """A finished send: the plan, what each sent row got, and the counts per code."""

    plan: SendPlan
    results: tuple[RowResult, ...]
    reconciled: int = 0  # ledger entries from an earlier interrupted run settled first

    def rows(self) -> list[RowOutcome]:
        """Every selected row's state after the run, including rows settled by reconciliation;
        a record still UNKNOWN is reported as UNKNOWN, not as already sent."""
        sent = {r.row: r for r in self.results}
        out = []
        for r in self.plan.rows:
            got = sent.get(r.row)
            if got is not None:
                out.append(RowOutcome(r.row, got.code.value, got.message_id, got.segments))
                continue
            message_id = r.restored.message_id if r.restored else None
            out.append(RowOutcome(r.row, r.standing, message_id, r.segments))
        return out

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.code for r in self.rows()).items()))

    def deferred(self) -> dict[tuple[str, str], int]:
        """Rows planned for now that left later or were held because the send window closed
        ("window") or the hour's cap filled ("cap") during the run: (why, code) -> count."""
        return dict(Counter((r.deferred, r.code.value) for r in self.results if r.deferred))

    @property
    def incomplete(self) -> bool:
        """Some selected row is UNKNOWN or GATEWAY_ERROR (this run's or reconciliation's):
        exit status 3, staff should look."""
        return any(r.code in _NOT_FINAL for r in self.rows())


class SavePacer:
    """Progressive saves that cost at most ``budget`` of the run's time (DESIGN §6).

    The budget is below the design's tenth because the final save comes on top. A crash loses
    at most one interval of results in the workbook; the ledger restores them on the next run.
    """

    BUDGET = 0.06  # share of the run's time
    MIN_INTERVAL_S = 2.0

    def __init__(
        self,
        table: Table,
        *,
        budget: float | None = None,
        min_interval_s: float | None = None,
        expected_cost_s: float = 0.0,
    ):
        self.table = table
        self.budget = self.BUDGET if budget is None else budget
        self.min_interval_s = self.MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self._last = time.monotonic()
        self._cost = expected_cost_s  # until the first save is measured
        self.failed: WorkbookSaveError | None = None  # a save failed: no more saves, no sends

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last >= max(self.min_interval_s, self._cost / self.budget):
            self.flush()

    def flush(self) -> None:
        if self.failed is not None:
            return
        started = time.monotonic()
        try:
            self.table.flush()
        except WorkbookSaveError as exc:
            self.failed = exc
            raise
        self._last = time.monotonic()
        self._cost = self._last - started


def _save_stopped(exc: WorkbookSaveError, sent: int) -> WorkbookSaveError:
    """The message for a save that failed during a run: what happened to the messages sent."""
    reason = str(exc).split(" / ")[0].rstrip("。")
    return WorkbookSaveError(
        f"{reason}。結果を保存できないため、送信を中止しました。ここまでに {sent} 件を送信しました。"
        "送信した記録は送信台帳に残っており、保存できる状態にしてもう一度実行すると、"
        "その結果がブックに書き戻されます（同じ相手に再送はされません）。"
        f" / Saving failed; sending stopped after {sent} messages. The ledger holds them and the"
        " next run writes them back."
    )


class _LedgerRecords:
    """The planner's view of the ledger (number + body → the newest settled send).

    ``elsewhere``: entries reconciliation left open because another gateway took them.
    """

    def __init__(self, ledger: Ledger, elsewhere: Sequence[Entry] = ()):
        from .reconcile import gateway_label

        self.ledger = ledger
        self._elsewhere = {e.identity: gateway_label(e) for e in elsewhere}

    def unresolved_elsewhere(self, number: str, body: str) -> str | None:
        if not self._elsewhere:
            return None
        return self._elsewhere.get(self.ledger.identity(number, body))

    def sent_record(self, number: str, body: str) -> LedgerRecord | None:
        return self._record(self.ledger.find_sent(self.ledger.identity(number, body)))

    def latest_record(self, number: str, body: str) -> LedgerRecord | None:
        return self._record(self.ledger.find_last_settled(self.ledger.identity(number, body)))

    @staticmethod
    def _record(entry: Entry | None) -> LedgerRecord | None:
        if entry is None or entry.code is None:
            return None
        at = entry.sent_at.astimezone(JST)
        return LedgerRecord(
            entry.code, entry.message_id, at, entry.workbook, entry.sheet, entry.reason or ""
        )


def refuse_sample(settings: CampaignSettings, provider: str) -> None:
    """A practice workbook (設定 サンプル=はい) may only go through the sandbox.

    Raises:
        SettingsError: a sample workbook with a real provider.
    """
    if settings.sample and provider != "sandbox":
        raise SettingsError(
            "このブックは練習用（設定「サンプル」＝はい）です。練習用の送信先（sandbox）以外には送信できません。"
            " / A sample workbook may only be sent through the sandbox."
        )


@contextmanager
def connect(
    table: Table,
    *,
    provider: str | None = None,
    base_url: str | None = None,
    cli: Mapping[str, object] | None = None,
) -> Iterator[tuple[Gateway, Ledger]]:
    """The workbook lock, the gateway and the send ledger for a run on ``table``.

    One run per workbook at a time: the lock (``books.lock``, keyed on ``table.workbook``) is
    taken first and held until the run ends, so a CLI run, a ribbon click and a Python caller
    on the same file exclude each other.

    The provider comes by precedence (``provider`` > 設定 プロバイダ > environment > config file >
    sandbox); a practice workbook is refused before a real provider is even opened; sandbox
    sends use their own ledger file, so practice never blocks a real send. The real ledger is
    opened against the marker of what this PC last saw of it (``ledger.marker``); the
    sandbox's is not, since losing it can only resend practice to the simulator.

    Raises:
        WorkbookLockedError: another run holds the workbook.
        SettingsError: a practice workbook with a real provider, or an unknown provider.
        LedgerLostError: the real ledger is missing, empty, replaced or older than last seen.
        LedgerError: the ledger cannot be opened (damaged, locked, not a ledger).
    """
    from .books.lock import workbook_lock
    from .gateways.registry import SANDBOX, open_gateway, provider_name
    from .ledger import Ledger, default_ledger_path

    with workbook_lock(table.workbook):
        settings = load_settings(table, cli)
        name = provider_name(provider, settings.provider)
        refuse_sample(settings, name)
        with open_gateway(name, base_url=base_url) as gateway:
            practice = gateway.name == SANDBOX
            # The real ledger is guarded against loss (marker); the sandbox's only practice.
            with Ledger.open(default_ledger_path(sandbox=practice), guard=not practice) as ledger:
                yield gateway, ledger


def prepare_send(
    table: Table,
    gateway: Gateway,
    ledger: Ledger,
    *,
    rows: str | None,
    row_numbers: Sequence[int] | None = None,
    cli: Mapping[str, object] | None = None,
    allow_resend: bool = False,
    clock: Callable[[], datetime] = now,
) -> tuple[SendPlan, int]:
    """Read, reconcile the ledger, plan. Nothing is sent or written. Returns (plan, reconciled)."""
    settings = load_settings(table, cli)
    data = read_data(table, settings)
    refuse_sample(settings, gateway.name)
    from .gateways.registry import number_rule
    from .reconcile import reconcile

    chosen = selected_rows(data, rows, row_numbers)
    reconciled = reconcile(ledger, gateway)
    caps = gateway.capabilities
    at = clock()
    already: dict[datetime, int] = {}
    if settings.hourly_cap is not None:
        already = ledger.sends_per_hour(at.replace(minute=0, second=0, microsecond=0), JST)
    scheduling = Scheduling(
        at,
        settings.window,
        settings.hourly_cap,
        caps.can_schedule,
        already,
        min_ahead=caps.schedule_min_ahead,
        max_ahead=caps.schedule_max_ahead,
    )
    send_plan = plan(
        data,
        chosen,
        settings,
        max_length=caps.max_length,
        hidden=table.hidden_rows(chosen),
        ledger=_LedgerRecords(ledger, reconciled.elsewhere),
        allow_resend=allow_resend,
        scheduling=scheduling,
        accepted=number_rule(gateway.name),
    )
    if reconciled.elsewhere:
        warnings = (*send_plan.warnings, *reconciled.elsewhere_warnings())
        send_plan = replace(send_plan, warnings=warnings)
    return send_plan, reconciled.settled


@dataclass(frozen=True)
class PreviewRow:
    """One selected row as a preview shows it: what would be sent, or why not."""

    row: int
    number: str | None  # masked (090****5678); None when the cell could not be read
    code: str  # schema.SENDABLE for a row to send
    label: str  # the code's 日本語 label
    segments: int
    scheduled_at: datetime | None
    body: str | None
    reason: str


@dataclass(frozen=True)
class Preview:
    """The plan of the selected rows, row by row, for a face to show; nothing sent or written."""

    plan: SendPlan
    rows: tuple[PreviewRow, ...]

    @property
    def book(self) -> str:
        return self.plan.book

    @property
    def sheet(self) -> str:
        return self.plan.sheet


def preview(
    table: Table,
    gateway: Gateway,
    ledger: Ledger,
    *,
    rows: str | None,
    row_numbers: Sequence[int] | None = None,
    cli: Mapping[str, object] | None = None,
    allow_resend: bool = False,
    clock: Callable[[], datetime] = now,
) -> Preview:
    """What ``send`` would do with the rows (the CLI's ``--dry-run``, the ribbon's 送信プレビュー):
    read, reconcile the ledger, plan. Nothing is sent or written."""
    from .phone import mask

    send_plan, _ = prepare_send(
        table,
        gateway,
        ledger,
        rows=rows,
        row_numbers=row_numbers,
        cli=cli,
        allow_resend=allow_resend,
        clock=clock,
    )
    shown = tuple(
        PreviewRow(
            r.row,
            mask(r.number) if r.number else None,
            r.shown_code,
            schema.label(r.shown_code),
            r.segments,
            r.scheduled_at,
            r.body,
            r.reason,
        )
        for r in send_plan.rows
    )
    return Preview(send_plan, shown)


def send(
    table: Table,
    gateway: Gateway,
    ledger: Ledger,
    *,
    rows: str | None,
    row_numbers: Sequence[int] | None = None,
    confirm: Confirm,
    progress: Progress | None = None,
    cli: Mapping[str, object] | None = None,
    allow_resend: bool = False,
    settings: DispatchSettings | None = None,
    clock: Callable[[], datetime] = now,
    observe: Callable[[RowResult], None] | None = None,
) -> SendOutcome:
    """Plan the rows, ask ``confirm``, send through ``gateway``, write every row's result.

    The send window and hourly cap are applied again to each message as it leaves (``clock``
    is the time). ``observe`` sees each result as it comes, before it is written, e.g. to
    count what was sent when the run is interrupted.

    Raises:
        ConfirmationDeclined: ``confirm`` said no; nothing was sent or written.
    """
    from .dispatch import DispatchSettings, Outgoing, dispatch

    table.check_writable()
    started = time.monotonic()
    send_plan, reconciled = prepare_send(
        table,
        gateway,
        ledger,
        rows=rows,
        row_numbers=row_numbers,
        cli=cli,
        allow_resend=allow_resend,
        clock=clock,
    )
    # Pace the first save on an estimate: at least the read and plan time, and about 0.1 ms a
    # row; later saves are paced on their measured cost.
    expected_save_s = max(time.monotonic() - started, len(send_plan.rows) * 1e-4)
    if not confirm(send_plan):
        raise ConfirmationDeclined(
            "送信を取り消しました。何も送信していません。 / Cancelled; nothing sent."
        )
    table.write(plan_outputs(send_plan))  # saved with the first results; the ledger holds them
    pacer = SavePacer(table, expected_cost_s=expected_save_s)
    outgoing = [
        Outgoing(r.row, r.number or "", r.body or "", r.segments, r.scheduled_at)
        for r in send_plan.outgoing
    ]
    done = 0
    # What the ledger held before: a failed save reports the messages this run sent, those in
    # flight when it stopped included (their callbacks no longer run).
    identities = [ledger.identity(o.number, o.body) for o in outgoing]
    known = {i: e.send_id for i, e in ledger.find_sent_many(identities).items()}

    def on_result(result: RowResult) -> None:
        nonlocal done
        done += 1
        if observe:  # first: a result is counted even when writing it fails
            observe(result)
        table.write([result_output(result)])
        if progress:
            progress(done, len(outgoing))
        pacer.maybe_flush()

    try:
        try:
            settings = settings or DispatchSettings(guard=None if allow_resend else DEFAULT_GUARD)
            results = dispatch(
                outgoing,
                gateway,
                ledger,
                settings=settings,
                workbook=table.book_name,
                sheet=table.sheet_name,
                on_result=on_result,
                clock=clock,
                scheduling=send_plan.scheduling,
            )
        finally:
            pacer.flush()  # whatever finished is saved, even when the run stops early
    except WorkbookSaveError as exc:
        sent = sum(known.get(i) != e.send_id for i, e in ledger.find_sent_many(identities).items())
        raise _save_stopped(pacer.failed or exc, sent) from exc
    return SendOutcome(send_plan, tuple(results), reconciled)


@dataclass(frozen=True)
class StatusOutcome:
    checked: int
    counts: dict[str, int]


# Ids per ``gateway.status`` call, and so per write and progress step of a refresh (and the
# ribbon's slice size, ``excel/refreshing.py``). A gateway whose provider takes fewer ids a
# request splits the call itself (``Capabilities.max_status_ids``; the sandbox takes 1000).
STATUS_BATCH = 500


def pending_status(table: Table) -> dict[str, int]:
    """Rows whose delivery result is still open: メッセージID → sheet row, in sheet order, for
    the rows with a メッセージID and no final 配信結果 (配信済 / 不達)."""
    data = table.read()
    finals = {d.value for d in Delivery if d.is_final}
    pending: dict[str, int] = {}
    for r in sorted(data.rows):
        message_id = data.value(r, schema.MESSAGE_ID)
        delivery = str(data.value(r, schema.DELIVERY) or "")
        if message_id and not any(delivery.startswith(f) for f in finals):
            pending[str(message_id)] = r
    return pending


def refresh_status(
    table: Table,
    gateway: Gateway,
    ledger: Ledger | None = None,
    *,
    progress: Progress | None = None,
    only: Collection[str] | None = None,
) -> StatusOutcome:
    """Fill 配信結果 / 配信確認日時 for rows with a メッセージID and no final delivery result.

    ``only``: ask about these message ids only (a slice of a longer refresh); an id whose row is
    gone or has a final result by now is left alone. Default: every such row.
    """
    table.check_writable()
    pending = pending_status(table)
    if only is not None:
        wanted = set(only)
        pending = {m: r for m, r in pending.items() if m in wanted}
    ids = list(pending)
    counts: dict[str, int] = {}
    checked_at = now()
    for start in range(0, len(ids), STATUS_BATCH):
        batch = ids[start : start + STATUS_BATCH]
        outputs = []
        for status in gateway.status(batch):
            label = status.delivery.value + (f"（{status.reason}）" if status.reason else "")
            counts[status.delivery.value] = counts.get(status.delivery.value, 0) + 1
            values: dict[str, object] = {
                schema.DELIVERY: label,
                schema.DELIVERY_CHECKED_AT: excel_time(checked_at),
            }
            if status.segments is not None:
                values[schema.SEGMENTS] = status.segments  # the provider's billed count
            outputs.append(OutputRow(pending[status.message_id], values))
            if ledger is not None:
                ledger.set_delivery(status.message_id, status.delivery, status.reason, checked_at)
        table.write(outputs)
        if progress:
            progress(min(start + STATUS_BATCH, len(ids)), len(ids))
    table.flush()
    return StatusOutcome(len(ids), dict(sorted(counts.items())))


# --- demo ------------------------------------------------------------------------------------


DEMO_SAMPLE = "sample_reminders.xlsx"


def demo(
    path: Path,
    *,
    copied: Callable[[Path], None] = lambda path: None,
    sent: Callable[[SendOutcome], None] = lambda outcome: None,
) -> StatusOutcome:
    """The sample workbook copied to ``path``, sent through an in-process sandbox with a
    throwaway ledger and the send window lifted, then its delivery results refreshed.

    ``copied`` runs once the copy exists, ``sent`` once the send is written, before the refresh.

    Raises:
        WorkbookError: ``path`` exists already.
    """
    import shutil
    import tempfile

    from .books.xlsx import XlsxTable
    from .gateways.registry import open_gateway
    from .ledger import Ledger
    from .paths import shipped_workbook

    if path.exists():
        raise WorkbookError(
            f"「{path}」は既にあります。別の名前を指定してください。 / {path} exists.", path=path
        )
    shutil.copyfile(shipped_workbook(DEMO_SAMPLE), path)
    copied(path)
    with tempfile.TemporaryDirectory(prefix="kuden-demo-") as tmp:
        with (
            open_gateway("sandbox", state_path=Path(tmp) / "sandbox.sqlite3") as gateway,
            Ledger.open(Path(tmp) / "ledger.sqlite3") as ledger,
        ):
            table = XlsxTable(path)
            outcome = send(
                table,
                gateway,
                ledger,
                rows=None,
                confirm=lambda p: True,
                cli={"送信時間帯": "00:00-24:00"},
            )
            sent(outcome)
            return refresh_status(XlsxTable(path), gateway, ledger)


# --- yearly report ---------------------------------------------------------------------------
# Its own block, importing lazily: the report's readers load only when a report is built.

if TYPE_CHECKING:
    from pathlib import Path

    from .report.summarize import Summary

REPORT_NAME = "SMS年次レポート_{}年度.xlsx"
FileProgress = Callable[[int, int, "Path"], None]


@dataclass(frozen=True)
class ReportOutcome:
    """A written yearly report: where it is and the figures in it."""

    path: Path
    summary: Summary


def report(
    paths: Sequence[Path],
    *,
    fiscal_year: int | None = None,
    output: Path | None = None,
    progress: FileProgress | None = None,
    engine: str = "auto",
) -> ReportOutcome:
    """Read the send workbooks and CSV records under ``paths`` and write the yearly report.

    Args:
        paths: files and folders (searched recursively); unreadable files are listed in the
            report's 読込エラー sheet, never raised.
        fiscal_year: 年度 (2026 = 2026-04-01 … 2027-03-31); default: today's, Japan time.
        output: the report file; default ``SMS年次レポート_<年度>年度.xlsx`` in the first folder
            given (or the first file's folder). Earlier reports there are not read as input.
        progress: called after each file with (done, total, path).
        engine: the workbook reader (``auto``: calamine, openpyxl where calamine fails).

    Raises:
        WorkbookError: the report cannot be saved.
    """
    from pathlib import Path

    from .report.collect import collect
    from .report.render import render
    from .report.summarize import fiscal_year_of, summarize

    year = fiscal_year if fiscal_year is not None else fiscal_year_of(now().date())
    if output is None:
        first = Path(paths[0]) if paths else Path(".")
        output = (first if first.is_dir() else first.parent) / REPORT_NAME.format(year)
    folders = [Path(p) for p in paths if Path(p).is_dir()]
    earlier = [p for folder in folders for p in folder.rglob(REPORT_NAME.format("*"))]
    collection = collect(paths, engine=engine, progress=progress, exclude=[output, *earlier])
    summary = summarize(collection, year)
    return ReportOutcome(render(summary, output), summary)


# --- connection test -------------------------------------------------------------------------
# Its own block: `kuden-xl connection test` and the ribbon's 接続テスト. Nothing is sent.

if TYPE_CHECKING:
    from .gateways.diagnose import ConnectionReport


def connection_test(
    provider: str | None = None, *, base_url: str | None = None
) -> ConnectionReport:
    """Check each hop to the provider (settings, proxy, CONNECT, TLS, credentials); send nothing.

    ``provider``: by the usual precedence when None (KUDEN_XL_PROVIDER > config file > sandbox).
    """
    from .gateways import diagnose
    from .gateways.http import HttpSettings
    from .gateways.registry import open_gateway, provider_name, with_connection_settings

    name = provider_name(provider)

    def http_settings(gateway: Gateway) -> HttpSettings:
        return with_connection_settings(HttpSettings(gateway.identity.base_url, token=""))

    return diagnose.run(name, open_gateway(name, base_url=base_url), http_settings)
