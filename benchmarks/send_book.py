"""End to end: a 10,000-row workbook planned, sent to a standalone sandbox, saved progressively.

Measures wall time (read → plan → dispatch → progressive saves → final save) and peak RSS of
this process (the sender; the sandbox runs as its own process, as a provider would). The share of
the run spent saving is printed too (DESIGN §6: under a tenth). Baseline = the targets: 60 s and
400 MB.

Write-back: one save of every row's results (8 output cells a row) through the lossless write-back
(``sheetxml``), against an openpyxl load + save of the same workbook in the same run; target 5x
faster. Run: ``python benchmarks/send_book.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_S = 60.0
TARGET_MB = 400.0
TARGET_WRITEBACK_SPEEDUP = 5.0


def make_book(path: Path, rows: int) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "送信リスト"
    ws.append(["管理番号", "氏名", "電話番号", "金額"])
    for i in range(rows):
        # Fictional numbers 0X0-1234-NNNN whose last two digits (10-99) trigger no sandbox fault.
        prefix = ("090", "080", "070")[i % 3]
        tail = 1000 + (i // 90 % 90) * 100 + 10 + i % 90
        ws.append(
            [f"K{i:05d}", f"住民{i}", f"{prefix}-{1234 + i // 8100:04d}-{tail:04d}", 1000 + i]
        )
    s = wb.create_sheet("設定")
    s.append(["本文", "【○○市】{氏名}様 保険料{金額}円が未納です。問合せ0120-000-000"])
    wb.save(path)


def writeback_vs_openpyxl(book: Path, results_book: Path, repeat: int = 2) -> tuple[float, float]:
    """Seconds (best of ``repeat``) for one write-back save of all rows' results into ``book``,
    and for an openpyxl load + save of ``results_book`` (the same workbook with results)."""
    import shutil
    from datetime import datetime

    import openpyxl

    from kuden_xl.books.base import OutputRow
    from kuden_xl.books.xlsx import XlsxTable

    writeback, with_openpyxl = [], []
    for _ in range(repeat):
        copy = book.with_name("writeback.xlsx")
        shutil.copyfile(book, copy)
        table = XlsxTable(copy)
        rows = table.read().rows
        sent_at = datetime(2026, 11, 27, 10, 0)
        table.write(
            [
                OutputRow(
                    r,
                    {
                        "送信日時": sent_at,
                        "送信本文": f"【○○市】住民{r}様 保険料{r}円が未納です。問合せ0120-000-000",
                        "結果コード": "ACCEPTED",
                        "結果": "送信受付",
                        "通数": 1,
                        "メッセージID": f"sb-{r:08d}",
                        "配信結果": None,
                        "配信確認日時": None,
                    },
                )
                for r in rows
            ]
        )
        started = time.perf_counter()
        table.flush()
        writeback.append(time.perf_counter() - started)

        started = time.perf_counter()
        wb = openpyxl.load_workbook(results_book)
        wb.save(book.with_name("openpyxl.xlsx"))
        with_openpyxl.append(time.perf_counter() - started)
    return min(writeback), min(with_openpyxl)


def send_all(book: Path, tmp: Path) -> tuple[Any, float, list[float], list[dict[str, Any]]]:
    """Send every row of ``book`` to a standalone sandbox: the outcome, the wall time, the
    time of each save and the messages the sandbox received."""
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kuden_xl.sandbox",
            "--port",
            "0",
            "--state",
            str(tmp / "sandbox.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sandbox.stdout is not None
    url = sandbox.stdout.readline().strip()
    try:
        from kuden_xl import jobs
        from kuden_xl.books.xlsx import XlsxTable
        from kuden_xl.gateways.registry import open_gateway
        from kuden_xl.ledger import Ledger, default_ledger_path

        started = time.perf_counter()
        table = XlsxTable(book)
        saves: list[float] = []
        flush = table.flush

        def timed_flush() -> None:
            t = time.perf_counter()
            flush()
            saves.append(time.perf_counter() - t)

        table.flush = timed_flush  # type: ignore[method-assign]
        with (
            open_gateway("sandbox", base_url=url) as gateway,
            Ledger.open(default_ledger_path(sandbox=True)) as ledger,
        ):
            outcome = jobs.send(table, gateway, ledger, rows=None, confirm=lambda plan: True)
        wall = time.perf_counter() - started
        import requests

        received = requests.get(f"{url}/_sandbox/messages", timeout=30).json()
    finally:
        sandbox.terminate()
        sandbox.wait()
    return outcome, wall, saves, received


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kuden-bench-") as folder:
        tmp = Path(folder)
        os.environ["KUDEN_XL_DATA_DIR"] = str(tmp / "data")
        os.environ["KUDEN_XL_LEDGER"] = str(tmp / "data" / "ledger.sqlite3")
        os.environ["KUDEN_XL_NOW"] = "2026-11-27T10:00:00"
        book = tmp / "book.xlsx"
        make_book(book, args.rows)
        pristine = tmp / "pristine.xlsx"
        pristine.write_bytes(book.read_bytes())
        outcome, wall, saves, received = send_all(book, tmp)
        writeback_s, openpyxl_s = writeback_vs_openpyxl(pristine, book)
    counts = outcome.counts()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert counts.get("ACCEPTED") == args.rows, counts
    assert len(received) == len({m["to"] for m in received}) == args.rows, "duplicates"
    print(
        f"rows={args.rows} accepted={counts.get('ACCEPTED')} wall={wall:.1f}s "
        f"peak_rss={peak_mb:.0f}MB saves={len(saves)} save_time={sum(saves):.1f}s "
        f"({sum(saves) / wall:.1%} of the run)"
    )
    print(
        f"RESULT name=send_book_time value={wall:.1f} unit=s baseline={TARGET_S:.0f} "
        f"ratio={TARGET_S / wall:.2f}"
    )
    speedup = openpyxl_s / writeback_s
    print(
        f"write-back of {args.rows} rows' results: {writeback_s:.2f}s; "
        f"openpyxl load+save of the same workbook: {openpyxl_s:.2f}s ({speedup:.1f}x)"
    )
    print(
        f"RESULT name=send_book_writeback_speedup value={speedup:.1f} unit=x "
        f"baseline={TARGET_WRITEBACK_SPEEDUP:.0f} ratio={speedup / TARGET_WRITEBACK_SPEEDUP:.2f}"
    )
    print(
        f"RESULT name=send_book_peak_rss value={peak_mb:.0f} unit=MB baseline={TARGET_MB:.0f} "
        f"ratio={TARGET_MB / peak_mb:.2f}"
    )


if __name__ == "__main__":
    main()
