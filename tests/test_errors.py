"""One exception tree: every error linkgraph raises on purpose is a LinkgraphError, and the
command turns any of them into one line and exit status 1."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import linkgraph.graph.ranking
import pytest
from crawl_support import answered
from linkgraph.graph.errors import ConvergenceError
from linkgraph.storage.records import Link
from linkgraph.storage.writer import StoreWriter

import linkgraph
import linkgraph.api
from linkgraph import cli
from linkgraph.errors import LinkgraphError

# Exceptions that are not errors for a user, with why.
_NOT_USER_ERRORS = {
    # Raised by the resolver to aiohttp, which expects an OSError; the fetcher turns it
    # into FetchError("blocked-address"), which is ours.
    "linkgraph.crawler.fetch.BlockedAddress",
}


def _error_classes() -> list[type[BaseException]]:
    found = {}
    # crawler/, graph/ and storage/ install inside linkgraph but live in their own folders,
    # so each is walked on its own.
    packages = [
        importlib.import_module(f"linkgraph{sub}") for sub in ("", ".crawler", ".graph", ".storage")
    ]
    infos = [
        info for pkg in packages for info in pkgutil.walk_packages(pkg.__path__, f"{pkg.__name__}.")
    ]
    for info in infos:
        if info.name.rsplit(".", 1)[-1] == "__main__":  # running it would run the command
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and not name.startswith("_")
            ):
                found[f"{info.name}.{name}"] = value
    return [found[key] for key in sorted(found) if key not in _NOT_USER_ERRORS]


def _param(cls: type[BaseException]) -> object:
    return pytest.param(cls, id=f"{cls.__module__}.{cls.__qualname__}")


def test_the_walk_finds_the_errors_of_every_package() -> None:
    names = {f"{c.__module__}.{c.__qualname__}" for c in _error_classes()}
    assert {
        "linkgraph.storage.errors.CorruptStore",
        "linkgraph.storage.backlinks.TargetError",
        "linkgraph.crawler.settings.SettingsError",
        "linkgraph.crawler.fetch.FetchError",
        "linkgraph.graph.errors.ConvergenceError",
        "linkgraph.cli.common.CliError",
    } <= names


@pytest.mark.parametrize("cls", [_param(c) for c in _error_classes()])
def test_every_error_class_is_a_linkgraph_error(cls: type[BaseException]) -> None:
    assert issubclass(cls, LinkgraphError)


def test_the_root_is_public_and_value_errors_stay_value_errors() -> None:
    from linkgraph.crawler.settings import SettingsError
    from linkgraph.graph.errors import GraphInputError

    assert linkgraph.LinkgraphError is LinkgraphError
    # Callers that catch ValueError around a setting or a graph input keep working.
    assert issubclass(SettingsError, ValueError)
    assert issubclass(GraphInputError, ValueError)


@pytest.fixture
async def small_store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    async with await StoreWriter.open(db) as writer:
        for source, target in [
            ("http://a.test/", "http://b.test/"),
            ("http://b.test/", "http://a.test/"),
        ]:
            links = [Link(target, "x", (), "content")]
            writer.add_page(answered(source, links))
    return db


def test_a_graph_error_in_a_command_is_one_line_and_exit_1(
    small_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_convergence(*args: object, **kwargs: object) -> None:
        raise ConvergenceError(100, 0.5, 1e-9)

    # graph/ranking.py runs PageRank for every level of `linkgraph rank`.
    monkeypatch.setattr(linkgraph.graph.ranking, "pagerank", no_convergence)
    code = cli.main(["rank", "--db", str(small_store), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [
        "linkgraph: error: did not converge in 100 iterations: last error 0.5 is above tol 1e-09"
    ]


def test_any_linkgraph_error_in_a_command_is_one_line_and_exit_1(
    small_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A new kind of error needs no edit of the command: subclassing the root is enough.
    class NewKindOfError(LinkgraphError):
        pass

    def fails(*args: object, **kwargs: object) -> None:
        raise NewKindOfError("something new went wrong")

    monkeypatch.setattr(linkgraph.api, "stats", fails)
    code = cli.main(["stats", "--db", str(small_store)])
    assert code == 1
    assert capsys.readouterr().err == "linkgraph: error: something new went wrong\n"
