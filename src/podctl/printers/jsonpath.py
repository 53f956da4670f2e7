"""kubectl's JSONPath templates (`-o jsonpath=...`).

A port of k8s.io/client-go/util/jsonpath: the same parser, the same
evaluation quirks and error messages, and Go's way of printing values
(`fmt.Print` for scalars, compact `json.Marshal` for maps and lists).
Data is JSON-shaped Python: dict, list/tuple, str, int, float, bool, None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeAlias


class JSONPathError(ValueError):
    """A template failed to parse or execute; str() is client-go's message."""


class _EvalError(JSONPathError):
    """Execution error that also carries the partial result Go returns with it.

    client-go's exists-filter (`[?(@.x)]`) looks at that partial result even
    when evaluation failed, so it has to survive the raise.
    """

    def __init__(self, message: str, partial: list[Any]) -> None:
        super().__init__(message)
        self.partial = partial


# --- AST -----------------------------------------------------------------------


@dataclass
class _ListNode:
    nodes: list[_Node] = field(default_factory=list)


@dataclass
class _TextNode:
    text: str


@dataclass
class _FieldNode:
    name: str


@dataclass
class _IdentifierNode:
    name: str


@dataclass
class _Param:
    value: int = 0
    known: bool = False
    derived: bool = False


@dataclass
class _ArrayNode:
    params: tuple[_Param, _Param, _Param]


@dataclass
class _FilterNode:
    left: _ListNode
    right: _ListNode
    operator: str


@dataclass
class _IntNode:
    value: int


@dataclass
class _FloatNode:
    value: float


@dataclass
class _BoolNode:
    value: bool


@dataclass
class _WildcardNode:
    pass


@dataclass
class _RecursiveNode:
    pass


@dataclass
class _UnionNode:
    nodes: list[_ListNode]


_Node: TypeAlias = (
    _ListNode
    | _TextNode
    | _FieldNode
    | _IdentifierNode
    | _ArrayNode
    | _FilterNode
    | _IntNode
    | _FloatNode
    | _BoolNode
    | _WildcardNode
    | _RecursiveNode
    | _UnionNode
)


# --- parser (client-go util/jsonpath/parser.go) --------------------------------

_EOF = ""
_DICT_KEY_RE = re.compile(r"'([^']*)'")
_SLICE_RE = re.compile(r"(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?")
_FILTER_RE = re.compile(r"([^!<>=]+)([!<>=]+)(.+?)")
_GO_INT_RE = re.compile(r"[+-]?[0-9]+")
_GO_FLOAT_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _is_terminator(ch: str) -> bool:
    return ch in (_EOF, " ", "\t", "\r", "\n", ".", ",", "[", "]", "$", "@", "{", "}")


def _is_digit(ch: str) -> bool:
    # Go's unicode.IsDigit is category Nd, which is what str.isdecimal tests.
    return ch != _EOF and ch.isdecimal()


def _is_alphanumeric(ch: str) -> bool:
    return ch == "_" or (ch != _EOF and (ch.isalpha() or ch.isdecimal()))


def _go_rune(ch: str) -> str:
    """Format a character like Go's %#U verb."""
    code = ord(ch)
    return f"U+{code:04X} '{ch}'" if ch.isprintable() else f"U+{code:04X}"


def _go_atoi(text: str) -> int | None:
    """strconv.Atoi for a 64-bit int; None on failure (including overflow)."""
    if not _GO_INT_RE.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


