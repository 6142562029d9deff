"""Stores in read-only places, real corruption checks, and honest crawl exit codes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from linkgraph.storage import schema
from linkgraph.storage.errors import CorruptStore
from linkgraph.storage.writer import StoreWriter

from linkgraph.cli import main
from linkgraph.importer import import_links

NOBODY = 65534

# Run the CLI as a user the file modes apply to. Tests run as root in CI, and root ignores
# write bits: a chmod-based test would pass there without the fix. So the child imports
# everything it needs while it still may, then drops to uid/gid 65534 (when it is root)
# and only then runs the command. Not root: file modes already bind, nothing to drop.
# (Python's own library lives under /root here, out of that user's reach: what loads on
# first use, such as the Public Suffix List and its idna codec, is loaded up front too.)
_CHILD = f"""
import os, sys
import linkgraph.cli, linkgraph.ranking, linkgraph.importer, linkgraph.audit
from linkgraph.storage.identity import registrable_domain
registrable_domain("www.example.co.uk")
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid({NOBODY})
    os.setuid({NOBODY})
sys.exit(linkgraph.cli.main(sys.argv[1:]))
"""


def run_without_write_access(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_store(folder: Path, links: int = 3000) -> Path:
    """A real store of ``links`` imported links, checkpointed (no -wal content left)."""
    rows = ["source,target,anchor"] + [
        f"https://a{i % 50}.example/p{i},https://b{i % 70}.example/q{i % 300},anchor {i}"
        for i in range(links)
    ]
    edges = folder / "edges.csv"
    edges.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = folder / "s.db"
    assert import_links(db, edges).links == links
    edges.unlink()
    return db


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside pytest's 0700 tmp tree, so the unprivileged child can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="linkgraph-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def make_read_only(db: Path) -> None:
    db.chmod(0o444)
    db.parent.chmod(0o555)


def test_queries_work_on_a_store_in_a_read_only_folder(shared_dir: Path) -> None:
    """Reading a WAL store needs its -shm file, which SQLite cannot create in a read-only
    folder: before, every query failed there and called the healthy store damaged."""
    db = build_store(shared_dir)
    make_read_only(db)
    before = sorted(p.name for p in shared_dir.iterdir())

    result = run_without_write_access("stats", "--db", str(db), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["links"]["total"] == 3000

    result = run_without_write_access(
        "backlinks", "https://b3.example/q3", "--db", str(db), "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    sources = {r["source"] for r in json.loads(result.stdout)}
    # i % 70 == 3 and i % 300 == 3: i = 3 + 2100 k for i < 3000 → i in {3, 2103}.
    assert sources == {"https://a3.example/p3", "https://a3.example/p2103"}
    assert sorted(p.name for p in shared_dir.iterdir()) == before


@pytest.mark.parametrize(
    ("file_mode", "folder_mode", "says"),
    [
        (0o666, 0o555, "is in a read-only folder"),  # SQLite could not create its -wal there
        (0o444, 0o777, "is read-only: write commands cannot change it"),
    ],
    ids=["folder", "file"],
)
def test_write_commands_on_a_read_only_store_say_it_is_read_only(
    shared_dir: Path, file_mode: int, folder_mode: int, says: str
) -> None:
    db = build_store(shared_dir)
    db.chmod(file_mode)
    shared_dir.chmod(folder_mode)
    before = digest(db)

    result = run_without_write_access("rank", "--db", str(db))

    assert result.returncode == 1
    assert result.stderr.startswith(f"linkgraph: error: {db} {says}")
    assert result.stderr.count("\n") == 1
    assert digest(db) == before


def test_queries_work_on_a_read_only_store_file(shared_dir: Path) -> None:
    db = build_store(shared_dir)
    db.chmod(0o444)
    shared_dir.chmod(0o777)
    result = run_without_write_access("stats", "--db", str(db), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["links"]["total"] == 3000


def corrupt_an_index_page(db: Path) -> None:
    """Overwrite the root page of the ``urls_hash`` index with noise: a real malformed
    page, past the 100-byte header that :func:`schema.inspect_file` already checks, in an
    index that ``rank`` never reads (so only a structural check can notice it)."""
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'urls_hash'").fetchone()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    data = bytearray(db.read_bytes())
    offset = (root[0] - 1) * page_size
    noise = random.Random(1)
    data[offset : offset + page_size] = bytes(noise.randrange(256) for _ in range(page_size))
    db.write_bytes(bytes(data))


@pytest.fixture
def malformed_store(tmp_path: Path) -> Path:
    db = build_store(tmp_path)
    corrupt_an_index_page(db)
    return db


def test_rank_refuses_a_malformed_store_and_leaves_it_unchanged(
    malformed_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(malformed_store)
    assert main(["rank", "--db", str(malformed_store)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("linkgraph: error: ")
    assert "is damaged" in err[-1] and "quick_check" in err[-1]
    assert digest(malformed_store) == before


def test_crawl_and_import_refuse_a_malformed_store(
    malformed_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(malformed_store)
    edges = tmp_path / "more.csv"
    edges.write_text("https://x.example/,https://y.example/\n", encoding="utf-8")
    # Nothing listens on the seed's port; the refusal must come before any request.
    assert main(["crawl", "--db", str(malformed_store), "--allow-private-addresses", "--quiet",
                 f"http://127.0.0.1:{free_port()}/"]) == 1  # fmt: skip
    assert main(["import", "--db", str(malformed_store), str(edges)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len([ln for ln in lines if "is damaged" in ln]) == 2
    assert digest(malformed_store) == before


def test_stats_reports_a_malformed_store_as_damaged(
    malformed_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--db", str(malformed_store), "--format", "json"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("linkgraph: error: ") and "\n" not in err
    assert "is damaged" in err


def test_check_passes_a_healthy_store_and_fails_a_malformed_one(tmp_path: Path) -> None:
    db = build_store(tmp_path)
    schema.connect(db).close()
    schema.connect(db, readonly=True, check=True).close()
    corrupt_an_index_page(db)
    with pytest.raises(CorruptStore):
        schema.connect(db, readonly=True, check=True)


def test_a_locked_store_is_called_locked_not_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = build_store(tmp_path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        status = main(["rank", "--db", str(db)])  # waits out sqlite3's 5 s busy timeout
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"linkgraph: error: {db} is locked by another process; try again when it is done"


# -- crawl exit codes ----------------------------------------------------------------------


def free_port() -> int:
    """A loopback port with nothing listening (bound, read, closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_crawl_exits_non_zero_when_every_seed_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINKGRAPH_ROBOTS_RETRIES", "0")  # no minute-long robots.txt retries
    seeds = [f"http://127.0.0.1:{free_port()}/", f"http://127.0.0.2:{free_port()}/"]
    db = tmp_path / "c.db"
    status = main(["crawl", "--db", str(db), "--allow-private-addresses", "--quiet", *seeds])
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("linkgraph: error: every seed failed: ")
    assert all(seed in err[-1] for seed in seeds)


def test_crawl_without_seeds_leaves_no_new_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "new.db"
    assert main(["crawl", "--db", str(db)]) == 1
    assert "no seed URLs" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []


def test_crawl_without_seeds_keeps_an_existing_empty_file(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    db.write_bytes(b"")
    assert main(["crawl", "--db", str(db)]) == 1
    assert db.exists() and stat.S_ISREG(db.stat().st_mode)


# -- the demo replaces its store: never one that is being written --------------------------


def test_second_demo_on_the_same_store_refuses_while_the_first_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    first = subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-m",
            "linkgraph",
            "demo",
            "--db",
            str(db),
            "--quiet",
            "--sites",
            "28",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{db}-wal").exists():  # the first demo's crawl has the store open
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first demo never opened its store"
            time.sleep(0.05)
        second = main(["demo", "--db", str(db), "--quiet"])
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second == 1
    assert capsys.readouterr().err == f"linkgraph: error: another linkgraph is writing {db}\n"
    assert first.returncode == 0, err
    assert out.startswith("crawled ")
    assert not Path(f"{db}.lock").exists()


def test_demo_does_not_delete_a_demo_store_a_crawl_is_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    with asyncio.Runner() as runner:
        writer = runner.run(StoreWriter.open(db))
        try:
            # What an earlier demo leaves: its crawl record names the demo's hosts file.
            runner.run(
                writer.save_crawl({"seeds": [], "hosts_file": "/tmp/linkgraph-demo-1/hosts"})
            )
            runner.run(writer.flush())
            inode = db.stat().st_ino
            # e.g. `linkgraph broken --check-external --db demo.db` still running
            status = main(["demo", "--db", str(db), "--quiet"])
        finally:
            runner.run(writer.close())
    assert status == 1
    assert capsys.readouterr().err == f"linkgraph: error: another linkgraph is writing {db}\n"
    assert db.stat().st_ino == inode


def test_read_only_folder_with_pending_wal_is_a_one_line_error(shared_dir: Path) -> None:
    """Pages still in the -wal file cannot be read without the -shm index, which cannot be
    created here: say so, rather than read the store without them or call it damaged."""
    db = build_store(shared_dir)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO domains(name) VALUES ('pending.example')")
    copy = shared_dir / "copy.db"
    # Copied while the connection is open: closing it would checkpoint the -wal away.
    copy.write_bytes(db.read_bytes())
    Path(f"{copy}-wal").write_bytes(Path(f"{db}-wal").read_bytes())
    conn.close()
    make_read_only(copy)

    result = run_without_write_access("stats", "--db", str(copy), "--format", "json")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "read-only folder" in result.stderr and "copy.db-wal" in result.stderr
    assert "damaged" not in result.stderr


def test_older_store_in_a_read_only_folder_asks_to_be_opened_where_writable(
    shared_dir: Path,
) -> None:
    db = build_store(shared_dir)
    older = schema.SCHEMA_VERSION - 1
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {older}")  # as a store of the previous release
    conn.execute("DELETE FROM migrations WHERE version > ?", (older,))
    conn.close()
    make_read_only(db)
    before = digest(db)

    result = run_without_write_access("stats", "--db", str(db), "--format", "json")

    assert result.returncode == 1
    assert result.stderr == (
        f"linkgraph: error: {db} has store schema v{older} and is read-only: open it once"
        f" where it can be written, so that it is brought up to v{schema.SCHEMA_VERSION}\n"
    )
    assert digest(db) == before
