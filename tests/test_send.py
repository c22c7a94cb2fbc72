"""`kuden-xl send` / `status` / `demo` end to end: real processes, real files, the real sandbox."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import MakeBook, StandaloneSandbox, mobile

from kuden_xl.cli import cli
from kuden_xl.workbook_templates import SAMPLE

IN_WINDOW = "2026-11-27T10:00:00"  # a Friday morning, Japan time
# Scheduled sends must lie in the sandbox's real future (it keeps real time): far-off dates.
FUTURE_NIGHT = "2099-06-01T22:30:00"
FUTURE_MORNING = "2099-06-01T10:00:00"
BODY = "【○○市】{氏名}様 お知らせです"


def kuden(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kuden_xl", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def send_cmd(
    book: Path, sandbox: StandaloneSandbox, *args: str, now: str | None = IN_WINDOW
) -> subprocess.CompletedProcess[str]:
    """`kuden-xl send BOOK ARGS --base-url SANDBOX` with the clock fixed at ``now``."""
    env = {"KUDEN_XL_NOW": now} if now else None
    return kuden("send", str(book), *args, "--base-url", sandbox.url, env=env)


def send_in_background(book: Path, sandbox: StandaloneSandbox) -> subprocess.Popen[bytes]:
    """`kuden-xl send BOOK --all --yes` as a separate process, left running."""
    return subprocess.Popen(
        [sys.executable, "-m", "kuden_xl", "send", str(book), "--all", "--yes"]
        + ["--base-url", sandbox.url],
        env={**os.environ, "KUDEN_XL_NOW": IN_WINDOW},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def results(path: Path) -> dict[int, dict[str, Any]]:
    """Each data row of the recipients sheet as {column name: value}, by sheet row number."""
    wb = openpyxl.load_workbook(path)
    ws = wb["送信リスト"] if "送信リスト" in wb.sheetnames else wb.active
    header = [c.value for c in ws[1]]
    return {
        r: dict(zip(header, values, strict=False))
        for r, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2)
    }


def plain_tail(i: int) -> int:
    """The i-th number tail whose last two digits (10–99) trigger no sandbox fault."""
    return 1000 + (i // 90) * 100 + 10 + i % 90


def recipients(n: int) -> list[list[Any]]:
    return [["氏名", "電話番号"]] + [[f"住民{i}", mobile(plain_tail(i))] for i in range(n)]


def test_sample_sent_once_results_beside_rows(
    tmp_path: Path, standalone_sandbox: StandaloneSandbox
) -> None:
    book = tmp_path / "sample.xlsx"
    shutil.copyfile(SAMPLE, book)
    env = {"KUDEN_XL_NOW": IN_WINDOW}
    run = send_cmd(book, standalone_sandbox, "--all", "--yes", "--json")
    assert run.returncode == 0, run.stderr
    rows = {r["row"]: r for r in json.loads(run.stdout)}
    assert rows[2]["code"] == "ACCEPTED" and rows[2]["message_id"]
    assert rows[7]["code"] == "ERR_INVALID_NUMBER" and rows[7]["message_id"] is None
    assert rows[22]["code"] == "REJECTED"  # …01: the sandbox refuses it
    for row in (23, 24, 25):  # …02 accepted; …03 429 once; …04 500 once: retried, one message
        assert rows[row]["code"] == "ACCEPTED"
    sent = standalone_sandbox.messages()
    counts = Counter(m["to"] for m in sent)
    assert set(counts.values()) == {1}
    assert len(sent) == sum(1 for r in rows.values() if r["code"] == "ACCEPTED")
    written = results(book)
    assert written[2]["結果コード"] == "ACCEPTED" and written[2]["結果"] == "送信受付"
    assert written[2]["送信本文"] == next(m["body"] for m in sent if m["to"] == mobile(5610))
    assert written[2]["通数"] == 1
    assert written[2]["送信日時"].date().isoformat() == "2026-11-27"
    assert written[7]["結果コード"] == "ERR_INVALID_NUMBER" and written[7]["送信本文"] is None
    assert written[11]["結果コード"] == "SKIP_EXCLUDED"

    status = kuden("status", str(book), "--json", "--base-url", standalone_sandbox.url, env=env)
    assert status.returncode == 0, status.stderr
    after = results(book)
    assert after[2]["配信結果"] == "配信済"
    assert after[23]["配信結果"] == "不達（圏外）"
    assert after[2]["配信確認日時"] is not None

    again = send_cmd(book, standalone_sandbox, "--all", "--yes", "--json")
    assert again.returncode == 0, again.stderr
    codes = {r["row"]: r["code"] for r in json.loads(again.stdout)}
    assert codes[2] == "SKIP_ALREADY_SENT"
    assert len(standalone_sandbox.messages()) == len(sent)  # nothing sent twice
    assert results(book)[2]["配信結果"] == "配信済"  # a record is never overwritten


def test_sigkill_mid_batch_then_rerun_sends_every_number_once(
    tmp_path: Path, make_book: MakeBook
) -> None:
    sandbox = StandaloneSandbox(tmp_path / "state.sqlite3", "--latency-ms", "20")
    try:
        book = make_book(recipients(500), {"本文": BODY})
        proc = send_in_background(book, sandbox)
        deadline = time.monotonic() + 60
        while len(sandbox.messages()) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = len(sandbox.messages())
        assert 150 <= first < 500, "the kill must land mid-batch"

        rerun = send_cmd(book, sandbox, "--all", "--yes")
        assert rerun.returncode == 0, rerun.stderr
        sent = Counter(m["to"] for m in sandbox.messages())
        assert len(sent) == 500 and set(sent.values()) == {1}
        written = results(book)
        assert all(written[r]["結果コード"] == "ACCEPTED" for r in range(2, 502)), Counter(
            written[r]["結果コード"] for r in range(2, 502)
        )
        by_number = {m["to"]: m["id"] for m in sandbox.messages()}
        assert all(
            written[r]["メッセージID"] == by_number[written[r]["電話番号"]] for r in range(2, 502)
        )
    finally:
        sandbox.stop()


def test_faults_end_with_one_message_or_a_clear_code(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    rows = [["氏名", "電話番号"]] + [[f"住民{d}", mobile(5600 + d)] for d in range(1, 8)]
    book = make_book(rows, {"本文": BODY})
    run = send_cmd(book, standalone_sandbox, "--all", "--yes", "--json", now=IN_WINDOW)
    assert run.returncode == 0, run.stderr
    codes = [r["code"] for r in json.loads(run.stdout)]
    assert codes == [
        "REJECTED",
        "ACCEPTED",
        "ACCEPTED",
        "ACCEPTED",
        "ACCEPTED",
        "ACCEPTED",
        "ACCEPTED",
    ]
    sent = Counter(m["to"] for m in standalone_sandbox.messages())
    assert set(sent) == {mobile(5600 + d) for d in range(2, 8)} and set(sent.values()) == {1}


def test_at_night_messages_are_scheduled_for_the_window(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make_book(recipients(3), {"本文": BODY, "1時間あたり上限": 2})
    run = send_cmd(book, standalone_sandbox, "--all", "--yes", "--json", now=FUTURE_NIGHT)
    assert run.returncode == 0, run.stderr
    assert [r["code"] for r in json.loads(run.stdout)] == ["SCHEDULED"] * 3
    times = sorted(m["scheduled_at"] for m in standalone_sandbox.messages())
    assert times[0].startswith("2099-06-02T09:00") and times[1].startswith("2099-06-02T09:00")
    assert times[2].startswith("2099-06-02T10:00")  # the hourly cap moves the third


def test_dry_run_sends_and_writes_nothing(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make_book(recipients(2), {"本文": BODY})
    before = book.read_bytes()
    run = send_cmd(book, standalone_sandbox, "--all", "--dry-run", now=IN_WINDOW)
    assert run.returncode == 0, run.stderr
    assert "住民0様 お知らせです" in run.stdout and "090-****-1010" in run.stdout
    assert mobile(1010) not in run.stdout  # masked
    assert book.read_bytes() == before and standalone_sandbox.messages() == []


def test_no_terminal_and_no_yes_refuses(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make_book(recipients(2), {"本文": BODY})
    before = book.read_bytes()
    run = send_cmd(book, standalone_sandbox, "--all", now=IN_WINDOW)
    assert run.returncode == 2 and "--yes" in run.stderr
    assert book.read_bytes() == before and standalone_sandbox.messages() == []


@pytest.mark.parametrize(
    ("rows", "settings", "args", "expected"),
    [
        (recipients(2), {"本文": BODY}, ["--rows", "50-60"], "範囲外"),
        (recipients(2), {"本文": BODY}, [], "--rows"),
        (recipients(2), {"本文": BODY}, ["--rows", ","], "指定されていません"),
        ([["氏名", "TEL"], ["山田", mobile(1)]], {"本文": BODY}, ["--all"], "電話番号"),
        (recipients(2), {"用途": "督促"}, ["--all"], "本文がありません"),
    ],
    ids=["rows-outside", "no-selection", "empty-selection", "no-phone-header", "no-body"],
)
def test_bad_input_clear_message_workbook_unchanged(
    make_book: MakeBook,
    standalone_sandbox: StandaloneSandbox,
    rows: list[list[Any]],
    settings: dict[str, Any],
    args: list[str],
    expected: str,
) -> None:
    book = make_book(rows, settings)
    before = book.read_bytes()
    run = send_cmd(book, standalone_sandbox, "--yes", *args)
    assert run.returncode == 2, run.stdout
    assert expected in run.stderr and "Traceback" not in run.stderr
    assert book.read_bytes() == before and standalone_sandbox.messages() == []


@pytest.mark.parametrize("lock_name", ["~$book.xlsx", ".~lock.book.xlsx#"])
def test_workbook_open_in_excel_or_libreoffice_is_refused(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox, lock_name: str
) -> None:
    book = make_book(recipients(2), {"本文": BODY})
    (book.parent / lock_name).write_text("")
    before = book.read_bytes()
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 2 and "開かれています" in run.stderr
    assert book.read_bytes() == before and standalone_sandbox.messages() == []


def test_sample_workbook_refused_with_a_real_provider(tmp_path: Path) -> None:
    book = tmp_path / "sample.xlsx"
    shutil.copyfile(SAMPLE, book)
    run = kuden("send", str(book), "--all", "--yes", "--provider", "karaden")
    assert run.returncode == 2 and "練習用" in run.stderr


def test_second_run_on_the_same_workbook_refuses(tmp_path: Path, make_book: MakeBook) -> None:
    # 200 messages at 100 ms each, 16 at a time: the first run lasts over a second, well past
    # the second run's start-up, even on a loaded CI box.
    sandbox = StandaloneSandbox(tmp_path / "state.sqlite3", "--latency-ms", "100")
    try:
        book = make_book(recipients(200), {"本文": BODY})
        first = send_in_background(book, sandbox)
        deadline = time.monotonic() + 30
        while not sandbox.messages() and time.monotonic() < deadline:
            time.sleep(0.02)
        second = send_cmd(book, sandbox, "--all", "--yes")
        assert first.wait(timeout=60) == 0
        assert second.returncode == 2 and "使用中" in second.stderr
        sent = Counter(m["to"] for m in sandbox.messages())
        assert len(sent) == 200 and set(sent.values()) == {1}
    finally:
        sandbox.stop()


def test_output_copy_leaves_the_original_untouched(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox, tmp_path: Path
) -> None:
    book = make_book(recipients(2), {"本文": BODY})
    before = book.read_bytes()
    copy = tmp_path / "結果.xlsx"
    run = send_cmd(book, standalone_sandbox, "--all", "--yes", "--output", str(copy), now=IN_WINDOW)
    assert run.returncode == 0, run.stderr
    assert book.read_bytes() == before
    assert results(copy)[2]["結果コード"] == "ACCEPTED"


def test_body_starting_with_equals_stays_text(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    book = make_book(recipients(1), {"本文": "=お知らせ {氏名}様"})
    run = send_cmd(book, standalone_sandbox, "--all", "--yes", now=IN_WINDOW)
    assert run.returncode == 0, run.stderr
    ws = openpyxl.load_workbook(book).active
    body = next(c for c in ws[2] if c.value == "=お知らせ 住民0様")
    assert body.data_type == "s"


def test_demo_from_any_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", str(tmp_path / "demo.xlsx")])
    assert result.exit_code == 0, result.output
    assert "配信結果" in result.output
    written = results(tmp_path / "demo.xlsx")
    assert written[2]["結果コード"] == "ACCEPTED" and written[2]["配信結果"] == "配信済"


def test_unknown_results_are_reconciled_never_resent(tmp_path: Path, make_book: MakeBook) -> None:
    """Every answer slower than the client waits: UNKNOWN (exit 3); the next run asks the
    provider by our send id and writes the record back instead of sending again."""
    sandbox = StandaloneSandbox(tmp_path / "state.sqlite3", "--latency-ms", "400")
    try:
        book = make_book(recipients(3), {"本文": BODY})
        env = {"KUDEN_XL_NOW": IN_WINDOW, "KUDEN_XL_READ_TIMEOUT": "0.1"}
        args = ["send", str(book), "--all", "--yes", "--json", "--base-url", sandbox.url]
        first = kuden(*args, env=env)
        assert first.returncode == 3, first.stderr
        assert [r["code"] for r in json.loads(first.stdout)] == ["UNKNOWN"] * 3
        assert [results(book)[r]["結果コード"] for r in (2, 3, 4)] == ["UNKNOWN"] * 3
        received = Counter(m["to"] for m in sandbox.messages())

        second = kuden(*args, env={"KUDEN_XL_NOW": IN_WINDOW})
        assert second.returncode == 0, second.stderr
        assert [r["code"] for r in json.loads(second.stdout)] == ["ACCEPTED"] * 3
        assert Counter(m["to"] for m in sandbox.messages()) == received  # nothing new sent
        assert set(received.values()) == {1} and len(received) == 3
        written = results(book)
        by_number = {m["to"]: m["id"] for m in sandbox.messages()}
        assert all(
            written[r]["メッセージID"] == by_number[written[r]["電話番号"]] for r in (2, 3, 4)
        )
    finally:
        sandbox.stop()


def test_xlsm_keeps_its_macros(tmp_path: Path, standalone_sandbox: StandaloneSandbox) -> None:
    """xlwings' own quickstart.xlsm carries a VBA project; a send must keep it byte for byte."""
    import zipfile

    import xlwings

    source = Path(xlwings.__file__).parent / "quickstart.xlsm"
    wb = openpyxl.load_workbook(source, keep_vba=True)
    ws = wb.create_sheet("送信リスト")
    for row in recipients(2):
        ws.append(row)
    settings_sheet = wb.create_sheet("設定")
    settings_sheet.append(["本文", BODY])
    book = tmp_path / "macros.xlsm"
    wb.save(book)
    with zipfile.ZipFile(book) as z:
        vba_before = z.read("xl/vbaProject.bin")
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(book) as z:
        assert z.read("xl/vbaProject.bin") == vba_before
    written = openpyxl.load_workbook(book, keep_vba=True)["送信リスト"]
    assert [c.value for c in written[1]][2:5] == ["送信日時", "送信本文", "結果コード"]
    assert written.cell(row=2, column=5).value == "ACCEPTED"


