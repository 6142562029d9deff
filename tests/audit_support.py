"""The live audit's demo web, crawled twice, shared by test_audit.py and test_audit_history.py.

The ``audit`` fixture (``tests/conftest.py``, one per test process) runs
:func:`crawled_twice`: generation 1 crawled, then generation 2 refreshed into a copy.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from crawl_support import settings_for
from linkgraph.storage.identity import registrable_domain

import linkgraph
from linkgraph import api
from linkgraph.audit import load_profile
from linkgraph.demo import BRAND, KEYWORDS, TARGET, DemoWeb, fill, generate

DOMAIN = registrable_domain(TARGET)


def crawled_twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Crawl generation 1 into gen1.db; switch the running web to generation 2 and
    refresh a copy of the store into gen2.db."""
    tmp = tmp_path_factory.mktemp("audit")
    web = DemoWeb(generate(12, 6))
    web.start_in_thread()
    try:
        # The demo web links to real sites: pinned_only never looks them up.
        hosts = web.write_hosts_file(tmp / "hosts")
        settings = settings_for(web, hosts, pinned_only=True, delay=0.02, max_depth=4)
        gen1 = tmp / "gen1.db"
        truth1 = web.expected_edges()
        crawl1 = api.run(api.crawl_async(gen1, settings))
        linkgraph.rank(gen1)
        gen2 = tmp / "gen2.db"
        shutil.copy(gen1, gen2)
        time.sleep(1.1)  # times are whole seconds: keep the two crawls apart
        between = datetime.now(UTC).isoformat(timespec="seconds")
        web.replace_sites(generate(12, 6, generation=2))
        web.clear_log()
        crawl2 = api.run(api.crawl_async(gen2, dataclasses.replace(settings, refresh=True)))
        refresh_log = web.requests
        linkgraph.rank(gen2)
        checked = tmp / "checked.db"
        shutil.copy(gen1, checked)
        web.clear_log()
        linkgraph.broken(checked, check_external=True)
        check_log = web.requests
        yield SimpleNamespace(
            web=web,
            port=web.port,
            gen1=gen1,
            gen2=gen2,
            checked=checked,
            between=between,
            truth1=truth1,
            refresh_log=refresh_log,
            check_log=check_log,
            settings=settings,
            crawls=(crawl1, crawl2),
        )
    finally:
        web.stop()


def url(audit: SimpleNamespace, u: str) -> str:
    """A demo URL with the running web's port filled in."""
    return fill(u, audit.port)


PROFILE = load_profile(brand=[BRAND], keyword=list(KEYWORDS))
