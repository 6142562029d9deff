"""Killed and interrupted crawls resume to the same store as an uninterrupted one.

The crawls run as ``linkgraph crawl`` child processes against a demo web served from this
process, so a ``kill -9`` hits the crawler and nothing else, and the server's log shows
what the resumed crawl asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from crawl_support import (
    REPO,
    child,
    child_env,
    count_pages,
    frontier_size,
    page_hits,
    stored_links,
    stored_pages,
    wait_until,
)
from linkgraph.storage.records import Link, Page, QueueItem
from linkgraph.storage.writer import StoreWriter

from linkgraph import api
from linkgraph.demo import DemoWeb, generate

pytestmark = pytest.mark.timeout(120)

DELAY = "0.15"
# Commit often (not every second and every 200 pages) so a kill finds pages on disk.
QUICK_FLUSH = {"LINKGRAPH_FLUSH_SECONDS": "0.1", "LINKGRAPH_BATCH_PAGES": "10"}


def start_args(web: DemoWeb, tmp_path: Path, db: Path) -> list[str]:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(web.seeds) + "\n")
    hosts = web.write_hosts_file(tmp_path / "hosts")
    return ["crawl", "--db", str(db), "--seeds", str(seeds), "--hosts-file", str(hosts)]


def run_to_end(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    with child([*args, "--quiet"], **env) as process:
        out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def pages_and_links(db: Path) -> tuple[set[tuple[str, int | None]], set[tuple[str, ...]]]:
    pages = {(url, p.status) for url, p in stored_pages(db).items()}
    return pages, stored_links(db)


@pytest.fixture(scope="module")
def web() -> Iterator[DemoWeb]:
    with DemoWeb(generate(24, 8, seed=5, traps=False)) as served:
        yield served


@pytest.fixture(scope="module")
def reference(web: DemoWeb, tmp_path_factory: pytest.TempPathFactory) -> tuple[set, set]:
    """One uninterrupted crawl of the web: what every resumed crawl must end up with."""
    tmp = tmp_path_factory.mktemp("reference")
    db = tmp / "reference.db"
    web.reset()
    run_to_end([*start_args(web, tmp, db), "--delay", DELAY])
    assert frontier_size(db) == 0
    return pages_and_links(db)


def test_reference_crawl_matches_the_ground_truth(web: DemoWeb, reference: tuple[set, set]) -> None:
    pages, links = reference
    fetched = {url for url, status in pages if status == 200}
    truth = {
        (source, ln.target, ln.anchor, ln.kind, ln.placement)
        for source, ln in web.expected_edges()
        if source in fetched and not (ln.kind == "canonical" and ln.target == source)
    }
    assert links == truth
    wanted = {
        web.url(s.name, p) for s in web.sites for p in s.pages if not p.startswith("/private/")
    }
    assert fetched == wanted


def test_resume_after_kill_9(web: DemoWeb, reference: tuple[set, set], tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    web.reset()
    total = len(reference[0])
    with child([*start_args(web, tmp_path, db), "--delay", DELAY, "--quiet"], **QUICK_FLUSH) as p:
        wait_until(lambda: count_pages(db) >= total // 3, 60, "a third of the pages on disk")
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    assert p.returncode == -signal.SIGKILL
    before = stored_pages(db)
    assert total // 3 <= len(before) < total
    web.clear_log()

    run_to_end(["crawl", "--db", str(db)])  # no seeds, no flags: the store knows the crawl

    assert pages_and_links(db) == reference
    assert frontier_size(db) == 0
    # What was on disk is never fetched again; robots.txt is, once per host and run.
    again = {web.url(h.site, h.path) for h in page_hits(web)}
    assert again.isdisjoint(before)
    fetched_before = {url for url, page in before.items() if page.status is not None}
    assert again | fetched_before == {url for url, status in reference[0] if status is not None}


def test_ctrl_c_flushes_exits_130_and_resumes(
    web: DemoWeb, reference: tuple[set, set], tmp_path: Path
) -> None:
    db = tmp_path / "interrupted.db"
    web.reset()
    # Nothing is committed before the interrupt, so what is on disk after it was flushed by it.
    lazy = {"LINKGRAPH_FLUSH_SECONDS": "600", "LINKGRAPH_BATCH_PAGES": "100000"}
    with child([*start_args(web, tmp_path, db), "--delay", DELAY, "--quiet"], **lazy) as p:
        wait_until(lambda: len(page_hits(web)) >= 40, 60, "forty pages fetched")
        assert count_pages(db) == 0
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    saved = {url for url, page in stored_pages(db).items() if page.status is not None}
    assert saved and saved <= {web.url(h.site, h.path) for h in page_hits(web)}

    api.crawl(db)  # the Python API continues a crawl just as the command does
    assert pages_and_links(db) == reference


async def test_frontier_read_back_while_a_batch_commits(tmp_path: Path) -> None:
    """A resumed crawl reads every host's queue back from the store while the flusher
    commits; the two must not trip over each other on the writer's connection."""
    async with await StoreWriter.open(tmp_path / "links.db") as writer:
        writer.add_queued([QueueItem(f"http://a.test/{i}", 1) for i in range(300)])
        await writer.flush()

        async def commit_pages() -> None:
            for i in range(30):
                writer.add_page(Page(f"http://b.test/{i}", 0, time.time(), status=200))
                await writer.flush()

        items, _ = await asyncio.gather(writer.take_frontier("a.test", 300), commit_pages())
    assert len(items) == 300
    assert count_pages(tmp_path / "links.db") == 30


