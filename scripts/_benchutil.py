"""What the benchmark scripts share: naming the machine a result was measured on.

Not a script: the ``bench_*.py`` files import it from beside themselves (Python puts a
script's own folder first on ``sys.path``).
"""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model(unknown: str = "unknown") -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows.

    ``platform.processor()`` is often empty or just the architecture on Linux, which says
    little about a speed figure; ``unknown`` is the text when neither source names it.
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or unknown
