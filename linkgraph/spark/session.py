"""Starting Spark: what it needs (PySpark, Java 17+), and a session bound where asked."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from linkgraph.crawler.settings import SettingsError

__all__ = ["require", "spark_session"]

NEED_PYSPARK = "the spark commands need PySpark: pip install 'linkgraph[spark]'"
NEED_JAVA = (
    "the spark commands need a Java runtime, version 17 or newer"
    " (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; or set JAVA_HOME)"
)


def _java() -> str | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java`` when set, else the PATH's."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def require() -> Any:
    """The ``pyspark`` module, or a one-line :class:`SettingsError` naming what to install.

    Checked before Spark starts: without Java, PySpark fails with a long traceback about a
    gateway process, which says nothing about what to install."""
    try:
        import pyspark
    except ImportError:
        raise SettingsError(NEED_PYSPARK) from None
    if _java() is None:
        raise SettingsError(NEED_JAVA)
    return pyspark


def spark_session(
    master: str | None = None,
    *,
    app: str = "linkgraph",
    shuffle_partitions: int | None = None,
    loopback: bool = False,
    config: dict[str, str] | None = None,
) -> Any:
    """A SparkSession (the running one when there is one: ``spark-submit`` made it).

    ``master``: ``None`` keeps what ``spark-submit`` or ``SPARK_MASTER`` chose, else
    ``local[*]``. ``loopback`` binds the driver to 127.0.0.1 with the UI off: a local run
    then opens no port on the machine's external interfaces (the tests use it).
    """
    require()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if loopback:
        # Read by the JVM when it starts; the driver settings below are the session's.
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    builder = SparkSession.builder.appName(app)
    chosen = master or os.environ.get("SPARK_MASTER")
    if master or not os.environ.get("SPARK_MASTER"):
        chosen = master or "local[*]"
        builder = builder.master(chosen)
    if chosen and chosen.startswith("local"):
        # Spark's 200 shuffle partitions are 200 tasks for every shuffle, each one
        # scheduled on the few local cores: a few per core is enough here.
        if shuffle_partitions is None:
            shuffle_partitions = 2 * _local_cores(chosen)
        # The workers run this Python, where linkgraph is installed (not the first
        # "python3" on the PATH).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {
        "spark.ui.showConsoleProgress": "false",
        # The workers start as `python -m pyspark.daemon`, which puts their working
        # folder first on sys.path: run from a checkout of linkgraph, its source folder
        # would shadow the installed package (whose crawler/, storage/ and graph/ are
        # mapped in at install). PYTHONSAFEPATH (Python 3.11+) leaves it out, as -P does.
        "spark.executorEnv.PYTHONSAFEPATH": "1",
    }
    if shuffle_partitions:
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    if loopback:
        settings |= {
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.ui.enabled": "false",
        }
    for key, value in (settings | (config or {})).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _local_cores(master: str) -> int:
    """The task slots of a ``local``, ``local[N]`` or ``local[*]`` master."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    slots = found.group(1) if found is not None else None
    if slots is None:  # "local" (one thread), or local-cluster[...]
        return 1
    if slots == "*":
        return os.cpu_count() or 1
    return max(1, int(slots))
