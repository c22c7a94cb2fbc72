from __future__ import annotations

from datetime import time

import pytest

from kuden_xl.campaign import parse_window
from kuden_xl.config import campaign_settings
from kuden_xl.errors import SettingsError
from kuden_xl.message import DateStyle


def settings(sheet=None, cli=None, env=None, config=None):  # type: ignore[no-untyped-def]
    return campaign_settings(sheet, cli, environ=env or {}, config=config or {})


def test_defaults() -> None:
    s = settings()
    assert s.body is None
    assert (s.window.start, s.window.end) == (time(9), time(19))
    assert s.max_length == 660 and s.unit_price == 10.0 and s.hourly_cap is None
    assert s.date_style is DateStyle.SEIREKI and not s.allow_m2m and not s.sample


def test_precedence_cli_sheet_env_file() -> None:
    file = {"campaign": {"body": "file", "unit_price": 3, "window": "07:00-08:00"}}
    env = {"KUDEN_XL_BODY": "env", "KUDEN_XL_UNIT_PRICE": "5"}
    s = settings({"本文": "sheet"}, {"本文": "cli"}, env, file)
    assert s.body == "cli"
    s = settings({"本文": "sheet"}, {"本文": None}, env, file)
    assert s.body == "sheet"
    assert s.unit_price == 5.0  # env beats the file
    assert str(s.window) == "07:00-08:00"  # the file beats the default


def test_sheet_values_are_converted() -> None:
    s = settings(
        {
            "送信時間帯": "１０：００〜１８：３０",
            "1時間あたり上限": 50.0,
            "最大文字数": "70",
            "単価": "8円",
            "日付形式": "和暦",
            "020番号": "許可",
            "サンプル": "はい",
        }
    )
    assert str(s.window) == "10:00-18:30"
    assert s.hourly_cap == 50 and s.max_length == 70 and s.unit_price == 8.0
    assert s.date_style is DateStyle.WAREKI and s.allow_m2m and s.sample


def test_unknown_keys_are_reported() -> None:
    assert settings({"本分": "typo", "本文": "x"}).unknown_keys == ("本分",)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("送信時間帯", "9時から"),
        ("送信時間帯", "19:00-09:00"),
        ("1時間あたり上限", "-3"),
        ("最大文字数", "abc"),
        ("日付形式", "元号"),
        ("020番号", "たぶん"),
        ("単価", "無料"),
    ],
)
def test_bad_values_name_the_key(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key):
        settings({key: value})


def test_window_contains_is_half_open() -> None:
    w = parse_window("09:00-19:00")
    assert w.contains(time(9)) and w.contains(time(18, 59)) and not w.contains(time(19))
