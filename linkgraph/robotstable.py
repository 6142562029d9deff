"""``linkgraph robots`` as a table: each URL, allowed or not, and the rule that decided.

Everything in the table but the column names comes from a robots.txt or a URL someone
else wrote, so every cell and the title go through :func:`linkgraph.output.safe_text`
(control and bidi characters shown as escapes, rich markup shown, never parsed), as in
the other commands' tables.
"""

from __future__ import annotations

from typing import IO, Any

from rich.table import Table

from .output import console, safe_text

__all__ = ["print_robots_table"]

_REASONS = {
    "no matching rule": "(no rule matches: allowed)",
    "no group": "(no group for this user-agent: allowed)",
    "/robots.txt": "(/robots.txt is always allowed)",
}


def print_robots_table(report: dict[str, Any], stream: IO[str]) -> None:
    """Print a :func:`linkgraph.api.robots` report as a table with a heading line."""
    if report["fetched"] is None:
        source = f"robots.txt file {report['robots']}"
    else:
        source = f"{report['fetched']} (HTTP {report['status']}, {report['outcome']})"
    table = Table(title=safe_text(f"{source}, product token {report['token']}"))
    for name in ("URL", "result", "deciding rule", "line", "user-agent"):
        table.add_column(name, overflow="fold")
    for row in report["results"]:
        rule = row["rule"]
        if rule is None:
            rule = _REASONS.get(row["reason"], row["reason"])
        elif row["line"] is None:
            rule += f" (robots.txt {report['outcome']})"  # the implied rule of §2.3.1.4
        table.add_row(
            safe_text(row["url"]),
            "allowed" if row["allowed"] else "disallowed",
            safe_text(rule),
            "" if row["line"] is None else str(row["line"]),
            safe_text(row["user_agent"] or ""),
        )
    console(stream, width=None if stream.isatty() else 160).print(table)
