"""Topical relevance: TF-IDF cosine similarity between page texts.

A link from a page about running to a shoe shop is worth more, and looks more natural,
than the same link from a casino page. The measure is the cosine of TF-IDF vectors
(sublinear term frequency ``1 + ln(tf)``, smoothed IDF ``ln((1 + N) / (1 + df)) + 1``,
as in the classic information-retrieval recipe) over word tokens of two or more letters.
IDF comes from the texts passed in, so it reflects the crawl at hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["cosine_pairs", "tfidf_matrix"]

_TOKEN = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def tfidf_matrix(texts: Sequence[str]) -> sp.csr_array:
    """Rows: L2-normalised TF-IDF vectors of ``texts`` (an empty text is a zero row).

    >>> m = tfidf_matrix(["running shoes for trail running", "trail running shoes", "casino bonus"])
    >>> m.shape[0]
    3
    """
    vocabulary: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        counts: dict[int, int] = {}
        for token in _tokens(text):
            j = vocabulary.setdefault(token, len(vocabulary))
            counts[j] = counts.get(j, 0) + 1
        for j, c in counts.items():
            rows.append(i)
            cols.append(j)
            vals.append(1.0 + np.log(c))
    n = len(texts)
    m = sp.csr_array((vals, (rows, cols)), shape=(n, max(len(vocabulary), 1)), dtype=np.float64)
    df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=m.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    m = m @ sp.diags_array(idf)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return sp.csr_array(sp.diags_array(1.0 / norms) @ m)


def cosine_pairs(texts: Sequence[str], pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Cosine similarity (0-1) of each ``(i, j)`` pair of ``texts``.

    >>> texts = ["running shoes for trail running", "trail running shoes", "casino bonus poker"]
    >>> sims = cosine_pairs(texts, [(0, 1), (0, 2)])
    >>> bool(sims[0] > 0.5), float(sims[1])
    (True, 0.0)
    """
    if not pairs:
        return np.zeros(0)
    m = tfidf_matrix(texts)
    left = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs])
    sims = np.asarray(m[left].multiply(m[right]).sum(axis=1)).ravel()
    return np.clip(sims, 0.0, 1.0)
