"""crawler.pagenodes: extract's three selector lists in one pass, sorted out again exactly."""

from __future__ import annotations

import pytest
from linkgraph.crawler.extract import extract
from linkgraph.crawler.pagemeta import HEAD_ITEMS
from linkgraph.crawler.pagenodes import LINKS, page_nodes
from linkgraph.crawler.placement import CONTAINERS, containers
from linkgraph.crawler.treequery import select
from selectolax.lexbor import LexborHTMLParser

PAGE = "https://example.com/a"

# Elements that one list's selectors match and another's do not, by tag or attributes.
TRICKY = [
    '<a class="comments-link" role="button">no href</a><a href="/x" class="comments">x</a>',
    '<a xlink:href="/h" class="comments">html xlink</a><a xlink:href="/h2">plain</a>',
    '<svg role="navigation"><a xlink:href="/s" class="sidebar">s</a><a href="/t">t</a></svg>',
    '<svg><a xlink:href="/s" id="respond">s</a><a xlink:role="r" xlink:href="/r">r</a></svg>',
    '<math><a xlink:href="/m" role="note">m</a></math><area href="/ar" class="comment">',
    '<link rel="canonical" href="/c" id="comments"><link rel="stylesheet" class="sidebar" href="/s">',
    '<link rel="Canonical" xlink:href="/c" role="x"><base xlink:href="/b" class="comment">',
    '<base href="/d/" role="navigation"><meta name="robots" content="noindex" class="comments">',
    '<meta role="x"><base role="y"><link role="z"><img role="navigation" alt="i">',
    '<noscript role="navigation"><a href="/n">n</a></noscript><script role="x">1</script>',
    '<svg><title role="banner"><a href="/t">t</a></title><script role="contentinfo"></script></svg>',
    '<nav role="banner" class="comments"><div id="Sidebar"><a href="/d">d</a></div></nav>',
]


@pytest.mark.parametrize("html", TRICKY)
def test_one_pass_finds_what_each_list_finds_alone(html: str) -> None:
    root = LexborHTMLParser(html).root
    found = page_nodes(root)
    assert [n.mem_id for _, n in found.head] == [n.mem_id for n in select(root, HEAD_ITEMS)]
    assert [n.mem_id for n in found.links] == [n.mem_id for n in select(root, LINKS)]
    assert found.keys == [n.mem_id for n in found.links]
    assert found.attrs == [n.attributes for n in found.links]
    # Candidates may be more than CONTAINERS selects, never fewer, and give the same marks.
    assert containers(found.candidates) == containers(select(root, CONTAINERS))


def test_lexbor_reports_an_element_once_for_each_selector_it_matches_in_a_row() -> None:
    # page_nodes counts the reports to tell a container candidate from a head item alone.
    root = LexborHTMLParser('<div class="x" id="y">1</div><p>2</p>').root
    assert [n.tag for n in select(root, "div, [class], [id], p")] == ["div"] * 3 + ["p"]


def test_a_link_without_href_whose_class_names_comments_is_no_link() -> None:
    html = '<a class="comments-link" role="button">reply</a><a href="/x">x</a>'
    assert [link.target for link in extract(html, PAGE).links] == ["https://example.com/x"]


def test_an_svg_link_with_only_xlink_href_and_a_class_is_a_link() -> None:
    html = (
        '<svg><a xlink:href="/s" class="comments">s</a></svg>'
        '<a xlink:href="/h" class="comments">h</a>'  # an HTML <a>: its xlink:href is no href
    )
    assert [link.target for link in extract(html, PAGE).links] == ["https://example.com/s"]


def test_svg_and_noscript_with_a_role_place_the_links_inside() -> None:
    html = (
        '<svg role="navigation"><a href="/s">s</a></svg>'
        '<noscript role="contentinfo"><a href="/n">n</a></noscript><a href="/c">c</a>'
    )
    assert [link.placement for link in extract(html, PAGE).links] == ["nav", "footer", "content"]


def test_head_elements_that_also_look_like_containers_still_count() -> None:
    html = (
        '<base href="/d/" role="navigation"><link rel="canonical" href="c" id="comments">'
        '<link rel="stylesheet" class="comments" href="/s">'
        '<meta name="robots" content="noindex" class="sidebar"><a href="p">p</a>'
    )
    found = extract(html, PAGE)
    assert found.base == "https://example.com/d/"
    assert found.canonical == "https://example.com/d/c"
    assert found.robots == frozenset({"noindex"})
    assert [link.target for link in found.links] == ["https://example.com/d/p"]
