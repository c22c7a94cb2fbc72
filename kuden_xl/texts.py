"""Staff texts both faces show (the CLI prints them, the ribbon alerts them): one wording each."""

from __future__ import annotations

from collections.abc import Mapping

from .schema import ResultCode, label

_DEFERRED_WHY = {
    "window": "送信中に送信時間帯が終わったため",
    "cap": "送信中に1時間あたり上限に達したため",
}


def deferred_lines(deferred: Mapping[tuple[str, str], int]) -> list[str]:
    """Rows planned for now that the run scheduled or held because the window closed or the
    hour's cap filled while it was sending (``SendOutcome.deferred()``: (why, code) -> rows)."""
    lines = []
    for (why, code), n in sorted(deferred.items()):
        if code == ResultCode.SCHEDULED.value:
            what = f"{n}件を次の送信可能な時間に予約しました（{label(code)}）"
        else:
            what = f"{n}件を送信せずに保留しました（{label(code)}）。時間帯内にもう一度送信してください"
        lines.append(f"  {_DEFERRED_WHY.get(why, '')}{what}。")
    return lines
