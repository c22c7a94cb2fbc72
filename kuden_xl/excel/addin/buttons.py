"""The ribbon, declared once as data: both ``customUI.xml`` and the ``RibbonKuden`` VBA module
are rendered from ``GROUPS`` and ``BUTTONS``, so a button cannot lose its callback.

Each button's ``onAction`` is ``RibbonKuden.<sub_name>``; that Sub calls
``RunPython "import <ribbon module> as r; r.<entry_point>()"``. Icons are built-in Office images
(``imageMso``), named here and listed in the add-in's documentation; Excel shows a blank icon for
an unknown name rather than failing, but only Excel can confirm that the names render.
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from kuden_xl.excel.addin.guard import GUARD_FUNCTION, render_guard
from kuden_xl.excel.addin.vbaproject import check_identifier

RIBBON_VBA_MODULE = "RibbonKuden"
TAB_ID = "kudenTab"
TAB_LABEL = "SMS送信"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"


@dataclass(frozen=True)
class Group:
    id: str
    label: str


@dataclass(frozen=True)
class Button:
    """One ribbon button. ``entry_point`` is a function of the ribbon module (no arguments)."""

    id: str
    label: str
    group: str  # Group.id
    sub_name: str  # the VBA callback in RibbonKuden
    entry_point: str
    image_mso: str
    supertip: str = ""


GROUPS: tuple[Group, ...] = (
    Group("kudenGroupSend", "送信"),
    Group("kudenGroupCheck", "確認"),
    Group("kudenGroupRecord", "記録"),
    Group("kudenGroupSettings", "設定"),
)

BUTTONS: tuple[Button, ...] = (
    Button(
        "kudenSendSelected", "選択行を送信", "kudenGroupSend", "SendSelected", "send_selected",
        "FileSendAsAttachment", "選択した行の電話番号へSMSを送信し、結果を行の右側の列に記録します。",
    ),
    Button(
        "kudenCancelSend", "中止", "kudenGroupSend", "CancelSend", "cancel_send", "Delete",
        "区切りごとに進んでいる送信や配信結果の更新を、次の区切りの前で止めます。"
        "送信済みの記録と確認済みの配信結果は残ります。",
    ),
    Button(
        "kudenPreviewSelected", "送信プレビュー", "kudenGroupSend", "PreviewSelected",
        "preview_selected", "FilePrintPreview",
        "選択した行の送信内容（本文・文字数・送信可否）を確認します。SMSは送信されません。",
    ),
    Button(
        "kudenCheckSheet", "番号チェック", "kudenGroupCheck", "CheckSheet", "check_sheet",
        "DataValidation", "シートの電話番号と本文を点検します。SMSは送信されません。",
    ),
    Button(
        "kudenRefreshStatus", "配信結果を更新", "kudenGroupCheck", "RefreshStatus",
        "refresh_status", "Refresh", "送信済みの行の配信結果を取得して記入します。",
    ),
    Button(
        "kudenBuildReport", "年次レポート", "kudenGroupRecord", "BuildReport", "build_report",
        "ChartInsert", "送信記録のあるブックから年次レポートを作成します。",
    ),
    Button(
        "kudenNewSettingsSheet", "設定シート作成", "kudenGroupSettings", "NewSettingsSheet",
        "new_settings_sheet", "PropertySheet", "このブックに「設定」シートのひな形を追加します。",
    ),
    Button(
        "kudenConnectionTest", "接続テスト", "kudenGroupSettings", "ConnectionTest",
        "connection_test", "ServerConnection",
        "プロキシ・証明書・認証情報を順に確かめ、直す箇所を表示します。SMSは送信されません。",
    ),
)  # fmt: skip


# Entry points Excel runs by name, not from a button: Application.OnTime schedules the next
# slice of a long send or status refresh (excel/slices.py) as "'kuden_xl.xlam'!RibbonKuden.<sub>".
SCHEDULED: tuple[tuple[str, str], ...] = (
    ("SendNextSlice", "send_next_slice"),
    ("RefreshNextSlice", "refresh_next_slice"),
)


def validate(groups: Sequence[Group], buttons: Sequence[Button]) -> None:
    """Raise ``ValueError`` if the table cannot produce a consistent ribbon."""
    ids = [TAB_ID, *(g.id for g in groups), *(b.id for b in buttons)]
    if len(set(ids)) != len(ids):
        raise ValueError("ribbon ids must be unique")
    if len({b.sub_name.upper() for b in buttons}) != len(buttons):
        raise ValueError("VBA sub names must be unique (VBA ignores case)")
    group_ids = {g.id for g in groups}
    for b in buttons:
        check_identifier(b.sub_name, "ribbon callback")
        if not b.entry_point.isidentifier() or keyword.iskeyword(b.entry_point):
            raise ValueError(f"{b.entry_point!r} is not a Python function name")
        if b.group not in group_ids:
            raise ValueError(f"button {b.id} names unknown group {b.group}")
    if any(not any(b.group == g.id for b in buttons) for g in groups):
        raise ValueError("every group needs a button")


def render_custom_ui(groups: Sequence[Group] = GROUPS, buttons: Sequence[Button] = BUTTONS) -> str:
    """``customUI/customUI.xml`` (UTF-8 text) for the ribbon tab."""
    validate(groups, buttons)
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<customUI xmlns="{CUSTOMUI_NS}">',
        "  <ribbon>",
        "    <tabs>",
        f"      <tab id={quoteattr(TAB_ID)} label={quoteattr(TAB_LABEL)}>",
    ]
    for g in groups:
        lines.append(f"        <group id={quoteattr(g.id)} label={quoteattr(g.label)}>")
        for b in buttons:
            if b.group != g.id:
                continue
            attrs = {
                "id": b.id,
                "label": b.label,
                "size": "large",
                "imageMso": b.image_mso,
                "onAction": f"{RIBBON_VBA_MODULE}.{b.sub_name}",
                "screentip": b.label,
                "supertip": b.supertip,
            }
            rendered = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items() if v)
            lines.append(f"          <button {rendered} />")
        lines.append("        </group>")
    lines += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>", ""]
    return "\n".join(lines)


def runpython_command(ribbon_module: str, entry_point: str) -> str:
    """The Python statement a button runs; the ribbon module is imported on first click only."""
    return f"import {ribbon_module} as r; r.{entry_point}()"


def render_ribbon_module(
    ribbon_module: str, buttons: Sequence[Button] = BUTTONS, groups: Sequence[Group] = GROUPS
) -> str:
    """Source of the ``RibbonKuden`` VBA module (CRLF line ends, ASCII only)."""
    validate(groups, buttons)
    if not all(part.isidentifier() for part in ribbon_module.split(".")):
        raise ValueError(f"{ribbon_module!r} is not a module name")
    lines = [
        f'Attribute VB_Name = "{RIBBON_VBA_MODULE}"',
        "' Ribbon callbacks of the kuden_xl add-in: one Sub per button of the SMS tab.",
        "' Generated by kuden_xl.excel.addin (buttons.py); edits here are lost on the next build.",
        "Option Explicit",
    ]
    for b in buttons:
        lines += [
            "",
            f"Public Sub {b.sub_name}(control As IRibbonControl)",
            f"    If Not {GUARD_FUNCTION}() Then Exit Sub",
            f'    RunPython "{runpython_command(ribbon_module, b.entry_point)}"',
            "End Sub",
        ]
    for sub_name, entry_point in SCHEDULED:
        lines += [
            "",
            "' Run by Application.OnTime (the next slice of a long send or refresh), not by a button.",
            f"Public Sub {sub_name}()",
            f"    If Not {GUARD_FUNCTION}() Then Exit Sub",
            f'    RunPython "{runpython_command(ribbon_module, entry_point)}"',
            "End Sub",
        ]
    lines += ["", *render_guard()]
    return "\r\n".join(lines) + "\r\n"
