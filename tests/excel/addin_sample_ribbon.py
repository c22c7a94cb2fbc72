"""Ribbon entry points for the add-in builder's tests (stands in for kuden_xl.excel.ribbon).

Each function only records that it ran; the tests check that RunPython targets exist.
"""

from __future__ import annotations

calls: list[str] = []


def send_selected() -> None:
    calls.append("send_selected")


def preview_selected() -> None:
    calls.append("preview_selected")


def check_sheet() -> None:
    calls.append("check_sheet")


def refresh_status() -> None:
    calls.append("refresh_status")


def build_report() -> None:
    calls.append("build_report")


def new_settings_sheet() -> None:
    calls.append("new_settings_sheet")


def cancel_send() -> None:
    calls.append("cancel_send")


def send_next_slice() -> None:
    calls.append("send_next_slice")


def refresh_next_slice() -> None:
    calls.append("refresh_next_slice")


def connection_test() -> None:
    calls.append("connection_test")
