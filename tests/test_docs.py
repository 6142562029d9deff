"""The README, the CLI and CI stay in step: what the docs say is what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import linkgraph
from linkgraph.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def quick_start_commands() -> list[str]:
    return re.findall(r"^python3 -m venv .*$", README, flags=re.MULTILINE)


def test_readme_has_the_two_quick_start_commands() -> None:
    demo, tests = quick_start_commands()
    assert demo.endswith("pip install . && linkgraph demo")
    assert tests.endswith("pip install '.[test]' && bash scripts/test.sh")


def test_the_test_script_runs_pytest_as_the_readme_says() -> None:
    script = (REPO / "scripts" / "test.sh").read_text()
    assert script.rstrip().endswith('exec python -P -m pytest "$@"')
    assert "apt-get install -y" in script and "--no-install-recommends postgresql" in script


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert quick_start_commands()[1] in ci.splitlines()
    assert "-eq 5" in ci  # "no tests collected" must fail CI


def _subcommands() -> dict[str, object]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return dict(sub.choices)  # type: ignore[attr-defined]


def test_every_command_is_in_the_readme_and_has_an_example() -> None:
    for name, sub in _subcommands().items():
        assert f"linkgraph {name}" in README, name
        assert "Example:" in sub.format_help(), name  # type: ignore[attr-defined]


def test_every_command_has_a_python_function() -> None:
    functions = {"import": "import_links"}
    for name in _subcommands():
        # demo serves and crawls; spark starts a Spark job (its Python API is the
        # linkgraph.spark package, which needs the optional PySpark).
        if name in {"demo", "spark"}:
            continue
        if name == "serve":  # an app, not a query: its function is in linkgraph.web
            from linkgraph import web

            assert callable(web.serve)
            continue
        assert hasattr(linkgraph, functions.get(name, name.replace("-", "_"))), name


def listed_names(text: str, lead: str) -> list[str]:
    """The backquoted names of the paragraph that starts with ``lead``, after its colon."""
    paragraph = text[text.index(lead) :].split("\n\n", 1)[0]
    return re.findall(r"`([^`]+)`", paragraph.split(":\n", 1)[1])


def test_public_surface_is_pinned() -> None:
    # The list lives in the README: __all__ must be exactly it, without repeats, and
    # every name must resolve and carry its own docstring.
    listed = listed_names(README, "The public names of the `linkgraph` package")
    assert len(listed) == len(set(listed))
    assert sorted(linkgraph.__all__) == sorted(listed)
    for name in linkgraph.__all__:
        value = getattr(linkgraph, name)
        if callable(value):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def _actions() -> list[tuple[str, object]]:
    """(command, action) for every option and positional of the parser and each command."""
    parser = build_parser()
    found = [("linkgraph", a) for a in parser._actions]
    found += [(name, a) for name, sub in _subcommands().items() for a in sub._actions]  # type: ignore[attr-defined]
    return found


def test_every_option_and_positional_has_help_text() -> None:
    missing = [
        f"{name} {'/'.join(a.option_strings) or a.dest}"  # type: ignore[attr-defined]
        for name, a in _actions()
        if not (a.help or "").strip()  # type: ignore[attr-defined]
    ]
    assert missing == []


def test_help_states_every_default_other_than_off() -> None:
    for name, a in _actions():
        default = a.default  # type: ignore[attr-defined]
        if default in (None, False, [], "==SUPPRESS==") or a.option_strings == []:  # type: ignore[attr-defined]
            continue
        assert str(default) in a.help, f"{name} {a.option_strings}: default {default!r}"  # type: ignore[attr-defined]


def test_every_anchor_class_is_in_the_readme_and_the_help() -> None:
    from linkgraph.graph.anchors import ANCHOR_CLASSES

    (classify,) = [
        a
        for a in _subcommands()["anchors"]._actions  # type: ignore[attr-defined]
        if "--classify" in a.option_strings
    ]
    profile = README.split("**Anchor profile**")[1].split("\n- **")[0]
    for name in ANCHOR_CLASSES:
        assert f"`{name}`" in profile, name
        assert name in classify.help, name


def test_the_demo_sites_default_is_the_size_of_the_demo_web() -> None:
    from linkgraph.demo import demo_size, describe, generate

    (sites,) = [
        a
        for a in _subcommands()["demo"]._actions  # type: ignore[attr-defined]
        if "--sites" in a.option_strings
    ]
    facts = describe(generate(demo_size(sites.default, 12), 12))
    assert facts["sites"] == sites.default
    assert f"{facts['sites']} sites on {facts['domains']} domains" in README
