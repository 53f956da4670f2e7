"""Read-only name lookups for shell completion: no writes, no Docker, nothing created.

Completion runs on every TAB press, so it opens the database read-only and answers nothing
(rather than creating a store) when there is none yet.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from podctl.api import meta
from podctl.home import podctl_home


def _connect(home: Path | None) -> sqlite3.Connection | None:
    path = (home or podctl_home(create=False)) / "store.db"
    if not path.is_file():
        return None
    try:
        return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return None


def object_names(kind: str, namespace: str, home: Path | None = None) -> list[str]:
    """Names of the stored objects of a kind (in ``namespace`` when the kind is namespaced)."""
    db = _connect(home)
    if db is None:
        return []
    ns = namespace if kind in meta.NAMESPACED else ""
    with closing(db):
        try:
            rows = db.execute("SELECT name FROM objects WHERE kind=? AND namespace=? "
                              "ORDER BY name", (kind, ns)).fetchall()
        except sqlite3.Error:
            return []
    return [str(r[0]) for r in rows]


def container_names(namespace: str, pod: str, home: Path | None = None) -> list[str]:
    """The init and app container names of a stored pod, in spec order."""
    db = _connect(home)
    if db is None:
        return []
    with closing(db):
        try:
            row = db.execute("SELECT data FROM objects WHERE kind='Pod' AND namespace=? "
                             "AND name=?", (namespace, pod)).fetchone()
        except sqlite3.Error:
            return []
    if row is None:
        return []
    spec = json.loads(row[0]).get("spec") or {}
    return [str(c.get("name", "")) for key in ("initContainers", "containers")
            for c in spec.get(key) or []]
