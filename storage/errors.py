"""The store's exceptions, drawn here at the top so callers see the whole tree.

    StoreError
    ├── StoreNotFound       no file at that path (and we were not asked to create one)
    ├── NotAStore           not SQLite, or SQLite written by another program
    ├── NewerSchema         written by a newer linkgraph; we never downgrade or touch it
    └── CorruptStore        SQLite reports a damaged file

Every one carries a message fit for a one-line CLI error.
"""

from __future__ import annotations

__all__ = ["CorruptStore", "NewerSchema", "NotAStore", "StoreError", "StoreNotFound"]


class StoreError(Exception):
    """Base of every error raised by ``storage``."""


class StoreNotFound(StoreError):
    pass


class NotAStore(StoreError):
    pass


class NewerSchema(StoreError):
    pass


class CorruptStore(StoreError):
    pass