async def test_a_cancelled_flush_leaves_the_store_writable(tmp_path: Path) -> None:
    """The end of a crawl and Ctrl-C cancel tasks that may be committing a batch. Whatever
    moment the cancel lands on, the next flush must work and no page may be lost."""
    db = tmp_path / "links.db"
    pages = 0
    async with await StoreWriter.open(db) as writer:
        for ticks in range(40):  # cancel after 0, 1, 2, ... turns of the event loop
            for i in range(20):
                links = [Link(f"http://b.test/{ticks}/{i}/{j}", f"anchor {j}") for j in range(20)]
                url = f"http://a.test/{ticks}/{i}"
                writer.add_page(Page(url, 0, time.time(), status=200, links=links))
                pages += 1
            flush = asyncio.create_task(writer.flush())
            for _ in range(ticks):
                await asyncio.sleep(0)
            flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flush
        await writer.flush()
    assert count_pages(db) == pages


def test_a_store_killed_before_its_first_checkpoint_can_be_resumed(tmp_path: Path) -> None:
    """In WAL mode the header of the main file (our application id, the schema version) is
    written at a checkpoint. SQLite checkpoints when the last connection closes, so while
    anyone else has the store open (``linkgraph stats``, a test polling it) a new store's
    header stays zero; a crawl killed then must still be recognised and resumed."""
    db = tmp_path / "links.db"
    script = f"""
import asyncio, os, sqlite3, time
from linkgraph.storage import schema, writer
from linkgraph.storage.records import Page

first_open = schema.connect
readers = []

def connect_while_someone_reads(path, **options):
    conn = first_open(path, **options)
    readers.append(sqlite3.connect(path))  # another reader of the store...
    readers[-1].execute("SELECT count(*) FROM pages").fetchall()  # ...that has read it
    return conn

schema.connect = connect_while_someone_reads

async def main():
    store = await writer.StoreWriter.open({str(db)!r})
    store.add_page(Page("http://a.test/", 0, time.time(), status=200))
    await store.flush()
    os.kill(os.getpid(), 9)

asyncio.run(main())
"""
    process = subprocess.run(
        [sys.executable, "-P", "-c", script],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        timeout=60,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    assert db.read_bytes()[68:72] == b"\0\0\0\0"  # the application id is not on disk yet
    assert stored_pages(db)["http://a.test/"].status == 200
    assert api.stats(db)["pages"]["fetched"] == 1
