"""The store's shared vocabulary, defined once: link flag bits, the follow rule, queue
kinds, skip reasons, robots bits and the score tables of each ranking level.

Every stage (crawler, store, graph loading, queries, CLI) imports these from here or from
``records``, so a bit or a name cannot drift between the writer and its readers. It
imports nothing, so any module may import it without a cycle.
"""

from __future__ import annotations

__all__ = [
    "EXPORT_FORMATS",
    "FLAG_IMAGE",
    "FLAG_INTERNAL",
    "FLAG_NOFOLLOW",
    "FLAG_SPONSORED",
    "FLAG_UGC",
    "GUARDS",
    "KIND_SHIFT",
    "LEVELS",
    "LEVEL_NAMES",
    "LEVEL_SCORES",
    "LINK_FLAGS",
    "NOT_FOLLOW_FLAGS",
    "NOT_FOLLOW_RELS",
    "PLACEMENT_SHIFT",
    "QUEUE_KIND",
    "QUEUE_KIND_ID",
    "RECORD_FORMATS",
    "REL_FLAGS",
    "REL_SHIFT",
    "ROBOTS_NOFOLLOW",
    "ROBOTS_NOINDEX",
    "SKIP_REASONS",
    "packed_flags_sql",
]

# links.flags bits
FLAG_NOFOLLOW, FLAG_SPONSORED, FLAG_UGC, FLAG_IMAGE = 1, 2, 4, 8
FLAG_INTERNAL = 16  # source and target share a registrable domain
# A link whose rel holds any of these passes no authority (Google's rel qualifiers); each
# has its stored bit. The set of rels and the mask both derive from this one table.
REL_FLAGS = {"nofollow": FLAG_NOFOLLOW, "sponsored": FLAG_SPONSORED, "ugc": FLAG_UGC}
NOT_FOLLOW_RELS = frozenset(REL_FLAGS)
NOT_FOLLOW_FLAGS = sum(REL_FLAGS.values())  # distinct bits: the sum is their OR
LINK_FLAGS = 31  # every bit above: a link's flags as the queries, exports and PostgreSQL know them
# Since schema v8 a SQLite store keeps a link's placement (records.PLACEMENTS index), kind
# (records.KINDS index) and rel id in links.flags too, above those bits, and reads them
# back through generated columns of the same names (storage/migrations.py, 0008): a column
# of its own cost a record header byte in the table and again in links_source. Placement
# comes first: its first four values with no other flag keep flags under 128, one byte;
# the rel id last, as it has no bound (0, no rel, for most links, adds nothing).
PLACEMENT_SHIFT, KIND_SHIFT, REL_SHIFT = 5, 8, 10


def packed_flags_sql(flags: str, kind: str, placement: str, rel: str) -> str:
    """SQL for the links.flags value a SQLite store keeps for a link of these ``flags``
    (:data:`LINK_FLAGS` bits), ``kind``, ``placement`` and ``rel`` id (each an SQL
    expression)."""
    return (
        f"({flags} | ({placement} << {PLACEMENT_SHIFT}) | ({kind} << {KIND_SHIFT})"
        f" | ({rel} << {REL_SHIFT}))"
    )


# pages.robots bits: what the page's meta robots / X-Robots-Tag said
ROBOTS_NOINDEX, ROBOTS_NOFOLLOW = 1, 2

# frontier.kind
QUEUE_KIND_ID = {"page": 0, "sitemap": 1, "refresh": 2, "check": 3}
QUEUE_KIND = {v: k for k, v in QUEUE_KIND_ID.items()}

# Outcomes recorded in pages.error that made no request: they don't count against caps.
SKIP_REASONS = frozenset(
    {
        "robots",
        "robots-unavailable",
        "crawl-delay",
        "throttled",
        "parked",
        "blocked-address",
        "not-pinned",
    }
    # a host given up by its budget, and URLs refused by a trap guard
    | {"host-budget", "host-url-cap", "trap-depth", "trap-repeat", "trap-query"}
)

# The crawl settings that stop a crawl from running on forever (trap guards, the host
# budget): the crawl stores them with its settings and ``linkgraph stats`` shows them.
GUARDS = (
    "max_depth",
    "max_urls_per_host",
    "max_segment_repeats",
    "max_queries_per_path",
    "max_query_params",
    "host_budget_seconds",
    "host_max_failures",
)

# Per ranking level: (score table, its id column), and (name table, its name column).
LEVEL_SCORES = {
    "page": ("page_scores", "url_id"),
    "host": ("host_scores", "host_id"),
    "domain": ("domain_scores", "domain_id"),
}
LEVEL_NAMES = {"page": ("urls", "url"), "host": ("hosts", "name"), "domain": ("domains", "name")}
LEVELS = tuple(LEVEL_NAMES)  # ("page", "host", "domain"): what rank, top and export take

# What `linkgraph export` writes: link records (storage/linkfile.py) or the graph at a
# level (graphml, gexf, edgelist: linkgraph.graphs), or the link and page tables as a
# folder of Parquet files (linkgraph.parquet). Named here, where the CLI can offer them
# without loading the store or the API.
RECORD_FORMATS = ("jsonl", "csv")
EXPORT_FORMATS = (*RECORD_FORMATS, "graphml", "gexf", "edgelist", "parquet")
