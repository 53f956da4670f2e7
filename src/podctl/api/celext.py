"""The parts of the Kubernetes CEL environment cel-python does not have, for podctl.api.cel:
cel-go's string extensions (charAt, indexOf, lastIndexOf, lowerAscii, upperAscii, replace,
split, substring, trim, join, reverse), Kubernetes' list library (isSorted, sum, min, max,
indexOf, lastIndexOf) and regex library (find, findAll, through RE2), and the optional value
oldSelf is under optionalOldSelf (hasValue, value, orValue). A wrong argument is the
evaluation's error, as cel-go reports it at run time."""

from __future__ import annotations

import functools
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError


def _fail(message: str, cause: type[Exception] = ValueError) -> CELEvalError:
    return CELEvalError(message, cause, None)


def _overload(name: str) -> CELEvalError:
    return _fail(f"no such overload: {name}", TypeError)


def char_at(text: Any, index: Any) -> Any:
    if not isinstance(text, str) or not isinstance(index, int):
        return _overload("charAt")
    if not 0 <= index <= len(text):
        return _fail(f"index out of range: {index}", IndexError)
    return celtypes.StringType(text[index:index + 1])


def index_of(target: Any, item: Any, start: Any = None) -> Any:
    if isinstance(target, list):
        return celtypes.IntType(next((i for i, v in enumerate(target) if v == item), -1))
    if not isinstance(target, str) or not isinstance(item, str):
        return _overload("indexOf")
    begin = int(start or 0)
    if not 0 <= begin <= len(target):
        return _fail(f"index out of range: {begin}", IndexError)
    return celtypes.IntType(target.find(item, begin))


def last_index_of(target: Any, item: Any, end: Any = None) -> Any:
    if isinstance(target, list):
        found = [i for i, v in enumerate(target) if v == item]
        return celtypes.IntType(found[-1] if found else -1)
    if not isinstance(target, str) or not isinstance(item, str):
        return _overload("lastIndexOf")
    stop = len(target) if end is None else int(end)
    if not 0 <= stop <= len(target):
        return _fail(f"index out of range: {stop}", IndexError)
    return celtypes.IntType(target.rfind(item, 0, stop + len(item)))


def lower_ascii(text: Any) -> Any:
    if not isinstance(text, str):
        return _overload("lowerAscii")
    return celtypes.StringType(text.translate(_LOWER))


def upper_ascii(text: Any) -> Any:
    if not isinstance(text, str):
        return _overload("upperAscii")
    return celtypes.StringType(text.translate(_UPPER))


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def replace(text: Any, old: Any, new: Any, count: Any = -1) -> Any:
    if not all(isinstance(v, str) for v in (text, old, new)):
        return _overload("replace")
    return celtypes.StringType(text.replace(old, new, int(count)))


def split(text: Any, separator: Any, limit: Any = -1) -> Any:
    if not isinstance(text, str) or not isinstance(separator, str):
        return _overload("split")
    limit = int(limit)
    if limit == 0:
        return celtypes.ListType([])
    parts = text.split(separator, limit - 1) if limit > 0 else text.split(separator)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def substring(text: Any, start: Any, end: Any = None) -> Any:
    if not isinstance(text, str):
        return _overload("substring")
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        return _fail(f"index out of range: {start if int(start) > stop else stop}",
                     IndexError)
    return celtypes.StringType(text[int(start):stop])


def trim(text: Any) -> Any:
    if not isinstance(text, str):
        return _overload("trim")
    return celtypes.StringType(text.strip())


def join(items: Any, separator: Any = "") -> Any:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return _overload("join")
    return celtypes.StringType(str(separator).join(items))


def reverse(text: Any) -> Any:
    if not isinstance(text, str):
        return _overload("reverse")
    return celtypes.StringType(text[::-1])


def is_sorted(items: Any) -> Any:
    if not isinstance(items, list):
        return _overload("isSorted")
    try:
        return celtypes.BoolType(all(a <= b for a, b in pairwise(items)))
    except TypeError:
        return _overload("isSorted")


def total(items: Any) -> Any:
    if not isinstance(items, list):
        return _overload("sum")
    if not items:
        return celtypes.IntType(0)
    result = items[0]
    for item in items[1:]:
        if type(item) is not type(result):
            return _overload("sum")
        result = result + item
    return result


def _extreme(name: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def extreme(items: Any) -> Any:
        if not isinstance(items, list):
            return _overload(name)
        if not items:
            return _fail(f"{name}(list) argument must not be empty")
        try:
            return pick(items)
        except TypeError:
            return _overload(name)
    return extreme


def find(text: Any, pattern: Any) -> Any:
    found = _find_all(text, pattern, 1)
    if isinstance(found, CELEvalError):
        return found
    return celtypes.StringType(found[0] if found else "")


def find_all(text: Any, pattern: Any, limit: Any = -1) -> Any:
    found = _find_all(text, pattern, int(limit))
    if isinstance(found, CELEvalError):
        return found
    return celtypes.ListType([celtypes.StringType(f) for f in found])


def _find_all(text: Any, pattern: Any, limit: int) -> list[str] | CELEvalError:
    if not isinstance(text, str) or not isinstance(pattern, str):
        return _overload("find")
    compiled = _regexp(pattern)
    if isinstance(compiled, CELEvalError):
        return compiled
    out = [m.group(0) for m in compiled.finditer(text)]
    return out if limit < 0 else out[:limit]


@functools.lru_cache(maxsize=256)
def _regexp(pattern: str) -> Any:
    """RE2, the engine of Go's regexp (cel-go's): the same patterns accepted, and linear
    time on a hostile one instead of Python's backtracking."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the rule's error reports it
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        shown = detail.decode() if isinstance(detail, bytes) else str(detail)
        return _fail(f"error parsing regexp: {shown}")


class Optional:
    """cel-go's optional value: what oldSelf is for a rule with optionalOldSelf (none on a
    create, or where the old object has no counterpart)."""

    def __init__(self, value: Any = None, present: bool = False) -> None:
        self.value = value
        self.present = present


def has_value(target: Any) -> Any:
    if not isinstance(target, Optional):
        return _overload("hasValue")
    return celtypes.BoolType(target.present)


def value_of(target: Any) -> Any:
    if not isinstance(target, Optional):
        return _overload("value")
    return target.value if target.present else _fail("optional.none() dereference")


def or_value(target: Any, default: Any) -> Any:
    if not isinstance(target, Optional):
        return _overload("orValue")
    return target.value if target.present else default


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "hasValue": has_value, "value": value_of, "orValue": or_value,
    "charAt": char_at, "indexOf": index_of, "lastIndexOf": last_index_of,
    "lowerAscii": lower_ascii, "upperAscii": upper_ascii, "replace": replace,
    "split": split, "substring": substring, "trim": trim, "join": join, "reverse": reverse,
    "isSorted": is_sorted, "sum": total, "min": _extreme("min", min),
    "max": _extreme("max", max), "find": find, "findAll": find_all,
}
