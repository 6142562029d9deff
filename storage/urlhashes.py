"""The hash and id of every URL in a store, kept by an import's writer: a URL whose hash
is not there is new, and is given an id without looking it up; one whose hash is there
has, most likely, the id kept with it.

Most URLs of a large import are new (at a million links, four in five of a batch's URLs
had not been seen before), and looking one up costs a probe of the ``urls_hash`` index
whether it is there or not. The writer of an import into an empty store leaves that
index out until its end (:data:`.schema.DEFERRABLE_INDEXES`) and answers from here: a
URL whose hash is here is checked against the URL stored under the id kept with it (a
read of the ``urls`` table by its key); only when that is another URL with the same hash
(``urls`` keeps ``(hash, url)`` unique, not the hash) is it looked up by hash and text.

The mapping is exact only while the writer has seen every URL the store holds: it starts
when an import's writer opens a store without URLs, is filled from committed batches
only (a rolled-back batch's URLs are not in the store), and is dropped for good past
:data:`MAX_HASHES`. It costs 12 bytes a URL (a 64-bit hash and a 32-bit id: the ids of a
store that was empty are at most its number of URLs), in sorted runs whose sizes at
least double from newest to oldest, so that a batch is merged into runs of its own size
or so, not into all of them, and is found with one binary search per run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_HASHES", "UrlHashes"]

MAX_HASHES = 20_000_000  # 240 MB of hashes and ids; past this, URLs are looked up as before


class UrlHashes:
    """The store's URL hashes and ids while :attr:`complete`.

    :meth:`ids` gives the id kept for each hash (0 for none), :meth:`unseen` says which
    hashes no stored URL has.
    """

    def __init__(self, *, complete: bool) -> None:
        self.complete = complete
        # (sorted distinct hashes, the id of the first URL stored with each), newest last.
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def ids(self, hashes: Sequence[int]) -> np.ndarray:
        """Per hash, the id of the first URL stored with it, 0 for none (all 0 while not
        complete). Another URL may have the same hash: the caller checks the URL."""
        query = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
        found = np.zeros(len(query), dtype=np.int64)
        if not self.complete or not self._runs:
            return found
        # Searched in sorted order: each search starts where the last one ended, in
        # memory just read, instead of at random (a seventh of the time at 1.5M URLs).
        order = np.argsort(query)
        query = query[order]
        sorted_found = np.zeros(len(query), dtype=np.int64)
        for keys, ids in self._runs:  # a hash is in one run at most
            at = keys.searchsorted(query)
            at[at == len(keys)] = 0  # past the end: compared with keys[0], no match
            hit = keys[at] == query
            sorted_found[hit] = ids[at[hit]]
        found[order] = sorted_found
        return found

    def unseen(self, hashes: Sequence[int]) -> np.ndarray:
        """Per hash, True when no URL in the store has it (known only while complete:
        else all False, and every URL is looked up)."""
        if not self.complete:
            return np.zeros(len(hashes), dtype=bool)
        return self.ids(hashes) == 0

    def add(self, hashes: Sequence[int], ids: Sequence[int]) -> None:
        """Record the hashes of URLs a committed batch inserted, with their ids (ascending:
        the order the batch gave them)."""
        if not self.complete or not len(hashes):
            return
        if self._size + len(hashes) > MAX_HASHES:
            self.complete = False  # too many to keep: every URL is looked up from now on
            self._runs = []
            self._size = 0
            return
        keys = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
        values = np.fromiter(ids, dtype=np.uint32, count=len(ids))
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        # One entry per hash: the first URL stored with it, whether in this batch (the
        # stable sort keeps the batch's order among equal hashes) or before.
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        first &= self.ids(keys) == 0
        keys, values = keys[first], values[first]
        if not len(keys):
            return
        self._runs.append((keys, values))
        self._size += len(keys)
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (old_keys, old_ids), (new_keys, new_ids) = self._runs[-2:]
            merged = np.concatenate((old_keys, new_keys))
            order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
            self._runs[-2:] = [(merged[order], np.concatenate((old_ids, new_ids))[order])]
