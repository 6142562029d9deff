"""The ``linkgraph`` command's entry point: Ctrl-C while the command line loads.

Loading :mod:`linkgraph.cli` takes a tenth of a second or two (argparse, the settings,
what each command imports); :func:`linkgraph.cli.main` turns Ctrl-C into one line and
exit status 130, but only once it runs. This module imports nothing of ours, so a
Ctrl-C during that loading gets the same line instead of a traceback.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

INTERRUPTED = 130  # as linkgraph.cli.common.EXIT_INTERRUPTED: 128 + SIGINT


def main(argv: list[str] | None = None) -> int:
    """Load the command line and run it; Ctrl-C at any point ends with one line, 130."""
    try:
        from linkgraph.cli import main as run

        return run(argv)
    except KeyboardInterrupt:
        print("linkgraph: interrupted", file=sys.stderr)
        return INTERRUPTED
