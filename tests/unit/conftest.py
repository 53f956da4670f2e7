"""Fixtures the unit tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.node import HOST_NODE_FILE
from podctl.store import open_store
from podctl.store.db import Store


@pytest.fixture
def node_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store of its own home with the node registered (no engine asked for it)."""
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    opened = open_store(tmp_path)
    opened.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node"}})
    (tmp_path / HOST_NODE_FILE).write_text("node\n")
    return opened
