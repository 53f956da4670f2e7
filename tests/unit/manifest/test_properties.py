"""Property tests: mutated valid manifests give Problems or success, never an exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podctl.cli.terminal import styled_problems
from podctl.manifest import Document, FileResult, check_document, excerpts, format_problems
from podctl.manifest.load import parse_text

from .conftest import DATA

VALID = sorted((DATA / "valid").iterdir())
TEXTS = [p.read_text(encoding="utf-8") for p in VALID]
OBJECTS = [
    d.obj for text, p in zip(TEXTS, VALID, strict=True) for d in parse_text(text, p.name).documents
]
GARBAGE = [*list(":- \t\n{}[]\"'&*!%@#|>,?~\\"), "\x00", "\x07", "\ufeff", "é", "-\n", ": ", "\n  "]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def exercise(result: FileResult) -> None:
    """Check every document and render every problem; all must succeed quietly."""
    problems = list(result.problems)
    for doc in result.documents:
        checked = check_document(doc, "default")
        problems.extend(checked.problems)
        if not checked.problems:
            assert isinstance(checked.obj, dict)
        for warning in checked.warnings:
            assert isinstance(warning, str)
    for problem in problems:
        assert str(problem).startswith(result.file)
    format_problems(problems)
    styled_problems(excerpts(problems))


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of ``value`` (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        out.append((*prefix, key))
        out.extend(paths_of(child, (*prefix, key)))
    return out


def parent_of(obj: Any, path: tuple[Any, ...]) -> Any:
    """The container holding ``path``'s last element."""
    for elem in path[:-1]:
        obj = obj[elem]
    return obj


REPLACEMENTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
)


@SETTINGS
@given(
    index=st.integers(0, len(OBJECTS) - 1),
    picks=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 2), REPLACEMENTS, st.text(max_size=4)),
        min_size=1,
        max_size=4,
    ),
)
def test_structural_mutations(index: int, picks: list[tuple[int, int, Any, str]]) -> None:
    """Delete keys, change types, rename keys; check both via YAML text and directly."""
    obj = copy.deepcopy(OBJECTS[index])
    for choice, action, replacement, suffix in picks:
        paths = paths_of(obj)
        if not paths:
            break
        path = paths[choice % len(paths)]
        parent = parent_of(obj, path)
        key = path[-1]
        if action == 0:
            del parent[key]
        elif action == 1:
            parent[key] = replacement
        elif isinstance(parent, dict):
            parent[str(key) + suffix if suffix else str(key)[:-1]] = parent.pop(key)
    check_document(Document("direct", 0, obj, None), None)
    text = yaml.safe_dump(obj, sort_keys=False)
    exercise(parse_text(text, "mutated.yaml"))


@SETTINGS
@given(
    index=st.integers(0, len(TEXTS) - 1),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(GARBAGE), st.integers(0, 3)),
        min_size=1,
        max_size=5,
    ),
)
def test_text_mutations(index: int, edits: list[tuple[int, str, int]]) -> None:
    """Insert garbage characters, delete slices and duplicate lines in the source text."""
    text = TEXTS[index]
    for position, garbage, mode in edits:
        at = position % (len(text) + 1)
        if mode == 0:
            text = text[:at] + garbage + text[at:]
        elif mode == 1:
            text = text[:at] + text[at + 1 + len(garbage) :]
        elif mode == 2:
            lines = text.splitlines(keepends=True)
            if lines:
                i = position % len(lines)
                lines.insert(i, lines[i])
                text = "".join(lines)
        else:
            text = text[:at] + garbage * 3 + text[at:]
    name = VALID[index].name
    exercise(parse_text(text, name))


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    """Any text at all is handled."""
    exercise(parse_text(text, "any.yaml"))
    exercise(parse_text("{" + text, "any.json"))


def test_valid_files_are_present() -> None:
    """The property tests have material to mutate."""
    assert len(OBJECTS) >= 20
    assert all(isinstance(p, Path) for p in VALID)
