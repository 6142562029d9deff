"""A listing command, declared rather than written: arguments in, one library call, records out.

Most queries and reports have one shape: parse the arguments, call the library function
of the same name with them, print its records as a table, JSON or CSV under a title. A
:class:`Listing` says what differs (the function, the arguments, the fields, the title)
and runs that shape once for all of them.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from typing import Any

from ..output import emit
from .common import EXIT_OK, Option, call, options

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
