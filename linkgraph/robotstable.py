"""``linkgraph robots`` as a table: each URL, allowed or not, and the rule that decided.

Everything in the table but the column names comes from a robots.txt or a URL someone
else wrote, so each cell is made safe for a terminal first (:func:`terminal_text`).
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["print_robots_json", "print_robots_table", "terminal_text"]

# C0 controls, DEL and C1 controls: ESC starts terminal escape sequences, CR and BS
# overwrite what was printed, and C1's CSI (U+009B) is ESC [ on some terminals.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# JSON escapes C0 controls itself; with non-ASCII kept readable, DEL and C1 would not be.
_JSON_RAW = re.compile(r"[\x7f-\x9f]")

_REASONS = {
    "no matching rule": "(no rule matches: allowed)",
    "no group": "(no group for this user-agent: allowed)",
    "/robots.txt": "(/robots.txt is always allowed)",
}


def terminal_text(value: object) -> str:
    """``value`` as text that prints as itself: control characters shown as ``\\xNN``
    and rich markup escaped.

    >>> terminal_text("Disallow: /\\x1b[2J[bold]x")
    'Disallow: /\\\\x1b[2J\\\\[bold]x'
    """
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return escape(text)


def print_robots_table(report: dict[str, Any], stream: IO[str]) -> None:
    """Print a :func:`linkgraph.api.robots` report as a table with a heading line."""
    if report["fetched"] is None:
        source = f"robots.txt file {report['robots']}"
    else:
        source = f"{report['fetched']} (HTTP {report['status']}, {report['outcome']})"
    title = f"{source}, product token {report['token']}"
    table = Table(title=terminal_text(title), show_lines=False)
    for name in ("URL", "result", "deciding rule", "line", "user-agent"):
        table.add_column(name, overflow="fold")
    for row in report["results"]:
        rule = row["rule"]
        if rule is None:
            rule = _REASONS.get(row["reason"], row["reason"])
        elif row["line"] is None:
            rule += f" (robots.txt {report['outcome']})"  # the implied rule of §2.3.1.4
        table.add_row(
            terminal_text(row["url"]),
            "allowed" if row["allowed"] else "disallowed",
            terminal_text(rule),
            "" if row["line"] is None else str(row["line"]),
            terminal_text(row["user_agent"] or ""),
        )
    Console(file=stream, width=None if stream.isatty() else 160).print(table)


def print_robots_json(report: dict[str, Any], stream: IO[str]) -> None:
    """Print a report as JSON: non-ASCII kept readable, every control character escaped."""
    text = json.dumps(report, indent=2, ensure_ascii=False)
    stream.write(_JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")
