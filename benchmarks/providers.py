"""Throughput of dispatch() through each real provider's module against a local stub of that
provider with 50 ms latency; AOS also must keep every 1-second window within its 600 TPS.

Each stub is the provider's fake from the tests (``tests/providers/fakes.py``), served on
127.0.0.1 by a separate process (``--serve NAME``), which also records when each send arrived.
Baseline, in the same run against the same stub: a sequential loop of the same adapter's
``send`` (measured on a subset). Every message must be accepted exactly once.

Adding a provider: one ``Entry`` in ``ENTRIES`` (its fake, its environment, its module).

Usage: python benchmarks/providers.py [--only aos] [--messages 3000] [--concurrency 64]
One line per provider:
RESULT name=providers_<name> value=<msgs/s> unit=messages/s baseline=<msgs/s> ratio=<x>
[peak_1s=<requests in the busiest 1-second window>]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "providers"))

from fakes import (  # noqa: E402
    AOS_CLIENT,
    AOS_SMS_CODE,
    AOS_TOKEN,
    SERVICE,
    TENANT,
    AosFake,
    KaradenFake,
    TwilioCreateFake,
)
from scripted import Reply, Seen  # noqa: E402

from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch  # noqa: E402
from kuden_xl.gateways import aos, karaden, twilio  # noqa: E402
from kuden_xl.gateways.base import Gateway, OutgoingMessage  # noqa: E402
from kuden_xl.ledger import Ledger  # noqa: E402

BODY = "国民健康保険料の納付期限が過ぎています。お早めに納付をお願いします。市役所保険年金課"
LATENCY_S = 0.05
TARGET_RATIO = 20.0


@dataclass(frozen=True)
class Entry:
    """One provider in the benchmark."""

    name: str
    fake: Callable[[float], Any]  # latency -> the stub's handler (a tests/providers fake)
    env: dict[str, str]  # the provider configured only through the environment
    open: Callable[[str], Gateway]  # base URL -> the gateway (its module's from_settings)
    ceiling: float | None = None  # requests/s no 1-second window may exceed
    min_rate: float | None = None  # messages/s the run must reach


ENTRIES = [
    Entry(
        "karaden",
        KaradenFake,
        {
            "KUDEN_XL_TOKEN": "karaden-token",
            "KUDEN_XL_KARADEN_TENANT_ID": TENANT,
            "KUDEN_XL_KARADEN_SERVICE_ID": SERVICE,
        },
        karaden.from_settings,
    ),
    Entry(
        "aos",
        AosFake,
        {
            "KUDEN_XL_TOKEN": AOS_TOKEN,
            "KUDEN_XL_AOS_CLIENT_ID": AOS_CLIENT,
            "KUDEN_XL_AOS_SMS_CODE": AOS_SMS_CODE,
        },
        aos.from_settings,
        ceiling=600.0,
        min_rate=540.0,
    ),
    Entry(
        "twilio",
        TwilioCreateFake,
        {
            "KUDEN_XL_TOKEN": "twilio-token",
            "KUDEN_XL_TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "KUDEN_XL_TWILIO_FROM": "KUDENXL",
        },
        twilio.from_settings,
    ),
]


def serve(name: str) -> None:
    """The stub process: the provider's fake behind 50 ms, plus ``/_bench/arrivals``.

    A small asyncio HTTP/1.1 server (keep-alive, Content-Length bodies) rather than
    ``http.server``: the stub must not be what limits the run on a small machine.
    """
    entry = next(e for e in ENTRIES if e.name == name)
    fake = entry.fake(0.0)
    arrivals: list[float] = []

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
                }
                raw = await reader.readexactly(int(headers.get("content-length") or 0))
                parts = urlsplit(target)
                seen = Seen(
                    method,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    parse_qsl(raw.decode("utf-8"), keep_blank_values=True),
                    headers,
                )
                if seen.path == "/_bench/arrivals":
                    reply = Reply(200, arrivals)
                else:
                    arrivals.append(time.time())
                    await asyncio.sleep(LATENCY_S)
                    reply = fake(seen)
                body = json.dumps(reply.body).encode("utf-8")
                writer.write(
                    f"HTTP/1.1 {reply.status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=512)
        print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(main())


def start_stub(name: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the {name} stub did not start: {url!r}")
    return proc, url


def peak_1s(times: list[float]) -> int:
    """Requests in the busiest 1-second window (any start)."""
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def outgoing(count: int, offset: int) -> list[Outgoing]:
    return [
        Outgoing(row=k + 2, number=f"0901{offset + k:07d}", body=BODY, segments=1)
        for k in range(count)
    ]


def run(entry: Entry, messages: int, base_messages: int, concurrency: int) -> str:
    os.environ.update(entry.env)
    proc, url = start_stub(entry.name)
    try:
        gateway = entry.open(url)
        started = time.perf_counter()
        for item in outgoing(base_messages, 5_000_000):
            gateway.send(OutgoingMessage(f"base-{item.row}", item.number, item.body))
        base = base_messages / (time.perf_counter() - started)
        first = len(requests.get(f"{url}/_bench/arrivals", timeout=30).json())
        settings = DispatchSettings(concurrency=concurrency)
        with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "l.sqlite3") as led:
            started = time.perf_counter()
            results = dispatch(outgoing(messages, 0), gateway, led, settings=settings)
            elapsed = time.perf_counter() - started
            codes = Counter(r.code.value for r in results)
            assert codes == {"ACCEPTED": messages}, codes
            assert led.unsettled() == []
        gateway.close()
        arrivals = requests.get(f"{url}/_bench/arrivals", timeout=30).json()[first:]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
    assert len(arrivals) == messages, (len(arrivals), messages)  # each sent once, no retries
    value = messages / elapsed
    peak = peak_1s(arrivals)
    print(
        f"{entry.name}: baseline sequential send() {base:.1f} msg/s ({base_messages}); "
        f"dispatch {messages} messages, concurrency {concurrency}: {value:.1f} msg/s; "
        f"busiest 1-second window {peak} requests",
        flush=True,
    )
    failed = []
    if value / base < TARGET_RATIO:
        failed.append(f"ratio {value / base:.1f} < {TARGET_RATIO}")
    if entry.min_rate is not None and value < entry.min_rate:
        failed.append(f"{value:.1f} msg/s < {entry.min_rate}")
    if entry.ceiling is not None and peak > entry.ceiling:
        failed.append(f"peak {peak} > {entry.ceiling:.0f} requests in 1 s")
    if failed:
        print(f"{entry.name}: TARGET MISSED: {', '.join(failed)}", flush=True)
    line = (
        f"RESULT name=providers_{entry.name} value={value:.1f} unit=messages/s "
        f"baseline={base:.1f} ratio={value / base:.1f}"
    )
    return line + (f" peak_1s={peak}" if entry.ceiling is not None else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=[e.name for e in ENTRIES])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--baseline-messages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    os.environ["KUDEN_XL_CONFIG"] = os.devnull  # no user config.toml: only the environment
    lines = [
        run(entry, args.messages, args.baseline_messages, args.concurrency)
        for entry in ENTRIES
        if args.only in (None, entry.name)
    ]
    print(json.dumps({"providers": [e.name for e in ENTRIES]}))
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
