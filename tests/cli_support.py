"""Running the ``linkgraph`` command in-process, for the tests of its output and errors."""

from __future__ import annotations

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