def test_workbook_with_a_chart_is_sent_and_keeps_it_or_writes_a_copy(
    tmp_path: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    import zipfile

    from openpyxl.chart import BarChart, Reference

    book = make_book(recipients(2), {"本文": BODY})
    wb = openpyxl.load_workbook(book)
    ws = wb["送信リスト"]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=3))
    ws.add_chart(chart, "F2")
    wb.save(book)
    before = book.read_bytes()
    copy = tmp_path / "結果.xlsx"
    done = send_cmd(book, standalone_sandbox, "--rows", "2", "--yes", "--output", str(copy))
    assert done.returncode == 0, done.stderr
    assert book.read_bytes() == before and results(copy)[2]["結果コード"] == "ACCEPTED"
    sent = send_cmd(book, standalone_sandbox, "--rows", "3", "--yes")
    assert sent.returncode == 0, sent.stderr
    assert results(book)[3]["結果コード"] == "ACCEPTED"
    with zipfile.ZipFile(book) as z:
        assert z.read("xl/charts/chart1.xml") == zipfile.ZipFile(copy).read("xl/charts/chart1.xml")


def test_hourly_cap_spans_runs_in_the_same_hour(
    tmp_path: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    first = make_book(recipients(3), {"本文": BODY, "1時間あたり上限": 2}, name="first.xlsx")
    run = send_cmd(first, standalone_sandbox, "--all", "--yes", "--json", now=FUTURE_MORNING)
    assert [r["code"] for r in json.loads(run.stdout)] == ["ACCEPTED", "ACCEPTED", "SCHEDULED"]
    rows = [["氏名", "電話番号"], ["別の住民0", mobile(2010)], ["別の住民1", mobile(2011)]]
    second = make_book(rows, {"本文": BODY, "1時間あたり上限": 2}, name="second.xlsx")
    run = send_cmd(second, standalone_sandbox, "--all", "--yes", "--json", now=FUTURE_MORNING)
    assert [r["code"] for r in json.loads(run.stdout)] == ["SCHEDULED", "SCHEDULED"]
    when = {m["to"]: m["scheduled_at"] for m in standalone_sandbox.messages()}
    assert when[mobile(2010)].startswith("2099-06-01T11:00")  # 11:00 had one slot left
    assert when[mobile(2011)].startswith("2099-06-01T12:00")


def test_rows_left_unknown_or_settled_as_not_sent_exit_3_never_labelled_sent(
    tmp_path: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    """Row 2 was UNKNOWN and reconciliation now finds it never arrived (GATEWAY_ERROR); row 3
    is UNKNOWN with nothing to reconcile it by. Neither is final, neither was sent: exit 3."""
    from kuden_xl.gateways.base import GatewayIdentity
    from kuden_xl.ledger import Ledger, default_ledger_path

    sent_body = "【○○市】住民0様 お知らせです"
    header = ["氏名", "電話番号", "送信日時", "送信本文", "結果コード", "結果", "通数"]
    rows = [
        header,
        ["住民0", mobile(1010), None, sent_body, "UNKNOWN", "結果不明", 1],
        ["住民1", mobile(1011), None, "【○○市】住民1様 お知らせです", "UNKNOWN", "結果不明", 1],
        ["住民2", mobile(1012)],
    ]
    book = make_book(rows, {"本文": BODY})
    with Ledger.open(default_ledger_path(sandbox=True)) as crashed:  # a run that died
        crashed.reserve(
            crashed.identity(mobile(1010), sent_body),
            send_id="never-arrived",
            provider="sandbox",
            gateway=GatewayIdentity("sandbox", standalone_sandbox.url),
            segments=1,
            workbook=book.name,
            sheet="送信リスト",
            row=2,
        )
    run = send_cmd(book, standalone_sandbox, "--all", "--yes")
    assert run.returncode == 3, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any("GATEWAY_ERROR" in line and "送信エラー" in line for line in lines)
    assert any("UNKNOWN" in line and "結果不明" in line for line in lines)
    assert not any("送信済" in line for line in lines), run.stdout
    assert "前回中断した送信 1件" in run.stdout

    again = send_cmd(book, standalone_sandbox, "--all", "--yes", "--json")
    assert again.returncode == 3, again.stderr  # row 3 is still UNKNOWN
    codes = {r["row"]: r["code"] for r in json.loads(again.stdout)}
    assert codes == {2: "ACCEPTED", 3: "UNKNOWN", 4: "SKIP_ALREADY_SENT"}


def test_a_gateway_refusing_connections_stops_after_a_few_rows(make_book: MakeBook) -> None:
    import socket

    book = make_book(recipients(60), {"本文": BODY})
    with socket.socket() as closed:  # bound but never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        run = kuden(
            "send", str(book), "--all", "--yes", "--base-url", url, env={"KUDEN_XL_NOW": IN_WINDOW}
        )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "3件続けて送信できなかったため、送信を中止しました" in run.stderr
    assert "事業者に接続できません" in run.stderr and "Traceback" not in run.stderr
    codes = Counter(r["結果コード"] for r in results(book).values())
    # Only the messages already started (16 workers) were tried; the rest stay untouched.
    assert set(codes) <= {None, "GATEWAY_ERROR"} and codes[None] >= 60 - 16 - 2, codes


def _interruptible(*args: str) -> list[str]:
    """``python -m kuden_xl ARGS`` with Ctrl+C delivered as KeyboardInterrupt, even when this
    test runs where SIGINT is ignored (a background job inherits SIG_IGN)."""
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        "from kuden_xl.cli import main; sys.argv[0] = 'kuden-xl'; main()"
    )
    return [sys.executable, "-c", code, *args]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_send_says_how_many_were_sent(
    tmp_path: Path, make_book: MakeBook, sig: signal.Signals
) -> None:
    import re

    sandbox = StandaloneSandbox(tmp_path / "state.sqlite3", "--latency-ms", "100")
    try:
        book = make_book(recipients(400), {"本文": BODY})
        proc = subprocess.Popen(
            _interruptible("send", str(book), "--all", "--yes", "--base-url", sandbox.url),
            env={**os.environ, "KUDEN_XL_NOW": IN_WINDOW},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        deadline = time.monotonic() + 60
        while len(sandbox.messages()) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, out + err
        assert "Traceback" not in err and "送信を中断しました" in err and "台帳" in err
        sent = len(sandbox.messages())
        assert 30 <= sent < 400, "the signal must land mid-run"
        told = re.search(r"この実行で送信したのは (\d+)件", err)
        assert told is not None and int(told[1]) == sent, err
        # What was sent is in the workbook; the rest is untouched, sent by the next run.
        codes = Counter(r["結果コード"] for r in results(book).values())
        assert codes["ACCEPTED"] == sent and codes["ACCEPTED"] + codes[None] <= 400
    finally:
        sandbox.stop()


def _piped(command: str, err: Path) -> tuple[str, int]:
    """Run ``python -m kuden_xl COMMAND`` into ``head``: (what head printed, our exit status)."""
    shell = f'{sys.executable} -m kuden_xl {command} 2>{err}; echo "status=${{PIPESTATUS[0]}}"'
    env = {**os.environ, "KUDEN_XL_NOW": IN_WINDOW}
    run = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, encoding="utf-8", env=env
    )
    head, status = run.stdout.rsplit("status=", 1)
    return head, int(status)


