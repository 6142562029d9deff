"""Where each link sits on its page, and what it holds: walks up the tree from the links.

:func:`placements` gives each link the placement of its innermost container (the rules
are in the docstring of :mod:`linkgraph.crawler.extract`, with the rest of what a page
yields); :func:`link_contents` finds the images and scripts inside links, and
:func:`link_nesting` the SVG links inside other links. All three walk up the tree with
:func:`innermost`, whose walks share their work, so each is linear in the size of the
tree however deep it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from selectolax.lexbor import LexborNode

from .treequery import select

__all__ = [
    "COMMENT_TOKENS",
    "SIDEBAR_TOKENS",
    "containers",
    "innermost",
    "link_contents",
    "link_nesting",
    "placement_of",
    "placements",
]

COMMENT_TOKENS = frozenset(
    {
        "comments",
        "comment-list",
        "commentlist",
        "comments-list",
        "comment-section",
        "comments-section",
        "comments-area",
        "comment-respond",
        "respond",
        "disqus_thread",
        "fb-comments",
    }
)
SIDEBAR_TOKENS = frozenset({"sidebar", "widget-area"})

_TAG_PLACEMENT = {"nav": "nav", "header": "header", "footer": "footer", "aside": "sidebar"}
_ROLE_PLACEMENT = {
    "navigation": "nav",
    "banner": "header",
    "contentinfo": "footer",
    "complementary": "sidebar",
}
_BLOCKS = frozenset({"div", "section", "article", "aside", "ol", "ul", "dl", "footer"})


# Each token above contains one of these, so a substring match (cheap in lexbor, unlike
# thirty "[class~=token i]" tests on every element) finds every candidate; placement_of()
# then applies the exact rule. Selecting the candidates this way takes less than half the
# time on our corpus.
# (tests/test_extract.py checks that every token contains one of the substrings.)
_PREFILTER = ("comment", "respond", "disqus", "sidebar", "widget-area")
# One selector list, so lexbor walks the tree once and returns candidates in document order.
_CONTAINERS = ", ".join(
    [*_TAG_PLACEMENT, "[role]"] + [f"[{a}*={s} i]" for s in _PREFILTER for a in ("id", "class")]
)


def placement_of(node: LexborNode) -> str | None:
    """The placement ``node`` gives the links inside it, ``None`` when it is no container."""
    tag = node.tag
    if tag == "a" or tag == "area":
        return None  # a link is not its own ancestor
    attrs = node.attributes
    block = tag in _BLOCKS
    if block:
        ident = (attrs.get("id") or "").strip().lower()
        classes = (attrs.get("class") or "").lower().split()
        if ident in COMMENT_TOKENS or not COMMENT_TOKENS.isdisjoint(classes):
            return "comments"
    for role in (attrs.get("role") or "").lower().split():
        if role in _ROLE_PLACEMENT:
            return _ROLE_PLACEMENT[role]
    if tag in _TAG_PLACEMENT:
        return _TAG_PLACEMENT[tag]
    if block and (ident in SIDEBAR_TOKENS or not SIDEBAR_TOKENS.isdisjoint(classes)):
        return "sidebar"
    return None


_T = TypeVar("_T")


def innermost(nodes: Iterable[LexborNode], marks: Mapping[int, _T]) -> list[_T | None]:
    """For each node, the value in ``marks`` of its innermost marked ancestor (by ``mem_id``).

    Each walk up the tree stops at the first ancestor already walked through, and every
    ancestor is walked through once, so the whole is linear in the size of the tree
    however deep it is (a selector such as ``nav a`` walks all ancestors of every
    candidate: quadratic on a deep tree).
    """
    memo: dict[int, _T | None] = {}
    found: list[_T | None] = []  # a list, not yielded: every caller takes all of it
    for node in nodes:
        path = []
        parent = node.parent
        value: _T | None = None
        while parent is not None:
            key = parent.mem_id
            if key in marks:
                value = marks[key]
                break
            if key in memo:
                value = memo[key]
                break
            path.append(key)
            parent = parent.parent
        for key in path:
            memo[key] = value
        found.append(value)
    return found


def containers(root: LexborNode | None) -> dict[int, str]:
    """The placement containers of the tree, ``{mem_id: placement}``, for :func:`placements`."""
    found: dict[int, str] = {}
    for node in select(root, _CONTAINERS):
        placement = placement_of(node)
        if placement is not None:
            found[node.mem_id] = placement
    return found


def placements(links: list[LexborNode], marks: dict[int, str]) -> list[str]:
    """The placement of each link: that of its innermost container in ``marks`` (from
    :func:`containers`), ``content`` if none."""
    if not marks:
        return ["content"] * len(links)
    return [p or "content" for p in innermost(links, marks)]


def link_contents(
    contents: list[LexborNode], anchors: list[int]
) -> tuple[dict[int, list[str]], set[int]]:
    """Which links (by ``mem_id``) hold images, with their alt texts, and which hold scripts.

    ``contents`` are the page's ``<img>``, ``<script>`` and ``<style>`` elements, ``anchors``
    the ``mem_id`` of each ``<a>`` link (an ``<area>`` holds nothing).
    """
    alts: dict[int, list[str]] = {}
    scripted: set[int] = set()
    if not contents:
        return alts, scripted
    keys = {key: key for key in anchors}
    for node, key in zip(contents, innermost(contents, keys), strict=True):
        if key is None:
            continue
        if node.tag != "img":
            scripted.add(key)
            continue
        alt = " ".join((node.attributes.get("alt") or "").split())
        known = alts.setdefault(key, [])
        if alt and alt not in known:
            known.append(alt)
    return alts, scripted


def link_nesting(links: list[LexborNode]) -> list[int]:
    """How many of the other links each link is inside (0 for nearly every link)."""
    keys = {link.mem_id: link.mem_id for link in links}
    levels: dict[int, int] = {}
    out = []
    for link, outer in zip(links, innermost(links, keys), strict=True):
        level = 0 if outer is None else levels.get(outer, 0) + 1
        levels[link.mem_id] = level
        out.append(level)
    return out
