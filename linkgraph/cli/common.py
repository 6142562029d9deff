"""What every command module of the CLI shares: exit codes, argument types, the options.

A command declares its arguments as a list, in ``--help`` order (see :func:`command`): the
name of an option several commands take (``"db"``, ``"mode"``, ``"profile"``...), looked up
in :data:`OPTIONS` so that its flag, choices and help cannot drift apart between commands,
or an :func:`arg` of its own. An argument's name is the keyword of the library function
the command wraps (``--min-score`` is ``min_score=``), so one :func:`call` passes them on,
and a command that only lists that function's records is declared as a :class:`Listing`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import LinkgraphError
from ..output import FORMATS, emit

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# What a command runs: the parsed arguments in, the exit status out.
Run = Callable[[argparse.Namespace], int]


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


# SQLite's integers are 64-bit: a larger count (``--limit 10**23``) cannot even be bound
# to a query, and no store holds that many rows.
LARGEST_COUNT = 2**63 - 1


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    if value > LARGEST_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {LARGEST_COUNT}: {text}")
    return value


def port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535: {text}")
    return value


def score(text: str) -> int:
    value = positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"a score is 0-100: {text}")
    return value


# -- arguments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One argument, as ``add_argument`` takes it, and the keyword it is passed on as.

    ``param`` is the keyword of the wrapped library function; ``None`` for an argument
    about how the result is shown (``--format``, ``--quiet``), which the function never
    sees. The four profile flags share ``param="profile"``: together they are one value.
    """

    flags: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    param: str | None = None

    def but(self, param: str | None = None, **options: Any) -> Arg:
        """This argument with some ``add_argument`` options changed (a command's own
        default or help), and passed on as ``param`` if given."""
        return Arg(self.flags, {**self.options, **options}, param or self.param)


def arg(*flags: str, param: str | None = None, **options: Any) -> Arg:
    """An argument, passed on as ``param`` (default: its destination, as argparse names it)."""
    dest = options.get("dest") or flags[0].lstrip("-").replace("-", "_")
    return Arg(flags, options, param or dest)


def switch(flag: str, **options: Any) -> Arg:
    """An on/off flag: off unless given (``default=None``: absent leaves the TOML value)."""
    return arg(flag, action="store_true", **options)


def shown(argument: Arg) -> Arg:
    """``argument`` as one about how results are shown: not passed to the library function."""
    return Arg(argument.flags, argument.options, None)


def passed_as(param: str, *args: Arg) -> tuple[Arg, ...]:
    """These arguments, passed on together as one ``param`` (see :func:`call`)."""
    return tuple(a.but(param) for a in args)


INCLUDE_LOST_HELP = (
    "also lost links (gone on a recrawl), with lost_at and lost_reason; default: current links"
)


def limit(default: int | None) -> Arg:
    """``--limit N``; None as the default means every record."""
    return arg(
        "--limit",
        type=positive_int,
        default=default,
        metavar="N",
        help=f"at most N records (default {default})"
        if default
        else "at most N records (default: all)",
    )


def min_score(default: int, help: str) -> Arg:
    """``--min-score X``: the toxic score (0-100) a report starts at."""
    return arg("--min-score", type=score, default=default, metavar="X", help=help)


def _stdout_dash(text: str) -> str | None:
    return None if text == "-" else text


# The options several commands take, by name. Their help is true for every command that
# names them; a command whose wording differs says so with ``option(name, help=...)``.
OPTIONS: dict[str, Arg | tuple[Arg, ...]] = {
    "db": arg(
        "--db",
        required=True,
        metavar="PATH",
        help="the link store: a SQLite file written by `linkgraph crawl` (or import, demo), or"
        " a postgresql:// URL (every command; see `linkgraph init-db` and `linkgraph copy`)",
    ),
    "target": arg("target", metavar="TARGET", help="a URL (with scheme), or a domain / host name"),
    "mode": arg(
        "--mode",
        choices=("exact", "prefix", "host", "domain"),
        help="how a TARGET matches: a URL exactly (default for URLs) or as a prefix;"
        " a name as a domain with its subdomains (default for names) or one host",
    ),
    "include_internal": switch(
        "--include-internal", help="also links from the target's own domain"
    ),
    "include_lost": switch("--include-lost", help=INCLUDE_LOST_HELP),
    "format": shown(
        arg(
            "--format",
            choices=FORMATS,
            default="table",
            help="table (default), json, or csv (booleans true/false, lists joined with '; ')",
        )
    ),
    "table_or_json": shown(
        arg("--format", choices=("table", "json"), default="table", help="table (default) or json")
    ),
    "quiet": shown(switch("--quiet", default=False, help="no progress output")),
    # ``-``, the usual spelling of standard output, is None.
    "output": arg(
        "--output",
        type=_stdout_dash,
        metavar="FILE",
        help="write here instead of standard output ('-': stdout)",
    ),
    # The audit profile: brands, keywords and thresholds (backlinks, anchors, toxic, disavow),
    # four flags that are one ``profile=`` to the function.
    "profile": passed_as(
        "profile",
        arg(
            "--brand", action="append", default=[], metavar="NAME", help="a brand name (repeatable)"
        ),
        arg(
            "--keyword",
            action="append",
            default=[],
            metavar="PHRASE",
            help="a target keyword (repeatable)",
        ),
        arg(
            "--profile",
            dest="profile_file",
            metavar="FILE.toml",
            help="brands, keywords and thresholds (configs/profile.example.toml)",
        ),
        arg(
            "--generic-file",
            metavar="FILE",
            help="generic anchors, one per line (configs/generic_anchors.txt)",
        ),
    ),
}

