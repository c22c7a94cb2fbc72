"""``kuden-xl report`` and ``jobs.report``: one job, the CLI only parses and prints."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from kuden_xl import jobs
from kuden_xl.cli import cli


def test_json_prints_the_headline_and_the_months(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    result = CliRunner().invoke(
        cli, ["report", str(corpus), "--fiscal-year", "2026", "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["messages"], data["segments"], data["cost_yen"]) == (12, 16, 144)
    assert data["report"] == str(out) and out.exists()
    months = {m["month"]: m["messages"] for m in data["months"]}
    assert list(months)[0] == "2026-04" and months["2026-10"] == 5 and sum(months.values()) == 12
    assert {Path(e["file"]).name for e in data["unreadable"]} == {
        "壊れた.xlsx",
        "保護.xlsx",
        "一覧.xlsx",
        "テキスト.xlsx",
    }


def test_text_names_the_report_and_the_unreadable_files(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    result = CliRunner().invoke(
        cli, ["report", str(corpus), "--fiscal-year", "2026", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2026年度: 送信 12件（16通、概算 144円）、配信率 50.0%。" in result.output
    assert "パスワード付きのブック" in result.output
    assert f"レポートを作りました: {out}" in result.output


def test_a_report_that_cannot_be_saved_is_one_line(corpus: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["report", str(corpus), "-o", str(tmp_path / "無い" / "r.xlsx")]
    )
    assert result.exit_code == 2 and result.output.startswith("エラー: レポート")


def test_default_year_and_place_and_earlier_reports_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .corpus import book_a

    folder = tmp_path / "books"
    folder.mkdir()
    book_a(folder / "督促.xlsx")
    monkeypatch.setenv("KUDEN_XL_NOW", "2027-03-31T23:00:00")  # still fiscal year 2026
    first = jobs.report([folder])
    assert first.path == folder / "SMS年次レポート_2026年度.xlsx"
    assert first.summary.fiscal_year == 2026 and first.summary.total.messages == 7
    again = jobs.report([folder])  # the first report lies in the folder now: not an input
    assert again.summary.errors == () and again.summary.files_read == 1
    assert openpyxl.load_workbook(again.path).sheetnames[0] == "概要"
