"""Google's disavow file format, with its limits enforced.

The format (Search Console help, "Disavow links to your site"): a UTF-8 text file, one
entry per line; ``domain:example.com`` disavows every link from that domain and its
subdomains; a URL line disavows links from that page; lines starting with ``#`` are
comments. The file may hold at most 100,000 lines and 2 MB, and a URL at most 2,048
characters.

When the entries would exceed a limit, the lowest-scoring entries are left out (and a
comment says how many): a disavow file that Search Console rejects protects nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_BYTES",
    "MAX_LINES",
    "MAX_URL",
    "DisavowEntry",
    "format_disavow",
    "validate_disavow",
]

MAX_LINES = 100_000
MAX_BYTES = 2 * 1000 * 1000  # "2MB": the decimal reading is the stricter one
MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class DisavowEntry:
    """A domain (``kind="domain"``) or a page URL (``kind="url"``) to disavow."""

    kind: str
    value: str
    score: float
    reason: str = ""


def _clean(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def format_disavow(
    entries: Sequence[DisavowEntry], *, header: Sequence[str] = (), reasons: bool = True
) -> str:
    """The disavow file text for ``entries``, strongest first, within Google's limits.

    >>> text = format_disavow([DisavowEntry("domain", "spam.example", 90, "link farm"),
    ...                        DisavowEntry("url", "https://blog.example/links.html", 60)])
    >>> print(text, end="")
    # link farm (score 90)
    domain:spam.example
    https://blog.example/links.html
    """
    lines = [f"# {_clean(h)}" for h in header]
    budget_lines = MAX_LINES - len(lines) - 1  # room for the "left out" comment
    budget_bytes = MAX_BYTES - sum(len(line.encode()) + 1 for line in lines) - 200
    seen: set[str] = set()
    left_out = 0
    ordered = sorted(entries, key=lambda e: (-e.score, e.kind != "domain", e.value))
    for entry in ordered:
        value = entry.value.strip()
        if entry.kind == "domain":
            line = f"domain:{value.lower()}"
        elif entry.kind == "url":
            if len(value) > MAX_URL or not value.startswith(("http://", "https://")):
                left_out += 1
                continue
            line = value
        else:
            raise ValueError(f"unknown disavow entry kind {entry.kind!r}")
        if line in seen or any(c in line for c in "\r\n"):
            continue
        block = (
            [f"# {_clean(entry.reason)} (score {entry.score:g})"]
            if reasons and entry.reason
            else []
        )
        block.append(line)
        size = sum(len(b.encode()) + 1 for b in block)
        if len(block) > budget_lines or size > budget_bytes:
            left_out += 1
            continue
        seen.add(line)
        lines.extend(block)
        budget_lines -= len(block)
        budget_bytes -= size
    if left_out:
        lines.append(f"# {left_out} lower-scoring entries left out to stay within Google's limits")
    return "\n".join(lines) + "\n" if lines else ""


def validate_disavow(text: str) -> list[str]:
    """Problems that would make Search Console reject ``text`` (empty when it is valid)."""
    problems = []
    data = text.encode("utf-8")
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        problems.append(f"{len(lines)} lines (limit {MAX_LINES})")
    if len(data) > MAX_BYTES:
        problems.append(f"{len(data)} bytes (limit {MAX_BYTES})")
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        if line.startswith("domain:"):
            name = line[len("domain:") :]
            if not name or " " in name or "/" in name:
                problems.append(f"line {number}: bad domain entry {line!r}")
        elif line.startswith(("http://", "https://")):
            if len(line) > MAX_URL:
                problems.append(f"line {number}: URL longer than {MAX_URL} characters")
            if " " in line:
                problems.append(f"line {number}: URL contains a space")
        else:
            problems.append(f"line {number}: neither a domain: entry, a URL nor a comment")
    return problems
