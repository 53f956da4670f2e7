"""Kubernetes label selectors, label formatting and label validation.

Mirrors k8s.io/apimachinery pkg/labels (parser, matching, String()) and
pkg/util/validation (IsQualifiedName, IsValidLabelValue), plus the label
argument parsing of `kubectl label`, so messages match kubectl's verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

OPERATORS = frozenset(
    {
        EQUALS,
        DOUBLE_EQUALS,
        NOT_EQUALS,
        IN,
        NOT_IN,
        EXISTS,
        DOES_NOT_EXIST,
        GREATER_THAN,
        LESS_THAN,
    }
)

# Order matters: apimachinery lists them like this in "expected: ..." errors.
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_QNAME_MAX = 63
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MAX = 63
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MAX = 253

_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_INT64_RE = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class SelectorError(ValueError):
    """A label selector string could not be parsed; str() is apimachinery's message."""


class LabelSpecError(ValueError):
    """A `kubectl label` argument is malformed; str() is kubectl's message (sans 'error: ')."""


# --- validation (pkg/util/validation) -------------------------------------------------


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Build apimachinery's RegexError text, including its odd double spaces."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    quoted = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {quoted}regex used for validation is '{fmt}')"


def _byte_len(text: str) -> int:
    # Go's len() counts UTF-8 bytes, not characters.
    return len(text.encode("utf-8", "surrogatepass"))


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errs: list[str] = []
    if _byte_len(value) > _DNS1123_SUBDOMAIN_MAX:
        errs.append(_max_len_error(_DNS1123_SUBDOMAIN_MAX))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def validate_label_key(key: str) -> list[str]:
    """Return apimachinery's IsQualifiedName error details for `key`; empty when valid."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + msg for msg in _dns1123_subdomain_errors(prefix))
    else:
        return [
            "a qualified name "
            + _regex_error(_QNAME_ERR, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _byte_len(name) > _QNAME_MAX:
        errs.append("name part " + _max_len_error(_QNAME_MAX))
    if not _QNAME_RE.fullmatch(name):
        errs.append(
            "name part " + _regex_error(_QNAME_ERR, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def validate_label_value(value: str) -> list[str]:
    """Return apimachinery's IsValidLabelValue error details for `value`; empty when valid."""
    errs: list[str] = []
    if _byte_len(value) > _LABEL_VALUE_MAX:
        errs.append(_max_len_error(_LABEL_VALUE_MAX))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(
            _regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errs


# --- Go-compatible error text helpers ------------------------------------------------

_GO_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """Quote like Go's %q (strconv.Quote), used in field.Invalid messages."""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _field_invalid(path: str, value: str, detail: str) -> str:
    """Render field.Invalid(path, value, detail).Error()."""
    return f"{path}: Invalid value: {go_quote(value)}: {detail}"


def _aggregate(messages: Sequence[str]) -> str:
    """Render utilerrors.NewAggregate(...).Error(): one message bare, several bracketed."""
    unique = list(dict.fromkeys(messages))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def _parse_int64(text: str) -> int | None:
    """Mirror strconv.ParseInt(text, 10, 64); None when Go would fail."""
    if not _INT64_RE.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


# --- Requirement / Selector ----------------------------------------------------------


# NamedTuples, not dataclasses: `dataclasses` imports `inspect`, a fifth of a `get`'s start.
class _Term(NamedTuple):
    key: str
    operator: str
    values: tuple[str, ...] = ()


class Requirement(_Term):
    """One selector term: `key operator values`, matched like apimachinery's Requirement."""

    __slots__ = ()

    def __new__(cls, key: str, operator: str, values: tuple[str, ...] = ()) -> Requirement:
        if operator not in OPERATORS:
            raise ValueError(f"unknown label selector operator {operator!r}")
        return super().__new__(cls, key, operator, values)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Report whether `labels` satisfy this requirement."""
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        return self._matches_numeric(labels)

    def _matches_numeric(self, labels: Mapping[str, str]) -> bool:
        if self.key not in labels or len(self.values) != 1:
            return False
        have = _parse_int64(labels[self.key])
        want = _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if self.operator == GREATER_THAN else have < want

    def __str__(self) -> str:
        """Render like apimachinery's Requirement.String()."""
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator == EXISTS:
            return self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


class Selector(NamedTuple):
    """AND of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Report whether `labels` (None meaning no labels) satisfy every requirement."""
        present = labels or {}
        return all(req.matches(present) for req in self.requirements)

    def is_empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self.requirements

    def __str__(self) -> str:
        """Render like apimachinery's Selector.String() (comma-joined requirements)."""
        return ",".join(str(req) for req in self.requirements)


def selector_from_map(match_labels: Mapping[str, str] | None) -> Selector:
    """Build the equality selector of an RC-style `selector` map (not validated, like Go)."""
    items = sorted((match_labels or {}).items())
    return Selector(tuple(Requirement(key, EQUALS, (value,)) for key, value in items))


# --- formatting ------------------------------------------------------------------------


def format_labels(labels: Mapping[str, str] | None) -> str:
    """Render labels as kubectl does (`a=1,b=2`, sorted by key) or `<none>` when empty."""
    text = ",".join(f"{key}={value}" for key, value in sorted((labels or {}).items()))
    return text or "<none>"


def format_selector_map(selector: Mapping[str, str] | None) -> str:
    """Render an RC selector map; kubectl uses the same FormatLabels for it."""
    return format_labels(selector)


# --- lexer (pkg/labels Lexer) ------------------------------------------------------------

_TOK_ERROR = "error"
_TOK_EOS = "end of string"
_TOK_IDENT = "identifier"
_TOK_CLOSE = ")"
_TOK_COMMA = ","
_TOK_NOT = "!"
_TOK_DEQ = "=="
_TOK_EQ = "="
_TOK_GT = ">"
_TOK_LT = "<"
_TOK_IN = "in"
_TOK_NOTIN = "notin"
_TOK_NEQ = "!="
_TOK_OPEN = "("

# Each literal maps to its own token kind; kinds are the literals for readability.
_STRING_TO_TOKEN = {
    lit: lit
    for lit in (
        _TOK_CLOSE,
        _TOK_COMMA,
        _TOK_NOT,
        _TOK_DEQ,
        _TOK_EQ,
        _TOK_GT,
        _TOK_IN,
        _TOK_LT,
        _TOK_NEQ,
        _TOK_NOTIN,
        _TOK_OPEN,
    )
}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
# Go's lexer uses byte 0 both as "end of input" and for a literal NUL.
_EOF = "\x00"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def read(self) -> str:
        if self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            return ch
        return _EOF

    def unread(self) -> None:
        self.pos -= 1

    def lex(self) -> tuple[str, str]:
        ch = self.read()
        while ch in _WHITESPACE:
            ch = self.read()
        if ch == _EOF:
            return _TOK_EOS, ""
        self.unread()
        if ch in _SPECIAL:
            return self._scan_special()
        return self._scan_ident_or_keyword()

    def _scan_ident_or_keyword(self) -> tuple[str, str]:
        buf: list[str] = []
        while True:
            ch = self.read()
            if ch == _EOF:
                break
            if ch in _SPECIAL or ch in _WHITESPACE:
                self.unread()
                break
            buf.append(ch)
        text = "".join(buf)
        return _STRING_TO_TOKEN.get(text, _TOK_IDENT), text

    def _scan_special(self) -> tuple[str, str]:
        # Longest match: keep extending while the buffer is still a known symbol.
        last: tuple[str, str] | None = None
        buf = ""
        while True:
            ch = self.read()
            if ch == _EOF:
                break
            if ch not in _SPECIAL:
                self.unread()
                break
            buf += ch
            if buf in _STRING_TO_TOKEN:
                last = (_STRING_TO_TOKEN[buf], buf)
            elif last is not None:
                self.unread()
                break
        if last is None:
            return _TOK_ERROR, f"error expected: keyword found '{buf}'"
        return last


# --- parser (pkg/labels Parser) ----------------------------------------------------------

_KEY_AND_OPERATOR = 0
_VALUES = 1


class _Parser:
    """Recursive-descent selector parser mirroring apimachinery's, errors included."""

    def __init__(self, text: str) -> None:
        lexer = _Lexer(text)
        self.items: list[tuple[str, str]] = []
        while True:
            item = lexer.lex()
            self.items.append(item)
            if item[0] == _TOK_EOS:
                break
        self.position = 0

    def _item(self, index: int, context: int) -> tuple[str, str]:
        tok, lit = self.items[index]
        # 'in'/'notin' are ordinary identifiers wherever a key or value may appear.
        if context == _VALUES and tok in (_TOK_IN, _TOK_NOTIN):
            tok = _TOK_IDENT
        return tok, lit

    def lookahead(self, context: int) -> tuple[str, str]:
        return self._item(self.position, context)

    def consume(self, context: int) -> tuple[str, str]:
        self.position += 1
        return self._item(self.position - 1, context)

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.lookahead(_VALUES)
            if tok == _TOK_EOS:
                return requirements
            if tok not in (_TOK_IDENT, _TOK_NOT):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._parse_requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            tok, lit = self.consume(_VALUES)
            if tok == _TOK_EOS:
                return requirements
            if tok != _TOK_COMMA:
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            tok2, lit2 = self.lookahead(_VALUES)
            if tok2 not in (_TOK_IDENT, _TOK_NOT):
                raise SelectorError(f"found '{lit2}', expected: identifier after ','")

    def _parse_requirement(self) -> Requirement:
        key, operator = self._parse_key_and_infer_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return _new_requirement(key, operator, [])
        operator = self._parse_operator()
        set_based = operator in (IN, NOT_IN)
        values = self._parse_values() if set_based else self._parse_exact_value()
        return _new_requirement(key, operator, sorted(values))

    def _parse_key_and_infer_operator(self) -> tuple[str, str]:
        operator = ""
        tok, literal = self.consume(_VALUES)
        if tok == _TOK_NOT:
            operator = DOES_NOT_EXIST
            tok, literal = self.consume(_VALUES)
        if tok != _TOK_IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        errs = validate_label_key(literal)
        if errs:
            raise SelectorError(_field_invalid("<nil>", literal, "; ".join(errs)))
        if self.lookahead(_VALUES)[0] in (_TOK_EOS, _TOK_COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return literal, operator

    def _parse_operator(self) -> str:
        tok, lit = self.consume(_KEY_AND_OPERATOR)
        operator = {
            _TOK_IN: IN,
            _TOK_EQ: EQUALS,
            _TOK_DEQ: DOUBLE_EQUALS,
            _TOK_GT: GREATER_THAN,
            _TOK_LT: LESS_THAN,
            _TOK_NOTIN: NOT_IN,
            _TOK_NEQ: NOT_EQUALS,
        }.get(tok)
        if operator is None:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return operator

    def _parse_values(self) -> set[str]:
        tok, lit = self.consume(_VALUES)
        if tok != _TOK_OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead(_VALUES)
        if tok in (_TOK_IDENT, _TOK_COMMA):
            values = self._parse_identifiers_list()
            if self.consume(_VALUES)[0] != _TOK_CLOSE:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _TOK_CLOSE:
            self.consume(_VALUES)
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def _parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume(_VALUES)
            if tok == _TOK_IDENT:
                values.add(lit)
                tok2, lit2 = self.lookahead(_VALUES)
                if tok2 == _TOK_COMMA:
                    continue
                if tok2 == _TOK_CLOSE:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok != _TOK_COMMA:
                raise SelectorError(f"found '{lit}', expected: ',', or identifier")
            # A comma with nothing before/after it stands for the empty value.
            if not values:
                values.add("")
            tok2 = self.lookahead(_VALUES)[0]
            if tok2 == _TOK_CLOSE:
                values.add("")
                return values
            if tok2 == _TOK_COMMA:
                self.consume(_VALUES)
                values.add("")

    def _parse_exact_value(self) -> set[str]:
        if self.lookahead(_VALUES)[0] in (_TOK_EOS, _TOK_COMMA):
            return {""}
        tok, lit = self.consume(_VALUES)
        if tok == _TOK_IDENT:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def _new_requirement(key: str, operator: str, values: list[str]) -> Requirement:
    """Validate values the way NewRequirement does, then build the Requirement."""
    errs: list[str] = []
    if operator in (GREATER_THAN, LESS_THAN):
        for index, value in enumerate(values):
            if _parse_int64(value) is None:
                errs.append(
                    _field_invalid(
                        f"values[{index}]",
                        value,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    )
                )
    for index, value in enumerate(values):
        value_errs = validate_label_value(value)
        if value_errs:
            errs.append(_field_invalid(f"values[{index}][{key}]", value, "; ".join(value_errs)))
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, operator, tuple(values))


def parse_selector(text: str) -> Selector:
    """Parse a `-l` label selector string; raise SelectorError with apimachinery's message."""
    requirements = _Parser(text).parse()
    # apimachinery sorts by key so String() is deterministic.
    return Selector(tuple(sorted(requirements, key=lambda req: req.key)))


# --- kubectl label arguments -----------------------------------------------------------


def parse_label_args(args: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Split `kubectl label` args into labels to set and keys to remove (kubectl's rules).

    Keys are not validated here, as in kubectl (the API server rejects bad keys).
    """
    labels: dict[str, str] = {}
    remove: list[str] = []
    for spec in args:
        if "=" in spec:
            parts = spec.split("=")
            if len(parts) != 2:
                raise LabelSpecError(f"invalid label spec: {spec}")
            errs = validate_label_value(parts[1])
            if errs:
                raise LabelSpecError(f"invalid label value: {go_quote(spec)}: {';'.join(errs)}")
            labels[parts[0]] = parts[1]
        elif spec.endswith("-"):
            remove.append(spec[:-1])
        else:
            raise LabelSpecError(f"unknown label spec: {spec}")
    if any(key in labels for key in remove):
        raise LabelSpecError("can not both modify and remove a label in the same command")
    return labels, remove


# --- apps/v1 LabelSelector (matchLabels + matchExpressions) ----------------------------

# metav1.LabelSelectorOperator spellings -> the parser's operators.
LABEL_SELECTOR_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS,
                            "DoesNotExist": DOES_NOT_EXIST}


def selector_from_label_selector(spec: Mapping[str, object] | None) -> Selector:
    """LabelSelectorAsSelector for a validated `{matchLabels, matchExpressions}`: every
    requirement must hold; the empty selector matches everything. Requirements are sorted by
    key, as apimachinery sorts them, so str() is kubectl's selector string."""
    spec = spec or {}
    labels = spec.get("matchLabels") or {}
    requirements = [Requirement(str(key), EQUALS, (str(value),))
                    for key, value in (labels.items() if isinstance(labels, Mapping) else ())]
    expressions = spec.get("matchExpressions") or []
    for expr in expressions if isinstance(expressions, list) else ():
        operator = LABEL_SELECTOR_OPERATORS[str(expr["operator"])]
        values = () if operator in (EXISTS, DOES_NOT_EXIST) else tuple(
            sorted(str(v) for v in expr.get("values") or []))
        requirements.append(Requirement(str(expr["key"]), operator, values))
    return Selector(tuple(sorted(requirements, key=lambda req: req.key)))


def format_label_selector(spec: Mapping[str, object] | None) -> str:
    """FormatLabelSelector: `app=web,tier in (a,b),!env`, or `<none>` when it is empty."""
    return str(selector_from_label_selector(spec)) or "<none>"
