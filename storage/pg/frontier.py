"""Reading hosts' queue windows back from a PostgreSQL store, several hosts a statement.

A crawl worker reads a host's queue back when the host's window runs dry, and a fleet
worker does so for every host it claims. On a web of many small hosts that is a read
for every few pages, and the reads queue up on the one connection they share: measured
on the demo web of 1,000 hosts of 6 pages (docs/benchmarks.md, "Fewer round trips per
host"), two statements a host, one after another, kept hosts waiting on their windows
longer than the crawl spent fetching them. So the reads that arrive while one is under
way wait for it and then go together, as one statement for all their hosts. The read
that runs a statement answers everyone in it, its own window among them, and then hands
the reads that arrived meanwhile to the first of them: a caller never keeps serving
others once answered (it holds a host and an address slot in the crawl, and under steady
reads the others would never run out).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..records import QueueItem
from ..vocab import QUEUE_KIND, QUEUE_KIND_ID
from .connection import driver

__all__ = ["WindowReader"]

_REFRESH = QUEUE_KIND_ID["refresh"]

# Another worker that had not seen a URL fetched here may have queued it again (its seen
# set is its own): an entry whose page is stored is done, unless it is a refresh. The
# lease on the host is what makes this safe: no other worker holds a page of these hosts
# in an uncommitted batch (the caller committed its own). The done entries are locked in
# url_id order, the order a batch commit deletes them in, so the two never deadlock. The
# SELECT sees the table as it was before the DELETE, so it skips the done entries itself:
# another worker may also have queued a done URL since.
_READ = f"""
WITH wanted AS (
    SELECT h.id AS host_id, w.n, w.lim
    FROM unnest(%(names)b::text[], %(limits)b::int[]) WITH ORDINALITY AS w(name, lim, n)
    JOIN hosts h ON h.name = w.name
), gone AS (
    DELETE FROM frontier f WHERE f.url_id IN (
        SELECT d.url_id FROM frontier d JOIN wanted ON wanted.host_id = d.host_id
        WHERE d.kind <> {_REFRESH} AND EXISTS (SELECT 1 FROM pages p WHERE p.url_id = d.url_id)
        ORDER BY d.url_id FOR UPDATE OF d)
)
SELECT wanted.n, q.url, q.depth, q.hops, q.kind, q.etag, q.last_modified
FROM wanted CROSS JOIN LATERAL (
    SELECT f.url_id, u.url, f.depth, f.hops, f.kind, p.etag, p.last_modified
    FROM frontier f JOIN urls u ON u.id = f.url_id
    LEFT JOIN pages p ON p.url_id = f.url_id AND f.kind = {_REFRESH}
    WHERE f.host_id = wanted.host_id
      AND (f.kind = {_REFRESH} OR NOT EXISTS (SELECT 1 FROM pages d WHERE d.url_id = f.url_id))
      {{kinds}}
    ORDER BY f.url_id LIMIT wanted.lim
) q
ORDER BY wanted.n, q.url_id
"""

_TRIES = 8  # a read that deadlocked with another worker's commit is run again


class WindowReader:
    """Reads of hosts' queue windows on ``conn`` (autocommit, used by nothing else)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements = 0  # statements run (each reads the windows of one or more hosts)
        self._waiting: list[tuple[str, int, tuple[str, ...] | None, asyncio.Future]] = []
        self._reading = False

    async def read(self, host: str, limit: int, kinds: tuple[str, ...] | None) -> list[QueueItem]:
        """The first ``limit`` entries of ``host``'s queue (of ``kinds``, all if None), in
        the order they were queued; raises the driver's error if the store fails."""
        while True:
            done: asyncio.Future = asyncio.get_running_loop().create_future()
            self._waiting.append((host, limit, kinds, done))
            if not self._reading:
                await self._serve(done)
            try:
                items = await done
            except asyncio.CancelledError:
                if done.done() and not done.cancelled() and not self._reading:
                    self._hand_on()  # handed the reads as we were cancelled: pass them on
                raise
            if items is not None:
                return items
            # The reads are handed to us (the last to run them was answered, or its caller
            # cancelled): ask again, and run the statement for all those waiting.

    async def _serve(self, own: asyncio.Future) -> None:
        self._reading = True
        current: list = []
        try:
            while self._waiting and not own.done():
                current, self._waiting = self._waiting, []
                groups: dict[tuple[str, ...] | None, list] = {}
                for request in current:
                    groups.setdefault(request[2], []).append(request)
                for kinds, requests in groups.items():
                    await self._read_group(kinds, requests)
                current = []
        except driver().Error as exc:
            for *_, done in current:
                if not done.done():
                    done.set_exception(exc)
        finally:
            # Answered, cancelled or failed midway: the reads left unanswered wait on, and
            # the first of them runs them from then on. Ours, unanswered only when our
            # caller is cancelled, waits for nothing.
            if not own.done():
                own.cancel()
            self._reading = False
            self._waiting = [r for r in current + self._waiting if not r[3].done()]
            self._hand_on()

    def _hand_on(self) -> None:
        """Wake the first read waiting (not cancelled) to run the statements."""
        while self._waiting:
            *_, done = self._waiting.pop(0)
            if not done.done():
                done.set_result(None)
                return

    async def _read_group(self, kinds: tuple[str, ...] | None, requests: list) -> None:
        pg = driver()
        only = ""
        if kinds is not None:
            only = f"AND f.kind IN ({', '.join(str(QUEUE_KIND_ID[k]) for k in kinds)})"
        params = {"names": [r[0] for r in requests], "limits": [r[1] for r in requests]}
        for attempt in range(_TRIES):
            try:
                self.statements += 1
                cur = await self.conn.execute(_READ.format(kinds=only), params)
                rows = await cur.fetchall()
                break
            except (pg.errors.DeadlockDetected, pg.errors.SerializationFailure):
                # A worker that lost one of these hosts committed its last pages at once:
                # nothing of the statement stayed, so it is simply run again.
                if attempt == _TRIES - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        windows: list[list[QueueItem]] = [[] for _ in requests]
        for n, url, depth, hops, kind, etag, modified in rows:
            windows[n - 1].append(QueueItem(url, depth, hops, QUEUE_KIND[kind], etag, modified))
        for (*_, done), items in zip(requests, windows, strict=True):
            if not done.done():
                done.set_result(items)
