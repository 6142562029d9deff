"""What the benchmark scripts share: their parser, and naming the machine a result was measured on.

Not a script: the ``bench_*.py`` files import it from beside themselves (Python puts a
script's own folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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


def bench_parser(
    doc: str, *, seed: int | None = None, json: bool = False
) -> argparse.ArgumentParser:
    """A benchmark's parser, described by its docstring as ``linkgraph``'s commands are: the
    first paragraph is the description, and the first command of its ``Example::`` (or
    ``Usage::``) block the epilog's example. With ``seed``, it takes ``--seed`` (this
    default) for the generator of its input; with ``json``, ``--json FILE`` for its
    results (see :func:`parse_args`)."""
    example = re.search(r"(?:Examples?|Usage)::\n\n\s*(.+)", doc)
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=f"Example: {example.group(1)}" if example else None,
    )
    if seed is not None:
        add_number(parser, "--seed", seed, "seed of the generated input")
    if json:
        parser.add_argument("--json", metavar="FILE", help="also write the results here, as JSON")
    return parser


def add_number(parser: argparse.ArgumentParser, flag: str, default: float, help: str) -> None:
    """A number option (int or float, as its default is) whose help says its default."""
    # 1,000,000 reads better with separators; a seed such as 2024 does not.
    shown = f"{default:,}" if default >= 10_000 else f"{default:g}"
    parser.add_argument(flag, type=type(default), default=default, help=f"{help} (default {shown})")


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments; if ``--json FILE`` is among them, its folder is made now, not after a
    run of minutes that would then end in a traceback with its results nowhere to go."""
    args = parser.parse_args(argv)
    json_file = getattr(args, "json", None)
    if json_file:
        try:
            Path(json_file).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            parser.error(f"--json {json_file}: cannot make its folder ({exc.strerror or exc})")
    return args


def add_pg_url(parser: argparse.ArgumentParser) -> None:
    """``--pg-url``: the PostgreSQL database a benchmark uses instead of a throwaway server."""
    parser.add_argument(
        "--pg-url", help="an empty PostgreSQL database (default: start a throwaway server)"
    )


@contextmanager
def throwaway_pg(pg_url: str | None) -> Iterator[Any]:
    """The tests' PostgreSQL server (``tests/pg_support.py``: initdb into a temporary folder,
    a Unix socket only), started for the run and stopped after it; ``None`` when
    ``pg_url`` names a database to use instead."""
    if pg_url is not None:
        yield None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg_support import PgServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): give --pg-url")
    server = PgServer(binaries).start()
    try:
        yield server
    finally:
        server.stop()


def report_json(result: Any, path: str | None) -> None:
    """Print the results as JSON, and write them to ``path`` too when one is given (--json)."""
    import json

    text = json.dumps(result, indent=2)
    print(text)
    if path:
        Path(path).write_text(text)
