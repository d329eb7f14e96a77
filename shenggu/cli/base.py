"""The CLI's Typer apps and what every command shares: one readable error line instead of a stack trace."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from shenggu.errors import ShengguError, error_info

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="shenggu (声谷): self-hosted speech platform.",
)
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: accuracy, speed and memory, with HTML reports.")
app.add_typer(bench_app, name="bench")
keys_app = typer.Typer(no_args_is_help=True, help="Tenants and API keys.")
app.add_typer(keys_app, name="keys")

F = TypeVar("F", bound=Callable)


def friendly_errors(func: F) -> F:
    """Report ShengguError (and a missing file) as one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ShengguError as exc:
            typer.echo(f"error: {exc.code}: {exc.message}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # an unexpected failure still ends in one readable line, not a trace
            code, message = error_info(exc)
            typer.echo(f"error: {code}: {message}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def print_summary(summary: dict, out: Path) -> None:
    """A benchmark's summary as JSON, then where its report is."""
    import json

    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    typer.echo(f"report: {out / 'report.html'}")
