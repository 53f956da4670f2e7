"""The object store: desired state, events and controller-owned status in SQLite."""

from podctl.store.db import Store, open_store

__all__ = ["Store", "open_store"]
