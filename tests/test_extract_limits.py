"""crawler.extract on hostile pages: work linear in the page, a CPU budget, capped output."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pytest
from linkgraph.crawler import extract as extract_module
from linkgraph.crawler import nesting, placement
from linkgraph.crawler.encoding import decode_html
from linkgraph.crawler.extract import Budget, extract
from linkgraph.crawler.nesting import MAX_CLONE_BYTES, MAX_DEPTH, MAX_FORMATTING, cap_nesting
from selectolax.lexbor import LexborHTMLParser

PAGE = "https://example.com/"
# The page of the report: 1.4 MB that took lexbor about 170 s to parse (78 s here).
BOMB = "<div><span><b>" * 100_000 + "<a href=/x>x</a>"


def _formatting_bomb(elements: int, paragraphs: int, attribute: str = "") -> str:
    """Distinct formatting elements closed off by a ``</div>``, then linked paragraphs.

    Each paragraph makes the parser re-create every one of them ("reconstruct the
    active formatting elements"); distinct attributes defeat the Noah's Ark clause.
    """
    opened = "".join(f"<b id={i}{attribute}>" for i in range(elements))
    return (
        "<div>" + opened + "</div>" + "".join(f"<p><a href=/p{i}>p</a>" for i in range(paragraphs))
    )


def _nodes(html: str) -> tuple[int, int]:
    """How many nodes lexbor builds from ``html``, and how long their attributes are."""
    nodes = attribute_chars = 0
    todo = [LexborHTMLParser(html).root]
    while todo:
        node = todo.pop()
        nodes += 1
        attribute_chars += sum(len(k) + len(v or "") for k, v in node.attributes.items())
        child = node.child
        while child is not None:
            todo.append(child)
            child = child.next
    return nodes, attribute_chars


def _depth(tree: LexborHTMLParser) -> int:
    """The depth of the deepest element, by one walk down the tree (iterative)."""
    deepest = 0
    todo = [(tree.root, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        child = node.child
        while child is not None:
            if child.tag != "-text":
                todo.append((child, depth + 1))
            child = child.next
    return deepest


# -- the nesting cap ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit",
    ["<div><span><b>", "<div>", "<section>", "<span></i>", "<nav>", "<svg><g>", "<div/>"],
)
def test_deep_nesting_is_capped_before_the_tree_is_built(unit: str) -> None:
    html = unit * 20_000 + "<a href=/x>x</a>"
    capped, dropped = cap_nesting(html)
    assert dropped > 0
    # lexbor's work per tag is bounded by the depth of its stack of open elements.
    assert _depth(LexborHTMLParser(capped)) <= MAX_DEPTH + 8


def test_a_comment_that_ends_at_once_hides_nothing_from_the_cap() -> None:
    html = "<!-->" + "<div>" * 20_000 + "-->"
    assert _depth(LexborHTMLParser(cap_nesting(html)[0])) <= MAX_DEPTH + 8


@pytest.mark.timeout(60)
def test_the_reported_page_parses_with_its_link() -> None:
    # Before the cap this took 78 s on the test machine: the timeout fails it by far.
    found = extract(BOMB, PAGE)
    assert [(link.target, link.anchor) for link in found.links] == [("https://example.com/x", "x")]
    assert found.error is None


def test_deep_nesting_keeps_links_text_and_placement_above_the_cap() -> None:
    html = (
        "<nav><a href=/n>n</a></nav>"
        + "<div>" * 10_000
        + "<footer><a href=/f>f</a></footer><p>tail text</p>"
    )
    found = extract(html, PAGE, want_text=True)
    assert [(lk.target, lk.placement) for lk in found.links] == [
        ("https://example.com/n", "nav"),
        ("https://example.com/f", "content"),  # its <footer> was below the cap: dropped
    ]
    assert found.text == "n f tail text"


def test_real_pages_pass_the_cap_unchanged(corpus: Path) -> None:
    root = corpus / "html-trafilatura"
    files = sorted(root.glob("*/*.html.gz"))
    assert len(files) == 230
    for file in files:
        html, _ = decode_html(gzip.decompress(file.read_bytes()), "text/html")
        # Scanning every page however small, with caps well below the real ones: depth ten
        # times lower, half the open formatting elements and bytes, an eighth of the copies.
        capped = cap_nesting(
            html,
            48,
            scan_above=0,
            max_formatting=16,
            max_formatting_bytes=1024,
            max_clones=1 << 15,
            max_clone_bytes=1 << 21,
        )
        assert capped == (html, 0), file.name


# -- open formatting elements ---------------------------------------------------------------


def test_open_formatting_elements_are_capped_and_links_kept() -> None:
    html = _formatting_bomb(100, 500)
    capped, dropped = cap_nesting(html)
    assert capped.count("<b ") == MAX_FORMATTING
    assert dropped == 100 - MAX_FORMATTING
    assert capped.count("<a href=") == 500


@pytest.mark.parametrize(
    ("elements", "paragraphs"), [(2_000, 2_000), (200, 2_000), (31, 16_000), (15, 8_000)]
)
def test_a_formatting_bomb_builds_a_small_tree(elements: int, paragraphs: int) -> None:
    html = _formatting_bomb(elements, paragraphs)
    # Before the cap lexbor built 4 million nodes (1.5 GB) from the first, a 37 KB page.
    nodes, _ = _nodes(cap_nesting(html)[0])
    assert nodes <= (1 << 18) + 5 * (elements + paragraphs)
    found = extract(html, PAGE)
    assert found.error is None
    assert [link.target for link in found.links] == [
        f"https://example.com/p{i}" for i in range(paragraphs)
    ]


def test_a_formatting_bomb_with_long_attributes_copies_little() -> None:
    # A 100 KB page: 8 elements of 10 KB each, copied into 4,000 paragraphs, were 370 MB.
    html = _formatting_bomb(8, 4_000, " t=" + "x" * 10_000)
    _, copied = _nodes(cap_nesting(html)[0])
    assert copied <= MAX_CLONE_BYTES + len(html)


def _link_bomb(paragraphs: int, attribute: int, tail: str = "", inside: str = "") -> str:
    """A link left open and closed off by a ``</div>``: each paragraph re-creates it."""
    link = '<a href="/x" title="' + "y" * attribute + '">x' + inside
    return "<html><body><div>" + link + "</div>" + "<p>z" * paragraphs + tail + "</body></html>"


@pytest.mark.parametrize(
    ("paragraphs", "attribute"),
    [
        (20_000, 10_000),  # 90 KB: 200 MB of copies, 266 MB of memory in all
        (5_000, 50_000),  # 70 KB with few tags: 250 MB of copies
    ],
)
def test_a_link_left_open_copies_little_and_keeps_its_anchor(
    paragraphs: int, attribute: int
) -> None:
    html = _link_bomb(paragraphs, attribute)
    _, copied = _nodes(cap_nesting(html)[0])
    assert copied <= MAX_CLONE_BYTES + len(html)
    links = extract(html, PAGE).links
    assert (links[0].target, links[0].anchor) == ("https://example.com/x", "x")
    # The paragraphs re-created before the copies ran out are links to it too.
    assert {(link.target, link.anchor) for link in links[1:]} == {("https://example.com/x", "z")}


def test_an_svg_link_end_tag_does_not_hide_the_open_link() -> None:
    # Inside SVG "</a>" ends the SVG link, not the HTML one around it.
    html = _link_bomb(20_000, 10_000, inside='<svg><a href="/s">s</a></svg>')
    _, copied = _nodes(cap_nesting(html)[0])
    assert copied <= MAX_CLONE_BYTES + len(html)


def test_links_after_the_copies_ran_out_keep_their_text() -> None:
    tail = (
        '<p><a href="/y" title="' + "t" * 10_000 + '"><span>s</span>t<b>u</b></a> v'
        '<div><a href="/w">w</div><p>after'
    )
    found = extract(_link_bomb(20_000, 10_000, tail), PAGE)
    assert [(link.target, link.anchor) for link in found.links[-2:]] == [
        ("https://example.com/y", "stu"),
        ("https://example.com/w", "w"),  # ended before the <p> that would re-create it
    ]


@pytest.mark.parametrize(
    "closing",
    [
        "</b>" * 1_500,  # the end tags all come, but only after the paragraphs
        "",
    ],
)
def test_formatting_end_tags_after_the_damage_do_not_hide_it(closing: str) -> None:
    # 7,500 tags: below the depth scan's threshold. Without the cap: 2.25 million nodes.
    html = _formatting_bomb(1_500, 1_500) + closing
    assert _nodes(cap_nesting(html)[0])[0] <= (1 << 18) + 5 * 3_000


@pytest.mark.parametrize(
    "unit",
    [
        "<b id={i}>x</i>",  # closed by another element's end tag: still open
        "<b id={i}><table></b></table>",  # out of scope: the end tag is ignored
        "<b id={i}>" + "<div>" * 9 + "</b>" + "</div>" * 9,  # the adoption agency gives up
    ],
)
def test_formatting_elements_left_open_by_misnesting_are_counted(unit: str) -> None:
    html = "<div>" + "".join(unit.format(i=i) for i in range(500)) + "</div>" + "<p>x" * 500
    before = _nodes(html)[0]  # a quarter of a million: each paragraph re-creates them all
    assert before > 250_000
    assert _nodes(cap_nesting(html)[0])[0] <= before // 8


def _small_pages() -> list[str]:
    """Pages near the scan's thresholds: formatting and links left open or closed, long
    attributes, end tags taken in by the count, tags that are not tags."""
    units = [
        "<b id={i}>",
        "<B id={i}>x</b>",
        "<i>x</I>",
        "<a href=/{i} title='{pad}'>x",
        "<a href=/{i}>x</a>",
        "<font color=red{pad}>",
        "<p>x<br>",
        "<!-- <b> -->",
        "< b>",
        "<u>x</u ><s>",
        '<strong title="a>b">',
    ]
    pages = []
    for unit, pad, count in itertools.product(units, ("", "x" * 300), (1, 7, 60, 400)):
        pages.append("".join(unit.format(i=i, pad=pad) for i in range(count)))
    pages.append("".join(u.format(i=1, pad="y" * 40) for u in units) * 30)
    return pages


def test_counting_tags_alone_never_skips_a_page_the_full_count_would_scan() -> None:
    limits = [(64, 1_000, 4_000), (512, 1 << 12, 1 << 16), (8_192, 1 << 18, 1 << 24)]
    limits += [(8_192, 1 << 18, 1 << n) for n in range(10, 24, 2)]  # the bytes decide
    skipped = 0
    for html, (tags, clones, clone_bytes) in itertools.product(_small_pages(), limits):
        if not nesting._may_need_scanning(html, tags, clones, clone_bytes):
            skipped += 1
            assert not nesting._counted(html, tags, clones, clone_bytes), html[:80]
    assert skipped > 50  # the cheap bound does decide for most small pages


class _CountingMarks(dict[int, str]):
    """Marks that count how often a walk up the tree asks them about a node."""

    asked = 0

    def __contains__(self, key: object) -> bool:
        type(self).asked += 1
        return super().__contains__(key)


def _walk_steps(html: str) -> int:
    tree = LexborHTMLParser(html)
    _CountingMarks.asked = 0
    marks = _CountingMarks({n.mem_id: "nav" for n in tree.css("nav")})
    links = tree.css("a[href]")
    assert all(p == "nav" for p in placement.innermost(links, marks))
    return _CountingMarks.asked


def test_placement_walks_are_linear_in_nested_containers() -> None:
    # Every link sits in its own container, each inside the last (below the scan limit,
    # so the tree really is this deep): the walks up from the links must share their work.
    steps = [_walk_steps("<nav><a href=/x>x</a>" * n) for n in (1_000, 2_000, 4_000)]
    for small, big in itertools.pairwise(steps):
        assert big <= 2.2 * small
    assert steps[-1] <= 3 * 4_000


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "unit",
    [
        "<nav><a href=/x>x</a>",  # a subtree selection per container: 6.3 s at 8,000
        "<span><img alt=x>",
        "<svg><g><title>t</title>",  # a walk to the root per SVG title
    ],
)
def test_nested_containers_do_not_make_extraction_quadratic(unit: str) -> None:
    found = extract(unit * 4_000, PAGE)
    assert found.error is None


# -- the CPU budget -------------------------------------------------------------------------


def test_a_page_past_its_budget_keeps_the_links_found_so_far() -> None:
    html = "".join(f'<a href="/p{i}">{i}</a>' for i in range(1_000))
    everything = extract(html, PAGE).links
    ticks = itertools.count()
    found = extract(html, PAGE, budget=Budget(8, clock=lambda: float(next(ticks))))
    assert found.error == "parse-timeout"
    assert 0 < len(found.links) < 1_000
    assert found.links == everything[: len(found.links)]


def test_a_page_within_its_budget_is_whole() -> None:
    html = "".join(f'<a href="/p{i}">{i}</a>' for i in range(1_000))
    ticks = itertools.count()
    found = extract(html, PAGE, budget=Budget(1_000, clock=lambda: float(next(ticks))))
    assert found.error is None
    assert len(found.links) == 1_000


def test_a_budget_reads_its_cpu_clock_only_once_the_wall_clock_has_passed_its_end() -> None:
    cpu_reads = []
    wall_now = [100.0]

    def cpu() -> float:
        cpu_reads.append(1)
        return 0.5

    budget = Budget(2, clock=cpu, wall=lambda: wall_now[0])
    for _ in range(50):
        assert not budget.spent()
    assert len(cpu_reads) == 1  # at the start only
    wall_now[0] = 102.0  # two seconds passed, and the thread used a little CPU time of them
    assert not budget.spent()
    assert len(cpu_reads) == 2


def test_a_budget_runs_out_on_its_cpu_clock_not_on_the_wall_clock() -> None:
    cpu_now = [0.0]
    budget = Budget(2, clock=lambda: cpu_now[0], wall=lambda: 1_000.0 + cpu_now[0] * 3)
    cpu_now[0] = 1.0  # three seconds passed on the wall, one of CPU
    assert not budget.spent()
    cpu_now[0] = 2.0
    assert budget.spent()


# -- links per page and URL length ----------------------------------------------------------


def test_links_past_the_cap_are_dropped_and_the_page_marked() -> None:
    html = "".join(f'<a href="/p{i}">{i}</a>' for i in range(1_000))
    found = extract(html, PAGE, max_links=100)
    assert [link.anchor for link in found.links] == [str(i) for i in range(100)]
    assert found.truncated


def test_links_that_are_not_web_links_do_not_count_against_the_cap() -> None:
    html = '<a href="mailto:a@b">m</a>' * 50 + "".join(
        f'<a href="/p{i}">{i}</a>' for i in range(100)
    )
    found = extract(html, PAGE, max_links=100)
    assert len(found.links) == 100
    assert not found.truncated


def test_over_long_urls_are_left_out_and_counted() -> None:
    long = "/" + "a" * 3_000
    html = f'<a href="{long}">1</a><a href="/ok">2</a><a href="{long}">3</a>'
    html += f'<link rel="canonical" href="{long}">'
    found = extract(html, PAGE, max_url_length=2_048)
    assert [link.anchor for link in found.links] == ["2"]
    assert found.long_urls == 1  # one distinct target, however often it is linked
    assert found.canonical is None


def test_credentials_never_reach_a_link() -> None:
    html = '<a href="https://admin:hunter2@other.test/x">x</a><base href="//u:p@cdn.test/">'
    found = extract(html, "https://me:secret@example.com/")
    assert [link.target for link in found.links] == ["https://other.test/x"]
    assert found.base == "https://cdn.test/"


def test_svg_links_nested_past_the_limit_are_not_recorded() -> None:
    # Each link holds all the ones after it: below the nesting cap's scan limit, so the
    # tree really is 4,000 links deep, and their anchors would total 8 million characters.
    found = extract("<svg>" + "<a href=/x>x" * 4_000, PAGE)
    depth = extract_module.MAX_LINK_NESTING + 1
    assert len(found.links) == depth
    assert [len(link.anchor) for link in found.links] == list(range(4_000, 4_000 - depth, -1))


def test_svg_links_nested_a_little_are_all_recorded() -> None:
    found = extract('<svg><a href="/a">a<a href="/b">b</a></a><a href="/c">c</a></svg>', PAGE)
    assert [(link.target, link.anchor) for link in found.links] == [
        ("https://example.com/a", "ab"),  # textContent: the text nodes, end to end
        ("https://example.com/b", "b"),
        ("https://example.com/c", "c"),
    ]
