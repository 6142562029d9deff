"""crawler.extract on 230 real pages, checked against an independent lxml reference.

The reference below is deliberately small and written against a different parser (lxml,
i.e. libxml2's HTML parser) and straight against ada-url, so a shared mistake is unlikely.
The two parsers build different trees from broken markup, and that is the only source of
disagreement we accept:

* HTML5 tree construction clones an open ``<a>`` when markup is misnested (the "adoption
  agency" and "reconstruct the active formatting elements" steps): ``<a href=x>...<div>``
  inside a ``<p>``, or an ``<a>`` inside an ``<a>``, gives lexbor (like every browser)
  extra ``<a href=x>`` elements, usually empty, and closes the outer link where the inner
  one starts. libxml2 implements neither step: it keeps one element whose text then
  swallows everything up to the stray ``</a>``.
* The HTML5 parser renames an ``<image>`` start tag to ``<img>``, so its ``alt`` becomes
  the anchor of an image-only link; libxml2 keeps an unknown ``<image>`` element.
* libxml2 parses ``<template>`` content as ordinary children; the reference skips links
  inside a template by looking at the ancestors, which lexbor never shows us at all.
"""

from __future__ import annotations

import gzip
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ada_url
import lxml.html
import pytest
from linkgraph.crawler import extract as extract_module
from linkgraph.crawler import placement
from linkgraph.crawler.encoding import decode_html
from linkgraph.crawler.extract import extract
from linkgraph.storage.records import PLACEMENTS
from selectolax.lexbor import LexborHTMLParser

Page = tuple[str, str, str]  # file, url, html
Triple = tuple[str, str, tuple[str, ...]]  # target, anchor, rel


