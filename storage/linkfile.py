"""Link records written as JSON Lines or CSV, the two record formats of ``linkgraph export``.

Crawled text is hostile: JSON escapes what a terminal would obey
(:func:`~.safetext.json_safe`), and CSV cells are the same as every CSV of the command
(:func:`~.safetext.csv_cell`: control characters escaped, formula-safe, true/false,
lists joined with "; ").
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, Any

from .queries import EXPORT_FIELDS, LOST_FIELDS
from .safetext import csv_cell, json_safe

__all__ = ["write_links"]


def write_links(
    records: Iterable[dict[str, Any]],
    stream: IO[str],
    *,
    format: str,
    include_lost: bool = False,
) -> int:
    """Write export records (``queries.EXPORT_FIELDS``, and ``LOST_FIELDS`` with
    ``include_lost``) to ``stream``; returns how many."""
    count = 0
    if format == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for record in records:
            stream.write(json_safe(dumps(record)))
            stream.write("\n")
            count += 1
        return count
    if format != "csv":
        raise ValueError(f"not a record format: {format!r}")
    fields = EXPORT_FIELDS + (LOST_FIELDS if include_lost else ())
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(fields)
    for record in records:
        writer.writerow([csv_cell(record[name]) for name in fields])
        count += 1
    return count
