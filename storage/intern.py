"""Interning a batch: the ids of its URLs, hosts, domains and anchors, new ones inserted.

Set-based, so per-row work stays in SQLite's C code: each URL is looked up once by its
hash, and the new ones are given the ids SQLite would give them (max + 1, in order of
first appearance, under the batch's write lock); hosts the writer knows from earlier
batches are not looked up again. Rows travel as JSON arrays (see below), except the new
URLs, bound as values.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiosqlite
import numpy as np

from .dialect import SQLITE_BOUND_VALUES
from .edgerows import Edge, EdgeColumns, UrlColumns
from .identity import host_of, hosts_of, registrable_domain, url_hash
from .queued import QueuedStatements, execute_all
from .urlhashes import UrlHashes

if TYPE_CHECKING:
    from .commit import Batch

__all__ = ["MAX_ANCHOR", "Interned", "cols", "intern", "located_edges", "to_json"]

MAX_ANCHOR = 500  # characters of anchor text kept
# Pages of a batch worked through between two turns of the event loop (here and in
# .commit). A crawl's batch of 1,000 pages took 20 to 200 ms of the loop's thread in one
# piece per pass, and meanwhile no response was read and no page went to the parse
# worker, which sat idle.
YIELD_EVERY = 64

# Every bulk statement takes its rows as one JSON array bound to one parameter and lets
# json_each() loop in C. With executemany, sqlite3 releases and re-takes the GIL around
# every row; against the crawl's busy event loop each re-take waits, and a batch that
# takes 1.4 s alone took 83 s in a test with one CPU-bound thread beside it (5 s as JSON).
_ARROW = sqlite3.sqlite_version_info >= (3, 38, 0)  # ->> is faster than json_extract
# URL rows per multi-row INSERT: four values each.
_URL_ROWS = SQLITE_BOUND_VALUES // 4
# Hosts whose registrable domain is remembered (a process's writers share them: the
# answer depends on the host alone); emptied when full.
_DOMAINS: dict[str, str] = {}
_DOMAINS_KEPT = 100_000  # about 20 MB at most


def col(i: int, value: str = "value") -> str:
    """``value->>i``: field ``i`` of one json_each row."""
    return f"{value}->>{i}" if _ARROW else f"json_extract({value}, '$[{i}]')"


def cols(n: int) -> str:
    """``value->>0, value->>1, ...``: the fields of one json_each row."""
    return ", ".join(col(i) for i in range(n))


def to_json(rows: Any) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


async def insert_values(
    conn: aiosqlite.Connection, head: str, rows: list[tuple[Any, ...]], tail: str = ""
) -> None:
    """``head VALUES (?, ...), ... tail`` for ``rows`` (tuples of one width), as few
    statements as SQLite's limit on bound values allows. Rows whose text fields are long
    (a page's title or text) cost less bound than as JSON, escaped on the event loop and
    parsed again in SQLite; one statement, not ``executemany``, keeps the GIL hand-offs
    to one per statement (see the note on JSON above)."""
    if not rows:
        return
    width = len(rows[0])
    per = max(1, SQLITE_BOUND_VALUES // width)
    row = "(" + ",".join("?" * width) + ")"
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        await conn.execute(
            f"{head} VALUES {','.join([row] * len(part))} {tail}",
            list(itertools.chain.from_iterable(part)),
        )


@dataclass(slots=True)
class Interned:
    """What :func:`intern` gives a batch: ``ids`` (URL -> (id, host id)) and ``domains``
    (URL -> registrable domain) for the URLs of its pages, loose links and queue entries
    (empty for a batch of imported edges only, which uses the columns instead);
    ``anchor_ids``; ``hosts``, the ids of the hosts not in the caller's ``host_ids``;
    ``new_hashes``, the hashes of the URLs inserted, which got the ids from ``first_new``
    on, in order. Per URL of the batch, in order of first appearance, as columns: its
    id, its host's id, and a code of its registrable domain (equal codes, same domain); ``edges``,
    the imported edges as columns, their URLs as positions in those columns."""

    ids: dict[str, tuple[int, int]]
    anchor_ids: dict[str, int]
    domains: dict[str, str]
    hosts: dict[str, int]
    new_hashes: list[int]
    first_new: int
    url_ids: np.ndarray
    url_hosts: np.ndarray
    url_domains: np.ndarray
    edges: EdgeColumns


async def intern(
    conn: aiosqlite.Connection,
    batch: Batch,
    host_ids: Mapping[str, int],
    hashes: UrlHashes | None = None,
    queue: QueuedStatements | None = None,
) -> Interned:
    """Ids for every URL and anchor of the batch, inserting the new ones, each URL's
    registrable domain, the ids of the hosts not in ``host_ids`` (committed hosts the
    caller knows already), the hashes of the URLs inserted and the first id they got
    (every id from it on is new): see :class:`Interned`. ``hashes``, when given, are
    the store's URL hashes (see :mod:`.urlhashes`): URLs not among them are not looked
    up. With ``queue``, the new URLs' inserts are queued there (:mod:`.queued`), to run
    while the caller goes on."""
    # An import's batch: edges only, whose URLs its reading process found and keyed
    # (located_edges), in the order this function would have.
    columns = batch.columns[0] if len(batch.columns) == 1 else None
    located = columns.located if columns is not None else None
    if located is not None and not (batch.pages or batch.loose or batch.queued or batch.edges):
        edges = columns
        cells: dict[str, int] = {}
        edges_first = True
        anchors = {a[:MAX_ANCHOR]: None for a in dict.fromkeys(edges.anchors) if a}
        url_list = located.urls
        keys = located.keys.tolist()
        hosts = located.hosts  # distinct: per URL by located.host_at
        host_domains = dict(zip(located.hosts, located.domains, strict=True))
        domains: dict[str, str] = {}
    else:
        located = None
        urls: dict[str, Any] = {}  # the batch's URLs, in order of first appearance
        anchors: dict[str, None] = {}
        for n, (source, links) in enumerate(
            itertools.chain(
                ((p.url, p.links) for p in batch.pages), ((s, ls) for s, ls, _ in batch.loose)
            )
        ):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # a crawl's batch: let the loop read responses
            urls[source] = None
            for link in links:
                urls[link.target] = None
                if link.anchor:
                    anchors[link.anchor[:MAX_ANCHOR]] = None
        # Located columns mixed with other records (a batch retried after a failed commit
        # took the next one in): as plain rows again.
        edges = EdgeColumns.of([*batch.edges, *(c.edges() for c in batch.columns)])
        cells = edges.urls()  # each source before its target, in row order
        # The edges' URLs first (an import's batch has no others): in cells' order, and
        # cells is the batch's dictionary of URLs (its values are not read) unless queue
        # entries add theirs below.
        edges_first = not urls
        if edges_first and not batch.queued:
            urls = cells
        else:
            urls.update(cells)
        for anchor in dict.fromkeys(edges.anchors):
            if anchor:
                anchors[anchor[:MAX_ANCHOR]] = None
        for item in batch.queued:
            urls[item.url] = None
        known: dict[str, tuple[int, str, str]] = {}
        for page in batch.pages:
            if page.url_info:
                known.update(page.url_info)
        # Per URL of the batch, in order of first appearance: its key, its host, and (below)
        # its host id and URL id, as columns, each built in one pass over the batch.
        url_list = list(urls)
        if not known:
            # No page brought its URLs' keys along (an import): map / zip passes, no loop in
            # Python. Hosts repeat across a batch's URLs: each one's domain is looked up once,
            # in order of first appearance (the order hosts get their ids).
            hosts = hosts_of(url_list)
            host_domains = {host: _domain_of(host) for host in dict.fromkeys(hosts)}
            keys = list(map(url_hash, url_list))
            domains = {}
            if batch.pages or batch.loose or batch.queued:
                domains = dict(zip(url_list, map(host_domains.__getitem__, hosts), strict=True))
        else:
            hosts, keys = [], []
            host_domains, domains = {}, {}
            for u in url_list:
                info = known.get(u)
                if info is None:
                    host = host_of(u)
                    domain = host_domains.get(host)
                    if domain is None:
                        domain = host_domains[host] = registrable_domain(host)
                    keys.append(url_hash(u))
                else:
                    key, host, domain = info
                    host_domains.setdefault(host, domain)
                    keys.append(key)
                hosts.append(host)
                domains[u] = domain
    for host in batch.hosts:  # hosts noted (address, notes) without a URL in this batch
        if host not in host_domains:
            host_domains[host] = registrable_domain(host)
    # A host is interned once per store, not once per batch: most of a batch's hosts
    # were written before, and the caller passes their ids back in.
    found: dict[str, int] = {}
    new_hosts = [(h, d) for h, d in host_domains.items() if h not in host_ids]
    if new_hosts:
        await conn.execute(
            "INSERT OR IGNORE INTO domains(name) SELECT value FROM json_each(?)",
            (to_json(list({d: None for _, d in new_hosts})),),
        )
        hosts_json = to_json(new_hosts)
        await conn.execute(
            "INSERT OR IGNORE INTO hosts(name, domain_id) SELECT h.name, d.id"
            f" FROM (SELECT {col(0)} AS name, {col(1)} AS domain FROM json_each(?)) h"
            " JOIN domains d ON d.name = h.domain",
            (hosts_json,),
        )
        rows = await conn.execute_fetchall(
            "SELECT json_group_object(name, id) FROM hosts"
            f" WHERE name IN (SELECT {col(0)} FROM json_each(?))",
            (hosts_json,),
        )
        found = json.loads(rows[0][0])
    host_id = {h: found[h] if h in found else host_ids[h] for h in host_domains}
    if located is None:
        host_of_url = list(map(host_id.__getitem__, hosts))
        url_hosts = np.array(host_of_url, dtype=np.int64)
    else:  # per host, then gathered per URL
        url_hosts = np.fromiter(map(host_id.__getitem__, hosts), np.int64, len(hosts))
        url_hosts = url_hosts[located.host_at]
    # A URL whose hash the store does not hold is new; the others are looked up once, by
    # hash. New URLs get the ids SQLite would give them (max + 1, in order), so nothing
    # is looked up twice or joined back.
    id_column = np.zeros(len(keys), dtype=np.int64)
    if hashes is not None and hashes.complete:
        # The writer knows every URL of the store, with its id: urls_hash is left out
        # meanwhile (an import into an empty store), and a URL seen before is only
        # checked against the one stored under its id.
        candidates = hashes.ids(keys)
        maybe = np.flatnonzero(candidates)
        maybe = maybe[np.argsort(candidates[maybe], kind="stable")]  # the table in key order
        if len(maybe):
            id_column[maybe] = await _confirm(
                conn, candidates[maybe], [url_list[i] for i in maybe.tolist()]
            )
        # A miss: another URL with the same 64-bit hash is stored (rare), so this one may
        # be stored too, under an id the writer does not keep.
        maybe = maybe[id_column[maybe] == 0]
    else:
        # Looked up in order of hash: the probes walk the urls_hash index from left to
        # right, each page read once, instead of at random.
        unseen = hashes.unseen(keys) if hashes is not None else np.zeros(len(keys), dtype=bool)
        maybe = np.flatnonzero(~unseen)
        maybe = maybe[np.argsort(np.array(keys, dtype=np.int64)[maybe], kind="stable")]
    lookup = [(keys[i], url_list[i]) for i in maybe.tolist()]
    looked_up: list[int] = []
    if lookup:
        rows = await conn.execute_fetchall(
            "SELECT json_group_array(coalesce(id, 0)) FROM (SELECT u.id AS id FROM json_each(?) j"
            f" LEFT JOIN urls u ON u.hash = {col(0, 'j.value')} AND u.url = {col(1, 'j.value')}"
            " ORDER BY j.key)",
            (to_json(lookup),),
        )
        looked_up = json.loads(rows[0][0])
    if len(looked_up) != len(lookup):  # (hash, url) is unique: one id or none per URL
        raise RuntimeError(f"{len(lookup)} URLs looked up, {len(looked_up)} answers")
    id_column[maybe] = looked_up
    rows = await conn.execute_fetchall("SELECT coalesce(max(id), 0) FROM urls")
    first_new = rows[0][0] + 1
    is_new = id_column == 0
    id_column[is_new] = np.arange(first_new, first_new + int(is_new.sum()), dtype=np.int64)
    new = is_new.tolist()
    # The new URLs' rows, (id, hash, host id, URL) each, as one flat list of values: each
    # column is put in place by one slice assignment.
    count = len(new_hashes := list(itertools.compress(keys, new)))
    values: list[Any] = [None] * (4 * count)
    values[0::4] = range(first_new, first_new + count)  # new ids are given in order
    values[1::4] = new_hashes
    values[2::4] = (
        itertools.compress(host_of_url, new) if located is None else url_hosts[is_new].tolist()
    )
    values[3::4] = itertools.compress(url_list, new)
    # New URLs go in as bound values, not JSON: most of an import's URLs are new, and
    # encoding them as JSON (on the event loop's thread) and parsing it again in SQLite
    # cost more than binding them.
    anchor_ids = {"": 0}
    if anchors:
        await conn.execute("DELETE FROM temp.sa")
        await conn.execute(
            "INSERT INTO temp.sa(text) SELECT value FROM json_each(?)", (to_json(list(anchors)),)
        )
        await conn.execute("INSERT OR IGNORE INTO anchors(text) SELECT text FROM temp.sa")
        rows = await conn.execute_fetchall(
            "SELECT json_group_object(a.text, a.id) FROM temp.sa s JOIN anchors a ON a.text = s.text"
        )
        anchor_ids.update(json.loads(rows[0][0]))
    # The anchors first (their ids are awaited), then the new URLs: with a queue, those
    # run while the caller builds the link rows.
    parts = (values[4 * start : 4 * (start + _URL_ROWS)] for start in range(0, count, _URL_ROWS))
    await execute_all(
        conn,
        (
            (
                "INSERT INTO urls(id, hash, host_id, url) VALUES "
                + ",".join(["(?,?,?,?)"] * (len(part) // 4)),
                part,
            )
            for part in parts
        ),
        queue,
    )
    ids = {}
    if batch.pages or batch.loose or batch.queued:
        url_ids: list[int] = id_column.tolist()
        ids = dict(zip(url_list, zip(url_ids, host_of_url, strict=True), strict=True))
    # Per URL, a code of its domain: the import's rows compare them (internal links).
    if located is None:
        domain_code: dict[str, int] = {}
        host_code = {
            h: domain_code.setdefault(d, len(domain_code)) for h, d in host_domains.items()
        }
        url_domains = np.fromiter(map(host_code.__getitem__, hosts), np.int64, len(hosts))
    else:  # coded where the edges were read
        url_domains = located.domain_at[located.host_at]
    if edges and located is None:
        # Per place among the edges' cells, the index of its URL (set at the last place
        # of each URL, which is where cells points).
        places = np.fromiter(cells.values(), np.int64, len(cells))
        index = np.zeros(2 * len(edges), dtype=np.int64)
        if edges_first:
            index[places] = np.arange(len(cells))
        else:
            position = dict(zip(url_list, range(len(url_list)), strict=True))
            index[places] = np.fromiter(map(position.__getitem__, cells), np.int64, len(cells))
        edges.locate(cells, index)
    return Interned(
        ids,
        anchor_ids,
        domains,
        found,
        new_hashes,
        first_new,
        id_column,
        url_hosts,
        url_domains,
        edges,
    )


def located_edges(edges: list[Edge] | EdgeColumns, seen_at: int) -> EdgeColumns:
    """``edges`` as columns with their URLs found, keyed and hosted, as :func:`intern`
    would for a batch of these edges alone (the same order, keys, hosts and domains):
    the per-URL half of its work, done where the edges are read (an import's reading
    process), so that the writer's process does only the rest
    (:meth:`.writer.StoreWriter.add_columns`). ``edges`` as rows, or as columns not
    located yet (their ``sources``, ``targets``, ``anchors`` and ``rels``: taken over)."""
    if isinstance(edges, EdgeColumns):
        columns = edges
        columns.seen = np.full(len(columns), seen_at, dtype=np.int64)
    else:
        columns = EdgeColumns.of([(edges, seen_at)])
    cells = columns.urls()
    url_list = list(cells)
    index = np.zeros(2 * len(columns), dtype=np.int64)
    index[np.fromiter(cells.values(), np.int64, len(cells))] = np.arange(len(cells))
    columns.locate(cells, index)
    hosts = hosts_of(url_list)
    at = {host: i for i, host in enumerate(dict.fromkeys(hosts))}
    domains = list(map(_domain_of, at))
    code: dict[str, int] = {}
    columns.located = UrlColumns(
        url_list,
        np.fromiter(map(url_hash, url_list), np.int64, len(url_list)),
        list(at),
        np.fromiter(map(at.__getitem__, hosts), np.int64, len(hosts)),
        domains,
        np.fromiter((code.setdefault(d, len(code)) for d in domains), np.int64, len(domains)),
    )
    columns.sources, columns.targets = [], []  # located: not needed again
    return columns


def _domain_of(host: str) -> str:
    """``registrable_domain(host)``, remembered: a batch's hosts are mostly those of the
    batches before it (a few microseconds each, for tens of thousands of hosts)."""
    domain = _DOMAINS.get(host)
    if domain is None:
        if len(_DOMAINS) >= _DOMAINS_KEPT:
            _DOMAINS.clear()
        domain = _DOMAINS[host] = registrable_domain(host)
    return domain


async def _confirm(conn: aiosqlite.Connection, ids: np.ndarray, urls: list[str]) -> np.ndarray:
    """``ids`` where the URL stored under each is the one given, 0 where it is another
    URL (with the same hash). ``ids`` ascending: the table is read from left to right."""
    ids_json = to_json(ids.tolist())
    # Nearly always every one is: then the stored URLs, one line each, are the given
    # ones, compared as one string, without JSON made by SQLite and parsed here (half
    # the statement's time). Exact while no given URL holds a line break: equal strings
    # with as many breaks split into equal lines.
    joined = "\n".join(urls)
    if joined.count("\n") == len(urls) - 1:
        rows = await conn.execute_fetchall(
            "SELECT group_concat(url, char(10)) FROM (SELECT u.url AS url FROM json_each(?) j"
            " JOIN urls u ON u.id = j.value ORDER BY j.key)",
            (ids_json,),
        )
        if rows[0][0] == joined:
            return ids
    rows = await conn.execute_fetchall(
        "SELECT json_group_array(url) FROM (SELECT u.url AS url FROM json_each(?) j"
        " JOIN urls u ON u.id = j.value ORDER BY j.key)",
        (ids_json,),
    )
    stored = json.loads(rows[0][0])
    if len(stored) != len(urls):  # every id kept is of a committed URL
        raise RuntimeError(f"{len(urls)} URL ids read, {len(stored)} found")
    same = np.fromiter(map(str.__eq__, stored, urls), dtype=bool, count=len(urls))
    return np.where(same, ids, 0)
