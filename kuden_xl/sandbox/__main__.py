"""``python -m kuden_xl.sandbox`` and ``kuden-xl sandbox serve``: run the sandbox alone; prints
its URL, stops on SIGINT/SIGTERM. The one definition of the sandbox's command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from .server import DEFAULT_SLOW_S, DEFAULT_TOKEN, serve

DEFAULT_PORT = 8765


def main(argv: list[str] | None = None, *, prog: str = "python -m kuden_xl.sandbox") -> None:
    parser = argparse.ArgumentParser(prog=prog, description="kuden-xl sandbox SMS provider")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="0 picks a free port (default: 8765)"
    )
    parser.add_argument("--state", type=Path, default=None, help="SQLite state file")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--deliver-after-s", type=float, default=0.0)
    parser.add_argument("--slow-s", type=float, default=DEFAULT_SLOW_S)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument(
        "--host", default="127.0.0.1", help="e.g. 127.0.0.2: not loopback to clients"
    )
    parser.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM private key of --tls-cert")
    args = parser.parse_args(argv)
    serve(
        args.port,
        args.state,
        args.latency_ms,
        args.deliver_after_s,
        slow_s=args.slow_s,
        token=args.token,
        host=args.host,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )


if __name__ == "__main__":
    main()
