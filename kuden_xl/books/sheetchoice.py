"""Which worksheet a headless run uses (DESIGN §3): named, or the first shown with a phone column.

The active sheet is tried first; a hidden or veryHidden sheet is used only when named.
"""

from __future__ import annotations

from typing import Any

from ..errors import HeaderError, WorkbookError
from ..schema import is_phone_header
from .xlsxcells import header_rows, stored_rows


def _has_phone_header(ws: Any) -> bool:
    return any(is_phone_header(v) for row in header_rows(stored_rows(ws)) for v in row)


def pick_sheet(wb: Any, requested: str | None) -> Any:
    """The sheet named by ``--sheet``; else the active sheet when it has a phone column;
    else the first visible sheet with one (DESIGN §3). A hidden or veryHidden sheet is used
    only when named: last year's list, hidden away, must never receive this year's SMS.

    Raises:
        WorkbookError: the named sheet does not exist.
        HeaderError: no visible sheet has a phone column (naming hidden ones that do).
    """
    if requested is not None:
        if requested not in wb.sheetnames:
            raise WorkbookError(
                f"シート「{requested}」がありません（あるシート: {'、'.join(wb.sheetnames)}）。"
                f" / No sheet named {requested!r}."
            )
        return wb[requested]
    active = wb.active
    hidden_with_phone: list[str] = []
    for ws in sorted(wb.worksheets, key=lambda ws: ws is not active):  # the active first
        if not _has_phone_header(ws):
            continue
        if ws.sheet_state == "visible":
            return ws
        hidden_with_phone.append(str(ws.title))
    if hidden_with_phone:
        names = "、".join(f"「{n}」" for n in hidden_with_phone)
        raise HeaderError(
            f"表示されているシートに電話番号の列がありません。電話番号の列があるのは非表示のシート{names}だけです。"
            f"そのシートに送る場合は --sheet でシート名を指定してください。"
            f" / Only hidden sheets ({', '.join(hidden_with_phone)}) have a phone column;"
            " name one with --sheet."
        )
    return active
