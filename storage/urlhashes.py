"""The hashes of every URL in a store, kept by its writer: a URL whose hash is not there
is new, and is given an id without looking it up.

Most URLs of a large import are new (at a million links, four in five of a batch's URLs
had not been seen before), and looking one up costs a probe of the ``urls_hash`` index
whether it is there or not. The set is exact only while the writer has seen every URL
the store holds: it starts when an import's writer opens a store without URLs, is filled from
committed batches only (a rolled-back batch's URLs are not in the store), and is dropped
for good past :data:`MAX_HASHES`. A hash in the set may still belong to another URL
(``urls`` keeps ``(hash, url)`` unique, not the hash), so such a URL is looked up as
before.

The hashes are a :class:`.hashset.SeenSet` (8 bytes a URL; the crawl frontier's seen
set), tested a batch at a time in one binary search.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .hashset import SeenSet

__all__ = ["MAX_HASHES", "UrlHashes"]

MAX_HASHES = 20_000_000  # 160 MB of hashes; past this, URLs are looked up as before


class UrlHashes:
    """The store's URL hashes while :attr:`complete`; :meth:`unseen` says which are new."""

    def __init__(self, *, complete: bool) -> None:
        self.complete = complete
        self._hashes = SeenSet()

    def __len__(self) -> int:
        return len(self._hashes)

    def unseen(self, hashes: Sequence[int]) -> np.ndarray:
        """Per hash, True when no URL in the store has it (known only while complete:
        else all False, and every URL is looked up)."""
        if not self.complete:
            return np.zeros(len(hashes), dtype=bool)
        return ~self._hashes.contains(hashes)

    def add(self, hashes: Sequence[int]) -> None:
        """Record the hashes of URLs a committed batch inserted."""
        if not self.complete or not hashes:
            return
        if len(self._hashes) + len(hashes) > MAX_HASHES:
            self.complete = False  # too many to keep: every URL is looked up from now on
            self._hashes = SeenSet()
            return
        self._hashes.update(hashes)