class _Parser:
    """Character-level port of client-go's template parser (loops instead of tail calls)."""

    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0

    def next(self) -> str:
        if self.pos >= len(self.input):
            return _EOF
        ch = self.input[self.pos]
        self.pos += 1
        return ch

    def backup(self, ch: str) -> None:
        # Go backs up by the width of the last rune, which is zero at EOF.
        if ch != _EOF:
            self.pos -= 1

    def peek(self) -> str:
        return self.input[self.pos] if self.pos < len(self.input) else _EOF

    def consume_text(self) -> str:
        value = self.input[self.start : self.pos]
        self.start = self.pos
        return value

    def parse(self) -> _ListNode:
        root = _ListNode()
        while True:
            brace = self.input.find("{", self.pos)
            if brace < 0:
                self.pos = len(self.input)
                if self.pos > self.start:
                    root.nodes.append(_TextNode(self.consume_text()))
                return root
            self.pos = brace
            if self.pos > self.start:
                root.nodes.append(_TextNode(self.consume_text()))
            self.pos += 1
            self.consume_text()
            action = _ListNode()
            root.nodes.append(action)
            self._parse_inside_action(action)

    def _parse_inside_action(self, cur: _ListNode) -> None:
        while True:
            rest = self.input[self.pos : self.pos + 3]
            if rest.startswith("}"):
                self.pos += 1
                self.consume_text()
                return
            if rest == "[?(":
                self._parse_filter(cur)
                continue
            if rest.startswith(".."):
                self._parse_recursive(cur)
                continue
            self._parse_token(cur, self.next())

    def _parse_token(self, cur: _ListNode, ch: str) -> None:
        if ch in (_EOF, "\r", "\n"):
            raise JSONPathError("unclosed action")
        if ch in (" ", "@", "$"):
            # Spaces separate tokens; '@' and '$' name the current object.
            self.consume_text()
        elif ch == "[":
            self._parse_array(cur)
        elif ch in ('"', "'"):
            self._parse_quote(cur, ch)
        elif ch == ".":
            self._parse_field(cur)
        elif ch in ("+", "-") or _is_digit(ch):
            self.backup(ch)
            self._parse_number(cur)
        elif _is_alphanumeric(ch):
            self.backup(ch)
            self._parse_identifier(cur)
        else:
            raise JSONPathError(f"unrecognized character in action: {_go_rune(ch)}")

    def _parse_identifier(self, cur: _ListNode) -> None:
        while True:
            ch = self.next()
            if _is_terminator(ch):
                self.backup(ch)
                break
        value = self.consume_text()
        if value in ("true", "false"):
            cur.nodes.append(_BoolNode(value == "true"))
        else:
            cur.nodes.append(_IdentifierNode(value))

    def _parse_recursive(self, cur: _ListNode) -> None:
        if cur.nodes and isinstance(cur.nodes[-1], _RecursiveNode):
            raise JSONPathError("invalid multiple recursive descent")
        self.pos += 2
        self.consume_text()
        cur.nodes.append(_RecursiveNode())
        if _is_alphanumeric(self.peek()):
            self._parse_field(cur)

    def _parse_number(self, cur: _ListNode) -> None:
        if self.peek() in ("+", "-"):
            self.next()
        while True:
            ch = self.next()
            if ch != "." and not _is_digit(ch):
                self.backup(ch)
                break
        value = self.consume_text()
        integer = _go_atoi(value)
        if integer is not None:
            cur.nodes.append(_IntNode(integer))
        elif _GO_FLOAT_RE.fullmatch(value):
            cur.nodes.append(_FloatNode(float(value)))
        else:
            raise JSONPathError(f"cannot parse number {value}")

    def _parse_array(self, cur: _ListNode) -> None:
        while True:
            ch = self.next()
            if ch in (_EOF, "\n"):
                raise JSONPathError("unterminated array")
            if ch == "]":
                break
        text = self.consume_text()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            union = [_parse_action(f"[{part.strip(' ')}]") for part in parts]
            cur.nodes.append(_UnionNode(union))
            return
        key = _DICT_KEY_RE.fullmatch(text)
        if key is not None:
            # client-go re-parses ['k'] as .k, so dots inside the key still split it.
            cur.nodes.extend(_parse_action("." + key.group(1)).nodes)
            return
        cur.nodes.append(_ArrayNode(_slice_params(text)))

    def _parse_filter(self, cur: _ListNode) -> None:
        self.pos += 3
        self.consume_text()
        begin = end = False
        pair = ""
        while True:
            ch = self.next()
            if ch in (_EOF, "\n"):
                raise JSONPathError("unterminated filter")
            if ch in ('"', "'"):
                if not begin:
                    begin, pair = True, ch
                    continue
                if self.input[self.pos - 2] != "\\" and ch == pair:
                    end = True
            elif ch == ")" and begin == end:
                break
        if self.next() != "]":
            raise JSONPathError("unclosed array expect ]")
        text = self.consume_text()[:-2]
        match = _FILTER_RE.fullmatch(text)
        if match is None:
            cur.nodes.append(_FilterNode(_parse_action(text), _ListNode(), "exists"))
        else:
            left, operator, right = match.groups()
            cur.nodes.append(_FilterNode(_parse_action(left), _parse_action(right), operator))

    def _parse_quote(self, cur: _ListNode, end: str) -> None:
        while True:
            ch = self.next()
            if ch in (_EOF, "\n"):
                raise JSONPathError("unterminated quoted string")
            if ch == end and self.input[self.pos - 2] != "\\":
                break
        value = self.consume_text()
        try:
            text = _unquote_extend(value)
        except ValueError as err:
            raise JSONPathError(f"unquote string {value} error {err}") from None
        cur.nodes.append(_TextNode(text))

    def _parse_field(self, cur: _ListNode) -> None:
        self.consume_text()
        while True:
            ch = self.next()
            if ch == "\\":
                self.next()
            elif _is_terminator(ch):
                self.backup(ch)
                break
        value = self.consume_text()
        if value == "*":
            cur.nodes.append(_WildcardNode())
        else:
            cur.nodes.append(_FieldNode(value.replace("\\", "")))


