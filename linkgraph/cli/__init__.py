"""The ``linkgraph`` command: parse arguments, call one API function, print, exit.

Errors we expect (a bad flag value, a foreign database, an unreadable file) become one
line on stderr and exit status 1; so does a crawl whose every seed failed (it built
nothing to query). argparse's own usage errors exit 2; Ctrl-C exits 130 after flushing
what was fetched.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from linkgraph.storage.safetext import terminal_safe

from ..errors import LinkgraphError
from ..output import SafeFormatter
from .common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError
from .crawling import CRAWL_FLAGS, _print_crawl_summary, crawl_settings
from .parser import build_parser

# The names callers and tests import from ``linkgraph.cli``; the console script is main.
__all__ = [
    "CRAWL_FLAGS",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "_print_crawl_summary",
    "build_parser",
    "crawl_settings",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler]
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except LinkgraphError as exc:  # ours on purpose: a store, a setting, a fetch, a ranking
        _error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("linkgraph: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK  # `linkgraph export | head` is fine
    except OSError as exc:
        _error(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))
        return EXIT_ERROR


# An error quoting a whole input line (a 10 MB line of a seeds file) is cut here.
_LONGEST_ERROR = 1000


def _error(message: str) -> None:
    """The one error line on stderr. A path, URL or file line in the message may hold
    control characters: they are shown escaped, as crawled text is."""
    text = terminal_safe(message)
    if len(text) > _LONGEST_ERROR:
        text = f"{text[:_LONGEST_ERROR]}... ({len(text) - _LONGEST_ERROR:,} more characters)"
    print(f"linkgraph: error: {text}", file=sys.stderr)
