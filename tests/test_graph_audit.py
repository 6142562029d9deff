"""The audit's pure scoring: anchor classes, link quality, relevance, toxicity, disavow limits."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from linkgraph.graph.anchors import (
    DEFAULT_GENERIC,
    AnchorProfile,
    anchor_shares,
    classify_anchor,
    over_optimization,
)
from linkgraph.graph.quality import WEIGHTS, link_quality
from linkgraph.graph.relevance import cosine_pairs
from linkgraph.graph.toxic import DomainEvidence, mutual_triangles, spammy_name_reasons, toxic_score

from linkgraph.disavow import (
    MAX_BYTES,
    MAX_LINES,
    MAX_URL,
    DisavowEntry,
    format_disavow,
    validate_disavow,
)

REPO = Path(__file__).resolve().parent.parent
P = AnchorProfile(brands=("Acme Shoes", "Acme"), keywords=("running shoes", "trail running shoes"))


@pytest.mark.parametrize(
    ("anchor", "image", "expected"),
    [
        ("Acme Shoes", False, "branded"),
        ("acme's new range", False, "branded"),  # punctuation splits words: "acme s new range"
        ("ACME running shoes", False, "branded"),  # the brand wins over the keyword
        ("Running Shoes", False, "exact"),
        ("running   shoes!", False, "exact"),
        ("Trail-Running shoes", False, "exact"),
        ("best running shoes for beginners", False, "partial"),
        ("shoes for running", False, "partial"),
        ("click here", False, "generic"),
        ("Read More", False, "generic"),
        ("www.acme-shoes.test", False, "naked_url"),
        ("https://acme-shoes.test/running-shoes", False, "naked_url"),
        ("acme-shoes.test/size-guide", False, "naked_url"),
        ("", False, "empty"),
        ("   ", False, "empty"),
        ("Acme Shoes", True, "image"),
        ("Jane's blog", False, "other"),
        ("Acmeville tours", False, "other"),  # a brand inside a longer word is not the brand
    ],
)
def test_classify_anchor(anchor: str, image: bool, expected: str) -> None:
    assert classify_anchor(anchor, image=image, profile=P) == expected


def test_generic_list_in_configs_is_the_built_in_one() -> None:
    lines = (REPO / "configs" / "generic_anchors.txt").read_text().splitlines()
    listed = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert listed == set(DEFAULT_GENERIC)


def test_shares_and_over_optimization() -> None:
    shares = anchor_shares(["exact"] * 3 + ["branded"] * 6 + ["generic"], [1] * 10)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["exact"] == pytest.approx(0.3)
    warnings = over_optimization(shares, max_exact=0.10, max_money=0.50)
    assert len(warnings) == 1 and "30%" in warnings[0]
    assert over_optimization(shares, max_exact=0.5, max_money=0.5) == []
    assert anchor_shares([]) == {cls: 0.0 for cls in anchor_shares(["other"])}


def test_link_quality_is_the_documented_weighted_sum() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    base = {
        "domain_authority": 50,
        "follow": True,
        "placement": "content",
        "relevance": 0.5,
        "outlinks": 10,
        "sitewide": False,
    }
    best = {**base, "domain_authority": 100, "relevance": 1.0, "outlinks": 5}
    assert link_quality(**best).score == 100.0
    worst = {"domain_authority": 0, "follow": False, "placement": "comments", "relevance": 0.0}
    worst |= {"outlinks": 10_000, "sitewide": True}
    # By hand: 0.10*0.2 + 0.10*(20/10000) + 0.05*0.3 = 0.0352 -> 3.5
    assert link_quality(**worst).score == 3.5
    # Each part moves the score the right way.
    for change in (
        {"follow": False},
        {"placement": "footer"},
        {"relevance": 0.1},
        {"outlinks": 500},
        {"sitewide": True},
        {"domain_authority": 10},
    ):
        assert link_quality(**{**base, **change}).score < link_quality(**base).score, change


def test_relevance_prefers_shared_topic_words() -> None:
    texts = [
        "Trail running shoes need grip. Our running shoes review covers trail and road.",
        "The best trail running shoes for muddy trails and long runs.",
        "Casino bonus codes, poker rooms and free spins every day.",
        "",
    ]
    sims = cosine_pairs(texts, [(0, 1), (0, 2), (0, 3), (0, 0)])
    assert sims[0] > 0.2 and sims[1] < 0.1 and sims[2] == 0.0  # only "and" is shared with casino
    assert sims[3] == pytest.approx(1.0)


def test_mutual_triangles_agree_with_networkx() -> None:
    rng = random.Random(3)
    n = 40
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(400)]
    a = sp.csr_array(
        (np.ones(len(edges)), ([u for u, _ in edges], [v for _, v in edges])), shape=(n, n)
    )
    triangles, partners = mutual_triangles(a)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    directed = set(edges)
    g.add_edges_from((u, v) for u, v in directed if u != v and (v, u) in directed)
    expected = nx.triangles(g)
    assert triangles.tolist() == [expected[i] for i in range(n)]
    assert partners.tolist() == [g.degree(i) for i in range(n)]


def test_spammy_names_and_toxic_scores() -> None:
    assert spammy_name_reasons("acme-shoes.com") == []
    assert "many digits" in spammy_name_reasons("shop12345.com")
    assert "abused TLD .top" in spammy_name_reasons("great.top")
    clean = toxic_score(DomainEvidence("runnersworld.example", backlinks=3, inbound_domains=12))
    assert (clean.score, clean.reasons) == (0, [])
    farm = toxic_score(
        DomainEvidence(
            "cheap-casino-links-24.xyz",
            triangles=3,
            exact_unrelated=2,
            median_outlinks=160,
            inbound_domains=0,
        )
    )
    assert farm.score == 100  # capped
    assert {
        "link-farm",
        "exact-anchor-unrelated",
        "link-page",
        "no-inbound-authority",
        "spammy-name",
    } == set(farm.signals)
    assert len(farm.reasons) == len(farm.signals)


def test_disavow_format_and_limits() -> None:
    entries = [
        DisavowEntry("domain", f"spam{i}.example", 90 - i % 50, "link farm") for i in range(80_000)
    ]
    entries += [
        DisavowEntry("url", f"https://blog{i}.example/links?page={i}", 60) for i in range(80_000)
    ]
    entries.append(DisavowEntry("url", "https://long.example/" + "x" * MAX_URL, 99))
    entries.append(DisavowEntry("url", "ftp://not-web.example/", 99))
    text = format_disavow(entries, header=["written by a test"])
    lines = text.splitlines()
    assert validate_disavow(text) == []
    assert len(lines) <= MAX_LINES and len(text.encode()) <= MAX_BYTES
    assert all(len(line) <= MAX_URL for line in lines if line.startswith("http"))
    assert lines[-1].startswith("# ") and "left out" in lines[-1]
    assert lines[0] == "# written by a test"
    # The strongest entries are kept first.
    kept = [line for line in lines if line.startswith("domain:")]
    assert "domain:spam0.example" in kept
    assert text.encode("utf-8").decode("utf-8") == text


def test_validate_disavow_catches_bad_files() -> None:
    assert validate_disavow("domain:ok.example\nhttps://ok.example/a\n# note\n") == []
    assert validate_disavow("not a line\n")
    assert validate_disavow("domain:bad example\n")
    assert validate_disavow("https://x.example/" + "y" * 3000 + "\n")
    assert validate_disavow("domain:a.example\n" * (MAX_LINES + 1))
