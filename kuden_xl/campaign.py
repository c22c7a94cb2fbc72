"""A campaign's settings as values: the send window, the body, the limits (DESIGN §3).

Core: nothing here reads a source. ``config`` fills these from the 設定 sheet, CLI options, the
environment and the config file; ``plan`` and ``slots`` use them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import time

from .errors import SettingsError
from .message import DEFAULT_MAX_LENGTH, DateStyle

DEFAULT_WINDOW = "09:00-19:00"
DEFAULT_UNIT_PRICE = 10  # yen per SMS segment


@dataclass(frozen=True)
class SendWindow:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, t: time) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class CampaignSettings:
    body: str | None = None
    purpose: str | None = None
    window: SendWindow = field(default_factory=lambda: parse_window(DEFAULT_WINDOW))
    hourly_cap: int | None = None
    max_length: int = DEFAULT_MAX_LENGTH
    unit_price: float = DEFAULT_UNIT_PRICE
    date_style: DateStyle = DateStyle.SEIREKI
    allow_m2m: bool = False
    provider: str | None = None
    sample: bool = False
    unknown_keys: tuple[str, ...] = ()  # 設定 keys we do not know: reported, never ignored silently


def parse_window(text: str) -> SendWindow:
    m = re.fullmatch(
        r"(\d{1,2}):(\d{2})\s*[-~〜]\s*(\d{1,2}):(\d{2})",
        unicodedata.normalize("NFKC", str(text)).strip(),
    )
    if m:
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60 and (h1, m1) < (h2, m2):
            end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
            return SendWindow(time(h1, m1), end)
    raise SettingsError(
        f"送信時間帯「{text}」が読めません。「09:00-19:00」の形で入力してください。"
        " / Send window must look like 09:00-19:00."
    )