@pytest.fixture(scope="module")
def pages(corpus: Path) -> list[Page]:
    root = corpus / "html-trafilatura"
    out = []
    for line in (root / "urls.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        url, file, _ = line.split("\t")
        html, _ = decode_html(gzip.decompress((root / file).read_bytes()), "text/html")
        out.append((file, url, html))
    assert len(out) == 230
    return out


# -- the reference extractor ----------------------------------------------------------------

_NOT_RENDERED = {"template", "script", "style"}


def _web_url(href: str, base: str) -> str | None:
    try:
        joined = ada_url.join_url(base, href)
    except ValueError:
        return None
    if ada_url.URL(joined).protocol not in ("http:", "https:"):
        return None
    return joined.split("#", 1)[0]


def _words(text: str) -> str:
    return " ".join(text.split())


def _visible_text(element: Any) -> str:
    parts: list[str] = []

    def walk(node: Any) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            # Comments and processing instructions have a non-string tag; their tail is text.
            if isinstance(child.tag, str) and child.tag not in _NOT_RENDERED:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return _words("".join(parts))


def reference_links(html: str, url: str) -> list[Triple]:
    """Links by the extraction rules, with lxml and ada-url instead of lexbor and resolve()."""
    parser = lxml.html.HTMLParser(encoding="utf-8")
    root = lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    base = url
    for element in root.iter("base"):
        if element.get("href") is not None:
            base = _web_url(element.get("href"), url) or url
            break
    out = []
    for element in root.iter("a", "area"):
        href = element.get("href")
        if href is None:
            href = element.get("xlink:href")  # SVG
        if href is None:
            continue
        if any(parent.tag in _NOT_RENDERED for parent in element.iterancestors()):
            continue
        target = _web_url(href, base)
        if target is None:
            continue
        if element.tag == "area":
            anchor = _words(element.get("alt") or "")
        else:
            anchor = _visible_text(element)
            if not anchor:
                alts: list[str] = []
                for img in element.iter("img"):
                    alt = _words(img.get("alt") or "")
                    if alt and alt not in alts:
                        alts.append(alt)
                anchor = " ".join(alts)
        rel = tuple(dict.fromkeys((element.get("rel") or "").lower().split()))
        out.append((target, anchor, rel))
    return out


def test_reference_agrees_on_a_small_page() -> None:
    html = """<base href="/b/"><a href="x#f" rel="NoFollow ugc">A <b>b</b></a>
              <!-- <a href="/c"> --><template><a href="/t">t</a></template>
              <a href="mailto:x@y">m</a><map><area href="/m" alt="M"></map>"""
    url = "https://example.com/p"
    expected = [
        ("https://example.com/b/x", "A b", ("nofollow", "ugc")),
        ("https://example.com/m", "M", ()),
    ]
    assert reference_links(html, url) == expected
    assert [(lk.target, lk.anchor, lk.rel) for lk in extract(html, url).links] == expected


# -- the corpus -------------------------------------------------------------------------------


def test_extract_runs_on_every_page(pages: list[Page]) -> None:
    total = 0
    for file, url, html in pages:
        page = extract(html, url, want_text=True)
        total += len(page.links)
        assert page.base.startswith(("http://", "https://")), file
        assert page.text, file
        for link in page.links:
            assert link.target.startswith(("http://", "https://")), (file, link)
            assert "#" not in link.target, (file, link)
            assert link.placement in PLACEMENTS, (file, link)
            assert link.anchor == link.anchor.strip(), (file, link)
    assert total > 30_000  # the PROVENANCE counts about 36,300 <a ... href> tags by regex


def _agreement(ours: Counter[Any], theirs: Counter[Any]) -> tuple[int, int]:
    return sum((ours & theirs).values()), max(sum(ours.values()), sum(theirs.values()))


def test_links_agree_with_the_lxml_reference(
    pages: list[Page], report_agreement: Callable[[dict[str, float], str], None]
) -> None:
    targets_same = targets_all = triples_same = triples_all = 0
    report = []
    for file, url, html in pages:
        ours = [(lk.target, lk.anchor, lk.rel) for lk in extract(html, url).links]
        theirs = reference_links(html, url)
        ours_t = Counter(t for t, _, _ in ours)
        theirs_t = Counter(t for t, _, _ in theirs)
        same, n = _agreement(ours_t, theirs_t)
        targets_same, targets_all = targets_same + same, targets_all + n
        same3, n3 = _agreement(Counter(ours), Counter(theirs))
        triples_same, triples_all = triples_same + same3, triples_all + n3
        if same != n or same3 != n3:
            extra = sum((ours_t - theirs_t).values())
            missing = sum((theirs_t - ours_t).values())
            report.append(
                f"  {file}: {len(ours)} vs {len(theirs)} links, targets +{extra}/-{missing}, "
                f"anchor or rel differ on {n3 - same3 - max(extra, missing)}"
            )
    target_rate = targets_same / targets_all
    triple_rate = triples_same / triples_all
    report_agreement(
        {"lxml_target_agreement": target_rate, "lxml_target_anchor_rel_agreement": triple_rate},
        f"lexbor vs lxml reference over {len(pages)} pages, {targets_all} links: "
        f"targets agree {target_rate:.3%}, target+anchor+rel agree {triple_rate:.3%}; "
        f"{len(report)} pages differ (+ ours only, - reference only):",
    )
    print("\n".join(report))
    assert target_rate >= 0.99
    assert triple_rate >= 0.99


def test_extraction_walks_up_each_tree_in_linear_work(
    pages: list[Page], monkeypatch: pytest.MonkeyPatch, record_property: Any
) -> None:
    """A work count, not a clock: on every page, each of extract's walks up the tree (for
    placements, image alts and nesting) asks about each element at most once, plus once
    per node it starts from. A per-link walk to the root would ask links x depth times.
    Per-page times are recorded as properties, for reading, never asserted on."""
    calls: list[tuple[int, int]] = []  # (marks lookups, nodes walked from) per walk
    innermost = placement.innermost

    class Counting(dict[int, Any]):
        asked = 0

        def __contains__(self, key: object) -> bool:
            self.asked += 1
            return super().__contains__(key)

    def counted(nodes: Any, marks: Any) -> Any:
        nodes, counting = list(nodes), Counting(marks)
        yield from innermost(nodes, counting)
        calls.append((counting.asked, len(nodes)))

    monkeypatch.setattr(placement, "innermost", counted)
    monkeypatch.setattr(extract_module, "innermost", counted)
    times = []
    for file, url, html in pages:
        elements = sum(1 for _ in LexborHTMLParser(html).root.traverse())
        calls.clear()
        start = time.perf_counter()
        extract(html, url)
        times.append(time.perf_counter() - start)
        assert calls, file  # every page has links or containers to place
        for asked, walked_from in calls:
            assert asked <= elements + walked_from, file
    record_property("extract_median_ms", round(statistics.median(times) * 1000, 3))
    record_property("extract_total_ms", round(sum(times) * 1000, 1))
