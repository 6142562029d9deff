"""``linkgraph import-scores``: score tables computed elsewhere (``linkgraph spark rank``)
written into a store, so ``top``, ``backlinks`` and every query that reads authority use them.

The tables are Parquet, one folder per level (``page``, ``host``, ``domain``) with the
node's name (``url``, ``host``, ``domain``), ``pagerank``, ``backlinks`` and
``referring_domains``. Names are matched to the store's ids; authority (0-100) is
computed from PageRank here, by the same function ``linkgraph rank`` uses. All levels
are replaced in one transaction through ``storage.scores``, or ``storage.pg.ranking`` for
a PostgreSQL store (as ``linkgraph rank`` writes them), and on SQLite the hubs whose
linking hosts are counted ahead are chosen again.

A store node the tables do not name gets PageRank 0 and no backlinks (it was not in the
ranked data); a name the store does not hold is counted and skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from linkgraph.crawler.settings import SettingsError
from linkgraph.graph.authority import authority_scores
from linkgraph.storage import scores as store_scores
from linkgraph.storage.nodeids import NodeIds, stored_nodes
from linkgraph.storage.pg import is_pg_url

from .stores import refuse_other_urls

__all__ = ["ScoreImport", "import_scores"]

_KEYS = {"page": "url", "host": "host", "domain": "domain"}
_COLUMNS = ("pagerank", "backlinks", "referring_domains")


@dataclass(slots=True)
class ScoreImport:
    scored: dict[str, int] = field(default_factory=dict)  # store nodes given a score
    unscored: dict[str, int] = field(default_factory=dict)  # store nodes not in the tables
    unknown: dict[str, int] = field(default_factory=dict)  # table rows the store lacks


def _read_level(folder: Path, level: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SettingsError(
            "import-scores reads Parquet with pyarrow: pip install 'linkgraph[parquet]'"
        ) from None
    where = folder / level
    if not where.is_dir():
        raise SettingsError(
            f"{folder} has no {level}/ score table: give a folder written by `linkgraph spark rank`"
        )
    wanted = [_KEYS[level], *_COLUMNS]
    try:
        table = pq.read_table(where, columns=wanted)
    except (OSError, ValueError, KeyError) as exc:
        raise SettingsError(f"{where}: not a score table ({wanted}): {exc}") from None
    return table


def import_scores(
    db: str | os.PathLike[str], folder: str | os.PathLike[str], *, alpha: float = 0.85
) -> ScoreImport:
    """Write the score tables under ``folder`` into the store ``db``, SQLite or
    PostgreSQL (see the module docstring); ``alpha`` is the damping they were ranked with
    (it sets authority's floor)."""
    root = Path(folder)
    if not root.is_dir():
        raise SettingsError(f"{root} is not a folder of score tables")
    tables = {level: _read_level(root, level) for level in _KEYS}
    if is_pg_url(db):
        from linkgraph.storage.pg import ranking as backend
    else:
        refuse_other_urls(db)
        backend = store_scores
    report = ScoreImport()
    with backend.writer(db) as conn:
        # The store's nodes numbered densely in id order, as ranking numbers them: a
        # PostgreSQL store's ids have gaps (storage/nodeids.py), which get no score row.
        stored = {level: stored_nodes(conn, level) for level in _KEYS}
        results: dict[str, dict[str, np.ndarray]] = {}
        for level, table in tables.items():
            ids, number = stored[level]
            n = len(ids)
            keys = table.column(_KEYS[level]).to_pylist()
            at = np.array([number.get(k, -1) for k in keys], dtype=np.int64)
            known = at >= 0
            report.unknown[level] = int((~known).sum())
            pagerank = np.zeros(n)
            backlinks = np.zeros(n, dtype=np.int64)
            referring = np.zeros(n, dtype=np.int64)
            for out, name in (
                (pagerank, "pagerank"),
                (backlinks, "backlinks"),
                (referring, "referring_domains"),
            ):
                values = table.column(name).to_numpy(zero_copy_only=False)
                out[at[known]] = values[known]
            report.scored[level] = int(np.unique(at[known]).size)
            report.unscored[level] = n - report.scored[level]
            if n:
                results[level] = {
                    "pagerank": pagerank,
                    "authority": authority_scores(pagerank, alpha=alpha),
                    "backlinks": backlinks,
                    "referring_domains": referring,
                }
        gaps = any(len(ids) and ids[-1] != len(ids) - 1 for ids, _ in stored.values())
        node_ids = NodeIds(*(stored[level][0] for level in ("page", "host", "domain")))
        with backend.replacing_scores(conn, beside=False, ids=node_ids if gaps else None) as w:
            if backend.refresh_hubs is not None:  # SQLite's hub tables (PostgreSQL has none)
                w.run(backend.refresh_hubs, "hubs")
            for level, columns in results.items():
                w.level(level, columns)
    return report
