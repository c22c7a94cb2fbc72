"""選択行を送信 across the end of 送信時間帯 (issue 7, item 1, on the Excel path).

The clock is ``KUDEN_XL_NOW``: the progress callback (which the ribbon runs on the calling thread
after each result) moves it past 19:00 after the third result, as if the send had run that long.
Which messages were already in flight by then depends on the scheduler, so the test asserts what
holds whatever it does: nothing leaves after 19:00 as a send for now, and the summary counts
exactly the rows scheduled because the window closed.
"""

from __future__ import annotations

import itertools
import json
import os
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import xlharness as xh
from conftest import mobile

from kuden_xl.clock import NOW_ENV
from kuden_xl.excel import ribbon, slices
from kuden_xl.sandbox import SandboxServer

BEFORE_CLOSE = "2099-11-27T18:59:50"  # the sandbox keeps real time: a future date
AFTER_CLOSE = "2099-11-27T19:00:30"
ROWS = 300
_tails = itertools.count()


@pytest.fixture
def sandbox(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[SandboxServer]:
    server = SandboxServer(port=0).start()
    monkeypatch.setenv("KUDEN_XL_BASE_URL", server.url)
    monkeypatch.setenv(NOW_ENV, BEFORE_CLOSE)
    monkeypatch.chdir(tmp_path)
    yield server
    server.stop()
    slices.clear()


def book(numbers: list[str]) -> xh.Payload:
    rows = [["管理番号", "氏名", "電話番号"]] + [
        [f"W{i:04d}", f"住民{i}", n] for i, n in enumerate(numbers)
    ]
    settings = [["項目", "値"], ["本文", "【○○市】{氏名}様 お知らせです"]]
    return xh.make_payload(
        {"送信リスト": rows, "設定": settings}, selection=f"$A$2:$A${len(numbers) + 1}"
    )


def test_the_window_closing_during_a_ribbon_send_schedules_the_rest_and_says_so(
    sandbox: SandboxServer,
) -> None:
    numbers = [mobile(5000 + 100 * (i // 90) + 10 + i % 90) for i in itertools.islice(_tails, ROWS)]
    done: list[int] = []

    def progress(n: int, total: int) -> None:
        done.append(n)
        if len(done) == 3:
            os.environ[NOW_ENV] = AFTER_CLOSE  # the send has reached 19:00

    run = xh.run_macro(
        lambda: ribbon.send_selected(confirm=lambda plan: True, progress=progress, slice_rows=ROWS),
        book(numbers),
    )
    codes = Counter(xh.column(run.sheet("送信リスト"), "結果コード").values())
    assert set(codes) <= {"ACCEPTED", "SCHEDULED"} and sum(codes.values()) == ROWS
    # Each result drained lets at most one dispatch window (2 x 16) more start: by the third,
    # at most 96 messages can have checked the clock before 19:00.
    assert codes["SCHEDULED"] >= ROWS - 96
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/messages", timeout=10) as response:
        messages = [m for m in json.load(response) if m["to"] in set(numbers)]
    assert Counter(m["to"] for m in messages) == Counter(dict.fromkeys(numbers, 1))
    [summary] = run.alerts
    assert (
        f"送信中に送信時間帯が終わったため{codes['SCHEDULED']}件を次の送信可能な時間に予約しました"
        in summary["prompt"]
    )