def _parse_action(text: str) -> _ListNode:
    """Parse `{text}` and return its action list, as client-go's parseAction does."""
    first = _Parser("{" + text + "}").parse().nodes[0]
    assert isinstance(first, _ListNode)
    return first


def _slice_params(text: str) -> tuple[_Param, _Param, _Param]:
    """Turn `[a:b:c]` / `[i]` text into client-go's three slice parameters."""
    match = _SLICE_RE.fullmatch(text)
    if match is None:
        raise JSONPathError(f"invalid array index {text}")
    raw = [group or "" for group in match.groups()]
    params = (_Param(), _Param(), _Param())
    for index, value in enumerate(raw):
        if value:
            if index > 0:
                value = value[1:]
            if index > 0 and not value:
                continue
            number = _go_atoi(value)
            if number is None:
                raise JSONPathError(f"array index {value} is not a number")
            params[index].value, params[index].known = number, True
        elif index == 1:
            # A bare index [i] means the one-element slice [i:i+1].
            params[1].value, params[1].known, params[1].derived = params[0].value + 1, True, True
    return params


_SIMPLE_ESCAPES = {
    "a": 0x07,
    "b": 0x08,
    "f": 0x0C,
    "n": 0x0A,
    "r": 0x0D,
    "t": 0x09,
    "v": 0x0B,
    "\\": 0x5C,
}
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}


def _unquote_extend(quoted: str) -> str:
    """strconv.Unquote that also accepts single-quoted strings (client-go UnquoteExtend)."""
    if len(quoted) < 2 or quoted[0] != quoted[-1] or quoted[0] not in ('"', "'"):
        raise ValueError("invalid syntax")
    quote, body = quoted[0], quoted[1:-1]
    if "\\" not in body and quote not in body:
        return body
    out = bytearray()
    index = 0
    while index < len(body):
        index = _unquote_char(body, index, quote, out)
    # \x and octal escapes may produce bytes that are not UTF-8; Go would print them raw.
    return out.decode("utf-8", "replace")


def _unquote_char(body: str, index: int, quote: str, out: bytearray) -> int:
    """Decode one (possibly escaped) character into `out`; return the next index."""
    ch = body[index]
    if ch == quote:
        raise ValueError("invalid syntax")
    if ch != "\\":
        out += ch.encode("utf-8", "surrogatepass")
        return index + 1
    if index + 1 >= len(body):
        raise ValueError("invalid syntax")
    esc = body[index + 1]
    index += 2
    if esc in _SIMPLE_ESCAPES:
        out.append(_SIMPLE_ESCAPES[esc])
        return index
    if esc in _HEX_DIGITS:
        width = _HEX_DIGITS[esc]
        digits = body[index : index + width]
        if len(digits) < width or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError("invalid syntax")
        code = int(digits, 16)
        if esc == "x":
            out.append(code)
        elif code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise ValueError("invalid syntax")
        else:
            out += chr(code).encode("utf-8")
        return index + width
    if esc in "01234567":
        digits = body[index - 1 : index + 2]
        if len(digits) < 3 or any(c not in "01234567" for c in digits) or int(digits, 8) > 255:
            raise ValueError("invalid syntax")
        out.append(int(digits, 8))
        return index + 2
    if esc in ('"', "'") and esc == quote:
        out.append(ord(esc))
        return index
    raise ValueError("invalid syntax")


