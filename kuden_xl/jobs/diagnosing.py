"""The connection test job (``kuden-xl connection test``, the ribbon's 接続テスト): each hop to
the provider checked in turn; nothing is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..gateways.base import Gateway
    from ..gateways.diagnose import ConnectionReport


def connection_test(
    provider: str | None = None, *, base_url: str | None = None
) -> ConnectionReport:
    """Check each hop to the provider (settings, proxy, CONNECT, TLS, credentials); send nothing.

    ``provider``: by the usual precedence when None (KUDEN_XL_PROVIDER > config file > sandbox).
    """
    from ..gateways import diagnose
    from ..gateways.http import HttpSettings
    from ..gateways.registry import open_gateway, provider_name, with_connection_settings

    name = provider_name(provider)

    def http_settings(gateway: Gateway) -> HttpSettings:
        return with_connection_settings(HttpSettings(gateway.identity.base_url, token=""))

    return diagnose.run(name, open_gateway(name, base_url=base_url), http_settings)
