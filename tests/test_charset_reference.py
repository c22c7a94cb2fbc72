"""Characters and counts held against references we did not write (DESIGN §5, issue 10 items 6-8).

- Microsoft's CP932 table: the Unicode consortium's VENDORS/MICSFT/WINDOWS/CP932.TXT (table
  version 2.01) and WindowsBestFit/bestfit932.txt (read from the copies in Interlisp/medley,
  unicode/vendors/micsft/). Python's ``codecs`` cp932 differs from it exactly on the six JIS forms
  below, U+0080, and the private-use code points.
- The WHATWG Encoding Standard's index jis0208 (whatwg/encoding, index-jis0208.txt): the same
  characters at the same Shift_JIS bytes, as a second, independent witness.
- Segment counting: a UCS-2 SMS carries UTF-16 units, 70 in one message and 67 per part of a long
  one, and a surrogate pair never straddles two parts (Twilio's message-segment-calculator;
  Codesleuth/split-sms ``splitUnicode`` banks a part before a pair that would not fit).
"""

from __future__ import annotations

import sys
import unicodedata
from datetime import datetime

import pytest
from conftest import mobile

from kuden_xl.books.base import SheetRows
from kuden_xl.campaign import parse_window
from kuden_xl.clock import JST
from kuden_xl.config import campaign_settings
from kuden_xl.message import bad_chars, check_body, count, render
from kuden_xl.plan import Scheduling, plan
from kuden_xl.schema import ResultCode, find_header

# (JIS form, its Shift_JIS bytes, CP932.TXT's character for those bytes, WHATWG pointer and
# character). Rows as in the references, e.g. CP932.TXT "0x8160	0xFF5E	#FULLWIDTH TILDE" and
# index-jis0208.txt "32	0xFF5E	～ (FULLWIDTH TILDE)".
JIS_FORMS = [
    ("wave-dash", "\u301c", 0x8160, "\uff5e", 32, "\uff5e"),
    ("double-vertical-line", "\u2016", 0x8161, "\u2225", 33, "\u2225"),
    ("minus-sign", "\u2212", 0x817C, "\uff0d", 60, "\uff0d"),
    ("cent-sign", "\u00a2", 0x8191, "\uffe0", 80, "\uffe0"),
    ("pound-sign", "\u00a3", 0x8192, "\uffe1", 81, "\uffe1"),
    ("not-sign", "\u00ac", 0x81CA, "\uffe2", 137, "\uffe2"),
]


def _sjis_bytes(pointer: int) -> int:
    """The WHATWG Shift_JIS encoder's bytes for an index jis0208 pointer."""
    lead, trail = divmod(pointer, 188)
    return ((lead + (0x81 if lead < 0x1F else 0xC1)) << 8) | (
        trail + (0x40 if trail < 0x3F else 0x41)
    )


@pytest.mark.parametrize(
    ("jis", "sjis", "microsoft", "pointer", "whatwg"),
    [row[1:] for row in JIS_FORMS],
    ids=[row[0] for row in JIS_FORMS],
)
def test_jis_forms_become_what_microsofts_table_gives_for_their_bytes(
    jis: str, sjis: int, microsoft: str, pointer: int, whatwg: str
) -> None:
    assert _sjis_bytes(pointer) == sjis and whatwg == microsoft  # the two references agree
    assert jis.encode("cp932") == sjis.to_bytes(2, "big")  # why Python's codec let it through
    body = f"受付は9時{jis}17時"
    expected = f"受付は9時{microsoft}17時"
    checked = check_body(body)
    assert (checked.ok, checked.body, checked.bad_chars) == (True, expected, ())
    assert count(body) == count(expected) == (len(expected), 1)
    rendered = render("{氏名}様 受付は9時{時刻}17時", {"氏名": "山田", "時刻": jis})
    assert rendered.body == f"山田様 受付は9時{microsoft}17時"
    template_itself = render(f"{{氏名}}様 9時{jis}17時", {"氏名": "山田"})
    assert template_itself.body == f"山田様 9時{microsoft}17時"


def test_a_template_error_body_is_shown_normalised_too() -> None:
    result = render("{氏名}様 9時〜17時", {"氏名": None})
    assert result.code is ResultCode.ERR_TEMPLATE and result.body == "{氏名}様 9時～17時"


