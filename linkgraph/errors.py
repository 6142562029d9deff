"""The root of every error linkgraph raises on purpose, and the tree under it.

::

    LinkgraphError                   catch this to catch any of ours
    ├── StoreError                   storage/errors.py: the store file and its queries
    │   ├── StoreNotFound            no store at that path
    │   ├── NotAStore                not SQLite, or SQLite written by another program
    │   ├── NewerSchema              written by a newer linkgraph
    │   ├── ReadOnlyStore            a write asked of a store (or folder) we may not write
    │   ├── CorruptStore             SQLite reports a damaged file
    │   └── TargetError              storage/backlinks.py: a query target, mode or filter
    ├── SettingsError (ValueError)   crawler/settings.py: a setting or an input file
    ├── FetchError                   crawler/fetch.py: a request that got no HTTP response
    ├── GraphError                   graph/errors.py: ranking
    │   ├── GraphInputError (ValueError)   a malformed graph or parameter
    │   └── ConvergenceError         an iterative method did not converge
    ├── CliError                     linkgraph/cli/common.py: an error phrased for the user
    ├── ReaderMissing (ImportError)  linkgraph/warcread.py: FastWARC is not installed
    ├── NotAnArchive (ValueError)    linkgraph/warcread.py: a file that holds no WARC record
    └── DemoWebError (RuntimeError)  linkgraph/demo/server.py: the demo web could not start

Each class is defined in its own package, beside the code that raises it, and keeps its
import path; only the root lives here. Every message is fit for one line of
``linkgraph: error: ...``, which is all the command prints for any of them.

This module imports nothing, so every package (``storage/`` and ``graph/`` included) can
import it without loading anything else.
"""

from __future__ import annotations

__all__ = ["LinkgraphError"]


class LinkgraphError(Exception):
    """Base of every error linkgraph raises on purpose (bad input, a store it cannot use,
    a fetch that failed, a ranking that did not converge)."""
