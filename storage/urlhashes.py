"""The hashes of every URL in a store, kept by its writer: a URL whose hash is not there
is new, and is given an id without looking it up.

Most URLs of a large import are new (at a million links, four in five of a batch's URLs
had not been seen before), and looking one up costs a probe of the ``urls_hash`` index
whether it is there or not. The set is exact only while the writer has seen every URL
the store holds: it starts when the writer opens a store without URLs, is filled from
committed batches only (a rolled-back batch's URLs are not in the store), and is dropped
for good past :data:`MAX_HASHES`. A hash in the set may still belong to another URL
(``urls`` keeps ``(hash, url)`` unique, not the hash), so such a URL is looked up as
before.

The hashes live in sorted numpy arrays, 8 bytes a URL, merged as they grow (a batch
adds a small run; two runs of like size become one), so a test of a batch costs a binary
search per URL in a few runs and an add costs amortised ``O(log n)`` per hash.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_HASHES", "UrlHashes"]

MAX_HASHES = 20_000_000  # 160 MB of hashes; past this, URLs are looked up as before


class UrlHashes:
    """The store's URL hashes while :attr:`complete`; :meth:`unseen` says which are new."""

    def __init__(self, *, complete: bool) -> None:
        self.complete = complete
        self._runs: list[np.ndarray] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def unseen(self, hashes: Sequence[int]) -> np.ndarray:
        """Per hash, True when no URL in the store has it (known only while complete:
        else all False, and every URL is looked up)."""
        if not self.complete:
            return np.zeros(len(hashes), dtype=bool)
        query = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
        new = np.ones(len(query), dtype=bool)
        for run in self._runs:
            at = np.searchsorted(run, query)
            at[at == len(run)] = 0  # past the end: compared with run[0], which differs
            new &= run[at] != query
        return new

    def add(self, hashes: Sequence[int]) -> None:
        """Record the hashes of URLs a committed batch inserted."""
        if not self.complete or not hashes:
            return
        if self._size + len(hashes) > MAX_HASHES:
            self.complete = False  # too many to keep: every URL is looked up from now on
            self._runs.clear()
            self._size = 0
            return
        run = np.sort(np.fromiter(hashes, dtype=np.int64, count=len(hashes)))
        self._size += len(run)
        # Merge while the run before is no more than twice this one: the runs stay few
        # (logarithmic in the total) and each hash is copied a logarithmic number of times.
        while self._runs and len(self._runs[-1]) <= 2 * len(run):
            run = np.sort(np.concatenate((self._runs.pop(), run)), kind="stable")
        self._runs.append(run)
