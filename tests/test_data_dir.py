"""An unwritable user data folder is named, with what to do, never a traceback (issue 7 item 11).

As root (CI) permissions cannot make a folder unwritable, so the folder sits "under" a regular
file: creating it fails the way an ACL or a read-only share fails on a staff PC. (A folder that
exists but refuses writes is caught by the same probe; only Windows can show its ACL case.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MakeBook
from test_send import BODY, recipients

from kuden_xl.cli import cli


@pytest.fixture
def blocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    folder = blocker / "kuden_xl"
    monkeypatch.setenv("KUDEN_XL_DATA_DIR", str(folder))
    return folder


@pytest.mark.parametrize("command", [["send", "--all", "--yes"], ["status"]])
def test_an_unwritable_data_folder_is_named(
    blocked: Path, make_book: MakeBook, command: list[str]
) -> None:
    book = make_book(recipients(1), {"本文": BODY})
    result = CliRunner().invoke(cli, [command[0], str(book), *command[1:]])
    assert result.exit_code == 2
    assert f"フォルダ「{blocked}" in result.output and "KUDEN_XL_DATA_DIR" in result.output
    assert "予期しない問題" not in result.output and "Traceback" not in result.output


def test_an_unwritable_ledger_folder_is_named(
    tmp_path: Path, make_book: MakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "share"
    blocker.write_text("x")
    monkeypatch.setenv("KUDEN_XL_LEDGER", str(blocker / "kuden" / "ledger.sqlite3"))
    result = CliRunner().invoke(cli, ["ledger", "reset", "--i-understand"])
    assert result.exit_code == 2
    assert f"フォルダ「{blocker / 'kuden'}」" in result.output and "送信記録" in result.output
