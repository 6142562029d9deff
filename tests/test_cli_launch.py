"""Ctrl-C while the command line is still loading: one line and status 130, as later."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from cli_support import python_outside_checkout

pytestmark = pytest.mark.timeout(60)

# Ctrl-C arriving while linkgraph.cli imports its modules (the first 0.1 to 0.2 s of
# every command), made exact: the import of one of them raises KeyboardInterrupt.
_INTERRUPTED_IMPORT = """
import sys

class Interrupting:
    def find_spec(self, name, path=None, target=None):
        if name == "linkgraph.cli.crawling":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, Interrupting())
from linkgraph.launch import main
sys.exit(main(["stats", "--db", "nothing.db"]))
"""


def test_the_console_script_starts_at_the_launcher() -> None:
    (script,) = [
        e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == "linkgraph"
    ]
    assert script.value == "linkgraph.launch:main"


def test_ctrl_c_while_the_command_line_loads_prints_one_line(tmp_path: Path) -> None:
    done = python_outside_checkout(_INTERRUPTED_IMPORT, tmp_path)
    assert (done.returncode, done.stderr, done.stdout) == (130, "linkgraph: interrupted\n", "")