# --- Go value printing ----------------------------------------------------------


class _NoValue:
    """Go's invalid reflect.Value: what a range over a null item (or nil data) yields."""

    def __repr__(self) -> str:
        return "<no value>"


_NO_VALUE = _NoValue()


def _float_digits(number: float) -> tuple[str, int]:
    """Shortest round-trip digits of abs(number) and decimal point position (0.DIGITS x 10^dp)."""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0")
    if not stripped:
        return "0", 1
    return stripped, len(digits) + exponent


def _format_e(digits: str, dp: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = dp - 1 if digits != "0" else 0
    sign = "-" if exp < 0 else "+"
    return f"{mantissa}e{sign}{abs(exp):02d}"


def _format_f(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _special_float(number: float) -> str | None:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return None


def _go_float(number: float) -> str:
    """Format a float64 like Go's fmt %v (strconv 'g' shortest, exponent from 1e+06)."""
    special = _special_float(number)
    if special is not None:
        return special
    digits, dp = _float_digits(number)
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    exp = dp - 1
    body = _format_e(digits, dp) if exp < -4 or exp >= 6 else _format_f(digits, dp)
    return sign + body


def _go_json_float(number: float) -> str:
    """Format a float64 like Go's encoding/json (plain up to 1e21, e-7 not e-07)."""
    special = _special_float(number)
    if special is not None:
        raise JSONPathError(f"json: unsupported value: {special}")
    digits, dp = _float_digits(number)
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        body = _format_e(digits, dp)
        body = re.sub(r"e-0(\d)$", r"e-\1", body)
    else:
        body = _format_f(digits, dp)
    return sign + body


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    # json.Marshal escapes HTML-significant characters and JS line separators.
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _go_json_string(text: str) -> str:
    out = []
    for ch in text:
        escaped = _JSON_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _go_json(value: Any) -> str:
    """Compact json.Marshal output: sorted map keys, Go number and string encoding."""
    if value is None or value is _NO_VALUE:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_json_float(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ",".join(f"{_go_json_string(str(k))}:{_go_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_go_json(item) for item in value) + "]"
    raise JSONPathError(f"json: unsupported type: {type(value).__name__}")


def _go_text(value: Any) -> str:
    """Print a scalar like fmt.Print, as client-go's evalToText does (null → `null`)."""
    if value is _NO_VALUE:
        return "<no value>"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_verbose(value: Any) -> str:
    """Render like Go's %v, for error messages that embed a value."""
    if value is None or value is _NO_VALUE:
        return "<nil>"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "map[" + " ".join(f"{k}:{_go_verbose(v)}" for k, v in items) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_go_verbose(item) for item in value) + "]"
    return _go_text(value)


def _go_type(value: Any) -> str:
    """Name the Go type an unstructured value would have, for error messages."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "interface {}"


def _print_results(results: list[Any]) -> str:
    """client-go PrintResults: maps/lists as JSON, scalars as text, space separated."""
    texts = [
        _go_json(value) if isinstance(value, dict | list | tuple) else _go_text(value)
        for value in results
    ]
    return " ".join(texts)


# --- comparisons (client-go's fork of text/template funcs) ---------------------


def _basic_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise JSONPathError("invalid type for comparison")


def _equal(left: Any, right: Any) -> bool:
    left_kind = _basic_kind(left)
    if left_kind != _basic_kind(right):
        raise JSONPathError("incompatible types for comparison")
    return bool(left == right)


def _less(left: Any, right: Any) -> bool:
    left_kind = _basic_kind(left)
    if left_kind != _basic_kind(right):
        raise JSONPathError("incompatible types for comparison")
    if left_kind == "bool":
        raise JSONPathError("invalid type for comparison")
    return bool(left < right)


def _less_equal(left: Any, right: Any) -> bool:
    return _less(left, right) or _equal(left, right)


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": _less,
    ">": lambda left, right: not _less_equal(left, right),
    "==": _equal,
    "!=": lambda left, right: not _equal(left, right),
    "<=": _less_equal,
    ">=": lambda left, right: not _less(left, right),
}


# --- evaluation (client-go util/jsonpath/jsonpath.go) --------------------------


def _children(value: Any) -> list[Any]:
    """Elements a wildcard or recursive descent visits (a string yields its UTF-8 bytes)."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return list(value.encode("utf-8", "surrogatepass"))
    return []


def _is_nil(value: Any) -> bool:
    return value is None or value is _NO_VALUE


class _Executor:
    """One execution of a parsed template, with client-go's range bookkeeping."""

    def __init__(self, root: _ListNode, allow_missing: bool) -> None:
        self.nodes = root.nodes
        self.allow_missing = allow_missing
        self.begin_range = 0
        self.in_range = 0
        self.end_range = 0
        self.last_end_node = -1

    def find_results(self, data: Any, start: int) -> list[list[Any]]:
        """Evaluate top-level nodes from `start`, recursing into `{range}` bodies."""
        current = [_NO_VALUE if data is None else data]
        full: list[list[Any]] = []
        index = start
        while index < len(self.nodes):
            results = self.walk(current, self.nodes[index])
            if 0 < self.end_range <= self.in_range:
                self.end_range -= 1
                self.last_end_node = index
                break
            if self.begin_range > 0:
                self.begin_range -= 1
                self.in_range += 1
                if results:
                    for value in results:
                        full.extend(self.find_results(value, index + 1))
                else:
                    # Still walk the body so the matching {end} is found.
                    self.find_results(None, index + 1)
                self.in_range -= 1
                if index < self.last_end_node < len(self.nodes):
                    index = self.last_end_node
                index += 1
                continue
            full.append(results)
            index += 1
        return full

    def walk(self, values: list[Any], node: _Node) -> list[Any]:
        if isinstance(node, _ListNode):
            return self.eval_list(values, node)
        if isinstance(node, _TextNode):
            return [node.text]
        if isinstance(node, _FieldNode):
            return self.eval_field(values, node.name)
        if isinstance(node, _ArrayNode):
            return self.eval_array(values, node.params)
        if isinstance(node, _FilterNode):
            return self.eval_filter(values, node)
        if isinstance(node, _IntNode | _FloatNode | _BoolNode):
            return [node.value] * len(values)
        if isinstance(node, _WildcardNode):
            return [child for value in values for child in _children(value)]
        if isinstance(node, _RecursiveNode):
            return self.eval_recursive(values)
        if isinstance(node, _UnionNode):
            return self.eval_union(values, node)
        return self.eval_identifier(values, node.name)

    def eval_list(self, values: list[Any], node: _ListNode) -> list[Any]:
        current = values
        for child in node.nodes:
            current = self.walk(current, child)
        return current

    def eval_identifier(self, values: list[Any], name: str) -> list[Any]:
        if name == "range":
            self.begin_range += 1
            return values
        if name == "end":
            if self.in_range > 0:
                self.end_range += 1
                return []
            raise _EvalError("not in range, nothing to end", [])
        raise _EvalError(f"unrecognized identifier {name}", values)

    def eval_field(self, values: list[Any], name: str) -> list[Any]:
        results = [value[name] for value in values if isinstance(value, dict) and name in value]
        if not results and values and not self.allow_missing:
            raise _EvalError(f"{name} is not found", [])
        return results

    def eval_array(self, values: list[Any], params: tuple[_Param, _Param, _Param]) -> list[Any]:
        result: list[Any] = []
        for value in values:
            if _is_nil(value):
                continue
            if not isinstance(value, list | tuple):
                raise _EvalError(f"{_go_type(value)} is not array or slice", values)
            length = len(value)
            start = params[0].value if params[0].known else 0
            if start < 0:
                start += length
            end = params[1].value if params[1].known else length
            if end < 0 or (end == 0 and params[1].derived):
                end += length
            if start == end:
                # client-go returns here, silently dropping any remaining inputs.
                return result
            if start >= length or start < 0:
                raise _EvalError(
                    f"array index out of bounds: index {start}, length {length}", values
                )
            if end > length or end < 0:
                raise _EvalError(
                    f"array index out of bounds: index {end - 1}, length {length}", values
                )
            if start > end:
                raise _EvalError(
                    f"starting index {start} is greater than ending index {end}", values
                )
            step = 1
            if params[2].known:
                if params[2].value <= 0:
                    raise _EvalError("step must be > 0", values)
                step = params[2].value
            result.extend(value[start:end:step])
        return result

    def eval_union(self, values: list[Any], node: _UnionNode) -> list[Any]:
        result: list[Any] = []
        for part in node.nodes:
            try:
                result.extend(self.eval_list(values, part))
            except _EvalError as err:
                raise _EvalError(str(err), values) from None
        return result

    def eval_recursive(self, values: list[Any]) -> list[Any]:
        result: list[Any] = []
        for value in values:
            if _is_nil(value):
                continue
            children = _children(value)
            # Only containers with children are reported, never leaves.
            if children:
                result.append(value)
                result.extend(self.eval_recursive(children))
        return result

    def eval_filter(self, values: list[Any], node: _FilterNode) -> list[Any]:
        results: list[Any] = []
        for value in values:
            if not isinstance(value, list | tuple):
                raise _EvalError(
                    f"{_go_verbose(value)} is not array or slice and cannot be filtered", values
                )
            for item in value:
                if self._filter_passes(item, node, values, results):
                    results.append(item)
        return results

    def _filter_passes(
        self, item: Any, node: _FilterNode, values: list[Any], results: list[Any]
    ) -> bool:
        error: _EvalError | None = None
        try:
            lefts = self.eval_list([item], node.left)
        except _EvalError as err:
            error, lefts = err, err.partial
        if node.operator == "exists":
            return bool(lefts)
        if error is not None:
            raise _EvalError(str(error), values)
        if not lefts:
            return False
        if len(lefts) > 1:
            raise _EvalError("can only compare one element at a time", values)
        try:
            rights = self.eval_list([item], node.right)
        except _EvalError as err:
            raise _EvalError(str(err), values) from None
        if not rights:
            return False
        if len(rights) > 1:
            raise _EvalError("can only compare one element at a time", values)
        comparator = _COMPARATORS.get(node.operator)
        if comparator is None:
            raise _EvalError(f"unrecognized filter operator {node.operator}", results)
        try:
            return comparator(lefts[0], rights[0])
        except JSONPathError as err:
            raise _EvalError(str(err), results) from None


# --- public API ----------------------------------------------------------------


@dataclass(frozen=True)
class JSONPathTemplate:
    """A parsed template, reusable across objects (kubectl parses before fetching)."""

    source: str
    _root: _ListNode = field(repr=False, compare=False)

    def execute(self, data: Any, *, allow_missing: bool = True) -> str:
        """Render `data`; missing keys print nothing unless `allow_missing` is False."""
        executor = _Executor(self._root, allow_missing)
        try:
            results = executor.find_results(data, 0)
        except _EvalError as err:
            raise JSONPathError(str(err)) from None
        return "".join(_print_results(result) for result in results)

    def first_value(self, data: Any) -> Any:
        """The first value the path finds (a printer column's cell), None for none."""
        try:
            results = _Executor(self._root, True).find_results(data, 0)
        except _EvalError:
            return None
        if not results or not results[0]:
            return None
        value = results[0][0]
        return None if value is _NO_VALUE else value


def parse_template(template: str) -> JSONPathTemplate:
    """Parse a kubectl JSONPath template; raise JSONPathError on syntax errors."""
    return JSONPathTemplate(template, _Parser(template).parse())


def render(template: str, data: Any, allow_missing: bool = True) -> str:
    """Render `template` against `data` like `kubectl get -o jsonpath=...`.

    `allow_missing` defaults to True because kubectl get sets
    AllowMissingKeys(true) (--allow-missing-template-keys).
    """
    return parse_template(template).execute(data, allow_missing=allow_missing)
