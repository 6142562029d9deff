"""The web app asks the command line: a list the store does not page (and every download)
runs the ``linkgraph`` command it shows.

A page's filters become the arguments of the command (``/backlinks?follow_only=1`` is
``linkgraph backlinks TARGET --follow-only``), parsed by the CLI's own parser and run by
its own function on the store the server opened once. A page reads the command's JSON; a
download is the command's CSV or JSON as it prints them. So the numbers on a page and in a
download are the CLI's, by construction, and filter values reach SQL only as the library
functions' parameters.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
from collections.abc import Sequence
from typing import Any

from ..cli.parser import build_parser
from ..errors import LinkgraphError

__all__ = ["BadRequest", "Command", "run_command"]


class BadRequest(LinkgraphError):
    """A filter value the command refuses (argparse's message, without the usage)."""


_PARSER: argparse.ArgumentParser | None = None


def _parser() -> argparse.ArgumentParser:
    global _PARSER
    if _PARSER is None:
        _PARSER = build_parser()
    return _PARSER


class Command:
    """One ``linkgraph`` command line: its name, its options and its positional values."""

    def __init__(
        self, name: str, flags: Sequence[str] = (), positional: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.flags = list(flags)
        self.positional = list(positional)

    def shell(self, db: str, format: str | None = None, limit: int | None = None) -> str:
        """The command as a user would type it (shown beside a download)."""
        extra = ["--format", format] if format else []
        extra += ["--limit", str(limit)] if limit is not None else []
        dashed = any(p.startswith("-") for p in self.positional)
        words = (
            [*self.flags, "--db", db, *extra, "--", *self.positional]
            if dashed
            else [*self.positional, *self.flags, "--db", db, *extra]
        )
        return shlex.join(["linkgraph", self.name, *words])

    def parse(self, format: str | None) -> argparse.Namespace:
        # Every option first, then "--": a positional value starting with "-" (a hostile
        # target) is a value, never an option.
        extra = ["--format", format] if format else []
        argv = [self.name, "--db", "-", *extra, *self.flags]
        argv += ["--", *self.positional] if self.positional else []
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                return _parser().parse_args(argv)
        except SystemExit:
            lines = err.getvalue().strip().splitlines()
            message = lines[-1] if lines else "invalid arguments"
            raise BadRequest(message.split(": error: ", 1)[-1]) from None


def run_command(
    store: Any, command: Command, format: str | None, *, limit: int | str | None = "as-given"
) -> str:
    """What ``command --format FORMAT`` prints on ``store`` (an open store).

    ``limit=None`` asks for every record where the command has ``--limit`` (a page sorts
    and pages through all of them); the default keeps the command's own.

    Runs in the event loop's thread, the one that opened the store: the redirect of
    standard output is process-wide, so no two commands may run at once.
    """
    args = command.parse(format)
    args.db = store
    if limit != "as-given" and hasattr(args, "limit"):
        args.limit = limit
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args.func(args)
    return out.getvalue()


def run_json(store: Any, command: Command, *, limit: int | str | None = "as-given") -> Any:
    """The command's ``--format json`` answer, parsed."""
    return json.loads(run_command(store, command, "json", limit=limit))
