"""The commands about this PC's setup: the settings file (``config``), the provider's token
(``credentials``), the ``connection test`` and accepting a lost send ledger (``ledger reset``)."""

from __future__ import annotations

import sys

import click

from ..errors import SettingsError
from .console import EXIT_INCOMPLETE, friendly


@click.group()
def config() -> None:
    """The user's settings file and the settings in force (設定)."""


@config.command("path")
@friendly
def config_path() -> None:
    """Print where the settings file is (設定ファイルの場所).

    Example: kuden-xl config path
    """
    from ..paths import user_config_path

    click.echo(str(user_config_path()))


@config.command("show")
@click.option("--provider", help="送信事業者（既定: KUDEN_XL_PROVIDER → 設定ファイル → sandbox）")
@click.option("--base-url", help="事業者の接続先 URL")
@friendly
def config_show(provider: str | None, base_url: str | None) -> None:
    """Show each setting in force and where it came from; secrets masked (設定の確認).

    Example: kuden-xl config show --provider twilio
    """
    from .. import config_view
    from ..config import read_config_file
    from ..gateways.registry import provider_name
    from ..paths import user_config_path

    data = read_config_file()
    name = provider_name(provider, None, data)
    shown = config_view.settings(name, {"provider": provider, "base_url": base_url}, data)
    click.echo("\n".join(config_view.lines(name, str(user_config_path()), shown)))


@config.command("init")
@friendly
def config_init() -> None:
    """Write a commented settings file to fill in; an existing one is left alone (設定ファイル作成).

    Example: kuden-xl config init
    """
    from ..config_view import TEMPLATE
    from ..paths import user_config_path

    path = user_config_path()
    if path.exists():
        raise SettingsError(
            f"設定ファイル {path} は既にあります。そのまま編集してください。 / {path} exists."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE, encoding="utf-8")
    click.echo(f"設定ファイルを作りました: {path}")


@click.group()
def credentials() -> None:
    """The provider's token in the OS keyring (認証情報)."""


def _known_provider(provider: str) -> str:
    from ..gateways.registry import PROVIDERS

    name = provider.strip().lower()
    if name not in PROVIDERS:
        raise SettingsError(
            f"プロバイダ「{provider}」には未対応です（使えるもの: {'、'.join(PROVIDERS)}）。"
            f" / Unknown provider {provider!r}."
        )
    return name


@credentials.command("set")
@click.argument("provider")
@friendly
def credentials_set(provider: str) -> None:
    """Store PROVIDER's token in the OS keyring; asked for without echo (トークンの登録).

    Example: kuden-xl credentials set twilio
    """
    from ..credentials import store_token

    name = _known_provider(provider)
    token = click.prompt(f"{name} のトークン（表示されません）", hide_input=True)
    store_token(name, token)
    click.echo(f"{name} のトークンを OS の資格情報ストアに登録しました。")


@credentials.command("delete")
@click.argument("provider")
@friendly
def credentials_delete(provider: str) -> None:
    """Remove PROVIDER's token from the OS keyring (トークンの削除).

    Example: kuden-xl credentials delete twilio
    """
    from ..credentials import delete_token

    name = _known_provider(provider)
    if delete_token(name):
        click.echo(f"{name} のトークンを削除しました。")
    else:
        click.echo(f"{name} のトークンは登録されていません。")


@credentials.command("status")
@click.argument("provider")
@friendly
def credentials_status(provider: str) -> None:
    """Say where PROVIDER's token comes from, never the token itself (トークンの確認).

    Example: kuden-xl credentials status twilio
    """
    from ..credentials import TOKEN_ENV, token_source

    name = _known_provider(provider)
    source = token_source(name)
    if source == "environment":
        click.echo(f"{name}: 環境変数 {TOKEN_ENV} のトークンを使います（値は表示しません）。")
    elif source == "keyring":
        click.echo(f"{name}: OS の資格情報ストアのトークンを使います（値は表示しません）。")
    else:
        click.echo(
            f"{name}: トークンがありません。kuden-xl credentials set {name} で登録してください。"
        )
        sys.exit(EXIT_INCOMPLETE)


@click.group()
def connection() -> None:
    """The connection to the SMS provider (接続)."""


@connection.command("test")
@click.option("--provider", help="送信事業者（既定: KUDEN_XL_PROVIDER → 設定ファイル → sandbox）")
@click.option("--base-url", help="事業者の接続先 URL")
@friendly
def connection_test(provider: str | None, base_url: str | None) -> None:
    """Check proxy, CONNECT, TLS and credentials step by step; nothing is sent (接続テスト).

    Example: kuden-xl connection test --provider twilio
    """
    from .. import jobs

    report = jobs.connection_test(provider, base_url=base_url)
    click.echo("\n".join(report.lines()))
    if not report.ok:
        sys.exit(EXIT_INCOMPLETE)


@click.group()
def ledger() -> None:
    """The send ledger (送信記録の台帳)."""


@ledger.command("reset")
@click.option(
    "--i-understand",
    "understood",
    is_flag=True,
    help="台帳にない送信は再び送られうることを理解した上で、今の台帳を受け入れる",
)
@friendly
def ledger_reset(understood: bool) -> None:
    """Accept the ledger as it is now, after a run stopped because it was lost (台帳の受け入れ).

    A run stops when the ledger is missing, empty, replaced, or older than this PC last saw:
    everything it recorded could be sent again. Restore the latest ledger from a backup if you
    can; only if you cannot, run this. It records the current ledger (a new empty one if none
    is there) as the one this PC has seen. Nothing is deleted.

    Example: kuden-xl ledger reset --i-understand
    """
    from ..ledger import accept_as_is, default_ledger_path

    path = default_ledger_path(sandbox=False)
    if not understood:
        raise SettingsError(
            f"送信記録（台帳）「{path}」を今の状態で受け入れるには --i-understand を付けて"
            "実行してください。受け入れると、この台帳にない送信は同じ番号・同じ本文でも再び送信"
            "されることがあります。 / Pass --i-understand to accept the ledger as it is."
        )
    _, count = accept_as_is(path)
    click.echo(
        f"送信記録（台帳）「{path}」を今の状態で受け入れました（記録 {count} 件）。"
        "次回からこの台帳で送信します。"
    )
