"""The records a crawl worker and its store exchange about leased hosts.

Several crawl processes on one store lease hosts (``crawler/fleet.py`` has the seam,
``storage/pg/fleet.py`` the PostgreSQL side). These records cross between them: a
host's politeness state as one worker hands it to the next (times as seconds from now,
never clock readings: two machines' clocks differ), a newly leased host, and a worker's
share of the crawl.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Claim", "HostState", "Share"]


@dataclass(frozen=True, slots=True)
class HostState:
    """A host's politeness state as one worker hands it to the next."""

    next_in: float  # seconds from now until its next request may start (<= 0: now)
    delay: float
    requests: int = 0
    throttles: int = 0
    failures: int = 0
    streak: int = 0
    parks: int = 0
    waited: float = 0.0
    skip_reason: str | None = None
    retired: bool = False
    # The address its connections are counted against (per-IP caps), once resolved: a
    # claim passes a host by while another worker holds its address.
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A host newly leased to this worker."""

    host: str
    queued: int  # its frontier entries in the store
    state: HostState | None  # None: no worker has held it yet
    # The last holder did not give it back (killed, or its lease ran out): its last
    # request may have started just before, so the next waits a whole delay from now.
    holder_vanished: bool = False
    # Seconds until the last holder's lease would have run out, when its session ended
    # before that (0: it had run out). The worker may still be running without its
    # session: its requests end by its lease's end, so ours start no sooner.
    lapses_in: float = 0.0
    # Hashes of its URLs fetched or queued so far, by any worker: our seen set was read
    # when we started, and while we hold the host nobody else fetches from it, so with
    # these it is complete for the host and what we find on it can queue in memory.
    seen: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Share:
    """What this worker did, out of what every worker of the crawl did."""

    worker: int
    pages: int
    all_pages: int
