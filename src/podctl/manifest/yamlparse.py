"""Safe, position-keeping YAML parsing: libyaml events in, plain values plus a position index out.

Values are built from parser events (never by PyYAML's constructors), so no tag can run code,
nesting is bounded without recursion, duplicate keys are caught and aliases are budgeted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from podctl.manifest.hints import syntax_message
from podctl.manifest.locate import Path, Pos

MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000
# Nodes a document may hold before aliases. Building one costs some 5 us and 300 bytes in
# Python, so a 3 MiB flow list (1.5 M nodes) would take 8 s of the interpreter and 440 MiB;
# the largest real documents (CRDs with their schemas) hold some tens of thousands.
MAX_DOCUMENT_NODES = 250_000

_Y = "tag:yaml.org,2002:"
STR, NULL, BOOL, INT, FLOAT = _Y + "str", _Y + "null", _Y + "bool", _Y + "int", _Y + "float"
MERGE, TIMESTAMP, BINARY, VALUE = _Y + "merge", _Y + "timestamp", _Y + "binary", _Y + "value"
_MAP_TAGS = {None, "!", _Y + "map", _Y + "set"}
_SEQ_TAGS = {None, "!", _Y + "seq", _Y + "omap", _Y + "pairs"}
_RESOLVERS = Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = SafeConstructor()
_BOOL_TRUE = {"yes", "true", "on", "y"}
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class RawDoc:
    """One parsed YAML document: its value, first line (1-based) and position index."""

    value: Any
    line: int
    positions: dict[Path, Pos]


@dataclass
class ParseIssue:
    """A problem found while parsing, at 1-based line/col (col may be None)."""

    line: int | None
    col: int | None
    message: str


@dataclass
class ParseResult:
    """Documents parsed before any fatal error, plus every issue found."""

    docs: list[RawDoc] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    fatal: bool = False


class AliasBudget:
    """Nodes that aliases may still expand to, shared by every document of one whole input.

    One budget per command input (all -f files and stdin together), not per document: a
    budget that restarts with each document lets a stream of small alias bombs add up to
    gigabytes.
    """

    def __init__(self, limit: int = MAX_ALIAS_NODES) -> None:
        self.limit = limit
        self.used = 0
        self.exceeded: ParseIssue | None = None

    def spend(self, nodes: int, line: int, col: int) -> None:
        """Count an alias's nodes; past the limit, remember where and stop the parse."""
        self.used += nodes
        if self.used > self.limit:
            message = (
                f"aliases expand to more than {self.limit} nodes across all documents and "
                'files ("billion laughs" protection); refusing to load any of them'
            )
            self.exceeded = ParseIssue(line, col, message)
            raise _Fatal(line, col, message)


