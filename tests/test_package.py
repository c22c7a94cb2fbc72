"""The package surface: lazy public API, cheap import, console script."""

from __future__ import annotations

import json
import subprocess
import sys

import kuden_xl


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert kuden_xl.__all__ == sorted(kuden_xl.__all__)
    for name in kuden_xl.__all__:
        assert getattr(kuden_xl, name) is not None, name


def test_import_is_cheap_and_lazy() -> None:
    code = (
        "import sys, json, kuden_xl; "
        "print(json.dumps([m for m in ('requests', 'openpyxl', 'phonenumbers', 'xlwings') "
        "if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_console_script_help_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kuden_xl", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    ).stdout
    assert "check" in out


def test_all_matches_the_export_table() -> None:
    assert set(kuden_xl.__all__) == set(kuden_xl._EXPORTS)
