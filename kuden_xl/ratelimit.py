"""The send rate limit: a token bucket shared by the dispatch workers."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    """Thread-safe token bucket: ``rate`` tokens a second, at most ``burst`` saved up.

    Each ``acquire`` takes its token at once, possibly in the future (the bucket may go
    negative), then sleeps until then outside the lock, so waiting callers are served in order
    and the long-run rate is exact.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, cancel: threading.Event | None = None) -> bool:
        """Block until a token is ours; False if ``cancel`` was set while waiting."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait <= 0:
            return True
        if cancel is None:
            time.sleep(wait)
            return True
        return not cancel.wait(wait)
