"""The follow-rules site, declared once for the crawl over real sockets (test_crawl_rules.py)
and the one on a virtual clock (test_follow_rules.py).

Each page is its links (``href``, or ``href rel`` with the rel tokens space separated) and the
robots directives in its head or response headers; what must not be followed is written out
by hand in ``NEVER_FOLLOWED``.
"""

from __future__ import annotations

HOST = "www.follow.test"


def meta(name: str, content: str) -> str:
    """A ``<meta name content>`` element for a page's head."""
    return f'<meta name="{name}" content="{content}">'


LEAVES = "nf sp ugc both behind-meta behind-ours behind-other behind-header"
LEAVES += " behind-x-other behind-noindex"

# path: (links, head, response headers)
PAGES: dict[str, tuple[tuple[str, ...], str, dict[str, str]]] = {
    "/": (
        (
            "/plain",
            "/nf nofollow",
            "/sp sponsored",
            "/ugc ugc",
            "/both nofollow",  # also linked, followed, from /plain
            "/meta-robots",
            "/meta-ours",
            "/meta-other",
            "/x-robots",
            "/x-other",
            "/noindex",
            "/x-noindex",
        ),
        "",
        {},
    ),
    "/plain": (("/both",), "", {}),
    "/meta-robots": (("/behind-meta",), meta("robots", "nofollow"), {}),
    "/meta-ours": (("/behind-ours",), meta("LinkGraph", "nofollow"), {}),
    "/meta-other": (("/behind-other",), meta("googlebot", "noindex, nofollow"), {}),
    "/x-robots": (("/behind-header",), "", {"X-Robots-Tag": "nofollow"}),
    "/x-other": (("/behind-x-other",), "", {"X-Robots-Tag": "otherbot: none"}),
    "/noindex": (("/behind-noindex",), meta("robots", "noindex"), {}),
    "/x-noindex": ((), "", {"X-Robots-Tag": "noindex"}),
    **{f"/{leaf}": ((), "", {}) for leaf in LEAVES.split()},
}

# rel=nofollow/sponsored/ugc, and the links of pages whose own robots directive (meta for
# us or for every robot, X-Robots-Tag) says nofollow; a directive for another bot binds
# nothing.
NEVER_FOLLOWED = {"/nf", "/sp", "/ugc", "/behind-meta", "/behind-ours", "/behind-header"}
