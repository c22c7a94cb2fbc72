"""The token bucket holds a configured rate: dispatch() at 50 messages/s for 10 s.

Runs dispatch() (16 workers, ledger on) against an in-process sandbox with 20 ms latency and
measures the rate *the provider sees*: (n - 1) / (last - first) over the sandbox's received
times. Also reports the busiest one-second window. Must be within ±5 % of the target.

Usage: python benchmarks/rate_limit.py [--rate 50] [--seconds 10]
Last line: RESULT name=rate_limit value=<achieved/s> unit=messages/s baseline=50 ratio=<x>
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch  # noqa: E402
from kuden_xl.gateways.http import HttpSettings  # noqa: E402
from kuden_xl.gateways.sandbox import SandboxGateway  # noqa: E402
from kuden_xl.ledger import Ledger  # noqa: E402
from kuden_xl.sandbox import SandboxServer  # noqa: E402

BODY = "国民健康保険料の納付についてお知らせします。"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    outgoing = [
        Outgoing(row=k + 2, number=f"080{k:06d}99", body=BODY, segments=1) for k in range(count)
    ]
    server = SandboxServer(port=0, latency_ms=20).start()
    gateway = SandboxGateway(HttpSettings(base_url=server.url, token=server.token))
    try:
        with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "l.sqlite3") as led:
            settings = DispatchSettings(concurrency=16, rate_per_second=args.rate)
            results = dispatch(outgoing, gateway, led, settings=settings)
        assert all(r.code.value == "ACCEPTED" for r in results) and len(results) == count
        stored = requests.get(f"{server.url}/_sandbox/messages", timeout=30).json()
    finally:
        gateway.close()
        server.stop()
    times = sorted(datetime.fromisoformat(m["received_at"]).timestamp() for m in stored)
    assert len(times) == count, len(times)
    achieved = (count - 1) / (times[-1] - times[0])
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    ratio = achieved / args.rate
    print(
        f"{count} messages at {args.rate:g}/s: provider saw {achieved:.2f}/s over "
        f"{times[-1] - times[0]:.2f} s; busiest 1 s window {busiest} messages"
    )
    if not 0.95 <= ratio <= 1.05:
        print("WARNING: outside ±5% of the configured rate")
    print(
        f"RESULT name=rate_limit value={achieved:.2f} unit=messages/s "
        f"baseline={args.rate:g} ratio={ratio:.3f}"
    )


if __name__ == "__main__":
    main()
