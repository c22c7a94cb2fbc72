"""What every command shares: exit statuses, a KudenError as one line on stderr, output that
survives a reader going away (``| head``), JSON text and the BOOK argument."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import KudenError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_ERROR, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 2, 3, 130


def out(text: str) -> None:
    """Print to stdout; a reader that went away (``| head``) only ends the output."""
    try:
        click.echo(text)
    except BrokenPipeError:
        _stdout_gone()


def _stdout_gone() -> None:
    # Point stdout at devnull so the interpreter's final flush does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def friendly(fn: F) -> F:
    """Turn a KudenError (and any surprise) into one line on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KudenError as exc:
            click.echo(f"エラー: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # stdout's reader went away mid-print: nothing to tell it
            _stdout_gone()
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # a bug: still one line for staff; KUDEN_XL_DEBUG=1 shows it
            if os.environ.get("KUDEN_XL_DEBUG"):
                raise
            click.echo(
                f"エラー: 予期しない問題が起きました（{type(exc).__name__}: {exc}）。"
                "担当者に連絡してください。 / Unexpected error; rerun with KUDEN_XL_DEBUG=1.",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def book_argument(fn: F) -> F:
    return click.argument("book", type=click.Path(path_type=Path))(fn)
