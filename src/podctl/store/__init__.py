"""The object store: desired state, events and controller-owned status in SQLite."""

from podctl.store.db import Admit, Snapshot, Store, open_store

__all__ = ["Admit", "Snapshot", "Store", "open_store"]
