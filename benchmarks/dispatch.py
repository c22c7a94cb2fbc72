"""Throughput of dispatch() — ledger reserve/settle included — against a sandbox with 50 ms latency.

The sandbox runs as a separate process (``python -m kuden_xl.sandbox --latency-ms 50``), like a
provider would. Baseline, in the same run against the same server: the obvious script, a
sequential loop of ``requests.post`` per message (measured on a subset). Checks that the sandbox
holds every message exactly once.

Usage: python benchmarks/dispatch.py [--messages 2000] [--concurrency 64] [--profile]
Last line: RESULT name=dispatch value=<msgs/s> unit=messages/s baseline=<msgs/s> ratio=<x>
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch  # noqa: E402
from kuden_xl.gateways.http import HttpSettings  # noqa: E402
from kuden_xl.gateways.sandbox import SandboxGateway  # noqa: E402
from kuden_xl.ledger import Ledger  # noqa: E402
from kuden_xl.sandbox import DEFAULT_TOKEN  # noqa: E402

BODY = "国民健康保険料の納付期限が過ぎています。お早めに納付をお願いします。市役所保険年金課"
LATENCY_MS = 50
TARGET = 600.0


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuden_xl.sandbox", "--port", "0", "--latency-ms", str(LATENCY_MS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # it logs each request; the benchmark does not need them
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {url!r}")
    return proc, url


def baseline(url: str, count: int) -> float:
    """Messages per second of a sequential requests.post loop (a new connection each)."""
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    started = time.perf_counter()
    for k in range(count):
        answer = requests.post(
            f"{url}/v1/messages",
            json={"to": f"070{k:06d}99", "body": BODY},
            headers={**headers, "Idempotency-Key": f"baseline-{k}"},
            timeout=10,
        )
        answer.raise_for_status()
    return count / (time.perf_counter() - started)


def run(url: str, messages: int, concurrency: int, profile: bool) -> float:
    outgoing = [
        Outgoing(row=k + 2, number=f"080{k:06d}99", body=BODY, segments=1) for k in range(messages)
    ]
    settings = DispatchSettings(concurrency=concurrency)
    http = HttpSettings(base_url=url, token=DEFAULT_TOKEN, pool_size=concurrency)
    gateway = SandboxGateway(http)
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "ledger.sqlite3") as led:
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        results = dispatch(outgoing, gateway, led, settings=settings, workbook="bench.xlsx")
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        codes = Counter(r.code.value for r in results)
        assert codes == {"ACCEPTED": messages}, codes
        assert led.count() == messages and led.unsettled() == []
    gateway.close()
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--baseline-messages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    proc, url = start_sandbox()
    try:
        requests.post(f"{url}/_sandbox/reset", timeout=10).raise_for_status()
        base = baseline(url, args.baseline_messages)
        print(
            f"baseline: sequential requests.post, {args.baseline_messages} messages: "
            f"{base:.1f} messages/s"
        )
        value = run(url, args.messages, args.concurrency, args.profile)
        print(
            f"dispatch: {args.messages} messages, concurrency {args.concurrency}, "
            f"ledger on: {value:.1f} messages/s"
        )
        stored = requests.get(f"{url}/_sandbox/messages", timeout=30).json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

    expected = args.messages + args.baseline_messages
    pairs = Counter((m["to"], m["body"]) for m in stored)
    keys = Counter(m["idempotency_key"] for m in stored)
    duplicates = sum(n - 1 for n in pairs.values() if n > 1)
    print(f"sandbox holds {len(stored)} messages (expected {expected}), duplicates {duplicates}")
    assert len(stored) == expected and duplicates == 0 and max(keys.values()) == 1
    ratio = value / base
    if value < TARGET or ratio < 20:
        print(f"WARNING: below target ({TARGET:.0f}/s and 20x baseline)")
    print(
        f"RESULT name=dispatch value={value:.1f} unit=messages/s "
        f"baseline={base:.1f} ratio={ratio:.1f}"
    )


if __name__ == "__main__":
    main()