Option = str | Arg | Sequence[Arg]


def option(name: str, param: str | None = None, **changes: Any) -> Arg:
    """The shared option ``name`` with some ``add_argument`` options changed (its help),
    passed on as ``param`` if given (an option shown elsewhere that a function takes)."""
    found = OPTIONS[name]
    assert isinstance(found, Arg), f"{name} is a group of options"
    return found.but(param, **changes)


def options(*declared: Option) -> tuple[Arg, ...]:
    """The arguments a command declares, in order: names looked up in :data:`OPTIONS`."""
    found: list[Arg] = []
    for item in declared:
        item = OPTIONS[item] if isinstance(item, str) else item
        found += [item] if isinstance(item, Arg) else item
    return tuple(found)


class Declared(Protocol):
    """A command: its function, named and documented (see :func:`describe`), and its arguments."""

    __name__: str
    options: tuple[Arg, ...]

    def __call__(self, args: argparse.Namespace, /) -> int: ...


def command(*declared: Option) -> Callable[[Run], Declared]:
    """Declare the arguments of the command a function runs (``build_parser`` adds them)."""

    def declare(run: Run) -> Declared:
        run.options = options(*declared)  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return declare


def add_options(p: argparse.ArgumentParser, declared: Sequence[Arg]) -> None:
    for a in declared:
        p.add_argument(*a.flags, **a.options)


def call(
    function: Callable[..., Any],
    args: argparse.Namespace,
    declared: Sequence[Arg] | None = None,
    **extra: Any,
) -> Any:
    """``function`` called with the parsed arguments it takes: every one the command declares
    (or those ``declared``) by its keyword, the profile flags as one ``profile``, none
    about how results are shown; and ``extra``, what the command made itself (a progress
    display). The command is ``args.func``, the function ``build_parser`` bound it to."""
    if declared is None:
        declared = args.func.options
    params = {a.param for a in declared if a.param}
    kwargs = {name: getattr(args, name) for name in params - {"profile"}} | extra
    if "profile" in params:
        from linkgraph.audit import load_profile

        kwargs["profile"] = load_profile(
            args.profile_file,
            brand=args.brand,
            keyword=args.keyword,
            generic_file=args.generic_file,
        )
    return function(**kwargs)


# -- listings ----------------------------------------------------------------------------
# Most queries and reports have one shape: parse the arguments, call the library function
# of the same name with them, print its records as a table, JSON or CSV under a title. A
# Listing says what differs (the function, the arguments, the fields, the title) and runs
# that shape once for all of them.

Records = list[dict[str, Any]]


class Listing:
    """A command that lists the records of one library function.

    ``function`` is ``"module.name"`` under ``linkgraph`` (``"api.top"``), imported only
    when the command runs, so that ``--help`` loads none of it; the command is named after
    it (``api.referring_domains`` is ``referring-domains``) and ``doc`` is its help, as a
    function's docstring is (see :func:`~linkgraph.cli.common.describe`). ``fields`` are
    the records' fields (a function of the arguments where they depend on them): the header
    of an empty result, or with ``columns`` the only ones the table and the CSV show;
    ``lost`` are the fields ``--include-lost`` adds. ``title`` is formatted with the
    arguments. ``note``, if any, prints a line under a table that has rows.
    """

    def __init__(
        self,
        function: str,
        *declared: Option,
        fields: Sequence[str] | Callable[[argparse.Namespace], Sequence[str]],
        title: str,
        lost: Sequence[str] = (),
        columns: bool = False,
        note: Callable[[argparse.Namespace, Records], None] | None = None,
        doc: str | None = None,
    ) -> None:
        self.module, _, name = function.rpartition(".")
        self.function = name
        self.__name__ = f"cmd_{name}"
        self.__doc__ = doc
        self.options = options(*declared)
        self.fields = fields
        self.title = title
        self.lost = tuple(lost)
        self.columns = columns
        self.note = note

    def call(self, args: argparse.Namespace, **extra: Any) -> Records:
        """The records: the function called with the declared arguments (and ``extra``)."""
        module = importlib.import_module(f"linkgraph.{self.module}")
        return call(getattr(module, self.function), args, self.options, **extra)

    def show(self, args: argparse.Namespace, records: Records) -> None:
        """Print the records in the chosen format, under the title (and the note)."""
        fields = self.fields(args) if callable(self.fields) else self.fields
        names = (*fields, *(self.lost if getattr(args, "include_lost", False) else ()))
        emit(
            records,
            format=args.format,
            **{"columns" if self.columns else "fields": names},
            title=self.title.format(**vars(args)),
        )
        if self.note and args.format == "table" and records:
            self.note(args, records)

    def __call__(self, args: argparse.Namespace) -> int:
        self.show(args, self.call(args))
        return EXIT_OK
