"""How many task slots a local Spark master has: the local shuffles get two per slot."""

from __future__ import annotations

import os

import pytest

from linkgraph.spark.session import _local_cores


@pytest.mark.parametrize(
    ("master", "slots"),
    [("local", 1), ("local[2]", 2), ("local[3,4]", 3), ("local-cluster[2,1,1024]", 1)],
)
def test_local_masters_have_the_slots_they_name(master: str, slots: int) -> None:
    assert _local_cores(master) == slots


def test_local_star_has_a_slot_per_cpu() -> None:
    assert _local_cores("local[*]") == (os.cpu_count() or 1)
