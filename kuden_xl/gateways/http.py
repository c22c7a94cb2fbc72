"""HTTP plumbing shared by every provider: session, TLS, proxy, and the one error mapping.

``classify_transport`` is the only place that turns what ``requests`` reports into the Attempt
classes of ``base.py``; provider modules read only the answers it leaves to them (2xx and the
provider's own 4xx). ``requests`` is imported here and in provider modules only, so that
``import kuden_xl`` stays cheap.

Connection refused vs. dropped after sending: with ``max_retries=0`` urllib3 reports a failed
connect as ``MaxRetryError(reason=NewConnectionError | ConnectTimeoutError)`` (nothing left our
side: NOT_PROCESSED) and a failure while waiting for the answer as ``ProtocolError`` /
``ReadTimeoutError`` (the request was written: MAYBE_PROCESSED). Anything we cannot place is
MAYBE_PROCESSED, the safe side: it is reconciled, never resent blindly.
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from ..errors import GatewayAuthError, GatewayUnavailable
from ..version import installed_version
from .base import Attempt, Receipt

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SECRET_QUERY = re.compile(r"([?&]token=)[^&\s\"]*", re.IGNORECASE)


class _RedactQuerySecrets(logging.Filter):
    """urllib3 logs every request line, query included, at DEBUG; AOS's token travels in the
    query of its GET endpoints (as its document specifies), so it is masked there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1***", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQuerySecrets())


def is_this_pc(base_url: str) -> bool:
    """The gateway runs on this PC (the sandbox): no proxy of any kind applies to it."""
    return urlsplit(base_url).hostname in _LOOPBACK


@dataclass(frozen=True)
class HttpSettings:
    """How to reach one provider. ``token`` stays out of repr (and so out of logs)."""

    base_url: str
    token: str = field(repr=False)
    connect_timeout_s: float = 5.0
    # Below the sandbox's slow_s (3 s), so its "slow answer" fault shows as a timeout.
    read_timeout_s: float = 2.0
    proxy: str | None = None  # e.g. LGWAN's http://proxy.city.lg.jp:8080
    ca_bundle: str | None = None  # PEM file with the municipality's private CA certificates
    verify: bool = True  # False only for diagnosis; ca_bundle is the fix for private CAs
    pool_size: int = 32  # >= the dispatcher's concurrency, so every worker keeps a connection
    bearer: bool = True  # False where the token travels as a form field instead (AOS)


def make_session(settings: HttpSettings) -> requests.Session:
    """A pooled session for ``settings``; safe to share between threads (see HttpClient)."""
    session = requests.Session()
    # Retries are dispatch's decision, made with the classification below: none here.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=settings.pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"kuden-xl/{installed_version()}"
    if settings.bearer:
        session.headers["Authorization"] = f"Bearer {settings.token}"
    # A bearer-token API needs no cookies; refusing them keeps the shared session immutable.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    if settings.proxy:
        session.proxies = {"http": settings.proxy, "https": settings.proxy}
    if is_this_pc(settings.base_url):
        # The embedded sandbox: an HTTP(S)_PROXY from the environment must not capture it.
        session.trust_env = False
    return session


