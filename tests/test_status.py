"""``jobs.refresh_status`` over a subset of message ids (a slice of 配信結果を更新), headless:
a real workbook, a gateway that answers every id and records what it was asked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
from conftest import mobile

from kuden_xl import jobs
from kuden_xl.books.xlsx import XlsxTable
from kuden_xl.gateways.base import DeliveryStatus
from kuden_xl.schema import OUTPUT_COLUMNS, Delivery


class Answering:
    """Every id is delivered; ``asked`` lists each status call's ids."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        self.asked.append(list(message_ids))
        return [DeliveryStatus(m, Delivery.DELIVERED) for m in message_ids]


def sent_book(path: Path) -> Path:
    """Rows 2-6 sent as m1-m5; m3 already 不達, row 7 never sent."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["管理番号", "氏名", "電話番号", *OUTPUT_COLUMNS])
    at = OUTPUT_COLUMNS.index
    for i in range(1, 7):
        out: list[object] = [None] * len(OUTPUT_COLUMNS)
        if i <= 5:
            out[at("結果コード")] = "ACCEPTED"
            out[at("メッセージID")] = f"m{i}"
        if i == 3:
            out[at("配信結果")] = "不達（圏外）"
        ws.append([f"K{i}", f"住民{i}", mobile(i + 10), *out])
    wb.save(path)
    return path


def delivery(path: Path) -> dict[str, object]:
    table = XlsxTable(path)
    data = table.read()
    return {f"m{r - 1}": data.value(r, "配信結果") for r in sorted(data.rows)}


def test_only_the_given_ids_are_asked_and_written(tmp_path: Path) -> None:
    book = sent_book(tmp_path / "送信リスト.xlsx")
    assert jobs.pending_status(XlsxTable(book)) == {"m1": 2, "m2": 3, "m4": 5, "m5": 6}
    gateway = Answering()
    outcome = jobs.refresh_status(XlsxTable(book), gateway, only=["m4", "m2", "m3", "gone"])
    assert gateway.asked == [["m2", "m4"]]  # sheet order; final and unknown ids left alone
    assert (outcome.checked, outcome.counts) == (2, {"配信済": 2})
    assert delivery(book) == {
        "m1": None, "m2": "配信済", "m3": "不達（圏外）", "m4": "配信済", "m5": None, "m6": None
    }  # fmt: skip
    everything = Answering()
    rest = jobs.refresh_status(XlsxTable(book), everything)
    assert everything.asked == [["m1", "m5"]] and rest.checked == 2
