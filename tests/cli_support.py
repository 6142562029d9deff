"""Running the ``linkgraph`` command in-process, for the tests of its output and errors,
and Python code in a fresh interpreter that sees only the installed package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from linkgraph.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``linkgraph ARGV`` in-process: exit status, standard output, standard error.

    argparse leaves by ``SystemExit`` (``--help``, a usage error): its code is the status.
    """
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def python_outside_checkout(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """CODE run with -P from CWD (outside the checkout), where only the install is seen."""
    return subprocess.run(
        [sys.executable, "-P", "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def run_outside_checkout(code: str, cwd: Path) -> str:
    """What CODE prints, run with -P from CWD (outside the checkout): only the install is seen."""
    done = python_outside_checkout(code, cwd)
    done.check_returncode()
    return done.stdout