class HttpClient:
    """One provider's base URL, auth and timeouts over a single shared session.

    One session for all worker threads rather than one per thread: its urllib3 pool is
    thread-safe and sized to the concurrency, keep-alive connections are reused by whichever
    worker is free, and close() can release them all. Nothing mutates the session after
    construction (cookies are refused), which is what makes sharing it sound.
    """

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self._base = settings.base_url.rstrip("/")
        self._session = make_session(settings)
        # Passed per request: a per-request value wins over REQUESTS_CA_BUNDLE in the env.
        self._verify: bool | str = settings.ca_bundle or settings.verify
        # Likewise the proxy: requests lets HTTPS_PROXY (or Windows' Internet Options) override
        # session.proxies, but not a per-request value, so KUDEN_XL_PROXY stays in charge.
        self._proxies = dict(self._session.proxies)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
    ) -> requests.Response:
        """One request; transport failures raise ``requests.RequestException`` (classify them).

        ``data``: form fields (application/x-www-form-urlencoded), a repeated name allowed.
        """
        return self._session.request(
            method,
            self._base + path,
            json=json,
            params=params,
            data=list(data) if data is not None else None,
            headers=dict(headers or {}),
            timeout=(self.settings.connect_timeout_s, self.settings.read_timeout_s),
            verify=self._verify,
            proxies=self._proxies,
        )

    def attempt(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
    ) -> requests.Response | requests.RequestException:
        """``request``, a transport failure returned instead of raised: what
        ``classify_transport`` and ``expect_ok`` read."""
        try:
            return self.request(method, path, json=json, params=params, headers=headers, data=data)
        except requests.RequestException as exc:
            return exc

    def close(self) -> None:
        self._session.close()


def classify_transport(
    send_id: str,
    outcome: requests.Response | requests.RequestException,
    *,
    server_error: Attempt = Attempt.MAYBE_PROCESSED,
    provider: str | None = None,
) -> Receipt | None:
    """What the transport alone decides about a send attempt; None leaves it to the provider.

    ``server_error`` is the class of a 5xx: MAYBE_PROCESSED unless the provider documents that
    its 5xx never records anything (the sandbox does). ``provider`` (its name in the config) is
    carried by the errors raised, with the HTTP status when there was an answer.

    Raises:
        GatewayAuthError: 401/403 — no message can succeed with these credentials.
        GatewayUnavailable: TLS failure, or a URL that cannot work; nothing was sent.
    """
    if isinstance(outcome, requests.Response):
        return _classify_answer(send_id, outcome, server_error, provider)
    return _classify_failure(send_id, outcome, provider)


def _classify_answer(
    send_id: str, response: requests.Response, server_error: Attempt, provider: str | None
) -> Receipt | None:
    """An answer: refused credentials, 429 and 5xx are the transport's; the rest the provider's."""
    code = response.status_code
    if code in (401, 403):
        raise GatewayAuthError(
            f"SMS事業者が認証情報を受け付けませんでした（HTTP {code}）。"
            f"APIトークンの設定を確認してください。 / credentials refused (HTTP {code})",
            provider=provider,
            status=code,
        )
    if code == 429:
        return Receipt(
            send_id,
            Attempt.NOT_PROCESSED,
            reason="混雑のため事業者が受付を制限しました（HTTP 429）",
            retry_after_s=_retry_after(response.headers.get("Retry-After")),
        )
    if code >= 500:
        return Receipt(send_id, server_error, reason=f"事業者側のエラー（HTTP {code}）")
    return None


def _classify_failure(
    send_id: str, exc: requests.RequestException, provider: str | None
) -> Receipt:
    """No answer: a setting that cannot work raises, the rest is placed by what was sent."""
    if isinstance(exc, requests.exceptions.SSLError):
        raise GatewayUnavailable(
            "SMS事業者とのTLS（SSL）接続を確立できません。LGWAN・プロキシ経由の場合は、"
            "CA証明書の設定（KUDEN_XL_CA_BUNDLE または設定ファイルの ca_bundle）に"
            "自治体の証明書ファイルを指定してください。"
            f" / TLS failed; check the ca_bundle setting ({_first_line(_tls_cause(exc))})",
            provider=provider,
        ) from exc
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        ),
    ):
        raise GatewayUnavailable(
            f"SMS事業者の接続先設定が不正です: {_first_line(exc)} / invalid gateway URL or header",
            provider=provider,
        ) from exc
    if isinstance(exc, requests.exceptions.ProxyError):
        # The proxy is down or refused the tunnel (407 login, 403 allow-list): nothing reached the
        # gateway, and no message can until the proxy setting is fixed, so the run stops here
        # rather than retrying every row.
        raise GatewayUnavailable(
            "プロキシ経由で SMS事業者に接続できません。プロキシの設定（KUDEN_XL_PROXY または"
            "設定ファイルの proxy）と、プロキシの認証・許可リストを情報担当者に確認してください。"
            f" / Proxy unreachable or refused the tunnel ({_first_line(exc)})",
            provider=provider,
        ) from exc
    if isinstance(exc, requests.exceptions.ConnectTimeout) or _never_connected(exc):
        return Receipt(send_id, Attempt.NOT_PROCESSED, reason="事業者に接続できません")
    if isinstance(exc, requests.exceptions.Timeout):
        return Receipt(
            send_id, Attempt.MAYBE_PROCESSED, reason="事業者の応答がありません（タイムアウト）"
        )
    return Receipt(send_id, Attempt.MAYBE_PROCESSED, reason="送信中に接続が切断されました")


