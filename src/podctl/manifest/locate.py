"""Source positions of manifest nodes: map a field path to FILE:LINE:COL and its source line."""

from __future__ import annotations

import re
from typing import Any

# (value line, value col, key line, key col), 0-based; key line is -1 for list items and roots.
Pos = tuple[int, int, int, int]
Path = tuple[Any, ...]

_LINE_BREAKS = re.compile("\r\n|\r|\n|\x85|\u2028|\u2029")


class SourceMap:
    """Positions of every key and value of one document (or of one ``List`` item via ``prefix``)."""

    __slots__ = ("_lines", "_shared", "positions", "prefix", "text")

    def __init__(self, text: str, positions: dict[Path, Pos], prefix: Path = ()) -> None:
        self.text = text
        self.positions = positions
        self.prefix = prefix
        self._shared: list[list[str]] = []

    def child(self, *elems: Any) -> SourceMap:
        """A view of the sub-tree at ``elems`` (used when a ``List`` item becomes a document)."""
        view = SourceMap(self.text, self.positions, self.prefix + tuple(elems))
        view._shared = self._shared
        return view

    def _lookup(self, path: Path) -> tuple[Pos, bool] | None:
        """Position of ``path`` or of its nearest recorded ancestor; flag tells if exact."""
        full = self.prefix + tuple(path)
        exact = True
        while True:
            pos = self.positions.get(full)
            if pos is not None:
                return pos, exact
            if len(full) <= len(self.prefix) or not full:
                return None
            full = full[:-1]
            exact = False

    def value_pos(self, path: Path) -> tuple[int, int] | None:
        """1-based (line, col) of the value at ``path`` (or of the closest enclosing node)."""
        found = self._lookup(path)
        if found is None:
            return None
        pos, _ = found
        return pos[0] + 1, pos[1] + 1

    def best_pos(self, path: Path) -> tuple[int, int] | None:
        """Where to point for ``path``: its value, or its key when the value is a block below."""
        found = self._lookup(path)
        if found is None:
            return None
        pos, exact = found
        if pos[2] >= 0 and (pos[0] != pos[2] or not exact):
            return pos[2] + 1, pos[3] + 1
        return pos[0] + 1, pos[1] + 1

    def key_pos(self, path: Path) -> tuple[int, int] | None:
        """1-based (line, col) of the mapping key at ``path``; falls back to the value position."""
        found = self._lookup(path)
        if found is None:
            return None
        pos, exact = found
        if exact and pos[2] >= 0:
            return pos[2] + 1, pos[3] + 1
        return pos[0] + 1, pos[1] + 1

    def line_text(self, line: int | None) -> str | None:
        """The text of 1-based ``line``, or None when out of range."""
        if line is None:
            return None
        if not self._shared:
            self._shared.append(_LINE_BREAKS.split(self.text))
        lines = self._shared[0]
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return None
