"""Every element :func:`~linkgraph.crawler.extract.extract` asks lexbor's CSS engine for, in
one selector pass over the page.

extract needs three sets of elements: the links (:data:`LINKS`), what
:class:`~linkgraph.crawler.pagemeta.PageHead` reads (:data:`~.pagemeta.HEAD_ITEMS`), and the
candidates for placement containers (:data:`~.placement.CONTAINERS`). Each selector pass
walks the whole tree and parses its selector list again (selectolax keeps no compiled
selector), so one pass with the three lists joined costs about two thirds of three passes:
on the crawl benchmark's 2 KB pages, 37 µs against 55 µs, a tenth of a page's parse.

One pass gives the elements in document order (each as many times in a row as it matches
selectors of the list), without saying which list each matched; :func:`page_nodes` tells them apart again, from the tag and the attributes:

* ``a`` and ``area`` are links when they have an ``href``, or an ``xlink:href`` (which
  ``[href]`` matches only on SVG and MathML elements, whose ``xlink:href`` the parser turns
  into an ``href`` in the XLink namespace) and nothing that puts them on the containers'
  list (a ``role``, ``xlink:role``, ``id`` or ``class``): then only ``[href]`` matched;
* the head's tags are head items by their tag alone, ``meta`` with a ``content``, ``base``
  with an ``href`` as links are, and a ``<link>`` that nothing puts on the containers' list
  (only the canonical selector matched it);
* every other element is a container candidate: :func:`~.placement.placement_of` gives
  ``None`` to any element that is not one, so candidates are a superset it sorts exactly.

Where the attributes cannot tell (an ``xlink:href`` without ``href``, or a ``<link>`` whose
``rel`` may say canonical, on an element that also carries a ``role``, ``id`` or ``class``:
none on the 230 pages of our corpus), that list is selected again, on its own.
"""

from __future__ import annotations

from selectolax.lexbor import LexborNode

from .pagemeta import HEAD_ITEMS
from .placement import CONTAINERS
from .treequery import select

__all__ = ["LINKS", "PageNodes", "page_nodes"]

LINKS = "a[href], area[href]"
_EVERYTHING = f"{HEAD_ITEMS}, {LINKS}, {CONTAINERS}"

# The head's tags that HEAD_ITEMS selects whatever their attributes.
_HEAD_TAGS = frozenset(
    {"title", "svg", "math", "img", "script", "style", "noscript", "template", "iframe"}
)
# The attributes CONTAINERS may match an <a>, <area>, <base> or <link> by (besides its
# tag, which is none of these): "[role]" matches an SVG element's xlink:role too.
_CONTAINER_KEYS = ("role", "xlink:role", "id", "class")
# More reports than an element can have (one per selector of the list at most).
_NOT_A_CANDIDATE = 1 << 30


def _maybe_container(attrs: dict[str, str | None]) -> bool:
    return any(key in attrs for key in _CONTAINER_KEYS)


class PageNodes:
    """What :func:`page_nodes` found: ``head`` items as ``(tag, element)``, ``candidates``
    for containers, and the ``links`` with, for each, what extract reads of it (read here
    already, to tell the lists apart, and not read twice): its ``keys`` (``mem_id``),
    ``tags`` and ``attrs``."""

    __slots__ = ("attrs", "candidates", "head", "keys", "links", "tags")

    def __init__(self) -> None:
        self.head: list[tuple[str, LexborNode]] = []
        self.candidates: list[LexborNode] = []
        self.links: list[LexborNode] = []
        self.keys: list[int] = []
        self.tags: list[str] = []
        self.attrs: list[dict[str, str | None]] = []


def page_nodes(root: LexborNode | None) -> PageNodes:
    """The page's head items, links and container candidates, each in document order, as
    ``select(root, HEAD_ITEMS)``, ``select(root, LINKS)`` and a superset of
    ``select(root, CONTAINERS)`` find them."""
    found = PageNodes()
    head, candidates = found.head, found.candidates
    links, keys, tags, attributes = found.links, found.keys, found.tags, found.attrs
    unsure_links = unsure_head = False
    # lexbor reports an element once for each selector of the list it matches, in a row:
    # an element reported more often than the head and link selectors it matches (own)
    # matched a container selector too. Those of the head's tags (a <script>, an <img>)
    # are candidates only then; every other element is one unless it is a link.
    last = count = own = 0
    previous = None
    for node in select(root, _EVERYTHING):
        key = node.mem_id
        if key == last:
            count += 1
            continue
        if count > own:
            candidates.append(previous)
        previous, last, count, own = node, key, 1, 0
        tag = node.tag
        if tag == "a" or tag == "area":
            own = _NOT_A_CANDIDATE  # placement_of: a link is never a container
            attrs = node.attributes
            if "href" not in attrs:
                if "xlink:href" not in attrs:
                    continue
                if _maybe_container(attrs):
                    unsure_links = True
                    continue
            links.append(node)
            keys.append(key)
            tags.append(tag)
            attributes.append(attrs)
        elif tag in _HEAD_TAGS:
            head.append((tag, node))
            own = 1
        elif tag == "meta":
            if "content" in node.attributes:
                head.append((tag, node))
                own = 1
        elif tag == "base":
            attrs = node.attributes
            if "href" in attrs:
                head.append((tag, node))
                own = 1
            elif "xlink:href" in attrs:
                if _maybe_container(attrs):
                    unsure_head = True
                else:
                    head.append((tag, node))
                    own = 1
        elif tag == "link":
            attrs = node.attributes
            if not _maybe_container(attrs):
                head.append((tag, node))  # only the canonical selector could match it
                own = 1
            elif "href" in attrs or "xlink:href" in attrs:
                # "canonical" among the rel tokens in ASCII case: a substring, in any case
                if "canonical" in (attrs.get("rel") or "").lower():
                    unsure_head = True
    if count > own:
        candidates.append(previous)
    if unsure_links:
        found.links, found.keys, found.tags, found.attrs = [], [], [], []
        for node in select(root, LINKS):
            found.links.append(node)
            found.keys.append(node.mem_id)
            found.tags.append(node.tag)
            found.attrs.append(node.attributes)
    if unsure_head:
        found.head = [(node.tag, node) for node in select(root, HEAD_ITEMS)]
    return found
