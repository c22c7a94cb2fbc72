from __future__ import annotations

import os

# Must happen before the first `import xlwings`: the remote engine registers at import time.
# PolyForm Noncommercial licence, which covers government institutions.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

MakeBook = Callable[..., Path]


def mobile(n: int, prefix: str = "090") -> str:
    """A fictional mobile number in the project's test range 0X0-1234-NNNN."""
    return f"{prefix}1234{n:04d}"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No KUDEN_XL_* from the developer's shell; user data (ledger, config) under tmp_path."""
    import os

    for key in list(os.environ):
        if key.startswith("KUDEN_XL_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KUDEN_XL_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("KUDEN_XL_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture
def make_book(tmp_path: Path) -> MakeBook:
    """Write a real .xlsx: a recipients sheet from rows (first row = header) and a 設定 sheet."""

    def make(
        rows: Sequence[Sequence[Any]],
        settings: dict[str, Any] | None = None,
        *,
        name: str = "book.xlsx",
        sheet: str = "送信リスト",
        hidden: Sequence[int] = (),
    ) -> Path:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = sheet
        for row in rows:
            ws.append(list(row))
        for r in hidden:
            ws.row_dimensions[r].hidden = True
        if settings is not None:
            s = wb.create_sheet("設定")
            s.append(["項目", "値"])
            for key, value in settings.items():
                s.append([key, value])
        path = tmp_path / name
        wb.save(path)
        return path

    return make