def test_the_plan_preview_and_sent_body_are_the_normalised_body() -> None:
    header = find_header([["氏名", "電話番号"]], sheet="送信リスト")
    rows = SheetRows("book.xlsx", "送信リスト", header, {2: ["山田〜", mobile(10)]}, 2)
    settings = campaign_settings({"本文": "{氏名}様 9時〜17時 −5℃"}, environ={}, config={})
    now = datetime(2026, 11, 27, 10, 0, tzinfo=JST)
    scheduling = Scheduling(now, parse_window("09:00-19:00"), None, True)
    row = plan(rows, [2], settings, scheduling=scheduling).rows[0]
    assert row.code is None and row.body == "山田～様 9時～17時 －5℃"


def test_every_character_left_after_normalising_is_one_microsoft_encodes_the_same() -> None:
    # Whatever Python's codec encodes and we allow must decode back to itself: the cases where
    # Python's encoder and Microsoft's table part (the JIS forms) are exactly the ones normalised.
    leaks = []
    for cp in range(0x10000):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or ch == "\n":
            continue
        checked = check_body(f"あ{ch}")
        if not checked.ok:
            continue
        shown = checked.body[1:]
        if shown.encode("cp932").decode("cp932") != shown:
            leaks.append(f"U+{cp:04X}")
    assert leaks == []


PRIVATE_USE = [
    ("bmp-first", "\ue000"),  # cp932 user-defined 0xF040
    ("bmp-last-eudc", "\ue757"),  # 0xF9FC
    ("bmp-beyond-eudc", "\ue758"),
    ("f8ef", "\uf8ef"),
    ("f8f0-to-a0", "\uf8f0"),  # bestfit932.txt: "0xf8f0 0x00a0 ;EUDC -> Undefined"
    ("f8f1-to-fd", "\uf8f1"),
    ("f8f2-to-fe", "\uf8f2"),
    ("f8f3-to-ff", "\uf8f3"),
    ("bmp-last", "\uf8ff"),
    ("plane-15", "\U000f0000"),
    ("plane-16-last", "\U0010fffd"),
]


@pytest.mark.parametrize("char", [c for _, c in PRIVATE_USE], ids=[i for i, _ in PRIVATE_USE])
def test_private_use_code_points_are_refused(char: str) -> None:
    assert unicodedata.category(char) == "Co"
    result = check_body(f"お知らせ{char}です")
    assert result.code is ResultCode.ERR_BAD_CHAR
    assert [(b.char, b.position) for b in result.bad_chars] == [(char, 5)]
    assert f"U+{ord(char):04X}" in result.reason


def test_every_private_use_code_point_is_refused() -> None:
    private = "".join(
        chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Co"
    )
    assert len(private) == 6400 + 65534 + 65534
    assert len(bad_chars(private)) == len(private)


# (body, UTF-16 units, segments)
COUNTS = [
    ("issue-10-example", "あ" * 60 + "😀" * 10, 80, 2),
    ("one-emoji", "😀", 2, 1),
    ("rare-kanji", "𠮷野家", 4, 1),
    ("seventy-units", "あ" * 68 + "😀", 70, 1),
    ("seventy-one-units", "あ" * 69 + "😀", 71, 2),
    ("thirty-five-emoji", "😀" * 35, 70, 1),
    ("thirty-six-emoji", "😀" * 36, 72, 2),
    ("pair-not-split", "あ" * 66 + "😀" + "あ" * 66, 134, 3),
    ("pair-fits-the-part", "あ" * 65 + "😀" + "あ" * 67, 134, 2),
    ("bmp-only", "あ" * 134, 134, 2),
    ("crlf-and-emoji", "あ\r\n😀", 4, 1),
]


@pytest.mark.parametrize(
    ("body", "units", "segments"),
    [row[1:] for row in COUNTS],
    ids=[row[0] for row in COUNTS],
)
def test_counts_are_utf16_units(body: str, units: int, segments: int) -> None:
    assert count(body) == (units, segments)
    checked = check_body(body)
    assert (checked.length, checked.segments) == (units, segments)


def test_too_long_counts_utf16_units() -> None:
    result = check_body("あ" * 650 + "😀" * 6)  # 656 characters, 662 units
    assert result.length == 662 and "662文字" in result.reason
