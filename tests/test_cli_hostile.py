"""Hostile values of the command line and its files: each is one line and a non-zero exit.

The audit behind these tests tried every command with bad stores, files and flag values;
what already behaved is tested where it is built (test_cli, test_store_safety,
test_settings...). These are the cases that once printed a traceback, replaced a file the
user did not ask to replace, or left a wrong exit status.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run
from linkgraph.storage import schema

pytestmark = pytest.mark.timeout(60)

HUGE = str(10**23)  # past SQLite's 64-bit integers


@pytest.fixture
def store(tmp_path: Path) -> str:
    """An empty store: a query on it binds its limit all the same."""
    path = tmp_path / "links.db"
    schema.connect(path, create=True).close()
    return str(path)


def one_line_error(err: str) -> str:
    """The single error line of ``err``, after checking it is the only line."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["top", "--limit", HUGE],
        ["backlinks", "example.com", "--limit", HUGE],
        ["broken", "--limit", HUGE],
        ["intersect", "a.example", "b.example", "--limit", HUGE],
    ],
)
def test_a_limit_past_64_bits_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], store: str, argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv, "--db", store)
    assert code == 2 and out == ""
    assert "--limit" in err.splitlines()[-1] and "Traceback" not in err


@pytest.mark.parametrize("port", ["65536", HUGE])
def test_a_port_past_65535_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], store: str, port: str
) -> None:
    code, out, err = run(capsys, "serve", "--db", store, "--port", port)
    assert code == 2 and out == ""
    assert "--port" in err.splitlines()[-1] and "Traceback" not in err
