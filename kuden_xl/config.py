"""Reads campaign settings (``campaign.CampaignSettings``): 設定 sheet + CLI options + environment
+ config file, validated once.

Precedence for campaign keys (DESIGN §3): CLI option > 設定 sheet > environment
(``KUDEN_XL_*``) > the user's config file (``[campaign]`` in config.toml) > default.
Connection settings and secrets never come from a workbook.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .campaign import DEFAULT_UNIT_PRICE, DEFAULT_WINDOW, CampaignSettings, parse_window
from .errors import SettingsError
from .message import DEFAULT_MAX_LENGTH, DateStyle
from .paths import user_config_path
from .yesno import yes_no

# 設定 key -> (field name, environment variable)
KEYS: dict[str, tuple[str, str]] = {
    "本文": ("body", "KUDEN_XL_BODY"),
    "用途": ("purpose", "KUDEN_XL_PURPOSE"),
    "送信時間帯": ("window", "KUDEN_XL_SEND_WINDOW"),
    "1時間あたり上限": ("hourly_cap", "KUDEN_XL_HOURLY_CAP"),
    "最大文字数": ("max_length", "KUDEN_XL_MAX_LENGTH"),
    "単価": ("unit_price", "KUDEN_XL_UNIT_PRICE"),
    "日付形式": ("date_style", "KUDEN_XL_DATE_STYLE"),
    "020番号": ("allow_m2m", "KUDEN_XL_ALLOW_M2M"),
    "プロバイダ": ("provider", "KUDEN_XL_PROVIDER"),
    "サンプル": ("sample", ""),
}


# The 設定 sheet a new workbook starts with: (key, starting value, note for staff). The template
# generator and the ribbon's 設定シート作成 both write these rows; 本文 starts empty (the template
# puts its sample body in).
SETTINGS_ROWS: tuple[tuple[str, object, str], ...] = (
    ("本文", None, "送信する文面。{氏名} のように列名を波かっこで囲むと、その行の値が入ります"),
    ("用途", "国保税督促", "年次レポートの集計に使います"),
    (
        "送信時間帯",
        DEFAULT_WINDOW,
        "この時間帯の外では送信せず、予約または保留にします（日本時間）",
    ),
    (
        "1時間あたり上限",
        None,
        "折り返しの電話に対応できる件数に合わせて、1時間の送信数を制限します（空欄=制限なし）",
    ),
    (
        "最大文字数",
        DEFAULT_MAX_LENGTH,
        "本文の上限文字数。70文字までが1通、超えると67文字ごとに1通分の料金です",
    ),
    ("単価", DEFAULT_UNIT_PRICE, "1通あたりの料金（円）。費用の見込みに使います"),
    ("日付形式", "西暦", "西暦（2026年10月31日）または和暦（令和8年10月31日）"),
    ("020番号", "不可", "020で始まる番号（IoT・M2M用）への送信を「許可」するか"),
    ("プロバイダ", None, "空欄なら設定済みの送信事業者（未設定なら練習用の sandbox）"),
)


def _nfkc(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def _positive_int(key: str, value: object) -> int:
    try:
        number = float(_nfkc(value).replace(",", ""))
    except ValueError:
        number = -1
    if number <= 0 or number != int(number):
        raise SettingsError(
            f"設定「{key}」の値「{value}」は正の整数で入力してください。 / {key} must be a positive integer."
        )
    return int(number)


def _yes(key: str, value: object, yes: str, no: str) -> bool:
    """``value`` by the yes/no rule; the error names the words staff see for this key."""
    answer = yes_no(value)
    if answer is None:
        raise SettingsError(
            f"設定「{key}」の値「{value}」が読めません。「{yes}」か「{no}」を入力してください。"
            f" / {key}: expected {yes} or {no}."
        )
    return answer


def _convert(key: str, value: object) -> Any:
    if key == "送信時間帯":
        return parse_window(str(value))
    if key in ("1時間あたり上限", "最大文字数"):
        return _positive_int(key, value)
    if key == "単価":
        try:
            price = float(_nfkc(value).replace(",", "").removesuffix("円"))
        except ValueError:
            price = -1.0
        if price < 0:
            raise SettingsError(
                f"設定「単価」の値「{value}」は0以上の数で入力してください。 / bad unit price."
            )
        return price
    if key == "日付形式":
        text = _nfkc(value)
        for style in DateStyle:
            if text == style.value:
                return style
        raise SettingsError(
            f"設定「日付形式」の値「{value}」は「西暦」か「和暦」で入力してください。 / date style."
        )
    if key == "020番号":
        return _yes(key, value, "許可", "不可")
    if key == "サンプル":
        return _yes(key, value, "はい", "いいえ")
    if key == "本文":
        return str(value)
    return _nfkc(value)


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    """The user's config.toml as a dict ({} when absent)."""
    path = path or user_config_path()
    if not path.is_file():
        return {}
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        with path.open("rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"設定ファイル {path} が読めません: {exc} / cannot read config file."
        ) from exc
    return data


def campaign_settings(
    sheet: Mapping[str, object] | None,
    cli: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> CampaignSettings:
    """Merge the campaign keys from every source by precedence and validate them.

    Args:
        sheet: the 設定 sheet's key/value rows (keys as written; None when there is no sheet).
        cli: values given on the command line, keyed by 設定 key (None values are ignored).
        environ: the environment (default ``os.environ``).
        config: the parsed config file (default: the user's config.toml).
    """
    environ = os.environ if environ is None else environ
    config = read_config_file() if config is None else config
    file_campaign: Mapping[str, Any] = config.get("campaign", {}) if config else {}

    sheet_values: dict[str, object] = {}
    unknown: list[str] = []
    for raw_key, value in (sheet or {}).items():
        key = _nfkc(raw_key)
        if key in KEYS:
            if value is not None and _nfkc(value) != "":
                sheet_values[key] = value
        elif key:
            unknown.append(key)

    values: dict[str, Any] = {}
    for key, (name, env) in KEYS.items():
        chosen: object = None
        for source in (
            (cli or {}).get(key),
            sheet_values.get(key),
            environ.get(env) if env else None,
            file_campaign.get(name),
        ):
            if source is not None and _nfkc(source) != "":
                chosen = source
                break
        if chosen is not None:
            values[name] = _convert(key, chosen)
    return CampaignSettings(**values, unknown_keys=tuple(unknown))
