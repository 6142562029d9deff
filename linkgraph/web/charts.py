"""The overview's charts: Vega-Lite specifications rendered to SVG on the server.

vl-convert (the Vega project's own converter, a self-contained wheel with Vega and
Vega-Lite inside: nothing fetched, no JavaScript sent to the browser) turns each spec into
an SVG the page embeds, so the Content-Security-Policy can forbid every script but ours.
Vega escapes the text it draws (domain names, reasons) as SVG text.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

__all__ = [
    "authority_histogram",
    "bars",
    "change_counts",
    "changes_by_week",
    "day_of",
    "day_of_iso",
    "referring_domains_over_time",
    "rel_split",
    "render",
]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
# The page's palette (static/style.css) so the charts match the tables.
_ACCENT = "#2f5bea"
_NEW = "#1f9d55"
# Lost links by reason: warm colours, one per reason the store records.
_LOST = ["#d64545", "#e8833a", "#f0b429", "#b83280", "#9f580a", "#e12d39", "#c05621", "#a61b1b"]
# Every chart the same size, so the overview's grid lines up.
WIDTH, HEIGHT = 400, 200
_CONFIG = {
    "font": "system-ui, -apple-system, 'Segoe UI', sans-serif",
    "axis": {"labelColor": "#4a5468", "titleColor": "#4a5468", "gridColor": "#e6e9f0"},
    "view": {"stroke": None},
    "background": None,
}


@functools.lru_cache(maxsize=256)
def _render(spec_json: str) -> str:
    import vl_convert

    return str(vl_convert.vegalite_to_svg(json.loads(spec_json)))


def render(spec: dict[str, Any]) -> str:
    """The SVG of a Vega-Lite ``spec`` (the same spec is drawn once: a small cache)."""
    return _render(json.dumps({"$schema": _SCHEMA, "config": _CONFIG, **spec}, sort_keys=True))


def bars(counts: dict[str, int], *, title: str, label: str, width: int = WIDTH) -> dict[str, Any]:
    """A horizontal bar per non-zero count, largest first."""
    values = [{"k": k, "n": n} for k, n in counts.items() if n]
    return {
        "title": title,
        "width": width,
        "height": {"step": 26},  # a bar's height, however few there are
        "data": {"values": values},
        "mark": {"type": "bar", "color": _ACCENT, "cornerRadiusEnd": 2},
        "encoding": {
            "y": {"field": "k", "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "n", "type": "quantitative", "title": label},
            "tooltip": [{"field": "k"}, {"field": "n", "format": ","}],
        },
    }


def rel_split(rels: Iterable[tuple[list[str] | None, int]]) -> dict[str, int]:
    """Backlinks by their rel: follow, nofollow, sponsored, ugc, from (rel tokens, links)
    pairs (a link can carry several; it counts once under each, and as follow only when
    it carries none of them)."""
    counts: Counter[str] = Counter()
    for tokens, n in rels:
        found = {r.lower() for r in tokens or []} & {"nofollow", "sponsored", "ugc"}
        for r in found or {"follow"}:
            counts[r] += n
    return {k: counts[k] for k in ("follow", "nofollow", "sponsored", "ugc")}


def day_of_iso(stamp: str) -> date:
    """The UTC day of an ISO 8601 time (``2026-11-21T13:36:00Z``)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).date()


def day_of(ts: int) -> date:
    """The UTC day of Unix time ``ts``."""
    return date.fromordinal(_EPOCH_ORDINAL + ts // 86400)


def referring_domains_over_time(per_day: Mapping[date, int]) -> dict[str, Any]:
    """A point per day on which referring domains were first seen (``per_day``: how many
    on each day): the running total."""
    total, values = 0, []
    for day in sorted(per_day):
        total += per_day[day]
        values.append({"day": day.isoformat(), "domains": total})
    return {
        "title": "Referring domains over time (first seen)",
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "mark": {"type": "line", "point": {"filled": True, "color": _ACCENT}, "color": _ACCENT},
        "encoding": {
            "x": {"field": "day", "type": "temporal", "title": None, "axis": {"format": "%b %d"}},
            "y": {"field": "domains", "type": "quantitative", "title": "referring domains"},
            "tooltip": [{"field": "day", "type": "temporal"}, {"field": "domains"}],
        },
    }


def week_of(stamp: str) -> str:
    """The Monday starting the ISO week of a timestamp."""
    day = day_of_iso(stamp)
    return (day - timedelta(days=day.weekday())).isoformat()


def change_counts(links: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """The records of ``changes`` (its ``links``) per (week, ``new`` or ``lost: REASON``)."""
    return Counter(
        (week_of(c["date"]), "new" if c["change"] == "new" else f"lost: {c['reason'] or 'unknown'}")
        for c in links
    )


def changes_by_week(counts: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """Stacked bars per week: new backlinks, and lost ones by their reason, from counts
    per (week, ``new`` or ``lost: REASON``)."""
    values = [{"week": w, "what": what, "n": n} for (w, what), n in sorted(counts.items())]
    lost = sorted({what for _, what in counts} - {"new"})
    kinds = ["new", *lost] if any(what == "new" for _, what in counts) else lost
    colours = [_NEW] * (len(kinds) - len(lost)) + [_LOST[i % len(_LOST)] for i in range(len(lost))]
    return {
        "title": "New and lost backlinks per week",
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "week",
                "type": "ordinal",
                "title": "week starting",
                "axis": {"labelAngle": 0},
            },
            "y": {"field": "n", "type": "quantitative", "title": "backlinks"},
            "color": {
                "field": "what",
                "type": "nominal",
                "title": None,
                "scale": {"domain": kinds, "range": colours},
                "legend": {"orient": "bottom", "columns": 2, "labelLimit": 240},
            },
            "tooltip": [{"field": "week"}, {"field": "what"}, {"field": "n"}],
        },
    }


# Authority is 0-100: ten bins of ten, the last one closed (100 goes in 90-100).
def authority_bin(authority: float) -> str:
    low = min(int(authority // 10) * 10, 90)
    return f"{low}-{low + 10}"


def authority_histogram(counts: Mapping[str, int]) -> dict[str, Any]:
    """Referring domains by authority, in bins of ten (``counts``: how many in each bin
    of :func:`authority_bin`; domains not ranked are left out)."""
    order = [f"{b}-{b + 10}" for b in range(0, 100, 10)]
    values = [{"bin": b, "n": counts[b]} for b in order if counts.get(b)]
    return {
        "title": "Authority of the referring domains",
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "mark": {"type": "bar", "color": _ACCENT},
        "encoding": {
            "x": {
                "field": "bin",
                "type": "ordinal",
                "sort": order,
                "title": "authority (0-100)",
                "axis": {"labelAngle": 0},
            },
            "y": {"field": "n", "type": "quantitative", "title": "referring domains"},
            "tooltip": [{"field": "bin"}, {"field": "n"}],
        },
    }
