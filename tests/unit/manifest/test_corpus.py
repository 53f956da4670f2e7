"""Table-driven tests over tests/data: every invalid manifest fails where and how expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from podctl.manifest import check_document, load, read_manifests

from .conftest import DATA, all_problems

INVALID = DATA / "invalid"
VALID = DATA / "valid"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((INVALID / "expected.yaml").read_text())


def test_corpus_is_complete() -> None:
    """Every file has an expectation and every expectation a file; at least 60 cases."""
    files = {p.name for p in INVALID.iterdir() if p.name != "expected.yaml"}
    assert files == set(EXPECTED)
    assert len(files) >= 60


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_manifest(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The expected message fragment is reported at the expected line and column."""
    want = EXPECTED[name]
    if "max_bytes" in want:
        monkeypatch.setattr(load, "MAX_FILE_BYTES", want["max_bytes"])
    problems = all_problems(INVALID / name)
    assert problems, f"{name}: no problem reported"
    fragment = want.get("contains", "")
    found = [
        p
        for p in problems
        if fragment in p.message and p.line == want["line"] and p.col == want["col"]
    ]
    shown = "\n".join(str(p) for p in problems)
    assert found, f"{name}: want {want['line']}:{want['col']} {fragment!r}, got:\n{shown}"
    for problem in problems:
        assert str(problem).startswith(f"{INVALID / name}")


VALID_FILES = sorted(p.name for p in VALID.iterdir())


@pytest.mark.parametrize("name", VALID_FILES)
def test_valid_manifest(name: str) -> None:
    """Valid examples load and check without problems and come back defaulted."""
    results = read_manifests([str(VALID / name)])
    assert [p for r in results for p in r.problems] == []
    docs = [d for r in results for d in r.documents]
    assert docs
    for doc in docs:
        checked = check_document(doc)
        assert checked.problems == [], "\n".join(map(str, checked.problems))
        assert checked.obj is not None
        assert "status" not in checked.obj


def test_valid_folder_reads_sorted(tmp_path: Path) -> None:
    """A folder expands to its manifest files, sorted."""
    results = read_manifests([str(VALID)])
    names = [Path(r.file).name for r in results]
    assert names == sorted(n for n in VALID_FILES if n.endswith((".yaml", ".yml", ".json")))
