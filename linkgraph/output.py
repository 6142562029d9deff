"""Printing query results: a rich table on a terminal, or JSON, or CSV."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table

__all__ = ["FORMATS", "emit", "emit_json"]

FORMATS = ("table", "json", "csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}" if value < 1 else f"{value:,.1f}"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def emit(
    records: Sequence[dict[str, Any]],
    *,
    format: str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Print records. ``columns`` picks and orders the table's columns (JSON keeps all)."""
    stream = stream or sys.stdout
    if format == "json":
        json.dump(list(records), stream, indent=2, ensure_ascii=False)
        stream.write("\n")
        return
    if format == "csv":
        fields = list(columns or (records[0].keys() if records else []))
        writer = csv.DictWriter(
            stream, fieldnames=fields, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for record in records:
            writer.writerow(
                {
                    k: _cell(record.get(k)) if isinstance(record.get(k), list) else record.get(k)
                    for k in fields
                }
            )
        return
    fields = list(columns or (records[0].keys() if records else []))
    table = Table(title=title, show_lines=False)
    for name in fields:
        table.add_column(name, overflow="fold")
    for record in records:
        table.add_row(*(_cell(record.get(name)) for name in fields))
    Console(file=stream, width=None if stream.isatty() else 160).print(table)
    if not records:
        print("(nothing found)", file=stream)


def emit_json(value: Any, stream: IO[str] | None = None) -> None:
    """Print any JSON value (a report with several parts)."""
    stream = stream or sys.stdout
    json.dump(value, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
