"""What the jobs read from a Table: its settings, its data rows and the rows chosen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..books.base import SheetRows, Table, parse_rows
from ..campaign import CampaignSettings
from ..config import campaign_settings
from ..errors import RowSpecError
from ..message import Template


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
