"""The yearly report over 12 workbooks × 20,000 rows: calamine collection vs openpyxl read-only.

Both runs build the whole report (collect → summarize → render, the same code but the reader),
each in its own child process so each peak RSS is its own. Time is the child's CPU time (on a
shared machine, other work does not count against either side). Targets: ≥ 5× faster than the
openpyxl read-only baseline, peak RSS < 500 MB.
Run: ``python benchmarks/report.py [--books 12] [--rows 20000]``.
Last lines: RESULT name=report … ratio=<baseline/fast>, RESULT name=report_peak_rss ….
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

TARGET_RATIO = 5.0
TARGET_MB = 500.0
BODY = "【○○市】{}様 国民健康保険料が未納です。納付相談は0120-000-000へ"
HEADER = [
    "管理番号", "氏名", "電話番号", "金額", "納期限", "納付日", "送信日時", "送信本文",
    "結果コード", "結果", "通数", "メッセージID", "配信結果", "配信確認日時",
]  # fmt: skip
CODES = [("ACCEPTED", "送信受付")] * 17 + [
    ("ERR_NO_NUMBER", "番号なし"),
    ("SKIP_EXCLUDED", "除外"),
    ("UNKNOWN", "結果不明"),
]
DELIVERY = ["配信済"] * 8 + ["不達（圏外）", "確認中"]


def make_book(path: Path, index: int, rows: int) -> None:
    """A send workbook as kuden_xl leaves it: a month of sends, dates as real date cells."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("送信リスト")
    day_fmt = wb.add_format({"num_format": "yyyy/mm/dd"})
    time_fmt = wb.add_format({"num_format": "yyyy/mm/dd hh:mm"})
    for c, name in enumerate(HEADER):
        ws.write(0, c, name)
    month = date(2026 + (index >= 9), (index + 3) % 12 + 1, 1)
    for i in range(rows):
        r = i + 1
        code, label = CODES[i % len(CODES)]
        sent = datetime(month.year, month.month, 1 + i % 28, 9 + i % 10, i % 60)
        due = sent.date() - timedelta(days=i % 400)
        ws.write(r, 0, f"K{index:02d}{i:06d}")
        ws.write(r, 1, f"住民{i}")
        ws.write(r, 2, f"090{index:04d}{i:04d}"[:11] if code != "ERR_NO_NUMBER" else "")
        ws.write(r, 3, 1000 + i)
        ws.write_datetime(r, 4, datetime(due.year, due.month, due.day), day_fmt)
        if i % 3 == 0:
            ws.write_datetime(r, 5, sent + timedelta(days=i % 45), day_fmt)
        ws.write(r, 8, code)
        ws.write(r, 9, label)
        if code in ("ACCEPTED", "UNKNOWN"):
            ws.write_datetime(r, 6, sent, time_fmt)
            ws.write(r, 7, BODY.format(f"住民{i}"))
            ws.write(r, 10, 1 + (i % 7 == 0))
            ws.write(r, 11, f"m{index}-{i}")
            ws.write(r, 12, DELIVERY[i % len(DELIVERY)])
            ws.write_datetime(r, 13, sent + timedelta(hours=1), time_fmt)
    settings = wb.add_worksheet("設定")
    settings.write_row(0, 0, ["項目", "値"])
    settings.write_row(1, 0, ["用途", ("督促", "催告", "案内")[index % 3]])
    settings.write_row(2, 0, ["単価", 8])
    wb.close()


def run_child(engine: str, folder: Path, output: Path) -> None:
    """One whole report with ``engine``; prints its CPU seconds, peak RSS and message count."""
    from kuden_xl.report.collect import collect
    from kuden_xl.report.render import render
    from kuden_xl.report.summarize import summarize

    started = time.process_time()
    collection = collect([folder], engine=engine)
    collected = time.process_time()
    summary = summarize(collection, 2026)
    render(summary, output)
    done = time.process_time()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "cpu_s": done - started,
                "collect_s": collected - started,
                "peak_mb": peak_mb,
                "records": len(summary.records),
                "messages": summary.total.messages,
                "errors": len(summary.errors),
            }
        )
    )


def child(engine: str, folder: Path, output: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(folder), str(output)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=12)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument(
        "--child", nargs=3, metavar=("ENGINE", "FOLDER", "OUTPUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="kuden-report-bench-") as folder:
        measure(Path(folder), args.books, args.rows)


def measure(tmp: Path, n_books: int, rows: int) -> None:
    """Make the books in ``tmp``, build the report with each reader, print the RESULT lines."""
    books = tmp / "books"
    books.mkdir()
    t = time.perf_counter()
    for i in range(n_books):
        make_book(books / f"送信_{i + 1:02d}.xlsx", i, rows)
    print(f"made {n_books} workbooks x {rows} rows in {time.perf_counter() - t:.1f}s ({tmp})")
    fast = child("auto", books, tmp / "calamine.xlsx")
    base = child("openpyxl", books, tmp / "openpyxl.xlsx")
    assert fast["records"] == base["records"] and fast["messages"] == base["messages"], (fast, base)
    assert fast["errors"] == base["errors"] == 0, (fast, base)
    for name, r in (("calamine", fast), ("openpyxl read-only", base)):
        print(
            f"{name}: report {r['cpu_s']:.1f}s CPU (collect {r['collect_s']:.1f}s), "
            f"peak RSS {r['peak_mb']:.0f} MB, {r['records']:.0f} records, {r['messages']:.0f} messages"
        )
    ratio = base["cpu_s"] / fast["cpu_s"]
    print(
        f"collection alone: {base['collect_s'] / fast['collect_s']:.1f}x; target {TARGET_RATIO:.0f}x for the whole report"
    )
    print(
        f"RESULT name=report value={fast['cpu_s']:.2f} unit=s baseline={base['cpu_s']:.2f} ratio={ratio:.2f}"
    )
    print(
        f"RESULT name=report_peak_rss value={fast['peak_mb']:.0f} unit=MB baseline={TARGET_MB:.0f} "
        f"ratio={TARGET_MB / fast['peak_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
