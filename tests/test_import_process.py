"""A large file is read in a process of its own while the importing one commits: it
stores what a file read in process stores; a reading process that dies, or a file it
cannot read, is a one-line error; Ctrl-C ends both processes and keeps what was
committed."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from linkgraph.storage import intern
from linkgraph.storage.edgerows import EdgeColumns
from linkgraph.storage.writer import StoreWriter
from test_import_rows import EXPORT, stored_rows

import linkgraph
from linkgraph import importer
from linkgraph.cli import main

ROWS = "".join(
    f"https://s{i % 5}.example/{i % 3},https://t{i % 7}.example/x{i % 2},a{i % 3},"
    f"{'nofollow' if i % 4 == 0 else ''}\n"
    for i in range(40)
)


def test_a_file_is_read_in_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pids = tmp_path / "pids"
    real = importer._normalize_cell

    def noting(cell: str) -> str | None:
        with pids.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return real(cell)

    monkeypatch.setattr(importer, "_normalize_cell", noting)
    monkeypatch.setattr(importer, "_PROCESS_BYTES", 0)
    edges = tmp_path / "e.csv"
    edges.write_text(ROWS)
    assert linkgraph.import_links(tmp_path / "i.db", edges).links == 40
    readers = set(pids.read_text().split())
    assert len(readers) == 1
    assert readers != {str(os.getpid())}


@pytest.mark.parametrize("batch", [3, 1000])
def test_a_file_read_in_another_process_stores_what_one_read_here_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(importer, "_BATCH", batch)
    edges = tmp_path / "e.csv"
    edges.write_text(EXPORT + ROWS, encoding="utf-8")
    here = linkgraph.import_links(tmp_path / "here.db", edges)
    monkeypatch.setattr(importer, "_PROCESS_BYTES", 0)
    there = linkgraph.import_links(tmp_path / "there.db", edges)
    assert (there.rows, there.links, there.skipped, there.problems) == (
        here.rows,
        here.links,
        here.skipped,
        here.problems,
    )
    assert there.links == 48
    assert stored_rows(tmp_path / "there.db")[:2] == stored_rows(tmp_path / "here.db")[:2]
    conn = sqlite3.connect(tmp_path / "there.db")
    other = sqlite3.connect(tmp_path / "here.db")
    try:
        for sql in (
            "SELECT id, hash, host_id, url FROM urls ORDER BY id",
            "SELECT id, name, domain_id FROM hosts ORDER BY id",
            "SELECT target_id, source_id, anchor_id, rel_id, flags FROM links ORDER BY 1, 2, 3",
        ):
            assert conn.execute(sql).fetchall() == other.execute(sql).fetchall()
    finally:
        conn.close()
        other.close()


def test_a_reading_process_that_dies_is_a_one_line_error_and_keeps_what_was_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made = []
    real = intern.located_edges

    def dying(edges: list, seen_at: int):  # type: ignore[no-untyped-def]
        made.append(1)  # in the reading process: its own count
        if len(made) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(edges, seen_at)

    monkeypatch.setattr(importer, "located_edges", dying)
    monkeypatch.setattr(importer, "_BATCH", 4)
    monkeypatch.setattr(importer, "_PROCESS_BYTES", 0)
    edges = tmp_path / "e.csv"
    edges.write_text(ROWS)
    db = tmp_path / "i.db"
    assert main(["import", "--db", str(db), str(edges)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"linkgraph: error: the process reading {edges} ended before the file did"
        " (killed by signal 9)"
    ]
    assert linkgraph.stats(db)["links"]["link"] == 8  # the two batches it sent


def test_a_line_the_reading_process_cannot_read_is_a_one_line_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importer, "_BATCH", 4)
    monkeypatch.setattr(importer, "_PROCESS_BYTES", 0)
    edges = tmp_path / "e.csv"
    # A cell past the csv module's field limit (128 KiB): an error of the file, not ours.
    edges.write_text(ROWS + "https://a.example/," + "x" * 200_000 + "\n")
    db = tmp_path / "i.db"
    with pytest.raises(linkgraph.LinkgraphError) as caught:
        linkgraph.import_links(db, edges, delimiter=",")
    assert str(caught.value).startswith(f"{edges}: not valid CSV at line 41: ")
    assert linkgraph.stats(db)["links"]["link"] == 40  # every batch before it


# Imports in batches of 4 links, read in a process of its own that stops for good after
# sending two; prints the reading process's id, then the links stored after each commit.
STOPPED = """
import os, sys, time
from linkgraph import importer
from linkgraph.cli import main
from linkgraph.storage.writer import StoreWriter
importer._BATCH = 4
importer._PROCESS_BYTES = 0
real_located, made = importer.located_edges, []
def located(edges, seen_at):
    made.append(1)
    if len(made) == 1:
        print(os.getpid(), flush=True)
    if len(made) == 3:
        time.sleep(120)
    return real_located(edges, seen_at)