class _Fatal(Exception):
    """Stops parsing the file (limits, complex keys)."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


class _Merge:
    """Marker for the YAML merge key ``<<``."""


_MERGE_KEY = _Merge()
_NO_KEY = object()


class _Frame:
    """An open mapping or sequence while its events stream in."""

    __slots__ = ("anchor", "container", "count", "height", "is_map", "key", "key_pos", "merges",
                 "path")

    def __init__(self, container: Any, is_map: bool, path: Path, anchor: str | None) -> None:
        self.container = container
        self.is_map = is_map
        self.path = path
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_pos = (-1, -1)
        self.count = 1
        self.height = 1  # levels of nesting in it, itself included (aliased nodes too)
        self.merges: list[Any] = []


def _copy(value: Any) -> Any:
    """Deep copy of plain YAML data (iterative enough for bounded depth)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _key_text(value: Any) -> str:
    """Mapping keys become strings, as sigs.k8s.io/yaml does when converting to JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Builder:
    """Turns the event stream of one YAML text into documents."""

    def __init__(self, text: str, budget: AliasBudget) -> None:
        self.text = text
        self.budget = budget
        self.result = ParseResult()

    def issue(self, mark: Any, message: str) -> None:
        """Record a non-fatal problem at an event mark."""
        self.result.issues.append(ParseIssue(mark.line + 1, mark.column + 1, message))

    def scalar(self, ev: Any) -> Any:
        """Plain value of a scalar event, resolving implicit tags like YAML 1.1."""
        value: str = ev.value
        tag = ev.tag
        if tag is None or tag == "!":
            if ev.implicit[0]:
                tag = STR
                for cand, regexp in _RESOLVERS.get(value[:1], ()):
                    if regexp.match(value):
                        tag = cand
                        break
            else:
                return value
        if tag in (STR, TIMESTAMP, BINARY, VALUE):
            return value
        if tag == NULL:
            return None
        if tag == BOOL:
            return value.lower() in _BOOL_TRUE
        if tag == MERGE:
            return _MERGE_KEY
        try:
            if tag == INT:
                return int(_CONSTRUCTOR.construct_yaml_int(yaml.ScalarNode(tag, value)))
            if tag == FLOAT:
                number = float(_CONSTRUCTOR.construct_yaml_float(yaml.ScalarNode(tag, value)))
                return number if math.isfinite(number) else value
        except (ValueError, yaml.YAMLError):
            self.issue(ev.start_mark, f'invalid value "{value}" for tag {_short(tag)}')
            return value
        self.bad_tag(ev, tag)
        return value

    def bad_tag(self, ev: Any, tag: str) -> None:
        """Report a tag podctl refuses (python/* or anything unknown)."""
        if tag.startswith(_Y + "python/"):
            self.issue(
                ev.start_mark,
                f"tag {_short(tag)} is not allowed: podctl loads YAML safely and never "
                "constructs Python objects; remove the tag",
            )
        else:
            self.issue(
                ev.start_mark,
                f"unknown tag {_short(tag)}: remove it (Kubernetes manifests use no tags)",
            )

    def run(self) -> ParseResult:
        """Parse everything; stop at the first syntax error or exceeded limit."""
        loader = _Loader(self.text)
        try:
            self._loop(loader)
        except _Fatal as exc:
            self.result.fatal = True
            self.result.issues.append(ParseIssue(exc.line, exc.col, exc.message))
        except yaml.MarkedYAMLError as exc:
            self.result.fatal = True
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            col = mark.column + 1 if mark is not None else None
            message, better = syntax_message(exc, self.text)
            if better is not None:
                line, col = better
            self.result.issues.append(ParseIssue(line, col, message))
        except yaml.YAMLError as exc:
            self.result.fatal = True
            line, col = _reader_position(exc, self.text)
            self.result.issues.append(ParseIssue(line, col, syntax_message(exc, self.text)[0]))
        finally:
            dispose = getattr(loader, "dispose", None)
            if dispose is not None:
                dispose()
        return self.result

    def _loop(self, loader: Any) -> None:
        """The event loop (one pass, explicit stack)."""
        stack: list[_Frame] = []
        anchors: dict[str, tuple[Any, int, int]] = {}
        aliased = False  # the document shares nodes between its aliases: copied at its end
        nodes = 0
        open_anchors: set[str] = set()
        positions: dict[Path, Pos] = {}
        root: Any = None
        root_line = 0
        budget = self.budget
        scalar_ev, alias_ev = yaml.ScalarEvent, yaml.AliasEvent
        map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        coll_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        while True:
            ev = loader.get_event()
            et = type(ev)
            value: Any
            count, height = 1, 0
            anchor: str | None = None
            if et is scalar_ev or et is map_start or et is seq_start:
                nodes += 1
                if nodes > MAX_DOCUMENT_NODES:
                    raise _Fatal(ev.start_mark.line + 1, ev.start_mark.column + 1,
                                 f"the document holds more than {MAX_DOCUMENT_NODES} nodes; "
                                 "refusing to load it")
            if et is scalar_ev:
                value = self.scalar(ev)
                anchor = ev.anchor
            elif et is map_start or et is seq_start:
                is_map = et is map_start
                if ev.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    self.bad_tag(ev, ev.tag)
                path = self._child_path(stack, ev, positions)
                if len(stack) >= MAX_DEPTH:
                    raise _Fatal(
                        ev.start_mark.line + 1,
                        ev.start_mark.column + 1,
                        f"nesting is deeper than {MAX_DEPTH} levels; "
                        "refusing to load this document",
                    )
                frame = _Frame({} if is_map else [], is_map, path, ev.anchor)
                if ev.anchor:
                    open_anchors.add(ev.anchor)
                stack.append(frame)
                continue
            elif et in coll_end:
                frame = stack.pop()
                if frame.is_map and frame.merges:
                    for source in frame.merges:
                        for k, v in source.items():
                            frame.container.setdefault(k, v)
                value, count, anchor = frame.container, frame.count, frame.anchor
                if anchor:
                    open_anchors.discard(anchor)
                self._attach(stack, (value, count, frame.height), anchor, anchors, ev,
                             positions, placed=True)
                if not stack:
                    root = value
                continue
            elif et is alias_ev:
                name = ev.anchor
                if name in open_anchors:
                    raise _Fatal(
                        ev.start_mark.line + 1,
                        ev.start_mark.column + 1,
                        f"alias *{name} refers to the node that contains it "
                        "(a recursive structure)",
                    )
                if name not in anchors:
                    raise _Fatal(
                        ev.start_mark.line + 1,
                        ev.start_mark.column + 1,
                        f"found undefined alias *{name}: define it with &{name} before using it",
                    )
                value, count, height = anchors[name]
                budget.spend(count, ev.start_mark.line + 1, ev.start_mark.column + 1)
                # Shared until the document ends, then copied once: a document refused for
                # its aliases (a bomb) costs no copying at all.
                aliased = True
            elif et is yaml.DocumentStartEvent:
                stack, anchors, positions, root = [], {}, {}, None
                open_anchors = set()
                aliased = False
                nodes = 0
                root_line = ev.start_mark.line + 1
                continue
            elif et is yaml.DocumentEndEvent:
                if aliased:
                    root = _copy(root)
                if root is not None:
                    first = positions.get((), (root_line - 1, 0, -1, -1))
                    self.result.docs.append(RawDoc(root, first[0] + 1, positions))
                continue
            elif et is yaml.StreamEndEvent:
                return
            else:
                continue
            # a scalar or an alias: a complete node
            if not stack:
                root = value
                positions[()] = (ev.start_mark.line, ev.start_mark.column, -1, -1)
                continue
            self._attach(stack, (value, count, height), anchor, anchors, ev, positions,
                         placed=False)

    def _child_path(self, stack: list[_Frame], ev: Any, positions: dict[Path, Pos]) -> Path:
        """Path of a collection that starts now, recording its position."""
        mark = ev.start_mark
        if not stack:
            positions[()] = (mark.line, mark.column, -1, -1)
            return ()
        parent = stack[-1]
        if parent.is_map:
            if parent.key is _NO_KEY:
                raise _Fatal(
                    mark.line + 1,
                    mark.column + 1,
                    "a mapping key must be a plain value, not a list or mapping",
                )
            if parent.key is _MERGE_KEY:
                return (*parent.path, "<<")
            path = (*parent.path, parent.key)
            positions[path] = (mark.line, mark.column, parent.key_pos[0], parent.key_pos[1])
            return path
        path = (*parent.path, len(parent.container))
        positions[path] = (mark.line, mark.column, -1, -1)
        return path

    def _attach(
        self,
        stack: list[_Frame],
        node: tuple[Any, int, int],
        anchor: str | None,
        anchors: dict[str, tuple[Any, int, int]],
        ev: Any,
        positions: dict[Path, Pos],
        placed: bool,
    ) -> None:
        """Put a finished node (value, nodes in it, its height) into its parent (as key,
        value or item)."""
        value, count, height = node
        if anchor:
            anchors[anchor] = node
        if not stack:
            return
        mark = ev.start_mark
        if len(stack) + height > MAX_DEPTH:
            # An alias nests what it stands for where it is used: the depth the document
            # has once expanded is what every reader of it walks.
            raise _Fatal(mark.line + 1, mark.column + 1,
                         f"nesting is deeper than {MAX_DEPTH} levels; refusing to load this "
                         "document")
        parent = stack[-1]
        parent.count += count
        parent.height = max(parent.height, height + 1)
        if not parent.is_map:
            if not placed:
                path = (*parent.path, len(parent.container))
                positions[path] = (mark.line, mark.column, -1, -1)
            parent.container.append(value)
            return
        if parent.key is _NO_KEY:
            self._set_key(parent, value, mark, positions)
            return
        key = parent.key
        parent.key = _NO_KEY
        if key is _MERGE_KEY:
            self._merge(parent, value, mark)
            return
        if not placed:
            path = (*parent.path, key)
            positions[path] = (mark.line, mark.column, parent.key_pos[0], parent.key_pos[1])
        parent.container[key] = value

    def _set_key(self, parent: _Frame, value: Any, mark: Any, positions: dict[Path, Pos]) -> None:
        """Accept a mapping key, reporting duplicates like Kubernetes' strict decoder."""
        if isinstance(value, dict | list):
            raise _Fatal(
                mark.line + 1,
                mark.column + 1,
                "a mapping key must be a plain value, not a list or mapping",
            )
        if value is _MERGE_KEY:
            parent.key = _MERGE_KEY
            parent.key_pos = (mark.line, mark.column)
            return
        key = _key_text(value)
        if key in parent.container:
            first = positions.get((*parent.path, key))
            where = f" at line {first[2] + 1}" if first is not None and first[2] >= 0 else ""
            self.result.issues.append(
                ParseIssue(
                    mark.line + 1, mark.column + 1, f'mapping key "{key}" already defined{where}'
                )
            )
        parent.key = key
        parent.key_pos = (mark.line, mark.column)

    def _merge(self, parent: _Frame, value: Any, mark: Any) -> None:
        """Handle ``<<: *anchor`` (or a list of them)."""
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if isinstance(source, dict):
                parent.merges.append(source)
            else:
                self.result.issues.append(
                    ParseIssue(
                        mark.line + 1,
                        mark.column + 1,
                        "a merge key (<<) needs a mapping or a list of mappings",
                    )
                )


def _short(tag: str) -> str:
    """'tag:yaml.org,2002:python/x' → '!!python/x'."""
    return "!!" + tag[len(_Y) :] if tag.startswith(_Y) else tag


def _reader_position(exc: yaml.YAMLError, text: str) -> tuple[int | None, int | None]:
    """Line/column of a ReaderError (it only knows a character offset)."""
    offset = getattr(exc, "position", None)
    if not isinstance(offset, int):
        return None, None
    before = text[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    return line, col


def parse_yaml(text: str, budget: AliasBudget | None = None) -> ParseResult:
    """Parse a YAML stream into documents with positions; never raises on bad input.

    ``budget`` is shared by the callers' other texts of the same input; None gives this text
    a budget of its own.
    """
    return _Builder(text, AliasBudget() if budget is None else budget).run()