def test_output_cut_short_by_head_is_not_an_error(
    tmp_path: Path, make_book: MakeBook, standalone_sandbox: StandaloneSandbox
) -> None:
    err = tmp_path / "stderr.txt"
    # head leaves after the plan's first line; the send goes on and its summary finds no reader.
    book = make_book(recipients(5), {"本文": BODY})
    head, status = _piped(
        f"send '{book}' --all --yes --base-url {standalone_sandbox.url} | head -1", err
    )
    assert head.startswith("送信の計画") and head.count("\n") == 1
    assert status == 0 and err.read_text(encoding="utf-8") == ""
    assert {r["結果コード"] for r in results(book).values()} == {"ACCEPTED"}

    many = make_book(recipients(300), {"本文": BODY}, name="many.xlsx")
    send = f"send '{many}' --all --yes --json --base-url {standalone_sandbox.url}"
    head, status = _piped(f"{send} | head -c 30", err)  # ASCII so far: no character cut in two
    assert head == '[{"book": "many.xlsx", "sheet"'
    assert status == 0 and err.read_text(encoding="utf-8") == ""

    # Far more than a pipe holds (64 KiB): one problem line per row.
    rows = [["氏名", "電話番号"]] + [[f"住民{i}", "0312345678"] for i in range(3000)]
    landlines = make_book(rows, {"本文": BODY}, name="landlines.xlsx")
    head, status = _piped(f"check '{landlines}' | head -1", err)
    assert head.startswith("ブック:") and head.count("\n") == 1
    assert status == 0 and err.read_text(encoding="utf-8") == ""
