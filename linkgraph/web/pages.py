"""The list pages: each one a ``linkgraph`` command, its filters a form.

A :class:`ListPage` names the command, the form's fields and how each becomes an argument
of the command; :func:`command_for` turns a request's query into that command line. The
page lists the command's records a page at a time (from the store for backlinks,
referring domains and anchors, :data:`.views.PAGED`; for the others, sorted and paged
here); its CSV and JSON downloads are the command's own output for the same arguments,
with ``--limit`` set to the number of records the page lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from linkgraph.storage.listpages import sort_records
from linkgraph.storage.records import PLACEMENTS

from .runner import BadRequest, Command

__all__ = ["LIST_PAGES", "Field", "ListPage", "command_for", "sort_records"]

MODES = ("exact", "prefix", "host", "domain")


@dataclass(frozen=True)
class Field:
    """One form field and the argument it becomes.

    ``kind``: ``positional`` (the value, in order), ``words`` (the value split on commas
    and spaces, each a positional: the competitors), ``value`` (``flag VALUE``),
    ``choice`` (``flag VALUE`` from ``choices``), ``switch`` (``flag`` when checked),
    ``repeat`` (``flag VALUE`` for each comma-separated value: brands, keywords).
    """

    name: str
    label: str
    kind: str
    flag: str = ""
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    help: str = ""


TARGET = Field(
    "target", "Target", "positional", placeholder="example.com or https://example.com/page"
)
MODE = Field(
    "mode", "Match", "choice", "--mode", MODES, help="default: exact for a URL, domain for a name"
)
FOLLOW = Field("follow_only", "Follow only", "switch", "--follow-only")
PLACEMENT = Field("placement", "Placement", "choice", "--placement", tuple(PLACEMENTS))
INTERNAL = Field("include_internal", "Internal links too", "switch", "--include-internal")
LOST = Field("include_lost", "Lost links too", "switch", "--include-lost")
BRAND = Field("brand", "Brands", "repeat", "--brand", placeholder="Acme Shoes")
KEYWORD = Field("keyword", "Keywords", "repeat", "--keyword", placeholder="running shoes")
LINK_FILTERS = (TARGET, MODE, FOLLOW, PLACEMENT, INTERNAL, LOST)


@dataclass(frozen=True)
class ListPage:
    """A page listing one command's records."""

    slug: str
    command: str
    title: str
    blurb: str
    fields: tuple[Field, ...]
    # The form field that must be filled before the command runs ("" for none).
    required: str = "target"
    # The key of the command's JSON answer that holds the records, when it is an object.
    pick: str = ""
    # Whether the command has --limit (the download then lists what the page lists).
    has_limit: bool = True
    # Fields of the records not shown as columns (nested or long).
    hidden: tuple[str, ...] = ()
    # The command's extra arguments when a switch field is on (``--quality``, ``--classify``).
    pick_when: tuple[tuple[str, str], ...] = ()

    def records_of(self, answer: Any, query: Mapping[str, str]) -> list[dict[str, Any]]:
        key = dict(self.pick_when).get(next((n for n, _ in self.pick_when if query.get(n)), ""))
        key = key or self.pick
        return list(answer[key] if key else answer)


