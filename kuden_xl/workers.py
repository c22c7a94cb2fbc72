"""A run's worker pool: items to worker threads, their results back on the calling thread.

Workers put what they finish on a queue that the caller's thread drains, so the callback for each
result (a single-threaded workbook writer, a progress bar, progressive saves) needs no locking.
At most twice the concurrency is submitted but unfinished: memory stays flat for 10,000 items.

Stopping: once ``stop`` is set nothing new starts; items in flight finish and their results are
still handed over. Ctrl-C and SIGTERM set it too (``signals``): reported to the caller, never
raised mid-callback, and items in flight are waited for even through another Ctrl-C.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .signals import stop_on_signals

log = logging.getLogger("kuden_xl.workers")

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Done(Generic[R]):
    """One finished item: its result (None: none to hand over) and an error that stops the run."""

    index: int
    result: R | None
    fatal: BaseException | None = None


@dataclass
class Collected(Generic[R]):
    """Results in the order they finish, each handed to ``on_result`` on the calling thread."""

    on_result: Callable[[R], None] | None
    stop: threading.Event
    results: dict[int, R] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)  # the first one is raised at the end
    callback_failed: bool = False

    def finish(self, item: Done[R]) -> None:
        if item.fatal is not None:
            self.errors.append(item.fatal)
        if item.result is None:
            return
        self.results[item.index] = item.result
        if self.on_result is not None and not self.callback_failed:
            try:
                self.on_result(item.result)
            except Exception as exc:  # e.g. the workbook cannot be written: stop sending
                self.stop.set()
                self.callback_failed = True
                self.errors.insert(0, exc)

    def in_order(self) -> list[R]:
        return [self.results[i] for i in sorted(self.results)]


def run_pool(
    items: Sequence[T],
    work: Callable[[int, T], Done[R]],
    concurrency: int,
    collected: Collected[R],
) -> bool:
    """Run ``work`` for each item on ``concurrency`` threads until done or ``collected.stop``;
    whether Ctrl-C or SIGTERM stopped it."""
    stop = collected.stop
    done: queue.Queue[Done[R]] = queue.Queue()
    window = concurrency * 2  # submitted but unfinished: memory stays flat for 10,000
    pending = iter(enumerate(items))
    running: set[Future[None]] = set()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="kuden-send") as pool:
        with stop_on_signals(stop) as interrupted:
            try:
                while True:
                    while len(running) < window and not stop.is_set():
                        nxt = next(pending, None)
                        if nxt is None:
                            break
                        future = pool.submit(_safe_work, work, stop, nxt[0], nxt[1], done)
                        running.add(future)
                        future.add_done_callback(running.discard)
                    if not running and done.empty():
                        break
                    try:  # a timeout keeps Ctrl-C alive on Windows
                        collected.finish(done.get(timeout=0.1))
                    except queue.Empty:
                        continue
            except KeyboardInterrupt:
                interrupted.append(True)
                stop.set()
                log.warning("interrupted: settling %d messages in flight", len(running))
                while running:
                    try:
                        wait(list(running), timeout=0.1)
                    except KeyboardInterrupt:
                        continue  # in-flight messages must be settled before we leave
                while not done.empty():
                    collected.finish(done.get_nowait())
    return bool(interrupted)


def _safe_work(
    work: Callable[[int, T], Done[R]],
    stop: threading.Event,
    index: int,
    item: T,
    done: queue.Queue[Done[R]],
) -> None:
    """A worker: always reports back, even on a bug, so the caller never waits forever."""
    try:
        done.put(work(index, item))
    except BaseException as exc:  # a bug: the entry stays reserved, reconcile will see it
        stop.set()
        done.put(Done(index, None, exc))
