"""Spark jobs for link data beyond one machine: ``linkgraph spark extract`` and
``linkgraph spark rank`` (see the README's "Spark" section).

PySpark is an optional extra (``pip install 'linkgraph[spark]'``) and runs on a Java
runtime; :func:`require` says in one line which of the two is missing, before any Spark
code is imported. Nothing here is imported by the rest of linkgraph.
"""

from __future__ import annotations

from .session import require, spark_session

__all__ = ["require", "spark_session"]
