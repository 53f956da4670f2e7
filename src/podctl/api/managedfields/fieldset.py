"""Field paths and sets as structured-merge-diff's fieldpath package has them.

A path element is a tuple `(rank, order, text)`: `text` is its FieldsV1 key (`f:name`,
`k:{"name":"c"}`, `v:"x"`, `i:0`) and identifies it; `rank` and `order` sort elements as
upstream does (field names, then keys, then values, then indexes). A set is a Python
frozenset of paths (tuples of elements): every operation upstream's trie offers is a
set operation or a filter here, and the trie is built only to encode or to iterate in
upstream's order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from podctl.api.labels import go_quote

PathElement = tuple[int, Any, str]
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]
EMPTY: FieldSet = frozenset()

FIELD, KEY, VALUE, INDEX = 0, 1, 2, 3
_PREFIX = {"f": FIELD, "k": KEY, "v": VALUE, "i": INDEX}


def go_json(value: Any) -> str:
    """Go's encoding/json text of a value: compact, map keys sorted, HTML characters
    escaped."""
    return _json(value, sort_keys=True)


def _json(value: Any, sort_keys: bool = False) -> str:
    """Go's encoding/json text of a value (HTML characters escaped, as jsoniter's
    standard-library-compatible config writes them)."""
    text: str
    if isinstance(value, str):  # most keys: the C encoder alone, no json.dumps set-up
        text = _encode_string(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                          sort_keys=sort_keys)
    if not _HTML.search(text):
        return text
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


_encode_string: Any = getattr(json.encoder, "c_encode_basestring", None) or \
    json.encoder.py_encode_basestring
_HTML = re.compile("[<>&\u2028\u2029]")


def value_order(value: Any) -> tuple[int, Any]:
    """upstream's total order of values: numbers, strings, booleans, lists, maps, null."""
    if isinstance(value, bool):
        return 2, int(value)
    if isinstance(value, int | float):
        return 0, float(value)
    if isinstance(value, str):
        return 1, value
    if isinstance(value, list):
        return 3, _json(value)
    if isinstance(value, dict):
        return 4, _json(value)
    return 5, 0


def field(name: str) -> PathElement:
    return FIELD, name, "f:" + name


def key(fields: dict[str, Any]) -> PathElement:
    """A list-map item's element: its key fields, sorted by name."""
    items = sorted(fields.items())
    text = "k:{" + ",".join(f"{_json(k)}:{_json(v)}" for k, v in items) + "}"
    return KEY, tuple((k, value_order(v)) for k, v in items), text


def value(item: Any) -> PathElement:
    return VALUE, value_order(item), "v:" + _json(item)


def index(position: int) -> PathElement:
    return INDEX, position, f"i:{position}"


def parse_element(text: str) -> PathElement | None:
    """A FieldsV1 key as an element; None for a type upstream does not know (skipped)."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in _PREFIX:
        return None
    rank = _PREFIX[kind]
    if rank == FIELD:
        return field(rest)
    if rank == INDEX:
        return index(int(rest))
    decoded = json.loads(rest)
    if rank == KEY:
        if not isinstance(decoded, dict):
            raise ValueError(f"key {text} is not an object")
        return key(decoded)
    return value(decoded)


def _go_value(item: Any) -> str:
    """A value as upstream's value.ToString prints it."""
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return go_quote(item)
    if isinstance(item, float) and item.is_integer() and abs(item) < 1e21:
        return str(int(item))
    if isinstance(item, list):
        return "[" + ",".join(_go_value(i) for i in item) + "]"
    if isinstance(item, dict):
        return "".join(f"{k}={_go_value(v)}" for k, v in item.items())
    return str(item)


def element_string(pe: PathElement) -> str:
    """`.name`, `[name="c",port=80]`, `[="x"]`, `[0]`: as upstream prints a path."""
    rank, _, text = pe
    body = text[2:]
    if rank == FIELD:
        return "." + body
    if rank == INDEX:
        return f"[{body}]"
    decoded = json.loads(body)
    if rank == KEY:
        return "[" + ",".join(f"{k}={_go_value(v)}" for k, v in decoded.items()) + "]"
    return f"[={_go_value(decoded)}]"


def path_string(path: Path) -> str:
    return "".join(element_string(pe) for pe in path)


# -- set operations upstream's trie has ------------------------------------------------------


def with_prefix(fields: Iterable[Path], pe: PathElement) -> FieldSet:
    """The children of `pe` (paths below it, without it)."""
    return frozenset(p[1:] for p in fields if len(p) > 1 and p[0] == pe)


def recursive_difference(fields: FieldSet, other: FieldSet) -> FieldSet:
    """The paths of `fields` neither in `other` nor below one of its paths."""
    if not other:
        return fields
    return frozenset(p for p in fields
                     if not any(p[:i] in other for i in range(1, len(p) + 1)))


def only_under(fields: FieldSet, prefixes: FieldSet) -> FieldSet:
    """The paths of `fields` that are at or below one of `prefixes`."""
    return frozenset(p for p in fields
                     if any(p[:i] in prefixes for i in range(1, len(p) + 1)))


# -- the trie: FieldsV1 and upstream's iteration order ---------------------------------------


class _Node:
    __slots__ = ("children", "members")

    def __init__(self) -> None:
        self.members: set[PathElement] = set()
        self.children: dict[PathElement, _Node] = {}


def _trie(fields: Iterable[Path]) -> _Node:
    root = _Node()
    for path in fields:
        node = root
        for pe in path[:-1]:
            node = node.children.setdefault(pe, _Node())
        if path:
            node.members.add(path[-1])
    return root


def iterate(fields: Iterable[Path]) -> Iterator[Path]:
    """The paths in upstream's Set.Iterate order: a node's members (sorted), then each
    child's paths (children sorted)."""
    def walk(node: _Node, prefix: Path) -> Iterator[Path]:
        for pe in sorted(node.members):
            yield (*prefix, pe)
        for pe in sorted(node.children):
            yield from walk(node.children[pe], (*prefix, pe))

    return walk(_trie(fields), ())


def to_fields_v1(fields: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 object: `{"f:spec": {"f:replicas": {}}}`, a node that is a member and
    has children marked with `".": {}`, keys in upstream's order."""
    def emit(node: _Node, include_self: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if include_self and (node.members or node.children):
            out["."] = {}
        for pe in sorted(node.members | set(node.children)):
            child = node.children.get(pe)
            out[pe[2]] = {} if child is None else emit(child, pe in node.members)
        return out

    return emit(_trie(fields), False)


MAX_DEPTH = 256


def from_fields_v1(data: Any) -> FieldSet:
    """The set a FieldsV1 object holds; ValueError when it is not one."""
    out: set[Path] = set()
    stack: list[tuple[Path, Any]] = [((), data)]
    while stack:
        prefix, node = stack.pop()
        if not isinstance(node, dict):
            raise ValueError("FieldsV1 must be an object")
        if len(prefix) > MAX_DEPTH:
            raise ValueError("FieldsV1 nests too deeply")
        for name, child in node.items():
            if name == ".":
                if prefix:
                    out.add(prefix)
                continue
            pe = parse_element(name)
            if pe is None:
                continue
            path = (*prefix, pe)
            if isinstance(child, dict) and child:
                stack.append((path, child))
            else:
                out.add(path)
    return frozenset(out)
