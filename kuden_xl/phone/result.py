"""What a phone check says: the number's kind, the verdict and the reason staff read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..schema import ResultCode


class NumberKind(str, Enum):
    """What a (valid) Japanese number is; its Japanese name is ``.label``."""

    MOBILE = "mobile"
    M2M = "m2m"  # 020 (phonenumbers calls it PAGER) and 14-digit 0200
    LANDLINE = "landline"
    TOLL_FREE = "toll_free"  # 0120, 0800, 00xx
    IP = "ip"  # 050
    NAVI_DIAL = "navi_dial"  # 0570
    PREMIUM = "premium"  # 0990
    PERSONAL = "personal"  # 060 + 7 digits (10 digits in all)
    PAGER = "pager"  # 0204 + 7 digits: 無線呼出番号 (phonenumbers: PAGER, like M2M)
    FMC = "fmc"  # 0600 + 7 digits (11 digits in all): FMC電話番号
    SERVICE = "service"  # 0170, 0180 + 6 digits: 付加的役務電話番号 (0AB0番号)
    OTHER = "other"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    NumberKind.MOBILE: "携帯電話",
    NumberKind.M2M: "020番号（M2M・IoT用）",
    NumberKind.LANDLINE: "固定電話",
    NumberKind.TOLL_FREE: "フリーダイヤル等（着信課金）",
    NumberKind.IP: "IP電話（050）",
    NumberKind.NAVI_DIAL: "ナビダイヤル（0570）",
    NumberKind.PREMIUM: "有料情報サービス（0990）",
    NumberKind.PERSONAL: "パーソナル通信（060・10桁）",
    NumberKind.PAGER: "無線呼出し（ポケットベル・020-4）",
    NumberKind.FMC: "FMC電話番号（0600・11桁）",
    NumberKind.SERVICE: "付加的役務電話番号（0170・0180）",
    NumberKind.OTHER: "その他",
}


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """The verdict on one cell. ``national``/``e164``/``kind`` are set when the number is valid."""

    ok: bool
    code: ResultCode | None
    reason: str
    national: str | None
    e164: str | None
    kind: NumberKind | None


_ASK_MOBILE = "携帯電話の番号（090/080/070/060）を入力してください"
_M2M_REASON = (
    "020番号（M2M・IoT用）です。送信するには設定シートの「020番号」を「許可」にしてください"
)
_SCI_REASON = (
    "セルが指数表記（9.01E+09 など）になっていて番号の桁が失われています。"
    "セルの書式を「文字列」にして番号を入力し直してください"
)
_MULTI_REASON = "1つのセルに複数の番号が入っています。1つのセルには1つの番号を入力してください"


def _fail(code: ResultCode, reason: str) -> PhoneCheck:
    return PhoneCheck(False, code, reason, None, None, None)


def _invalid(reason: str) -> PhoneCheck:
    return _fail(ResultCode.ERR_INVALID_NUMBER, reason)


def _foreign(detail: str) -> PhoneCheck:
    reason = f"海外の電話番号です{detail}。日本の{_ASK_MOBILE}"
    return PhoneCheck(False, ResultCode.ERR_NOT_MOBILE, reason, None, None, NumberKind.OTHER)


_NO_NUMBER = _fail(ResultCode.ERR_NO_NUMBER, "番号がありません")
