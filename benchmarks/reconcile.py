"""Reconciliation of a crashed run's entries: 80 lookups against a 600 ms gateway.

A run killed mid-send leaves its reservations for the next run, which asks the gateway about
each one before anything is sent (staff wait meanwhile). The sandbox answers every request
after ``--latency-ms``; half of the entries arrived before the crash. Baseline in the same run:
the same lookups one at a time (``concurrency=1``, what reconcile did before).

Usage: python benchmarks/reconcile.py [--count 80] [--latency-ms 600]
Last line: RESULT name=reconcile value=<s> unit=s baseline=<sequential s> ratio=<x>
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kuden_xl.clock import JST  # noqa: E402
from kuden_xl.gateways.base import OutgoingMessage  # noqa: E402
from kuden_xl.gateways.http import HttpSettings  # noqa: E402
from kuden_xl.gateways.sandbox import SandboxGateway  # noqa: E402
from kuden_xl.ledger import Ledger  # noqa: E402
from kuden_xl.reconcile import LOOKUP_CONCURRENCY, reconcile  # noqa: E402
from kuden_xl.sandbox import SandboxServer  # noqa: E402

BODY = "国民健康保険料の納付についてお知らせします。"
AT = datetime(2026, 11, 27, 10, 0, tzinfo=JST)


def crashed_ledger(path: Path, gateway: SandboxGateway, count: int) -> None:
    with Ledger.open(path) as ledger:
        for k in range(count):
            sid, number = uuid.uuid4().hex, f"080{k:06d}99"
            ledger.reserve(
                ledger.identity(number, BODY),
                send_id=sid,
                provider=gateway.name,
                gateway=gateway.identity,
                segments=1,
                at=AT,
            )
            if k % 2 == 0:
                gateway.send(OutgoingMessage(sid, number, BODY))


def timed(path: Path, gateway: SandboxGateway, concurrency: int, count: int) -> float:
    with Ledger.open(path) as ledger:
        started = time.monotonic()
        report = reconcile(ledger, gateway, clock=lambda: AT, concurrency=concurrency)
        elapsed = time.monotonic() - started
    assert report.settled == count, report
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--latency-ms", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # Two servers on one state file: the crashed run sent through a fast one, the lookups
        # go through a slow one standing for the same gateway (hence its identity).
        state = Path(tmp) / "sandbox.sqlite3"
        fast = SandboxServer(state_path=state).start()
        slow = SandboxServer(state_path=state, latency_ms=args.latency_ms).start()
        seeding = SandboxGateway(HttpSettings(base_url=fast.url, token=fast.token))
        looking = SandboxGateway(
            HttpSettings(base_url=slow.url, token=slow.token, read_timeout_s=30),
            identity=seeding.identity,
        )
        try:
            crashed_ledger(Path(tmp) / "seq.sqlite3", seeding, args.count)
            shutil.copyfile(Path(tmp) / "seq.sqlite3", Path(tmp) / "par.sqlite3")
            baseline = timed(Path(tmp) / "seq.sqlite3", looking, 1, args.count)
            value = timed(Path(tmp) / "par.sqlite3", looking, LOOKUP_CONCURRENCY, args.count)
        finally:
            seeding.close()
            looking.close()
            slow.stop()
            fast.stop()
    print(
        f"{args.count} lookups at {args.latency_ms} ms: one at a time {baseline:.1f} s,"
        f" concurrent {value:.1f} s"
    )
    print(
        f"RESULT name=reconcile value={value:.2f} unit=s baseline={baseline:.2f} "
        f"ratio={baseline / value:.1f}"
    )


if __name__ == "__main__":
    main()
