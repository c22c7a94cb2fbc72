"""The embedded sandbox SMS provider: a real HTTP server on 127.0.0.1 for demo, training, tests.

Standard library only (no requests here): the CLI can start it in-process, or it runs alone with
``python -m kuden_xl.sandbox --port 0 --state FILE``. Outcomes are chosen by the destination
number's last two digits; see ``rules.OUTCOMES``.
"""

from __future__ import annotations

from .rules import OUTCOMES, Fault
from .server import DEFAULT_SLOW_S, DEFAULT_TOKEN, SandboxServer, serve

__all__ = ["DEFAULT_SLOW_S", "DEFAULT_TOKEN", "OUTCOMES", "Fault", "SandboxServer", "serve"]