def created(send_id: str, answer: Mapping[str, Any], id_key: str = "id") -> Receipt:
    """A 2xx answer naming the message under ``id_key``: SCHEDULED when its ``status`` says so,
    else ACCEPTED; MAYBE_PROCESSED when it names none we can read (reconciled, never resent)."""
    message_id = answer.get(id_key)
    if not isinstance(message_id, str):
        return Receipt(send_id, Attempt.MAYBE_PROCESSED, reason="事業者の応答を読めません")
    attempt = Attempt.SCHEDULED if answer.get("status") == "scheduled" else Attempt.ACCEPTED
    return Receipt(send_id, attempt, message_id=message_id)


def expect_ok(
    outcome: requests.Response | requests.RequestException, *, provider: str | None = None
) -> requests.Response:
    """For calls that are not sends (status, lookup): a 2xx answer, or GatewayError.

    A failed lookup must never read as "not found" (that would invite a resend), so every
    failure the send classification would not call an answer is raised here. The errors carry
    ``provider`` and the HTTP status when there was an answer.
    """
    receipt = classify_transport("", outcome, provider=provider)  # raises for auth and TLS
    status = outcome.status_code if isinstance(outcome, requests.Response) else None
    if receipt is not None:
        raise GatewayUnavailable(
            f"SMS事業者に照会できません: {receipt.reason} / gateway query failed",
            provider=provider,
            status=status,
        )
    assert isinstance(outcome, requests.Response)
    if not 200 <= outcome.status_code < 300:
        raise GatewayUnavailable(
            f"SMS事業者が照会を受け付けませんでした（HTTP {outcome.status_code}）"
            f" / gateway query refused",
            provider=provider,
            status=status,
        )
    return outcome


def json_object(response: requests.Response) -> dict[str, Any] | None:
    """The answer's JSON object, or None when it is not one."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _never_connected(exc: BaseException) -> bool:
    """True when the chain shows the TCP connection itself failed (refused, DNS, connect)."""
    # NewConnectionError (refused, DNS) subclasses ConnectTimeoutError in urllib3 1.26 and 2.x.
    return any(isinstance(link, urllib3.exceptions.ConnectTimeoutError) for link in _chain(exc))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: exception args, ``reason`` (MaxRetryError), __cause__.

    Not __context__: a send made inside an ``except`` block would inherit the exception being
    handled there, and an old "connection refused" must not excuse a new timeout.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        todo.extend(a for a in link.args if isinstance(a, BaseException))
        reason = getattr(link, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        if link.__cause__ is not None:
            todo.append(link.__cause__)


def _tls_cause(exc: BaseException) -> BaseException:
    """The ssl module's own error inside the wrappers: its text names the cause (unknown
    issuer, name mismatch, expiry), which the wrappers' long prefix would push past 200 chars."""
    return next((link for link in _chain(exc) if isinstance(link, ssl.SSLError)), exc)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _first_line(exc: BaseException) -> str:
    """The start of an exception's text for staff; a URL's token query value masked."""
    text = _SECRET_QUERY.sub(r"\1***", str(exc))
    return text.splitlines()[0][:200] if text else type(exc).__name__
