"""The gateway interface every provider implements, and its value types.

A gateway makes **one attempt** per call and classifies what happened; the retry policy lives in
`dispatch.py`, which knows only this module. Classification is the gateway's job because only it
knows what a provider's answer guarantees:

- ``ACCEPTED`` / ``SCHEDULED``: the provider took the message (``message_id`` set).
- ``REJECTED``: the provider refused this message; sending it again as is will not help.
- ``NOT_PROCESSED``: provably nothing was processed (429, connection refused, a documented
  "nothing recorded" 5xx). Safe to try again, with or without an idempotency key.
- ``MAYBE_PROCESSED``: the request may have reached the provider (timeout, dropped connection).
  Only safe to try again with the same idempotency key, where the provider honours one.

Each gateway also says *which* endpoint and account it is (``GatewayIdentity``): the ledger
records it with every send, and only the same gateway may settle an entry by looking it up
(DESIGN §6). A send id that another endpoint does not know proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from ..schema import Delivery


class Attempt(str, Enum):
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"
    NOT_PROCESSED = "not_processed"
    MAYBE_PROCESSED = "maybe_processed"


@dataclass(frozen=True)
class GatewayIdentity:
    """Which gateway a send went through: provider, endpoint and account — never a secret.

    ``base_url`` is the endpoint as configured (scheme and host lower-cased, no trailing slash;
    the embedded sandbox, whose port changes every run, uses ``embedded`` and names its state
    file as ``account``). ``account`` is whatever tells two customers of one endpoint apart: the
    Karaden tenant id, the AOS clientId, the Twilio account SID; empty where there is none.
    Two identities are the same gateway exactly when they are equal.
    """

    provider: str
    base_url: str
    account: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", _normal_url(self.base_url))

    @property
    def label(self) -> str:
        """For staff: provider, endpoint and account (nothing secret), e.g. in a warning."""
        where = f"{self.provider} {self.base_url}"
        return f"{where}（{self.account}）" if self.account else where


def _normal_url(url: str) -> str:
    """Scheme, host, port and path only: user info and query may carry secrets."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return url  # "embedded" and other non-URLs are compared as given
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class OutgoingMessage:
    """One SMS to send. ``send_id`` is ours: the idempotency key / client tag at the provider."""

    send_id: str
    to: str  # national form, 11 digits: 09012345678
    body: str
    scheduled_at: datetime | None = None  # aware datetime; None = now


@dataclass(frozen=True)
class Receipt:
    """What one attempt (or a lookup by our send id) found."""

    send_id: str
    attempt: Attempt
    message_id: str | None = None
    reason: str | None = None  # the provider's words, for 結果 and logs
    retry_after_s: float | None = None  # a 429's Retry-After, when given


@dataclass(frozen=True)
class DeliveryStatus:
    message_id: str
    delivery: Delivery
    reason: str | None = None  # e.g. 圏外, shown as 不達（圏外）
    segments: int | None = None  # the billed count (通数) once the provider knows it


@dataclass(frozen=True)
class Capabilities:
    max_length: int  # characters per message the provider accepts
    can_schedule: bool
    idempotent: bool  # honours our send id as an idempotency key (same key -> same answer)
    lookup_by_send_id: bool  # can find a message by our send id (to reconcile)
    max_requests_per_second: float | None = None
    # How far ahead a scheduled send may be (Twilio: 15 min to 35 days); None: no bound. The
    # plan holds a row whose slot falls outside, rather than sending it at the wrong time.
    schedule_min_ahead: timedelta | None = None
    schedule_max_ahead: timedelta | None = None
    # Message ids one status request may carry (the sandbox: 1000); the gateway splits a longer
    # ``status`` call into requests of this size. None: the provider's API sets no such bound.
    max_status_ids: int | None = None


@dataclass(frozen=True)
class SentQuery:
    """What a provider without a client reference (Twilio) may find a send by.

    The ledger keeps only keyed hashes of number and body, never the number itself, so a
    candidate message is tested with ``matches(national_number, body)``. ``taken(message_id)``:
    the ledger already records that message for another send (the same text sent earlier), so
    it is never this one's.
    """

    send_id: str
    reserved_at: datetime  # aware; the request left after this
    matches: Callable[[str, str], bool] = lambda number, body: False
    taken: Callable[[str], bool] = lambda message_id: False


@runtime_checkable
class Gateway(Protocol):
    """An SMS provider. Implementations are thread-safe: dispatch calls ``send`` concurrently."""

    name: str
    identity: GatewayIdentity  # recorded with each send; only this gateway may reconcile it
    capabilities: Capabilities

    def send(self, message: OutgoingMessage) -> Receipt:
        """Make one attempt to send; never raises for a per-message failure (see module doc).

        Raises:
            GatewayAuthError: credentials refused (no message can succeed).
        """
        ...

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        """Delivery status of messages by provider message id (batched by the caller)."""
        ...

    def lookup(self, send_id: str) -> Receipt | None:
        """Find a message by *our* send id; None when the provider never accepted it.

        Only meaningful when ``capabilities.lookup_by_send_id``.
        """
        ...

    def check_connection(self) -> None:
        """One harmless authenticated read (nothing is sent), for ``kuden-xl connection test``.

        Raises:
            GatewayAuthError: credentials refused.
            GatewayUnavailable: anything else that keeps the read from answering.
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class FindsSent(Protocol):
    """A gateway that can find a send without our send id (``lookup_by_send_id`` False)."""

    def find_sent(self, query: SentQuery) -> Receipt | None:
        """The provider's record of the send, or None when it cannot tell (never "not sent").

        Raises:
            GatewayAuthError: credentials refused.
            GatewayError: the query failed.
        """
        ...
