"""Printing query results: a rich table on a terminal, or JSON, or CSV.

Records hold crawled text (anchors, titles, URLs, notes), which is hostile: every table
cell and title goes through :func:`storage.safetext.terminal_safe` and into rich as a
``Text`` object (so ``[bold red]`` is shown, never parsed as markup); every CSV cell goes
through :func:`storage.safetext.csv_cell` (the same escapes, formula neutralised, one
boolean and list form); JSON escapes what would act on a terminal.
"""

from __future__ import annotations

import csv
import errno
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from linkgraph.storage.safetext import LIST_SEPARATOR, csv_cell, json_safe, terminal_safe

__all__ = ["FORMATS", "SafeFormatter", "console", "emit", "emit_json", "safe_text", "say"]

FORMATS = ("table", "json", "csv")


class _Console(Console):
    """rich's console, but a broken pipe is the caller's: rich exits 1 on one, where
    ``linkgraph ... | head`` is a success (the CLI answers BrokenPipeError with 0)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def console(stream: IO[str] | None = None, *, width: int | None = None) -> Console:
    """The console every table is printed with (standard output by default)."""
    return _Console(file=stream, width=width)


def safe_text(value: Any) -> Text:
    """A rich ``Text`` of any value, with control characters escaped and no markup parsed."""
    return Text(terminal_safe(str(value)))


def say(message: str, stream: IO[str] | None = None) -> None:
    """``print`` for a line that carries crawled text (a host note, a warning)."""
    print(terminal_safe(message), file=stream or sys.stdout)


class SafeFormatter(logging.Formatter):
    """Log lines (``-v``) name hosts, URLs and server answers: escape them like a print.

    Only the message is escaped; a traceback keeps its own newlines.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().formatMessage(record))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}" if value < 1 else f"{value:,.1f}"
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(_cell(v) for v in value)
    return str(value)


def emit(
    records: Sequence[dict[str, Any]],
    *,
    format: str,
    columns: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    title: str | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Print records.

    ``columns`` picks and orders the table's and the CSV's columns (JSON keeps every
    field). Without it, both show every field of the records; ``fields`` names them for
    an empty result, so that an empty CSV still has its header row.
    """
    stream = stream or sys.stdout
    if format == "json":
        emit_json(list(records), stream)
        return
    names = list(columns or (records[0].keys() if records else fields or ()))
    if format == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([csv_cell(name) for name in names])
        for record in records:
            writer.writerow([csv_cell(record.get(name)) for name in names])
        return
    table = Table(title=safe_text(title) if title is not None else None, show_lines=False)
    for name in names:
        table.add_column(safe_text(name), overflow="fold")
    for record in records:
        table.add_row(*(safe_text(_cell(record.get(name))) for name in names))
    console(stream, width=None if stream.isatty() else 160).print(table)
    if not records:
        print("(nothing found)", file=stream)


def emit_json(value: Any, stream: IO[str] | None = None) -> None:
    """Print any JSON value (a report with several parts)."""
    stream = stream or sys.stdout
    stream.write(json_safe(json.dumps(value, indent=2, ensure_ascii=False)))
    stream.write("\n")
