"""A batch commits in a number of statements that does not grow with its pages.

With ``executemany`` sqlite3 gives up the GIL and takes it back around every row, and
beside a crawl's busy event loop each take-back waits (the note in storage/intern.py);
so a batch's rows go to SQLite a statement at a time, not a row at a time."""

from __future__ import annotations

from pathlib import Path

from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter


async def statements_to_commit(db: Path, pages: int) -> list[str]:
    async with await StoreWriter.open(db) as writer:
        for i in range(pages):
            writer.add_page(
                Page(
                    f"http://a.test/{i}",
                    1,
                    1_700_000_000.0 + i,
                    status=200,
                    title=f"Page {i}",
                    text=f"the text of page {i}",
                    links=[Link(f"http://b.test/{i}", "anchor"), Link("http://a.test/")],
                )
            )
        run: list[str] = []
        await writer._conn.set_trace_callback(run.append)
        await writer.flush()
        await writer._conn.set_trace_callback(None)
    # Statements SQLite runs inside ours (the full-text table's own) start with "--".
    return [sql for sql in run if not sql.startswith("--")]


async def test_a_batch_of_300_new_pages_commits_in_as_many_statements_as_one_of_10(
    tmp_path: Path,
) -> None:
    few = await statements_to_commit(tmp_path / "few.db", 10)
    many = await statements_to_commit(tmp_path / "many.db", 300)
    assert len(many) == len(few)
    assert any(sql.startswith("INSERT INTO pages") for sql in many)
    assert any(sql.startswith("INSERT INTO page_text") for sql in many)
