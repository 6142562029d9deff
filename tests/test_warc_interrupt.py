"""``linkgraph import-warc`` stopped with Ctrl-C: it commits what it read, exits 130, and
the same command continues to the rows of one uninterrupted import; and its progress
line on standard error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import linkgraph
from linkgraph.cli import main

pytest.importorskip("fastwarc", reason="import-warc needs the warc extra")
pytest.importorskip("warcio", reason="the tests write their archives with warcio")

from warc_support import Rec, page, row_counts, write_warc

DAY = "2020-01-01T00:00:00Z"


def archive(path: Path, pages: int) -> Path:
    # Pages with a few hundred links each: parsing them takes long enough to interrupt.
    return write_warc(
        path,
        [
            Rec(
                f"http://s{i % 13}.example/{i}",
                DAY,
                page(*(f"http://t{j % 31}.example/{i}/{j}" for j in range(200))),
            )
            for i in range(pages)
        ],
    )


def test_ctrl_c_commits_exits_130_and_the_same_command_continues(tmp_path: Path) -> None:
    warc = archive(tmp_path / "big.warc.gz", 400)
    db = tmp_path / "s.db"
    # -P and a cwd outside the checkout: the child imports the installed package, not the
    # checkout's linkgraph/ folder (which is not the whole package).
    command = [sys.executable, "-P", "-m", "linkgraph", "import-warc", "--db", str(db), str(warc)]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
        cwd=tmp_path,
    ) as p:
        assert p.stderr is not None
        first = p.stderr.readline()  # the first progress line: the import is under way
        assert first.startswith("[") and "records" in first
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    assert "run the same command again to continue" in err
    committed = row_counts(db)["pages"]
    assert 0 < committed < 400
    assert f"imported {committed:,} pages" in out  # the summary says what was committed

    again = subprocess.run(
        [*command, "--quiet"], capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path
    )
    assert "continued where an earlier import stopped" in again.stderr
    once = tmp_path / "once.db"
    linkgraph.import_warc(once, [warc])
    assert row_counts(db) == row_counts(once)


def test_progress_line_shows_records_rate_pages_and_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warc = archive(tmp_path / "small.warc.gz", 70)
    assert main(["import-warc", "--db", str(tmp_path / "s.db"), str(warc)]) == 0
    err = capsys.readouterr().err
    # Not a terminal: a line at the start and every ten seconds, none with --quiet.
    line = err.splitlines()[0]
    assert line.startswith("[") and "records 64 " in line
    for part in ("/s", "MB/s", "pages ", "links "):
        assert part in line
    assert main(["import-warc", "--quiet", "--db", str(tmp_path / "q.db"), str(warc)]) == 0
    assert "records" not in capsys.readouterr().err
