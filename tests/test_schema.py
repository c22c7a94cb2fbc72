from __future__ import annotations

import pytest

from kuden_xl.errors import HeaderError
from kuden_xl.schema import (
    OUTPUT_COLUMNS,
    PHONE,
    RESULT_LABELS,
    ResultCode,
    find_header,
)


@pytest.mark.parametrize(
    "cell",
    [
        "電話番号",
        " 電話番号 ",
        "携帯番号",
        "携帯電話番号",
        "phone",
        "PHONE",
        "ｐｈｏｎｅ",
        "電話番号\u3000",
    ],
)
def test_phone_header_aliases_after_nfkc_and_trim(cell: str) -> None:
    header = find_header([["氏名", cell]], sheet="S")
    assert header.phone_column == 1
    assert header.names[1] == PHONE


def test_header_is_first_row_holding_a_phone_column() -> None:
    rows = [["令和8年度 督促対象者"], [None], ["管理番号", "氏名", "電話番号", "送信日時"]]
    header = find_header(rows, sheet="S")
    assert header.row == 3
    assert header.columns == {"管理番号": 0, "氏名": 1, PHONE: 2, "送信日時": 3}
    assert header.variables == {"管理番号": 0, "氏名": 1, PHONE: 2}  # outputs are no variables


def test_missing_phone_column_names_sheet_and_accepted_headers() -> None:
    with pytest.raises(HeaderError) as err:
        find_header([["氏名", "TEL"]], sheet="名簿")
    message = str(err.value)
    assert "名簿" in message
    for name in ("電話番号", "携帯番号", "携帯電話番号", "phone"):
        assert name in message


def test_result_code_table_is_complete_and_stable() -> None:
    assert set(RESULT_LABELS) == set(ResultCode)
    assert ResultCode.ACCEPTED.label == "送信受付"
    assert ResultCode.HOLD_WINDOW.label == "時間外保留"
    assert {c for c in ResultCode if c.is_send_record} == {
        ResultCode.ACCEPTED,
        ResultCode.SCHEDULED,
        ResultCode.UNKNOWN,
    }
    assert OUTPUT_COLUMNS == (
        "送信日時",
        "送信本文",
        "結果コード",
        "結果",
        "通数",
        "メッセージID",
        "配信結果",
        "配信確認日時",
    )
