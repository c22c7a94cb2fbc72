"""The retry policy: one message's attempts at a gateway, and the ledger state they add up to.

The gateway classifies each attempt (see ``gateways/base.py``):

- ACCEPTED / SCHEDULED / REJECTED end the message at once.
- NOT_PROCESSED is retried (bounded, exponential backoff, Retry-After honoured).
- MAYBE_PROCESSED is retried with the same send id only where the gateway is idempotent; without
  idempotency it is UNKNOWN at once — resending could text the resident twice.
- When attempts run out: GATEWAY_ERROR (ledger ``failed``) if no attempt may have been
  processed, else UNKNOWN. A maybe-processed attempt followed by a 429 is still UNKNOWN: the 429
  proves only that the *later* attempt did nothing.

The caller (``dispatch``) reserves before and settles after; this module never touches the ledger.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import GatewayAuthError, GatewayQuotaError, GatewayUnavailable
from .gateways.base import Attempt, Gateway, OutgoingMessage, Receipt
from .ledger import State
from .ratelimit import TokenBucket

log = logging.getLogger("kuden_xl.retry")

RETRY_AFTER_CAP_S = 30.0  # a provider's Retry-After beyond this is not worth holding a worker


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one message is tried (from ``DispatchSettings``)."""

    max_attempts: int
    backoff_s: float  # first retry delay; doubles per attempt up to backoff_cap_s
    backoff_cap_s: float

    def delay(self, attempt: int, receipt: Receipt) -> float:
        base = min(self.backoff_cap_s, self.backoff_s * 2 ** (attempt - 1))
        base *= random.uniform(0.9, 1.1)  # spread retries of many threads apart
        return float(min(RETRY_AFTER_CAP_S, max(base, receipt.retry_after_s or 0.0)))


@dataclass
class Outcome:
    """What one message's attempts add up to: the state to settle it with, and why."""

    state: State
    reason: str
    message_id: str | None = None
    fatal: BaseException | None = None
    refused: bool = False  # every attempt was made and none was processed (nothing reached it)
    cause: str = ""  # the gateway's words for the last attempt
    window_closed: bool = False  # not sent: the window closed before a retry could leave


def send_with_retries(
    gateway: Gateway,
    message: OutgoingMessage,
    policy: RetryPolicy,
    stop: threading.Event,
    bucket: TokenBucket | None,
    window_open: Callable[[], bool] | None,
) -> Outcome:
    """Send ``message`` (same send id every attempt) until an attempt settles it or retries end.

    ``stop`` set: no further attempt (a gateway error that no message survives sets it too).
    ``window_open``: for a message meant for now, asked before every attempt.
    """
    caps = gateway.capabilities
    maybe = False  # some attempt may have been processed
    last: Receipt | None = None
    tries = 0
    while tries < policy.max_attempts:
        if stop.is_set() or (bucket and not bucket.acquire(stop)):
            break
        # Checked again after waiting for the rate limit's turn or a retry's delay: a
        # message meant for now never leaves once the window has closed.
        if window_open is not None and not window_open():
            return _closed(maybe, tries, last)
        tries += 1
        try:
            receipt = gateway.send(message)
        except (GatewayAuthError, GatewayQuotaError, GatewayUnavailable) as exc:
            stop.set()  # no message can succeed: stop the run
            why = {
                GatewayAuthError: "認証エラーのため",
                GatewayQuotaError: "送信可能件数の上限に達したため",
            }.get(type(exc), "接続できないため")
            return _give_up(maybe, f"{why}送信を中止しました", exc)
        except Exception as exc:  # a gateway bug: the request may have left
            stop.set()
            return Outcome(State.UNKNOWN, f"送信中に予期しないエラー: {exc}", fatal=exc)
        last = receipt
        log.debug("send %s attempt %d: %s", message.send_id, tries, receipt.attempt.value)
        settled = _settled(receipt)
        if settled is not None:
            return settled
        if receipt.attempt is Attempt.MAYBE_PROCESSED:
            maybe = True
            if not caps.idempotent:
                break  # resending without an idempotency key could send twice
        if tries < policy.max_attempts and stop.wait(policy.delay(tries, last)):
            break
    return _ran_out(maybe, tries, last, policy, stop)


def _settled(receipt: Receipt) -> Outcome | None:
    """The outcome of an attempt that ends the message; None: it may be tried again."""
    if receipt.attempt is Attempt.ACCEPTED:
        return Outcome(State.ACCEPTED, "", receipt.message_id)
    if receipt.attempt is Attempt.SCHEDULED:
        return Outcome(State.SCHEDULED, "", receipt.message_id)
    if receipt.attempt is Attempt.REJECTED:
        return Outcome(State.REJECTED, receipt.reason or "事業者が受け付けませんでした")
    return None


def _ran_out(
    maybe: bool, tries: int, last: Receipt | None, policy: RetryPolicy, stop: threading.Event
) -> Outcome:
    """Attempts ended (used up, stopped, or not safe to repeat) without settling the message."""
    if tries == 0:
        return Outcome(State.FAILED, "中断したため送信しませんでした。もう一度送信できます")
    detail = f"{tries}回試行" + (f"、{last.reason}" if last and last.reason else "")
    if stop.is_set() and tries < policy.max_attempts:
        detail = "中断、" + detail
    outcome = _give_up(maybe, detail, None)
    outcome.refused = not maybe and tries == policy.max_attempts
    outcome.cause = (last.reason or "") if last else ""
    return outcome


def _closed(maybe: bool, tries: int, last: Receipt | None) -> Outcome:
    """The window closed while a message meant for now waited for its turn or a retry."""
    if maybe:  # an earlier attempt may have arrived: neither resend nor reschedule it
        return _give_up(maybe, f"{tries}回試行、送信時間帯が終わったため再試行せず", None)
    tried = f"（{tries}回試行、{last.reason}）" if last and last.reason else ""
    return Outcome(
        State.FAILED, f"送信時間帯が終わったため送信しませんでした{tried}", window_closed=True
    )


def _give_up(maybe: bool, detail: str, fatal: BaseException | None) -> Outcome:
    if maybe:
        return Outcome(
            State.UNKNOWN,
            f"届いたか確認できません（{detail}）。再送せず、配信結果を確認してください",
            fatal=fatal,
        )
    return Outcome(
        State.FAILED, f"送信できませんでした（{detail}）。もう一度送信できます", fatal=fatal
    )
