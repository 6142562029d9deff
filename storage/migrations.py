"""The store's named migrations, applied in order by :func:`.schema.connect`.

Each is a name and the SQL that brings a store from the version before to its own; the
schema version of a store is the number of them applied (its ``user_version``).
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]


def _group_scores(level: str) -> str:
    """The score table of ``level`` (host or domain): a page's columns, and the harmonic
    centrality, which is computed for hosts and domains only."""
    return f"""CREATE TABLE {level}_scores (
            {level}_id{" " * (15 - len(level))}INTEGER PRIMARY KEY,
            pagerank          REAL NOT NULL,
            authority         REAL NOT NULL,
            trust             REAL,
            harmonic          REAL,
            backlinks         INTEGER NOT NULL DEFAULT 0,
            referring_domains INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX {level}_scores_rank ON {level}_scores(pagerank);
        """


# Named migrations, applied in order, each in its own transaction. Never edit one that has
# shipped: add a new one (0002's text is built by _group_scores, unchanged by that). The
# schema version is the number applied.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_link_store",
        """
        CREATE TABLE domains (
            id   INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE hosts (
            id        INTEGER PRIMARY KEY,
            name      TEXT NOT NULL UNIQUE,
            domain_id INTEGER NOT NULL REFERENCES domains(id),
            ip        TEXT,
            note      TEXT
        );
        CREATE INDEX hosts_domain ON hosts(domain_id);

        -- URLs are interned. The lookup key is a 64-bit hash of the serialized URL rather
        -- than a UNIQUE index on the text, which would store every URL twice. The single
        -- writer keeps (hash, url) unique.
        CREATE TABLE urls (
            id      INTEGER PRIMARY KEY,
            hash    INTEGER NOT NULL,
            host_id INTEGER NOT NULL REFERENCES hosts(id),
            url     TEXT NOT NULL
        );
        CREATE INDEX urls_hash ON urls(hash);
        CREATE INDEX urls_host ON urls(host_id);

        CREATE TABLE anchors (
            id   INTEGER PRIMARY KEY,
            text TEXT NOT NULL UNIQUE
        );
        INSERT INTO anchors(id, text) VALUES (0, '');
        CREATE TABLE rels (
            id     INTEGER PRIMARY KEY,
            tokens TEXT NOT NULL UNIQUE
        );
        INSERT INTO rels(id, tokens) VALUES (0, '');

        -- Clustered by target: the inbound links of a URL are one range scan of the table.
        -- A link is one (target, source, kind, anchor, placement, rel, flags): a page with
        -- the same anchor twice in one place, once nofollow, has two links.
        -- kind: 0 link, 1 redirect, 2 canonical. placement: index in records.PLACEMENTS.
        -- rel_id: 0 for no rel. flags: 1 nofollow, 2 sponsored, 4 ugc, 8 image, 16 internal
        -- (since 0004).
        -- Times are Unix seconds, UTC. last_seen stays NULL until the link is seen again
        -- (most never are, and NULL costs no bytes): read coalesce(last_seen, first_seen).
        CREATE TABLE links (
            target_id  INTEGER NOT NULL,
            source_id  INTEGER NOT NULL,
            kind       INTEGER NOT NULL,
            anchor_id  INTEGER NOT NULL,
            placement  INTEGER NOT NULL,
            rel_id     INTEGER NOT NULL,
            flags      INTEGER NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen  INTEGER,
            PRIMARY KEY (target_id, source_id, kind, anchor_id, placement, rel_id, flags)
        ) WITHOUT ROWID;
        CREATE INDEX links_source ON links(source_id);

        -- One row per URL the crawl is done with: fetched (status set), failed (status
        -- NULL, error set) or skipped (error is a skip reason such as 'robots').
        CREATE TABLE pages (
            url_id        INTEGER PRIMARY KEY REFERENCES urls(id),
            status        INTEGER,
            error         TEXT,
            final_id      INTEGER,
            content_type  TEXT,
            fetched_at    REAL NOT NULL,
            depth         INTEGER NOT NULL,
            title         TEXT,
            lang          TEXT,
            canonical_id  INTEGER,
            robots        INTEGER NOT NULL DEFAULT 0,
            size          INTEGER NOT NULL DEFAULT 0,
            elapsed_ms    INTEGER NOT NULL DEFAULT 0,
            etag          TEXT,
            last_modified TEXT,
            outlinks      INTEGER NOT NULL DEFAULT 0
        );

        -- The persistent frontier: every discovered in-scope URL not yet done.
        -- kind: 0 page, 1 sitemap.
        CREATE TABLE frontier (
            url_id  INTEGER PRIMARY KEY REFERENCES urls(id),
            host_id INTEGER NOT NULL,
            depth   INTEGER NOT NULL,
            hops    INTEGER NOT NULL DEFAULT 0,
            kind    INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX frontier_host ON frontier(host_id, url_id);

        -- The crawl's own settings (seeds, scope, caps) as JSON, so a resume continues it.
        CREATE TABLE crawl (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        "0002_authority_scores",
        """
        -- Written by `linkgraph rank`, replaced whole on every run. pagerank is the raw
        -- score (the level's vector sums to 1), authority its 0-100 log scaling, trust the
        -- TrustRank from --trusted seeds (NULL without), harmonic the harmonic centrality.
        -- backlinks / referring_domains count links from other registrable domains.
        CREATE TABLE page_scores (
            url_id            INTEGER PRIMARY KEY,
            pagerank          REAL NOT NULL,
            authority         REAL NOT NULL,
            trust             REAL,
            backlinks         INTEGER NOT NULL DEFAULT 0,
            referring_domains INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX page_scores_rank ON page_scores(pagerank);
        """
        + _group_scores("host")
        + _group_scores("domain"),
    ),
    (
        "0003_recrawl_history_and_text",
        """
        -- Set when a recrawl finds a link gone (records.LOST_REASONS index); cleared if it
        -- comes back. first_seen / last_seen keep their meaning.
        ALTER TABLE links ADD COLUMN lost_at INTEGER;
        ALTER TABLE links ADD COLUMN lost_reason INTEGER;
        CREATE INDEX links_lost ON links(lost_at) WHERE lost_at IS NOT NULL;
        -- 1 when the URL was only checked (HEAD, `broken --check-external`), not crawled.
        ALTER TABLE pages ADD COLUMN checked_only INTEGER NOT NULL DEFAULT 0;
        -- Visible text of crawled pages (rowid = url id): unlinked mentions, relevance.
        CREATE VIRTUAL TABLE page_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
        """,
    ),
    (
        "0004_internal_link_flag",
        """
        -- flags bit 16 (vocab.FLAG_INTERNAL): source and target share a registrable
        -- domain. Backlink queries leave internal links out by this bit instead of looking
        -- up every source page's host. Set by the writer from now on; here for old links.
        UPDATE links SET flags = flags | 16 WHERE (flags & 16) = 0 AND
            (SELECT h.domain_id FROM urls u JOIN hosts h ON h.id = u.host_id WHERE u.id = links.source_id)
            = (SELECT h.domain_id FROM urls u JOIN hosts h ON h.id = u.host_id WHERE u.id = links.target_id);
        """,
    ),
    (
        "0005_hub_inlinks",
        """
        -- Hubs (10,000+ current external links) and their linking hosts: storage.inlinks.
        -- IF NOT EXISTS, DELETE: a store whose user_version was set back runs this again.
        CREATE TABLE IF NOT EXISTS hub_targets (target_id INTEGER PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS hub_inlinks (target_id INTEGER NOT NULL, host_id INTEGER NOT NULL,
            backlinks INTEGER NOT NULL, follow_backlinks INTEGER NOT NULL, first_seen INTEGER NOT NULL,
            last_seen INTEGER, PRIMARY KEY (target_id, host_id)) WITHOUT ROWID;
        DELETE FROM hub_inlinks; DELETE FROM hub_targets;
        INSERT INTO hub_targets(target_id) SELECT l.target_id FROM links l WHERE l.kind = 0
            AND l.lost_at IS NULL AND (l.flags & 16) = 0 GROUP BY l.target_id HAVING count(*) >= 10000;
        INSERT INTO hub_inlinks(target_id, host_id, backlinks, follow_backlinks, first_seen, last_seen)
            SELECT l.target_id, s.host_id, count(DISTINCT l.source_id),
                count(DISTINCT CASE WHEN (l.flags & 7) = 0 THEN l.source_id END), min(l.first_seen),
                nullif(max(coalesce(l.last_seen, l.first_seen)), min(l.first_seen))
            FROM hub_targets h JOIN links l ON l.target_id = h.target_id JOIN urls s ON s.id = l.source_id
            WHERE l.kind = 0 AND l.lost_at IS NULL AND (l.flags & 16) = 0 GROUP BY l.target_id, s.host_id;
        """,
    ),
    (
        "0006_link_sources",
        """
        -- The domain and PageRank of every page with links: storage.linksources.
        -- IF NOT EXISTS, OR REPLACE: a store whose user_version was set back runs this again.
        CREATE TABLE IF NOT EXISTS link_sources (url_id INTEGER PRIMARY KEY,
            domain_id INTEGER NOT NULL, pagerank REAL);
        INSERT OR REPLACE INTO link_sources(url_id, domain_id, pagerank)
            SELECT s.id, h.domain_id, ps.pagerank FROM (SELECT DISTINCT source_id AS id FROM links) x
            JOIN urls s ON s.id = x.id JOIN hosts h ON h.id = s.host_id
            LEFT JOIN page_scores ps ON ps.url_id = s.id;
        """,
    ),
    (
        "0007_hub_anchors",
        """
        -- The anchor texts of hubs, per linking domain: storage.hubanchors.
        -- IF NOT EXISTS, DELETE: a store whose user_version was set back runs this again.
        CREATE TABLE IF NOT EXISTS hub_anchors (target_id INTEGER NOT NULL, anchor INTEGER NOT NULL,
            domain_id INTEGER NOT NULL, backlinks INTEGER NOT NULL, follow_backlinks INTEGER NOT NULL,
            PRIMARY KEY (target_id, anchor, domain_id)) WITHOUT ROWID;
        DELETE FROM hub_anchors;
        INSERT INTO hub_anchors(target_id, anchor, domain_id, backlinks, follow_backlinks)
            SELECT l.target_id, l.anchor_id * 2 + ((l.flags & 8) > 0), src.domain_id,
                count(DISTINCT l.source_id), count(DISTINCT CASE WHEN (l.flags & 7) = 0 THEN l.source_id END)
            FROM hub_targets h JOIN links l ON l.target_id = h.target_id
            JOIN link_sources src ON src.url_id = l.source_id
            WHERE l.kind = 0 AND l.lost_at IS NULL AND (l.flags & 16) = 0
            GROUP BY l.target_id, l.anchor_id * 2 + ((l.flags & 8) > 0), src.domain_id;
        """,
    ),
    (
        "0008_kind_placement_and_rel_in_flags",
        """
        -- A link's placement, kind and rel id move into flags (vocab.PLACEMENT_SHIFT...):
        -- flags = bits + (placement << 5) + (kind << 8) + (rel_id << 10). As columns of the
        -- primary key each cost a record header byte in the table and again in links_source
        -- (which repeats the key); generated VIRTUAL columns of the same names take no
        -- bytes, so every query reading l.kind, l.placement and l.rel_id reads them as
        -- before. The key keeps its uniqueness: the three are inside flags. Rewritten in key
        -- order, in this migration's one transaction. Run again on this layout (a store
        -- whose user_version was set back) it changes nothing: the bits are already set.
        CREATE TABLE links_v8 (
            target_id   INTEGER NOT NULL,
            source_id   INTEGER NOT NULL,
            kind        INTEGER GENERATED ALWAYS AS ((flags >> 8) & 3) VIRTUAL,
            anchor_id   INTEGER NOT NULL,
            placement   INTEGER GENERATED ALWAYS AS ((flags >> 5) & 7) VIRTUAL,
            rel_id      INTEGER GENERATED ALWAYS AS (flags >> 10) VIRTUAL,
            flags       INTEGER NOT NULL,
            first_seen  INTEGER NOT NULL,
            last_seen   INTEGER,
            lost_at     INTEGER,
            lost_reason INTEGER,
            PRIMARY KEY (target_id, source_id, anchor_id, flags)
        ) WITHOUT ROWID;
        INSERT INTO links_v8(target_id, source_id, anchor_id, flags, first_seen, last_seen,
                lost_at, lost_reason)
            SELECT target_id, source_id, anchor_id,
                flags | (placement << 5) | (kind << 8) | (rel_id << 10) AS packed,
                first_seen, last_seen, lost_at, lost_reason
            FROM links ORDER BY target_id, source_id, anchor_id, packed;
        DROP TABLE links;
        ALTER TABLE links_v8 RENAME TO links;
        CREATE INDEX links_source ON links(source_id);
        CREATE INDEX links_lost ON links(lost_at) WHERE lost_at IS NOT NULL;
        """,
    ),
]
