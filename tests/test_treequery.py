"""crawler.treequery: the queries of LexborHTMLParser.css, with one CSS engine per thread."""

from __future__ import annotations

import threading

from linkgraph.crawler.treequery import select
from selectolax.lexbor import LexborHTMLParser

PAGE = (
    "<html><head><title>t</title></head><body><nav><a href=/a>a</a></nav>"
    "<div class=sidebar><a href=/b>b</a><svg><a href=/c>c</a></svg></div>"
    "<template><a href=/hidden>h</a></template><a href=/d>d</a></body></html>"
)
QUERIES = ["a[href], area[href]", "nav, [class*=sidebar i]", "html", "title, svg", "x"]


def test_select_finds_what_the_parsers_own_query_finds_in_the_same_order() -> None:
    tree = LexborHTMLParser(PAGE)
    for query in QUERIES:
        assert [n.mem_id for n in select(tree.root, query)] == [
            n.mem_id for n in tree.css(query)
        ], query
    nav = tree.css_first("nav")
    assert [n.mem_id for n in select(nav, "a")] == [n.mem_id for n in nav.css("a")]
    assert select(None, "a") == []


def test_threads_querying_at_once_each_get_their_own_answers() -> None:
    pages = {n: PAGE.replace("/b>", f"/b{n}>") for n in range(4)}
    wrong: list[int] = []

    def query(n: int) -> None:
        tree = LexborHTMLParser(pages[n])
        for _ in range(2_000):
            hrefs = [node.attributes["href"] for node in select(tree.root, "a[href]")]
            if hrefs != ["/a", f"/b{n}", "/c", "/d"]:
                wrong.append(n)

    threads = [threading.Thread(target=query, args=(n,)) for n in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert wrong == []
