"""Crawled text made safe to show: on a terminal, and in a CSV cell a spreadsheet opens.

Anchors, titles, URLs and host notes come from pages anyone can write. Printed raw, an
anchor carrying ``ESC [2J`` clears the user's screen, an OSC 8 sequence plants a
hyperlink, and a right-to-left override (the "Trojan Source" characters) reorders what
the reader sees. :func:`terminal_safe` shows every such character as a visible escape
instead (``\\x1b``, ``\\u202e``) and leaves all other text alone. :func:`csv_cell` does
the same for a CSV cell and also stops a spreadsheet from running the cell as a formula.
:func:`json_safe` escapes the characters that JSON encoders leave raw.

Every stage that prints imports this module, so it sits low: it depends on nothing.
Rich markup (``[bold red]``) is a concern of rich only; the table code passes
``rich.text.Text`` objects, which rich never parses for markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["LIST_SEPARATOR", "csv_cell", "json_safe", "terminal_safe"]

# C0 controls (tab and newline included: inside a cell they break the layout), DEL, C1
# controls (0x9b is a one-byte CSI to some terminals), and the bidirectional formatting
# characters of Unicode TR9: the embeddings and overrides U+202A-U+202E, the isolates
# U+2066-U+2069, the marks U+200E, U+200F, U+061C, and the line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same set less C0: JSON encoders already escape C0 as \u00XX.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# OWASP "CSV Injection": a cell starting with one of these is a formula to Excel,
# LibreOffice and Google Sheets; a leading apostrophe makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# How list fields (rel tokens, toxic reasons, IPs) are joined in tables and CSV: the
# items themselves may hold commas and spaces ("name: many hyphens, spam word").
LIST_SEPARATOR = "; "


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    r"""``text`` with every control, bidi-formatting and separator character as a
    visible escape, so that printing it cannot move the cursor, change colours, plant
    hyperlinks or reorder the line.

    >>> print(terminal_safe("\x1b[2Jhi\u202e!\tok\x9b"))
    \x1b[2Jhi\u202e!\tok\x9b
    >>> terminal_safe("Café, naïve: plain text is unchanged")
    'Café, naïve: plain text is unchanged'
    """
    return _UNSAFE.sub(_escape, text)


def csv_cell(value: Any) -> Any:
    """One CSV cell: booleans as ``true`` / ``false``, lists joined with
    :data:`LIST_SEPARATOR`, ``None`` empty, numbers as they are, and text made
    :func:`terminal_safe` with a leading ``'`` when a spreadsheet would read it as a
    formula (OWASP's rule: a first character of ``= + - @``, tab or carriage return).

    >>> [csv_cell(v) for v in (True, None, 3, ["nofollow", "ugc"], "=HYPERLINK(1)", "-5% off")]
    ['true', '', 3, 'nofollow; ugc', "'=HYPERLINK(1)", "'-5% off"]
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        text = LIST_SEPARATOR.join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    text = terminal_safe(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def json_safe(text: str) -> str:
    r"""JSON text with C1 controls, DEL and bidi-formatting characters written as
    ``\uXXXX`` escapes: the same JSON value, but nothing in it acts on a terminal.

    ``json.dumps(..., ensure_ascii=False)`` escapes C0 controls only. These characters can
    only stand inside JSON strings, where ``\uXXXX`` means the same character.

    >>> print(json_safe(json.dumps("a\u202eb", ensure_ascii=False)))
    "a\u202eb"
    """
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
