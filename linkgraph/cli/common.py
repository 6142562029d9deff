"""What every command module of the CLI shares: exit codes, argument types, help texts.

The flags several commands take (``--mode``, the fetch settings of crawl and robots, the
audit profile) are added here once, so their choices and help cannot drift apart.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any

from ..errors import LinkgraphError
from ..output import FORMATS

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# What a command runs: the parsed arguments in, the exit status out.
Run = Callable[[argparse.Namespace], int]
# build_parser's factory: command(cmd_name) -> the subcommand's parser, named, described
# and bound to the function it runs (see describe).
Command = Callable[[Run], argparse.ArgumentParser]


class CliError(LinkgraphError):
    """An error already phrased for the user."""


def examples(*lines: str) -> str:
    return "Example:\n" + "\n".join(f"  {line}" for line in lines)


def describe(run: Run) -> tuple[str, str, str]:
    """The name, help and epilog of the command that ``run`` implements.

    A command is named after its function (``cmd_referring_domains`` is
    ``referring-domains``), and its docstring is its help, as click does it: the first
    paragraph, joined into one line, is the help ``linkgraph --help`` lists, and the
    ``Example:`` section that must follow it is the epilog, as written.
    """
    name = run.__name__.removeprefix("cmd_").replace("_", "-")
    summary, found, example = (inspect.getdoc(run) or "").partition("\n\nExample:\n")
    if not found:
        raise TypeError(f"{run.__name__}'s docstring has no Example: section for its --help")
    return name, " ".join(summary.split()), "Example:\n" + example


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def score(text: str) -> int:
    value = positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"a score is 0-100: {text}")
    return value


def add_output(p: argparse.ArgumentParser) -> None:
    """``--output FILE``; ``-``, the usual spelling of standard output, is ``None``."""
    p.add_argument(
        "--output",
        type=lambda text: None if text == "-" else text,
        metavar="FILE",
        help="write here instead of standard output ('-': stdout)",
    )


INCLUDE_LOST_HELP = (
    "also lost links (gone on a recrawl), with lost_at and lost_reason; default: current links"
)
DB_HELP = "the SQLite link store written by `linkgraph crawl` (or import, demo)"
FORMAT_HELP = "table (default), json, or csv (booleans true/false, lists joined with '; ')"
MODE_HELP = (
    "how a TARGET matches: a URL exactly (default for URLs) or as a prefix;"
    " a name as a domain with its subdomains (default for names) or one host"
)
TARGET_HELP = "a URL (with scheme), or a domain / host name"


def limit_help(default: int | None) -> str:
    return (
        f"at most N records (default {default})" if default else "at most N records (default: all)"
    )


def add_db(p: argparse.ArgumentParser) -> None:
    """``--db``: the store a query or report reads (crawl and demo word theirs differently)."""
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)


def add_format(p: argparse.ArgumentParser) -> None:
    """``--format`` of the record-listing commands: table, json or csv."""
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)


def add_limit(p: argparse.ArgumentParser, default: int | None) -> None:
    """``--limit N``; None as the default means every record."""
    p.add_argument(
        "--limit", type=positive_int, default=default, metavar="N", help=limit_help(default)
    )


def add_mode(p: argparse.ArgumentParser) -> None:
    """``--mode``: how a target (or competitor, or excluded site) matches URLs."""
    p.add_argument("--mode", choices=("exact", "prefix", "host", "domain"), help=MODE_HELP)


def add_target(p: argparse.ArgumentParser) -> None:
    """``TARGET`` and ``--db``: the site a report is about, and the store it reads."""
    p.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    add_db(p)


def add_listing(p: argparse.ArgumentParser, limit: int | None) -> None:
    """``--mode``, ``--limit``, ``--format``: the options every report that lists records
    matching a target ends with, in this order."""
    add_mode(p)
    add_limit(p, limit)
    add_format(p)


def add_min_score(p: argparse.ArgumentParser, default: int, help: str) -> None:
    """``--min-score X``: the toxic score (0-100) a report starts at."""
    p.add_argument("--min-score", type=score, default=default, metavar="X", help=help)


def add_quiet(p: argparse.ArgumentParser, *, default: bool | None = False) -> None:
    """``--quiet``; crawl's default is None, so an absent flag leaves the TOML value in force."""
    p.add_argument("--quiet", action="store_true", default=default, help="no progress output")


# The settings crawl and robots both take, with help true for both: robots fetches a
# robots.txt URL under the same rules a crawl fetches it.
_FETCH_FLAGS: dict[str, dict[str, Any]] = {
    "--config": {"metavar": "FILE.toml", "help": "settings file (see configs/linkgraph.toml)"},
    "--user-agent": {
        "metavar": "UA",
        "help": "User-Agent; its first word is the robots.txt product token (default: linkgraph's)",
    },
    "--hosts-file": {
        "metavar": "FILE",
        "help": "/etc/hosts-format file pinning names to addresses",
    },
    "--allow-private-addresses": {
        "action": "store_true",
        # None, not False: an absent flag leaves the TOML / environment value in force.
        "default": None,
        "help": "allow fetching from loopback/private addresses"
        " (off by default: linkgraph must not reach internal services)",
    },
}


def add_fetch_flags(p: argparse.ArgumentParser, *flags: str) -> None:
    """Add these shared fetch-setting flags, in this order (callers keep their help order)."""
    for flag in flags:
        p.add_argument(flag, **_FETCH_FLAGS[flag])


def add_profile_args(p: argparse.ArgumentParser) -> None:
    """The audit profile: brands, keywords and thresholds (backlinks, anchors, toxic, disavow)."""
    p.add_argument(
        "--brand", action="append", default=[], metavar="NAME", help="a brand name (repeatable)"
    )
    p.add_argument(
        "--keyword",
        action="append",
        default=[],
        metavar="PHRASE",
        help="a target keyword (repeatable)",
    )
    p.add_argument(
        "--profile",
        metavar="FILE.toml",
        help="brands, keywords and thresholds (configs/profile.example.toml)",
    )
    p.add_argument(
        "--generic-file",
        metavar="FILE",
        help="generic anchors, one per line (configs/generic_anchors.txt)",
    )


def args_profile(args: argparse.Namespace) -> Any:
    """The audit profile the flags of :func:`add_profile_args` describe."""
    from linkgraph.audit import load_profile

    return load_profile(
        args.profile, brand=args.brand, keyword=args.keyword, generic_file=args.generic_file
    )
