"""Shared helpers for the manifest tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.manifest import Problem, check_document, read_manifests

DATA = Path(__file__).resolve().parents[2] / "data"


def all_problems(path: str | Path, namespace: str | None = None) -> list[Problem]:
    """File problems plus the problems of every document, in order."""
    out: list[Problem] = []
    for result in read_manifests([str(path)]):
        out.extend(result.problems)
        for doc in result.documents:
            out.extend(check_document(doc, namespace).problems)
    return out


@pytest.fixture
def data_dir() -> Path:
    """tests/data."""
    return DATA
