"""Several crawl workers on one PostgreSQL store: host leases, shared robots.txt, workers.

The PostgreSQL side of ``crawler/fleet.py``'s seam (tables from migration
``0005_crawl_fleet``):

- ``workers``: one row per crawl process that joined (``linkgraph stats`` lists them).
  A worker holds a session advisory lock on ``(FLEET_LOCK, its id)`` while it runs; the
  server drops it with the connection, so a worker killed with SIGKILL is seen as gone at
  once and its hosts are taken over without waiting for its leases to run out.
- ``host_leases``: one row per host that ever had a frontier entry (the batch writer adds
  it). ``worker_id``/``expires`` lease the host, claimed with ``SELECT ... FOR UPDATE
  SKIP LOCKED`` so two workers never claim the same host; ``next_at`` (when its next
  request may start, on the server's clock) and ``state`` (delay, throttling, parking,
  failures, given up) are what the next holder honours.
- ``robots_files``: each origin's robots.txt as fetched, so a host's next holder reads
  it instead of fetching it again.
- ``address_leases`` (migration ``0006_address_leases``): an IP address is leased to one
  worker at a time, which alone sends requests to the hosts on it, so the per-IP cap of
  its scheduler is the fleet's. ``host_leases.address`` records a host's address: a
  claim passes by the hosts whose address another live worker holds, and takes those on
  addresses it holds first.
- ``page_quota``: ``--max-pages`` for the whole fleet. The first worker of a pass
  records the requests the store holds; workers reserve the rest of the cap in small
  blocks and give back what they did not use when they leave (a worker killed loses
  its unused block: the crawl may stop up to that many requests short of the cap).

A lease is free when no worker holds it, when it ran out (``expires``, the server's
clock), or when its worker's session is gone. Leases are measured in the server's time
(``now()``): two machines' clocks may differ, the server's is the one they share.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict
from typing import Any

from ..errors import StoreError
from ..leases import Claim, HostState, Share
from ..vocab import SKIP_REASONS
from .connection import CONNECT_TIMEOUT, driver, one_line, redact

__all__ = ["FLEET_LOCK", "PgLeases", "workers"]

# The advisory lock key a worker holds with its id as the second key ("LKFW").
FLEET_LOCK = 0x4C4B4657

# The workers whose session is alive: their advisory lock is granted in this database.
_LIVE = f"""live AS MATERIALIZED (
    SELECT k.objid::bigint AS id FROM pg_locks k
    WHERE k.locktype = 'advisory' AND k.granted AND k.classid = {FLEET_LOCK}
      AND k.objsubid = 2
      AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"""


def _claim(ours: bool) -> str:
    """The claim of hosts on the addresses this worker holds (``ours``), or of any host
    whose address no other live worker holds. Two statements, not one ordered by "ours
    first": that order cannot follow an index, and on 50,000 queued hosts one claim took
    147 ms instead of 3 ms."""
    if ours:
        address = "JOIN address_leases a ON a.address = l.address AND a.worker_id = %(me)s"
    else:
        address = """LEFT JOIN address_leases a ON a.address = l.address
    AND a.worker_id <> %(me)s AND a.expires >= extract(epoch FROM now())
    AND a.worker_id IN (SELECT id FROM live)"""
    return f"""
WITH {_LIVE},
picked AS (
    SELECT l.host_id, l.worker_id AS was, l.expires AS was_until FROM host_leases l
    {address}
    WHERE NOT l.retired {"" if ours else "AND a.address IS NULL"}
      AND (l.worker_id IS NULL OR (l.worker_id <> %(me)s
           AND (l.expires < extract(epoch FROM now())
                OR l.worker_id NOT IN (SELECT id FROM live))))
      AND EXISTS (SELECT 1 FROM frontier f WHERE f.host_id = l.host_id)
    ORDER BY l.next_at, l.host_id LIMIT %(limit)s
    FOR UPDATE OF l SKIP LOCKED
)
UPDATE host_leases l SET worker_id = %(me)s,
    expires = extract(epoch FROM now()) + %(seconds)s
FROM picked p WHERE l.host_id = p.host_id
RETURNING l.host_id, (SELECT name FROM hosts WHERE id = l.host_id),
    (SELECT count(*) FROM frontier f WHERE f.host_id = l.host_id),
    l.next_at - extract(epoch FROM now()), l.state, p.was IS NOT NULL,
    greatest(p.was_until - extract(epoch FROM now()), 0)
"""


_CLAIM_OURS, _CLAIM = _claim(True), _claim(False)

# Saving states: by host name, as the engine knows its hosts.
_STATES = """
FROM unnest(%(names)b::text[], %(next_in)b::float8[], %(retired)b::bool[], %(state)b::text[],
    %(address)b::text[]) AS d(name, next_in, retired, state, address)
JOIN hosts h ON h.name = d.name
WHERE l.host_id = h.id AND l.worker_id = %(me)s
"""

_RENEW = f"""
UPDATE host_leases l SET expires = extract(epoch FROM now()) + %(seconds)s,
    next_at = extract(epoch FROM now()) + d.next_in, retired = d.retired,
    state = d.state::jsonb, address = coalesce(d.address, l.address)
{_STATES} RETURNING h.name
"""

_RELEASE = f"""
UPDATE host_leases l SET worker_id = NULL, expires = 0,
    next_at = extract(epoch FROM now()) + d.next_in, retired = d.retired,
    state = d.state::jsonb, address = coalesce(d.address, l.address)
{_STATES}
"""

# Take an address unless another live worker holds it (its lease running): the row comes
# back only when it is ours, with how long a holder whose session ended before its lease
# may still have requests running (its requests end by its lease's end).
# Lease addresses (sorted: one order for every worker, no deadlock between two); for each
# taken, the seconds its last holder's lease still ran (0 when it was ours or free).
_HOLD_ADDRESSES = f"""
WITH {_LIVE},
was AS (SELECT address, worker_id, expires FROM address_leases
        WHERE address = ANY(%(addresses)b::text[])),
took AS (
    INSERT INTO address_leases AS a (address, worker_id, expires)
    SELECT address, %(me)s, extract(epoch FROM now()) + %(seconds)s
    FROM unnest(%(addresses)b::text[]) AS asked(address) ORDER BY address
    ON CONFLICT (address) DO UPDATE SET worker_id = excluded.worker_id,
        expires = excluded.expires
    WHERE a.worker_id = excluded.worker_id OR a.expires < extract(epoch FROM now())
        OR a.worker_id NOT IN (SELECT id FROM live)
    RETURNING a.address
)
SELECT t.address, greatest(coalesce((SELECT w.expires FROM was w
    WHERE w.address = t.address AND w.worker_id <> %(me)s), 0) - extract(epoch FROM now()), 0)
FROM took t
"""

# Renew the addresses still in use and give back the others, in one statement.
_KEEP_ADDRESSES = """
WITH gone AS (
    DELETE FROM address_leases WHERE worker_id = %(me)s AND NOT address = ANY(%(keep)b::text[])
)
UPDATE address_leases SET expires = extract(epoch FROM now()) + %(seconds)s
WHERE worker_id = %(me)s AND address = ANY(%(keep)b::text[]) RETURNING address
"""

# Live workers that joined before the store's newest migration: an older linkgraph's.
_OLDER_WORKERS = f"""
WITH {_LIVE}
SELECT count(*) FROM workers w JOIN live ON live.id = w.id
WHERE w.id <> %(me)s AND w.started_at < (
    SELECT extract(epoch FROM max(applied_at)) FROM linkgraph_migrations)
"""

_DRAINED = f"""
WITH {_LIVE}
SELECT NOT EXISTS (
    SELECT 1 FROM host_leases l WHERE l.worker_id <> %(me)s
      AND l.expires >= extract(epoch FROM now()) AND l.worker_id IN (SELECT id FROM live)
) AND NOT EXISTS (
    SELECT 1 FROM frontier f JOIN host_leases l ON l.host_id = f.host_id WHERE NOT l.retired
)
"""


# The requests a store holds, as the caps count them (a new SQLite crawl counts so too).
_REQUESTS = """SELECT count(*) FROM pages p
    WHERE p.checked_only = 0 AND (p.error IS NULL OR NOT p.error = ANY(%(skips)s))"""

# A new pass counts its requests from what the store holds, up to its first worker's
# cap; a worker joining a pass keeps its count and cap (a store from before the fleet's
# caps gets one).
_NEW_QUOTA = f"""INSERT INTO page_quota(slot, base, granted, cap, fresh)
    SELECT 1, ({_REQUESTS}), 0, %(cap)s, %(fresh)s
    ON CONFLICT (slot) DO UPDATE SET base = excluded.base, granted = 0,
        cap = excluded.cap, fresh = excluded.fresh"""
_JOIN_QUOTA = f"""INSERT INTO page_quota(slot, base, granted, cap, fresh)
    SELECT 1, ({_REQUESTS}), 0, %(cap)s, %(fresh)s WHERE NOT EXISTS (SELECT 1 FROM page_quota)"""

# Grant up to %(want)s requests of what the pass's cap leaves (a refresh or link check
# counts only its own requests, as on SQLite). The cap and that flag are the pass's, not
# the asking worker's: a --refresh worker and plain ones share one cap. A pass started
# without a cap takes the asking worker's; %(fresh)s is not read (kept for the protocol).
_RESERVE = """
WITH q AS (SELECT base, granted, cap, fresh FROM page_quota WHERE slot = 1 FOR UPDATE),
g AS (SELECT least(%(want)s, greatest(coalesce(q.cap, %(cap)s)
    - CASE WHEN q.fresh THEN 0 ELSE q.base END - q.granted, 0)) AS n FROM q)
UPDATE page_quota p SET granted = p.granted + g.n FROM g WHERE p.slot = 1 RETURNING g.n
"""

# A new pass (the first worker to join when none runs): what the last pass left on a host
# is its own, as a new SQLite crawl starts afresh. Its caps count again (a host given up
# or retired may be crawled), its failure counts start at zero, and a delay it had is not
# kept: the next holder reads the site's Crawl-delay from the stored robots.txt (while
# fresh) and uses its own setting. Kept: ``next_at``, when the host said the next request
# may start (Crawl-delay, Retry-After, parking), which holds while it is in the future.
# The request count is what the store holds of the host, as a new SQLite crawl counts.
# A host no worker has held yet keeps no state (its claim says so).
_NEW_PASS = """
WITH counted AS (
    SELECT u.host_id, count(*) AS n FROM pages p JOIN urls u ON u.id = p.url_id
    WHERE p.checked_only = 0 AND (p.error IS NULL OR NOT p.error = ANY(%(skips)s))
    GROUP BY u.host_id
)
UPDATE host_leases l SET retired = false, state = %(fresh)s::jsonb
    || jsonb_build_object('requests', coalesce(c.n, 0))
FROM host_leases o LEFT JOIN counted c ON c.host_id = o.host_id
WHERE o.host_id = l.host_id AND l.state IS NOT NULL
"""


class PgLeases:
    """This worker's leases on the store at ``url``: ``await PgLeases.open(url, seconds=)``."""

    local = False

    def __init__(self, conn: Any, url: str, *, seconds: float) -> None:
        self._conn = conn
        self.url = url
        self.seconds = seconds
        self.worker: int | None = None
        self.max_pages: int | None = None  # the pass's page cap, read when joining
        # robots.txt fetched and not stored yet: stored with the next renewal or release,
        # before the host can change hands, so the fetching host's turn never waits on it.
        self._robots: dict[str, tuple[int | None, bytes]] = {}
        self._addresses: set[str] = set()  # held at the last lease or renewal

    @classmethod
    async def open(cls, url: str, *, seconds: float) -> PgLeases:
        """A connection of its own: a lease renewal never waits behind a batch commit."""
        pg = driver()
        params: dict[str, Any] = {}
        if "connect_timeout" not in url:
            params["connect_timeout"] = CONNECT_TIMEOUT
        try:
            conn = await pg.AsyncConnection.connect(url.strip(), autocommit=True, **params)
        except pg.Error as exc:
            raise StoreError(f"cannot connect to {redact(url)}: {one_line(url, exc)}") from None
        return cls(conn, url, seconds=seconds)

    async def close(self) -> None:
        await self._conn.close()

    async def _run(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        pg = driver()
        try:
            cur = await self._conn.execute(sql, params)
            return await cur.fetchall() if cur.description else []
        except pg.Error as exc:
            raise StoreError(
                f"cannot share the crawl of {redact(self.url)}: {one_line(self.url, exc)}"
            ) from None

    async def start(self, *, max_pages: int | None = None, fresh: bool = False) -> int | None:
        name = f"{socket.gethostname()}:{os.getpid()}"
        # Workers join one at a time, so two starting together cannot both miss (or both
        # see) the other: the first of a pass resets what the last pass left.
        async with self._conn.transaction():
            await self._run("SELECT pg_advisory_xact_lock(%s, 0)", (FLEET_LOCK,))
            ((worker,),) = await self._run(
                "INSERT INTO workers(name, started_at, last_seen)"
                " VALUES (%s, extract(epoch FROM now()), extract(epoch FROM now()))"
                " RETURNING id",
                (name,),
            )
            # A worker of an older linkgraph still running on a store this one upgraded
            # keeps to the rules of its version (no address leases, no page quota): the
            # two would not share the crawl's politeness. Its session started before the
            # newest migration was applied, which a worker of ours never does (the writer
            # upgrades the store before the worker joins).
            ((older,),) = await self._run(_OLDER_WORKERS, {"me": worker})
            if older:
                raise StoreError(
                    f"{older} crawl worker(s) of an older linkgraph, started before this"
                    f" store's last upgrade, are still crawling {redact(self.url)}: stop"
                    " them before starting workers of this version (two versions do not"
                    " share a crawl)"
                )
            await self._run("SELECT pg_advisory_lock(%s, %s)", (FLEET_LOCK, worker))
            # A store copied in (linkgraph copy) or queued before migration 0005 may have
            # queued hosts without a lease row: give them one, or no worker would take them.
            await self._run(
                "INSERT INTO host_leases(host_id) SELECT DISTINCT host_id FROM frontier"
                " ON CONFLICT DO NOTHING"
            )
            ((alone,),) = await self._run(
                f"WITH {_LIVE} SELECT NOT EXISTS (SELECT 1 FROM live WHERE id NOT IN (0, %s))",
                (worker,),
            )
            skips = sorted(SKIP_REASONS)
            if alone:
                kept = json.dumps(_kept(HostState(next_in=0.0, delay=0.0)))
                await self._run(_NEW_PASS, {"fresh": kept, "skips": skips})
            quota = {"skips": skips, "cap": max_pages, "fresh": fresh}
            await self._run(_NEW_QUOTA if alone else _JOIN_QUOTA, quota)
            ((cap,),) = await self._run("SELECT cap FROM page_quota WHERE slot = 1")
        self.worker = worker
        self.max_pages = None if cap is None else int(cap)
        return worker

    async def claim(self, limit: int) -> list[Claim]:
        params = {"me": self.worker, "limit": limit, "seconds": self.seconds}
        # The hosts on our addresses first: nobody else may crawl them.
        rows = await self._run(_CLAIM_OURS, params) if self._addresses else []
        if len(rows) < limit:
            rows += await self._run(_CLAIM, {**params, "limit": limit - len(rows)})
        if not rows:
            return []
        seen = await self._run(
            "SELECT u.host_id, array_agg(u.hash) FROM urls u WHERE u.host_id = ANY(%s)"
            " AND (EXISTS (SELECT 1 FROM pages p WHERE p.url_id = u.id)"
            " OR EXISTS (SELECT 1 FROM frontier f WHERE f.url_id = u.id)) GROUP BY u.host_id",
            ([row[0] for row in rows],),
        )
        hashes = dict(seen)
        return [
            Claim(
                name,
                queued,
                _state(next_in, state),
                holder_vanished=was_held,
                lapses_in=float(lapses_in) if was_held else 0.0,
                seen=tuple(hashes.get(host_id, ())),
            )
            for host_id, name, queued, next_in, state, was_held, lapses_in in rows
        ]

    def _params(self, states: dict[str, HostState]) -> dict[str, Any]:
        names = sorted(states)  # one order for every worker: no deadlock between two
        return {
            "me": self.worker,
            "seconds": self.seconds,
            "names": names,
            "next_in": [states[n].next_in for n in names],
            "retired": [states[n].retired for n in names],
            "state": [json.dumps(_kept(states[n])) for n in names],
            "address": [states[n].address for n in names],
        }

    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        await self._store_robots()
        rows = await self._run(_RENEW, self._params(states)) if states else []
        await self._run(
            "UPDATE workers SET last_seen = extract(epoch FROM now()), pages = %s WHERE id = %s",
            (pages, self.worker),
        )
        return {name for (name,) in rows}

    async def release(self, states: dict[str, HostState]) -> None:
        await self._store_robots()
        await self._run(_RELEASE, self._params(states))

    async def hold_addresses(self, addresses: list[str]) -> dict[str, float | None]:
        asked = sorted(set(addresses))
        rows = await self._run(
            _HOLD_ADDRESSES, {"me": self.worker, "addresses": asked, "seconds": self.seconds}
        )
        taken = {address: float(wait) for address, wait in rows}
        self._addresses.update(taken)
        return {address: taken.get(address) for address in asked}

    async def hold_address(self, address: str) -> float | None:
        """:meth:`hold_addresses` of one address."""
        return (await self.hold_addresses([address]))[address]

    async def keep_addresses(self, addresses: set[str]) -> set[str]:
        keep = sorted(addresses)  # one order for every worker: no deadlock between two
        rows = await self._run(
            _KEEP_ADDRESSES, {"me": self.worker, "keep": keep, "seconds": self.seconds}
        )
        self._addresses = {address for (address,) in rows}
        return set(self._addresses)

    async def reserve_pages(self, cap: int, want: int, *, fresh: bool) -> int:
        rows = await self._run(_RESERVE, {"cap": cap, "want": want, "fresh": fresh})
        return int(rows[0][0]) if rows else 0

    async def return_pages(self, unused: int) -> None:
        await self._run(
            "UPDATE page_quota SET granted = greatest(granted - %s, 0) WHERE slot = 1", (unused,)
        )

    async def drained(self) -> bool:
        ((done,),) = await self._run(_DRAINED, {"me": self.worker})
        return bool(done)

    async def robots(self, origin: str) -> tuple[int | None, bytes, float] | None:
        rows = await self._run(
            "SELECT status, body, extract(epoch FROM now()) - fetched_at FROM robots_files"
            " WHERE origin = %s",
            (origin,),
        )
        if not rows:
            return None
        status, body, age = rows[0]
        return status, bytes(body), float(age)

    async def save_robots(self, origin: str, status: int | None, body: bytes) -> None:
        self._robots[origin] = (status, body)

    async def _store_robots(self) -> None:
        if not self._robots:
            return
        pending, self._robots = self._robots, {}
        origins = sorted(pending)
        await self._run(
            "INSERT INTO robots_files(origin, status, body, fetched_at)"
            " SELECT o, s, b, extract(epoch FROM now())"
            " FROM unnest(%b::text[], %b::int[], %b::bytea[]) AS r(o, s, b)"
            " ON CONFLICT (origin) DO UPDATE"
            " SET status = excluded.status, body = excluded.body, fetched_at = excluded.fetched_at",
            (origins, [pending[o][0] for o in origins], [pending[o][1] for o in origins]),
        )

    async def finish(self, pages: int) -> Share | None:
        try:
            await self._store_robots()
            # Gone now, not when the server has ended the session: a crawl started
            # right after this one is a new pass (see start).
            await self._run("DELETE FROM address_leases WHERE worker_id = %s", (self.worker,))
            await self._run("SELECT pg_advisory_unlock(%s, %s)", (FLEET_LOCK, self.worker))
            await self._run(
                "UPDATE workers SET pages = %s, last_seen = extract(epoch FROM now()),"
                " stopped_at = extract(epoch FROM now()) WHERE id = %s",
                (pages, self.worker),
            )
            ((total,),) = await self._run("SELECT coalesce(sum(pages), 0) FROM workers")
        finally:
            await self.close()
        assert self.worker is not None
        return Share(self.worker, pages, int(total))


def _kept(state: HostState) -> dict[str, Any]:
    """What ``state`` column holds: the state but when the next request may start (a
    column of its own, on the server's clock), ``retired`` and ``address`` (columns:
    claims read them)."""
    kept = asdict(state)
    del kept["next_in"], kept["retired"], kept["address"]
    return kept


def _state(next_in: float, state: Any) -> HostState | None:
    if state is None:
        return None
    fields = state if isinstance(state, dict) else json.loads(state)
    return HostState(next_in=float(next_in), **fields)


def workers(conn: Any) -> list[dict[str, Any]]:
    """The workers that joined the crawl of this store, newest first: id, name, hosts
    leased now, pages recorded, pages per second, when last seen (Unix seconds), and
    whether it is running (its session is alive)."""
    if conn.execute("SELECT to_regclass('workers')").fetchone()[0] is None:
        return []  # a store from before migration 0005
    rows = conn.execute(
        f"WITH {_LIVE}"
        " SELECT w.id, w.name, (SELECT count(*) FROM host_leases l WHERE l.worker_id = w.id"
        " AND l.expires >= extract(epoch FROM now())), w.pages,"
        " w.pages / greatest(w.last_seen - w.started_at, 0.001), w.last_seen,"
        " w.id IN (SELECT id FROM live) FROM workers w ORDER BY w.id DESC"
    ).fetchall()
    keys = ("id", "name", "hosts", "pages", "rate", "last_seen", "running")
    return [dict(zip(keys, row, strict=True)) for row in rows]
