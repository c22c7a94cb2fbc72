"""Ctrl-C and SIGTERM during a run: a flag that stops it cleanly, never an exception mid-callback."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[list[bool]]:
    """Ctrl-C and SIGTERM stop the run through a flag while dispatching, never as an exception
    landing mid-callback (a result written but not counted). Only the main thread may set
    handlers; a SIGINT the parent chose to ignore (a background job) stays ignored."""
    interrupted: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        interrupted.append(True)
        stop.set()

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, on_signal)}
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, on_signal)
    try:
        yield interrupted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
