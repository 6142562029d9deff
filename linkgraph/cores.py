"""How many cores this process may use, for the parts that run work side by side (parse
workers, PageRank's threads, a second reader of the links, SQLite's sorter threads)."""

from __future__ import annotations

import os

__all__ = ["usable_cores"]


def usable_cores() -> int:
    """The cores of this process's CPU affinity, not the machine's: a cpuset or taskset
    of two on a big machine is two. The machine's count where the OS has no affinity
    (macOS, Windows)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
