"""What every command shares: exit statuses, a KudenError as one line on stderr, output that
survives a reader going away (``| head``), JSON text, the BOOK argument and the progress bar."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def progress_bar(label: str, *, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress step ``(done, total)`` drawing a bar on stderr, opened at the first step (when
    the total is known) and closed on the way out; no bar when ``quiet`` or stderr is no terminal."""
    bar: Any = None

    def step(done: int, total: int) -> None:
        nonlocal bar
        if quiet or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        yield step
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
