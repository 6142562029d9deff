"""A command's declared arguments are what reaches its library function, by keyword."""

from __future__ import annotations

import argparse
import importlib
import inspect
from collections.abc import Callable
from typing import Any, get_args, get_type_hints

from linkgraph.cli import audits, queries
from linkgraph.cli.common import Listing, add_options, call, options


def keywords(function: Callable[..., Any]) -> set[str]:
    """The keywords ``function`` accepts, ``**options: Unpack[SomeTypedDict]`` spelled out."""
    params = inspect.signature(function).parameters
    names = {name for name, p in params.items() if p.kind is not p.VAR_KEYWORD}
    for name, p in params.items():
        if p.kind is p.VAR_KEYWORD:
            (typed,) = get_args(get_type_hints(function)[name])
            names |= set(typed.__annotations__)
    return names


def test_every_listing_passes_only_keywords_its_function_takes() -> None:
    # The library and the CLI change apart; a keyword renamed on one side only must fail
    # here, not as a traceback in front of a user.
    listings = [
        value
        for module in (queries, audits)
        for value in vars(module).values()
        if isinstance(value, Listing)
    ]
    assert len(listings) == 8  # backlinks, referring-domains, anchors, top, intersect,
    # broken, toxic, mentions
    for listing in listings:
        function = getattr(importlib.import_module(f"linkgraph.{listing.module}"), listing.function)
        passed = {a.param for a in listing.options if a.param}
        assert passed <= keywords(function), listing.__name__


def test_call_passes_declared_arguments_by_keyword_and_the_profile_flags_as_one() -> None:
    declared = options("target", "db", "mode", "format", "profile")
    parser = argparse.ArgumentParser()
    add_options(parser, declared)
    args = parser.parse_args(
        ["example.com", "--db", "x.db", "--format", "csv", "--brand", "Acme", "--keyword", "shoes"]
    )
    got = call(lambda **kwargs: kwargs, args, declared, progress="shown")
    # --format is about how the result is shown: the function never sees it.
    assert set(got) == {"target", "db", "mode", "profile", "progress"}
    assert (got["target"], got["db"], got["mode"], got["progress"]) == (
        "example.com",
        "x.db",
        None,
        "shown",
    )
    assert (got["profile"].brands, got["profile"].keywords) == (("Acme",), ("shoes",))


def test_call_without_a_list_passes_what_the_parsed_command_declares() -> None:
    from linkgraph.cli import build_parser

    args = build_parser().parse_args(["disavow", "example.com", "--db", "x.db", "--output", "-"])
    got = call(lambda **kwargs: kwargs, args)
    assert set(got) == {"target", "db", "min_score", "output", "mode", "profile"}
    assert (got["min_score"], got["output"]) == (50, None)  # '-' is standard output
