"""Characters carriers and providers refuse (環境依存文字), decided by cp932 (DESIGN §5).

Refused: what cp932 cannot encode (emoji, most JIS X 0213-only kanji); what it encodes in the NEC
special row (0x8740–0x879C: ①…⑳, Ⅰ…Ⅹ, ㍉, ㈱ …) or the IBM extensions (0xED40–0xEEFC,
0xFA40–0xFC4B: ⅰ…ⅹ, 髙, 﨑 …), by the bytes Python's codec produces (≒ ≡ ∫ √ ⊥ ∠ ∵ ∩ ∪ ￢ get
standard bytes and are allowed; ∮ ∟ ⊿ ∑ get NEC bytes and are refused; ＂ ＇ ￤ land in the IBM
area); the user-defined area 0xF040–0xF9FC (外字), which no handset shares; every private-use code
point (Python's codec also gives U+F8F0–U+F8F3 single bytes 0xA0, 0xFD–0xFF); and control
characters but the newline. Each refusal suggests a replacement where one exists.

Before anything is counted, shown or sent, a body is normalised (``normalise_body``): newlines to
``\n``, and the JIS forms that Python's cp932 encodes but Microsoft's CP932 table does not
(〜 U+301C, − U+2212, ‖ U+2016, ¢, £, ¬) to the characters Microsoft's table gives for the same
bytes (～ U+FF5E, － U+FF0D, ∥ U+2225, ￠, ￡, ￢): a provider converting with Windows' table would
send the JIS forms as ``?``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_LISTED_BAD_CHARS = 10  # more are summarised as ほかN件, so a reason stays readable in a cell


@dataclass(frozen=True)
class BadChar:
    char: str
    position: int  # 1-based, in code points of the (newline-normalised) body
    codepoint: str  # 'U+2460'
    replacement: str | None


def normalise_newlines(body: str) -> str:
    if "\r" not in body:
        return body
    return body.replace("\r\n", "\n").replace("\r", "\n")


# JIS form → the CP932 form: the character Microsoft's CP932.TXT decodes the same bytes to.
_CP932_FORMS = {
    "\u301c": "\uff5e",  # WAVE DASH → FULLWIDTH TILDE (0x8160)
    "\u2016": "\u2225",  # DOUBLE VERTICAL LINE → PARALLEL TO (0x8161)
    "\u2212": "\uff0d",  # MINUS SIGN → FULLWIDTH HYPHEN-MINUS (0x817C)
    "\u00a2": "\uffe0",  # CENT SIGN → FULLWIDTH CENT SIGN (0x8191)
    "\u00a3": "\uffe1",  # POUND SIGN → FULLWIDTH POUND SIGN (0x8192)
    "\u00ac": "\uffe2",  # NOT SIGN → FULLWIDTH NOT SIGN (0x81CA)
}
_JIS_FORM = re.compile("[" + "".join(_CP932_FORMS) + "]")
_TO_CP932_FORMS = str.maketrans(_CP932_FORMS)


def to_cp932_forms(text: str) -> str:
    """``text`` with each JIS form replaced by its CP932 form (one character for one)."""
    if _JIS_FORM.search(text) is None:  # the usual body: one C-level scan, no copy
        return text
    return text.translate(_TO_CP932_FORMS)


def normalise_body(body: str) -> str:
    """The body as it is counted, previewed and sent: newlines and CP932 forms normalised."""
    return to_cp932_forms(normalise_newlines(body))


_REFUSED_BYTE_RANGES = ((0x8740, 0x879C), (0xED40, 0xEEFC), (0xFA40, 0xFC4B), (0xF040, 0xF9FC))


def _in_refused_range(encoded: bytes) -> bool:
    if len(encoded) != 2:
        return False
    value = int.from_bytes(encoded, "big")
    return any(lo <= value <= hi for lo, hi in _REFUSED_BYTE_RANGES)


def _build_refused_encodable() -> frozenset[str]:
    """Characters cp932 *can* encode that are still refused.

    Built from the byte side (about 3,000 codes, cheap at import) and kept only where encoding
    the decoded character gives bytes in a refused range again: ≒ decodes from 0x8790 but encodes
    to 0x81E0, so it stays allowed.
    """
    found: set[str] = set()
    for lo, hi in _REFUSED_BYTE_RANGES:
        for value in range(lo, hi + 1):
            try:
                ch = value.to_bytes(2, "big").decode("cp932")
            except UnicodeDecodeError:
                continue
            if _in_refused_range(ch.encode("cp932")):
                found.add(ch)
    controls = (chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)))
    found.update(c for c in controls if c != "\n")
    # Every private-use code point of the BMP (those beyond it cp932 cannot encode at all).
    found.update(chr(c) for c in range(0xE000, 0xF900))
    return frozenset(found)


_REFUSED_ENCODABLE = _build_refused_encodable()


@lru_cache(maxsize=8192)
def _refused(ch: str) -> bool:
    if ch in _REFUSED_ENCODABLE:
        return True
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return True
    return False


def _allowed_text(text: str) -> bool:
    return bool(text) and not any(_refused(c) for c in text)


# Replacements NFKC does not give (or gives worse): circled numbers keep their parentheses,
# variant kanji (IBM extension, or beyond cp932) map to the common form, and a few symbols.
_REPLACEMENTS: dict[str, str] = {chr(0x2460 + i): f"({i + 1})" for i in range(20)}  # ①..⑳
_VARIANTS = (
    "髙高 﨑崎 德徳 增増 敎教 橫横 淸清 綠緑 緖緒 賴頼 郞郎 鄕郷 靑青 黑黒 瀨瀬 寬寛 栁柳 桒桑 濵濱 "
    "悅悦 羡羨 薰薫 甁瓶 \U00020bb7吉 \U00020b9f叱 剝剥 頰頬 塡填 俱倶"
)
_SYMBOLS = "№=No. 〝=“ 〟=” ∑=Σ ¥=￥ —=― –=－ ·=・ •=・ ⋯=… ‾=￣ ¦=｜ \u3099=゛ \u309a=゜"
_REPLACEMENTS.update({pair[0]: pair[1] for pair in _VARIANTS.split()})
_REPLACEMENTS.update({k: v for k, v in (pair.split("=") for pair in _SYMBOLS.split())})
_REPLACEMENTS["\t"] = " "


@lru_cache(maxsize=4096)
def _replacement(ch: str) -> str | None:
    if ch in _REPLACEMENTS:
        return _REPLACEMENTS[ch]
    if 0xD800 <= ord(ch) <= 0xDFFF:  # a lone surrogate: NFKC would fail on it
        return None
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch and _allowed_text(folded):
        return folded
    return None


def _has_refused(body: str) -> bool:
    # Fast path for the usual all-allowed body: one C-level encode and one set scan.
    try:
        body.encode("cp932")
    except UnicodeEncodeError:
        return True
    return not _REFUSED_ENCODABLE.isdisjoint(body)


def bad_chars(body: str) -> tuple[BadChar, ...]:
    """Every refused character with its 1-based position and a suggested replacement."""
    body = normalise_newlines(body)
    if not _has_refused(body):
        return ()
    return tuple(
        BadChar(ch, pos, f"U+{ord(ch):04X}", _replacement(ch))
        for pos, ch in enumerate(body, 1)
        if _refused(ch)
    )


def _shown(ch: str) -> str:
    """How a refused character appears in a reason (invisible ones by name and code point)."""
    code = f"U+{ord(ch):04X}"
    if ch == "\t":
        return f"タブ({code})"
    if unicodedata.category(ch) == "Cc":
        return f"制御文字({code})"
    if 0xD800 <= ord(ch) <= 0xDFFF:
        return f"不正な文字({code})"
    if unicodedata.category(ch) in ("Co", "Cf", "Zs", "Mn"):
        return f"「{ch}」({code})"
    return f"「{ch}」"


def bad_char_reason(found: tuple[BadChar, ...]) -> str:
    items = []
    for bad in found[:_LISTED_BAD_CHARS]:
        hint = f"→「{bad.replacement}」" if bad.replacement is not None else "（置き換え候補なし）"
        items.append(f"{bad.position}文字目{_shown(bad.char)}{hint}")
    more = len(found) - _LISTED_BAD_CHARS
    tail = f"、ほか{more}件" if more > 0 else ""
    return "使用できない文字があります: " + "、".join(items) + tail
