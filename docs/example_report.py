"""Build the README's example report and its pictures (概要, 効果分析).

Twelve monthly send workbooks with synthetic rows (numbers 090-0000-xxxx), a report for fiscal
year 2026, then LibreOffice → PDF → PNG (pdftoppm). Needs ``soffice``, ``pdftoppm``, ``pdftotext``
and a CJK font (``apt-get install libreoffice-calc-nogui poppler-utils fonts-noto-cjk``).
Run: ``python docs/example_report.py`` (writes docs/report_overview.png, docs/report_effect.png).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

DOCS = Path(__file__).parent
HEADER = [
    "管理番号",
    "氏名",
    "電話番号",
    "納期限",
    "納付日",
    "送信日時",
    "送信本文",
    "結果コード",
    "結果",
    "通数",
    "配信結果",
]
PURPOSES = ["督促", "督促", "催告", "納付相談の案内"]
# Share paying within 30 days, by days overdue on the send day (sent, not sent).
PAYS = {30: (0.46, 0.30), 90: (0.31, 0.22), 180: (0.19, 0.14), 10_000: (0.08, 0.07)}
BODY = "【○○市】国民健康保険料の納付をご確認ください。問合せ0120-000-000"


def make_books(folder: Path, rows: int = 300, seed: int = 2026) -> None:
    import openpyxl

    rng = random.Random(seed)
    for month in range(12):
        year, mon = (2026, month + 4) if month < 9 else (2027, month - 8)
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "送信リスト"
        ws.append(HEADER)
        for i in range(rows):
            ws.append(
                _row(rng, datetime(year, mon, 10, 9, 0) + timedelta(minutes=i), month, i, rows)
            )
        s = wb.create_sheet("設定")
        s.append(["用途", PURPOSES[month % len(PURPOSES)]])
        s.append(["単価", 8])
        wb.save(folder / f"{year}年{mon:02d}月_送信.xlsx")


def _row(rng: random.Random, sent: datetime, month: int, i: int, rows: int) -> list[object]:
    """Row ``i`` of the book of ``month`` (0: April), sent at ``sent`` when its code is ACCEPTED."""
    due = sent.date() - timedelta(
        days=rng.choice(
            [
                rng.randint(1, 30),
                rng.randint(31, 90),
                rng.randint(91, 180),
                rng.randint(181, 400),
            ]
        )
    )
    overdue = (sent.date() - due).days
    roll = rng.random()
    code = "ERR_NO_NUMBER" if roll < 0.08 else "SKIP_EXCLUDED" if roll < 0.12 else "ACCEPTED"
    sent_ok = code == "ACCEPTED"
    p = next(v for limit, v in PAYS.items() if overdue <= limit)[0 if sent_ok else 1]
    paid = (
        sent.date()
        + timedelta(days=rng.choice([rng.randint(0, 7), rng.randint(8, 14), rng.randint(15, 30)]))
        if rng.random() < p
        else None
    )
    delivery = (
        rng.choice(["配信済"] * 18 + ["不達（圏外）", "不達（電源オフ）"]) if sent_ok else None
    )
    number = f"090-0000-{(month * rows + i) % 10000:04d}" if code != "ERR_NO_NUMBER" else None
    label = {"ACCEPTED": "送信受付", "ERR_NO_NUMBER": "番号なし", "SKIP_EXCLUDED": "除外"}[code]
    return [
        f"K{month:02d}{i:04d}",
        f"住民{i}",
        number,
        due,
        paid,
        sent if sent_ok else None,
        BODY if sent_ok else None,
        code,
        label,
        1 + (i % 9 == 0) if sent_ok else None,
        delivery,
    ]


def page_of(pdf: Path, text: str) -> int:
    """The first page of ``pdf`` whose text holds ``text``."""
    for page in range(1, 40):
        out = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if text in out:
            return page
    raise SystemExit(f"{text!r} is on no page")


def main() -> None:
    from kuden_xl import jobs

    tmp = Path(tempfile.mkdtemp(prefix="kuden-report-example-"))
    books = tmp / "送信記録"
    books.mkdir()
    make_books(books)
    os.environ["KUDEN_XL_NOW"] = "2027-04-05T09:00:00"
    outcome = jobs.report([books], fiscal_year=2026, output=tmp / "年次レポート.xlsx")
    exe = shutil.which("soffice") or "soffice"
    subprocess.run([exe, "--headless", "--convert-to", "pdf", "--outdir", str(tmp), str(outcome.path)], env={**os.environ, "HOME": str(tmp / "home")}, check=True, capture_output=True)  # fmt: skip
    pdf = tmp / "年次レポート.pdf"
    for title, name in (
        ("SMS送信 年次レポート", "report_overview"),
        ("効果分析（", "report_effect"),
    ):
        page = page_of(pdf, title)
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", "-f", str(page), "-l", str(page), str(pdf), str(DOCS / name)], check=True)  # fmt: skip
        print(DOCS / f"{name}.png")


if __name__ == "__main__":
    main()
