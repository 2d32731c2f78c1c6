"""A progress bar for long builds and checks: on a terminal only, never in CI logs or with --quiet.

A build and a check report progress through a callback (tenants done, tenants in all) and never
print; this is the callback the CLI passes.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO, Any, TextIO, cast

import click

# Below this many tenants a build takes about a second: a bar would only flicker.
MIN_TENANTS = 20


class ProgressBar:
    def __init__(self, label: str, enabled: bool, stream: IO[str] | None = None, minimum: int = MIN_TENANTS) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled and _is_terminal(self.stream)
        self.minimum = minimum
        self._bar: Any = None  # click's ProgressBar, made once the total is known
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.minimum:
            return
        if self._bar is None:
            self._bar = click.progressbar(
                length=total, label=self.label, file=cast(TextIO, self.stream), show_pos=True, show_eta=True
            )
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, value, tb)
            self._bar = None


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(label: str, quiet: bool) -> ProgressBar:
    """The bar the CLI uses: shown on a terminal (stderr) for long builds and checks, unless --quiet."""
    return ProgressBar(label, enabled=not quiet)