importer.located_edges = located
real_commit = StoreWriter._commit_batch
async def commit(self):
    await real_commit(self)
    print(self.links, flush=True)
StoreWriter._commit_batch = commit
sys.exit(main(["import", "--db", sys.argv[1], sys.argv[2]]))
"""


def test_ctrl_c_ends_both_processes_and_keeps_the_batches_committed(tmp_path: Path) -> None:
    edges = tmp_path / "e.csv"
    edges.write_text(ROWS)
    script = tmp_path / "stopped.py"
    script.write_text(STOPPED)
    db = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-P", str(script), str(db), str(edges)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job is
    )
    try:
        out = b""  # read from the pipe as it comes: lines may arrive together
        while out.count(b"\n") < 3:
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, f"the import stopped early: {out!r}"
            chunk = os.read(proc.stdout.fileno(), 4096)  # type: ignore[union-attr]
            assert chunk, proc.stderr.read()  # type: ignore[union-attr]
            out += chunk
        reader, *committed = map(int, out.split())
        assert committed == [4, 8]
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: to every process of the job
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.splitlines() == ["linkgraph: interrupted"]
    with pytest.raises(ProcessLookupError):
        os.kill(reader, 0)  # ended and waited for, not left behind
    assert linkgraph.stats(db)["links"]["link"] == 8


# Imports a file of many small batches; after the first commit prints the reading
# process's id and stops for good (the reader goes on until the pipe is full).
KILLED = """
import multiprocessing, sys, time
from linkgraph import importer
from linkgraph.storage.writer import StoreWriter
importer._BATCH = 4
importer._PROCESS_BYTES = 0
real_commit = StoreWriter._commit_batch
async def commit(self):
    await real_commit(self)
    print(multiprocessing.active_children()[0].pid, flush=True)
    time.sleep(120)
StoreWriter._commit_batch = commit
importer.import_links(sys.argv[1], sys.argv[2])
"""


def _ended(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # ended; its new parent has not waited for it yet


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_reading_process_ends_when_the_importing_one_is_killed(tmp_path: Path) -> None:
    edges = tmp_path / "e.csv"
    edges.write_text(ROWS * 200)  # 8,000 rows: more batches than the pipe holds
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    proc = subprocess.Popen(
        [sys.executable, "-P", str(script), str(tmp_path / "s.db"), str(edges)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the import never committed a batch"
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip().isdigit(), proc.stderr.read()  # type: ignore[union-attr]
        reader = int(line)
        assert not _ended(reader)  # blocked on the full pipe
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while not _ended(reader) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ended(reader)


def test_a_file_read_in_another_process_is_committed_in_batches_growing_then_shrinking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3,000 rows of about 60 bytes: far more than the text stream reads ahead (8 KiB).
    lines = "".join(
        f"https://s{i % 97}.example/p{i % 89},https://t{i % 13}.example/{i},a{i % 5},\n"
        for i in range(3000)
    )
    edges = tmp_path / "e.csv"
    edges.write_text(lines)
    here = tmp_path / "here.db"
    linkgraph.import_links(here, edges)  # in this process, in one batch
    sizes: list[int] = []
    real = StoreWriter.add_columns

    def noting(self: StoreWriter, columns: EdgeColumns) -> None:
        sizes.append(len(columns))
        real(self, columns)

    monkeypatch.setattr(StoreWriter, "add_columns", noting)
    monkeypatch.setattr(importer, "_FIRST_BATCH", 50)
    monkeypatch.setattr(importer, "_BATCH", 400)
    monkeypatch.setattr(importer, "_PROCESS_BYTES", 0)
    there = tmp_path / "there.db"
    assert linkgraph.import_links(there, edges).links == 3000
    assert sum(sizes) == 3000
    assert sizes[:4] == [50, 100, 200, 400]
    top = sizes.index(400)
    assert sizes[top:].count(400) >= 2  # full batches in the middle
    tail = sizes[len(sizes) - 1 - sizes[::-1].index(400) :]
    assert len(tail) >= 3 and tail == sorted(tail, reverse=True)  # then shrinking
    assert tail[-2] <= 100
    # Where batches end changes no id.
    for sql in (
        "SELECT id, hash, host_id, url FROM urls ORDER BY id",
        "SELECT id, name, domain_id FROM hosts ORDER BY id",
        "SELECT target_id, source_id, anchor_id, rel_id, flags FROM links ORDER BY 1, 2, 3",
        "SELECT url_id, domain_id FROM link_sources ORDER BY 1",
    ):
        assert rows_of(there, sql) == rows_of(here, sql)


def rows_of(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
