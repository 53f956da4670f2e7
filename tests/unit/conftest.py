"""Fixtures the unit tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.runtime import engines
from podctl.store import open_store
from podctl.store.db import Store


@pytest.fixture
def node_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store of its own home with the node registered (no engine asked for it)."""
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    opened = open_store(tmp_path)
    opened.create({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "node", "annotations": {engines.ENGINE_ANNOTATION: engines.HOST}}})
    return opened
