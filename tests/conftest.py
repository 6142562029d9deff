"""Shared fixtures: the third-party corpus beside the repository, and the network guard.

The guard (``tests/netguard/``) lets this process and every Python child it starts reach
nothing but loopback: a lookup of any other name, or a connect to any other address, is
refused and logged, and the test phase (setup, call or teardown, so module fixtures too)
during which it happened fails, even when the code under test swallowed the refusal as an
ordinary crawl outcome.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
NETGUARD = Path(__file__).resolve().parent / "netguard"

# crawler/, graph/ and storage/ install inside linkgraph. Run without -P, Python puts the
# checkout's root first on sys.path, and its linkgraph/ folder (without them) hides a
# non-editable install: say so once instead of failing every test module on an import.
if importlib.util.find_spec("linkgraph.crawler") is None:
    pytest.exit(
        "linkgraph.crawler is not importable: install the package (pip install '.[test]') "
        "and run the tests as the README says (python -P -m pytest)",
        returncode=4,
    )

sys.path.insert(0, str(NETGUARD))
import netguard  # noqa: E402

_LOG_DIR = Path(tempfile.mkdtemp(prefix="linkgraph-netguard-"))
_LOG = _LOG_DIR / "violations.log"
_LOG.touch()
os.environ[netguard.LOG_ENV] = str(_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(NETGUARD), *filter(None, [os.environ.get("PYTHONPATH")])]
)
netguard.install()
_read_up_to = 0


def _new_violations() -> list[str]:
    global _read_up_to
    with _LOG.open(encoding="utf-8") as log:
        log.seek(min(_read_up_to, _LOG.stat().st_size))
        lines = log.read().splitlines()
        _read_up_to = log.tell()
    return lines


def _guarded(phase: str) -> Generator[None, Any, Any]:
    _new_violations()  # anything from before belongs to an earlier phase's report
    result = yield
    tried = _new_violations()
    if tried:
        pytest.fail(
            f"the test's {phase} reached for the network outside loopback: " + "; ".join(tried[:5]),
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _guarded("setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _guarded("call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _guarded("teardown"))


@pytest.fixture(autouse=True)
def _hide_an_idle_event_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Playwright's sync API (the browser tests' session fixture) keeps its event loop
    marked as running in the worker's main thread between its calls. Another test run on
    that worker meanwhile could not run a loop of its own ("cannot be called from a
    running event loop"): the idle loop is hidden for the length of such a test."""
    import asyncio.events

    idle = asyncio.events._get_running_loop()
    if idle is None or "browser" in request.fixturenames:
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(idle)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_LOG_DIR, ignore_errors=True)


@pytest.fixture
def netguard_violations() -> Iterator[Callable[[], list[str]]]:
    """For the guard's own tests: a function returning the violations logged so far in
    the test, taking them out of the log so that the guard does not fail the test."""
    start = _LOG.stat().st_size
    seen: list[str] = []

    def take() -> list[str]:
        with _LOG.open("r+", encoding="utf-8") as log:
            log.seek(start)
            seen.extend(log.read().splitlines())
            log.truncate(start)
        return list(seen)

    yield take
    take()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, sqlite3.Connection]]:
    """Every connection opened on a store file during the test, with its path, in order:
    how the tests tell whether a query opened the file again or used the store it was given."""
    from linkgraph.storage import schema

    opened: list[tuple[str, sqlite3.Connection]] = []
    connect = schema.connect

    def recording(path: str | os.PathLike[str], **kwargs: Any) -> Any:
        conn = connect(path, **kwargs)
        opened.append((os.fspath(path), conn))
        return conn

    monkeypatch.setattr(schema, "connect", recording)
    return opened


@pytest.fixture
def report_agreement(
    record_property: Callable[[str, object], None],
) -> Callable[[dict[str, float], str], None]:
    """For a test that measures us against a third-party corpus or reference:
    ``report_agreement(values, summary)`` records each value (a rate, rounded to 1e-5, or a
    count) as a property of the test in the JUnit XML report and prints ``summary`` (shown
    with ``-s``), so that a run tells how close we came, not only that we passed."""

    def report(values: dict[str, float], summary: str) -> None:
        for name, value in values.items():
            record_property(name, round(value, 5) if isinstance(value, float) else value)
        print(f"\n{summary}")

    return report


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus`` relative to the repository root; skips when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"third-party corpus not found at {CORPUS} (it sits beside the repo in CI)")
    return CORPUS


@pytest.fixture(scope="session")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The live audit's demo web crawled twice (``tests/audit_support.py``): a session
    fixture so that test_audit.py and test_audit_history.py share one pair of crawls."""
    from audit_support import crawled_twice

    yield from crawled_twice(tmp_path_factory)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A PostgreSQL server of this test process's own (``tests/pg_support.py``), stopped
    at the end of the session however the tests ended. Where the server binaries are
    missing, the tests that use it skip, or fail under ``CI=true``: CI installs them."""
    from pg_support import PgServer, find_binaries, without_server

    binaries = find_binaries()
    if binaries is None:
        without_server(os.environ)
    server = PgServer(binaries)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server, dropped after the test."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)
