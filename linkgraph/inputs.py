"""The user's list files: seeds, trusted hosts, generic anchors. One entry a line.

Blank lines and ``#`` comments (whole lines or line ends) are left out; an unreadable
file is a :class:`~linkgraph.crawler.settings.SettingsError` naming which file it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from linkgraph.crawler.settings import SettingsError

__all__ = ["read_list_file", "read_seeds_file"]


def read_list_file(path: str | os.PathLike[str], what: str) -> list[tuple[int, str]]:
    """The entries of a one-per-line file, with their line numbers; blank lines and ``#``
    comments (whole lines or line ends) left out. ``what`` names the file in errors."""
    try:
        # utf-8-sig: a byte-order mark (Windows Notepad writes one) is not part of line 1.
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise SettingsError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{what} {path} is not UTF-8 text") from None
    entries = ((number, line.split("#", 1)[0].strip()) for number, line in enumerate(lines, 1))
    return [(number, line) for number, line in entries if line]


def read_seeds_file(path: str | os.PathLike[str]) -> list[str]:
    """One URL per line; blank lines and ``#`` comments ignored."""
    return [line for _, line in read_list_file(path, "seeds file")]
