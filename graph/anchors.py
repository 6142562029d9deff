"""Anchor-text profiles: classify each backlink's anchor, summarise, flag over-optimisation.

A backlink profile where most anchors are the money keyword looks bought; one dominated
by the brand, the bare URL and words like "here" looks earned. SEO practice sorts
anchors into these classes, tried in this order (the first that fits wins):

============  ===============================================================
class         the anchor...
============  ===============================================================
``image``     belongs to an image link (the anchor is the image's alt text)
``empty``     has no text at all
``naked_url`` is a URL or a host name (``https://acme.com/x``, ``www.acme.com``)
``branded``   contains a brand name as whole words ("Acme", "Acme's new range")
``exact``     is exactly a target keyword ("running shoes")
``partial``   contains a keyword, or at least half of a keyword's words
``generic``   is on the generic list ("click here", "read more", "source", ...)
``other``     anything else (an article title, a person's name)
============  ===============================================================

Matching is on normalised text: case-folded, accents removed, punctuation turned into
spaces, whitespace collapsed. The generic list is editable: ``configs/generic_anchors.txt``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ANCHOR_CLASSES",
    "DEFAULT_GENERIC",
    "AnchorProfile",
    "anchor_shares",
    "classify_anchor",
    "normalize_anchor",
    "over_optimization",
]

ANCHOR_CLASSES = ("branded", "exact", "partial", "generic", "naked_url", "image", "empty", "other")

# The built-in list, also shipped as configs/generic_anchors.txt for editing.
DEFAULT_GENERIC = frozenset(
    {
        "click here",
        "here",
        "click",
        "this",
        "this page",
        "this site",
        "this article",
        "this post",
        "read more",
        "more",
        "learn more",
        "find out more",
        "more info",
        "more information",
        "continue reading",
        "continue",
        "read",
        "read this",
        "read the article",
        "read the full article",
        "full article",
        "details",
        "see more",
        "see here",
        "go",
        "go here",
        "visit",
        "visit site",
        "visit website",
        "website",
        "web site",
        "site",
        "homepage",
        "home page",
        "home",
        "link",
        "this link",
        "source",
        "via",
        "article",
        "blog",
        "post",
        "page",
        "download",
        "view",
        "view more",
        "check it out",
        "check this out",
        "official site",
        "official website",
        "more here",
    }
)

_URLISH = re.compile(
    r"^(?:https?://|www\.)\S+$|^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"\.[a-z]{2,}(?::\d+)?(?:/\S*)?$",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalize_anchor(text: str) -> str:
    """Case-fold, strip accents, turn punctuation into spaces, collapse whitespace.

    >>> normalize_anchor("  Café-Racer  Shoes!! ")
    'cafe racer shoes'
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", stripped).replace("_", " ").split())


def _contains_words(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


@dataclass(frozen=True, slots=True)
class AnchorProfile:
    """What a target calls itself and what it wants to rank for.

    ``brands``: brand names ("Acme", "Acme Corp"). ``keywords``: the money phrases
    ("running shoes"). ``generic``: the generic anchors (default: :data:`DEFAULT_GENERIC`).
    """

    brands: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    generic: frozenset[str] = DEFAULT_GENERIC
    _brands: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _keywords: tuple[tuple[str, frozenset[str]], ...] = field(init=False, repr=False, compare=False)
    _generic: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        brands = tuple(b for b in (normalize_anchor(x) for x in self.brands) if b)
        keywords = tuple(
            (k, frozenset(k.split())) for k in (normalize_anchor(x) for x in self.keywords) if k
        )
        object.__setattr__(self, "_brands", brands)
        object.__setattr__(self, "_keywords", keywords)
        object.__setattr__(self, "_generic", frozenset(normalize_anchor(g) for g in self.generic))


def classify_anchor(
    anchor: str, *, image: bool = False, profile: AnchorProfile | None = None
) -> str:
    """The class of one anchor (see the module docstring for the order of the rules).

    >>> p = AnchorProfile(brands=("Acme",), keywords=("running shoes",))
    >>> [classify_anchor(a, profile=p) for a in
    ...  ["Acme", "running shoes", "best running shoes 2026", "click here", "www.acme.com", "", "Jane"]]
    ['branded', 'exact', 'partial', 'generic', 'naked_url', 'empty', 'other']
    """
    profile = profile or AnchorProfile()
    if image:
        return "image"
    raw = anchor.strip()
    if not raw:
        return "empty"
    if _URLISH.match(raw):
        return "naked_url"
    text = normalize_anchor(raw)
    if not text:
        return "empty"
    if any(_contains_words(text, brand) for brand in profile._brands):
        return "branded"
    words = frozenset(text.split())
    for keyword, _ in profile._keywords:
        if text == keyword:
            return "exact"
    for keyword, kw_words in profile._keywords:
        if _contains_words(text, keyword) or (
            len(kw_words) > 1 and 2 * len(words & kw_words) >= len(kw_words)
        ):
            return "partial"
    if text in profile._generic:
        return "generic"
    return "other"


def anchor_shares(
    classes: Iterable[str], weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Share of each class (all of :data:`ANCHOR_CLASSES`, summing to 1; all 0 when empty).

    >>> anchor_shares(["branded", "branded", "exact", "generic"])["branded"]
    0.5
    """
    counts: Counter[str] = Counter()
    for i, cls in enumerate(classes):
        counts[cls] += weights[i] if weights is not None else 1
    total = sum(counts.values())
    return {cls: (counts[cls] / total if total else 0.0) for cls in ANCHOR_CLASSES}


def over_optimization(
    shares: dict[str, float],
    *,
    max_exact: float = 0.10,
    max_money: float = 0.30,
    min_branded: float = 0.0,
) -> list[str]:
    """Warnings for a profile that looks engineered (empty when it looks natural).

    ``max_exact``: highest natural share of exact-match anchors; ``max_money``: of exact
    and partial together; ``min_branded``: lowest share of branded and naked-URL anchors
    (0 disables). The defaults follow common SEO guidance, not a search engine's rule.

    >>> over_optimization({"exact": 0.25, "partial": 0.1, "branded": 0.5, "naked_url": 0.0})
    ['exact-match anchors are 25% of backlinks (above 10%)', 'exact and partial-match anchors are 35% of backlinks (above 30%)']
    """
    warnings = []
    exact = shares.get("exact", 0.0)
    money = exact + shares.get("partial", 0.0)
    if exact > max_exact:
        warnings.append(f"exact-match anchors are {exact:.0%} of backlinks (above {max_exact:.0%})")
    if money > max_money:
        warnings.append(
            f"exact and partial-match anchors are {money:.0%} of backlinks (above {max_money:.0%})"
        )
    natural = shares.get("branded", 0.0) + shares.get("naked_url", 0.0)
    if min_branded and natural < min_branded:
        warnings.append(
            f"branded and URL anchors are only {natural:.0%} of backlinks (below {min_branded:.0%})"
        )
    return warnings