LIST_PAGES: dict[str, ListPage] = {
    p.slug: p
    for p in (
        ListPage(
            "backlinks",
            "backlinks",
            "Backlinks",
            "Every link into the target, strongest linking pages first; with Quality, each link"
            " scored from its authority, follow, placement, relevance, dilution and sitewide parts.",
            (
                *LINK_FILTERS,
                Field("sort", "Order", "choice", "--sort", ("authority", "first_seen")),
                Field("quality", "Quality score", "switch", "--quality"),
                BRAND,
                KEYWORD,
            ),
            hidden=("kind", "image", "quality_parts"),
        ),
        ListPage(
            "referring-domains",
            "referring-domains",
            "Referring domains",
            "The registrable domains linking to the target, with their backlinks, authority and"
            " the addresses their hosts resolved to.",
            LINK_FILTERS,
        ),
        ListPage(
            "anchors",
            "anchors",
            "Anchors",
            "The anchor texts of the links into the target. With Classify (and your brands and"
            " keywords), their shares by class: branded, exact, partial, generic, naked URL...",
            (
                *LINK_FILTERS,
                Field("classify", "Classify", "switch", "--classify"),
                BRAND,
                KEYWORD,
            ),
            pick_when=(("classify", "classes"),),
        ),
        ListPage(
            "changes",
            "changes",
            "New and lost backlinks",
            "Backlinks gained and lost between crawls (recrawl with `linkgraph crawl --refresh`),"
            " with the reason each was lost.",
            (
                TARGET,
                Field("since", "Since", "value", "--since", placeholder="2026-11-01"),
                MODE,
                INTERNAL,
            ),
            pick="links",
            has_limit=False,
        ),
        ListPage(
            "broken",
            "broken",
            "Broken links",
            "Links whose target answered 4xx/5xx or could not be reached (leave Target empty for"
            " the whole store).",
            (
                Field("target", "Target", "positional", placeholder="optional"),
                Field("outbound", "Outbound", "switch", "--outbound"),
                MODE,
            ),
            required="",
        ),
        ListPage(
            "top",
            "top",
            "Top by authority",
            "The highest-authority pages, hosts or domains of the store (after `linkgraph rank`).",
            (Field("level", "Level", "choice", "--level", ("domain", "host", "page")),),
            required="",
        ),
        ListPage(
            "intersect",
            "intersect",
            "Link intersect",
            "Domains linking to at least K of your competitors but not to you: the outreach list.",
            (
                Field(
                    "competitors",
                    "Competitors",
                    "words",
                    placeholder="rival-a.com rival-b.com",
                ),
                Field("exclude", "Your site", "value", "--exclude", placeholder="me.com"),
                Field("min", "At least K", "value", "--min", placeholder="2"),
                MODE,
                LOST,
            ),
            required="competitors",
        ),
        ListPage(
            "toxic",
            "toxic",
            "Toxic-link triage",
            "A 0-100 score per referring domain with its reasons, for a human to review. Tick the"
            " domains to disavow and download Google's disavow file.",
            (
                TARGET,
                Field("min_score", "Min score", "value", "--min-score", placeholder="0"),
                MODE,
                BRAND,
                KEYWORD,
            ),
            hidden=("signals", "link_pages"),
        ),
        ListPage(
            "mentions",
            "mentions",
            "Unlinked mentions",
            "Pages that mention a phrase in their text; with Not linking to, only those that do"
            " not link to your site: outreach material.",
            (
                Field("phrase", "Phrase", "positional", placeholder="Acme Shoes"),
                Field(
                    "exclude_linking",
                    "Not linking to",
                    "value",
                    "--exclude-linking",
                    placeholder="acme-shoes.com",
                ),
                MODE,
            ),
            required="phrase",
        ),
    )
}


def _split(text: str, commas_only: bool) -> list[str]:
    parts = text.split(",") if commas_only else text.replace(",", " ").split()
    return [p.strip() for p in parts if p.strip()]


def command_for(page: ListPage, query: Mapping[str, str]) -> Command:
    """The command line a request's query stands for (unknown parameters are ignored)."""
    positional: list[str] = []
    flags: list[str] = []
    for f in page.fields:
        value = query.get(f.name, "").strip()
        if not value:
            continue
        if f.kind == "positional":
            positional.append(value)
        elif f.kind == "words":
            positional += _split(value, commas_only=False)
        elif f.kind == "switch":
            flags.append(f.flag)
        elif f.kind == "repeat":
            for item in _split(value, commas_only=True):
                flags += [f.flag, item]
        else:
            if f.kind == "choice" and value not in f.choices:
                raise BadRequest(f"{f.label}: choose one of {', '.join(f.choices)}")
            flags += [f.flag, value]
    return Command(page.command, flags, positional)
