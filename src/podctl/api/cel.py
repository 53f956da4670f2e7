"""`x-kubernetes-validations`: the CEL rules of a CustomResourceDefinition's schema, checked
as the apiextensions API server checks them, with cel-python (PyPI `cel-python`, the
maintained Python implementation of CEL; imported only when a schema has rules).

`validate(schema, obj, old)` walks the structural schema beside the object: at every node
with a value (a null is never checked) each rule runs with `self` bound to the value and,
on an update where the node has a counterpart in the old object, `oldSelf` bound to that
(a transition rule, one that names oldSelf, is skipped without one). A false rule is one
field error in upstream's words: `spec: Invalid value: "object": <message>` (the node's
schema type is the value), the message from `messageExpression` when it evaluates to a
usable string, else `message`, else `failed rule: <rule>`; `reason` makes it Forbidden,
Required or Duplicate instead, and `fieldPath` moves it to a field under the node. A rule
that fails to evaluate is `<error> evaluating rule: <rule>`. Errors of a rule that does not
name oldSelf on a node the update left unchanged are only warnings (upstream's validation
ratcheting). `rule_problems(schema, path)` is what a CRD's create checks: every rule and
messageExpression compiles, reasons and field paths are valid.

Pure: no store, no I/O. Costs are bounded by counting evaluations (upstream estimates a
cost per expression; cel-python has none).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from podctl.api.labels import go_quote

if TYPE_CHECKING:
    import celpy

Schema = dict[str, Any]
Cause = tuple[str, str]  # (field path, message without it), as a Status cause holds them

ROOT = "<nil>"  # a nil field.Path prints so: a rule on the resource's root reports it
REASONS = ("FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired",
           "FieldValueDuplicate")
# Upstream gives one request a cost budget; this counts rule evaluations instead (one is
# 0.1 to 1 ms in cel-python: a hostile list of items with rules stops within seconds).
EVALUATION_BUDGET = 5_000
OUT_OF_BUDGET = ("validation failed due to running out of cost budget, no further "
                 "validation rules will be run")
MESSAGE_EXPRESSION_MAX = 5 * 1024
INT64 = (-(2**63), 2**63 - 1)
# A rule's text (cel-python's parser and tree walk recurse: deep nesting is refused, as a
# compile error, rather than taking the API's thread down).
RULE_MAX = 10_000
# The root's self holds apiVersion, kind and of its metadata only these.
ROOT_METADATA = ("name", "generateName")


@dataclass
class Result:
    errors: list[Cause] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Walk:
    result: Result
    budget: int = EVALUATION_BUDGET

    def spend(self) -> bool:
        self.budget -= 1
        return self.budget >= 0


class RuleError(Exception):
    """A rule or messageExpression cel-python cannot compile."""


def validate(schema: Schema, obj: Any, old: Any = None, path: str = "",
             budget: int = EVALUATION_BUDGET) -> Result:
    """The rule errors (and ratcheting warnings) for `obj`, the resource's root when
    `path` is empty; `old` is the stored object on an update."""
    walk = _Walk(Result(), budget)
    _validate(walk, schema, obj, old, path, root=not path)
    return walk.result


def has_rules(schema: Any) -> bool:
    """Whether any node of the schema carries x-kubernetes-validations."""
    if not isinstance(schema, dict):
        return False
    if schema.get("x-kubernetes-validations"):
        return True
    subs = [*dict(schema.get("properties") or {}).values(), schema.get("items"),
            schema.get("additionalProperties"), *list(schema.get("allOf") or [])]
    return any(has_rules(s) for s in subs)


# -- the walk -------------------------------------------------------------------------------

def _validate(walk: _Walk, schema: Schema, obj: Any, old: Any, path: str,
              root: bool = False) -> None:
    if obj is None or walk.budget < 0:
        return
    rules = schema.get("x-kubernetes-validations") or []
    if rules:
        _check_rules(walk, schema, rules, obj, old, path, root)
    for sub in schema.get("allOf") or []:
        if isinstance(sub, dict):
            _validate(walk, sub, obj, old, path)
    if isinstance(obj, dict):
        _validate_map(walk, schema, obj, old if isinstance(old, dict) else None, path)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        olds = old if isinstance(old, list) else []
        for index, item in enumerate(obj):
            _validate(walk, items, item, _correlated_item(schema, item, olds),
                      f"{path}[{index}]")


def _validate_map(walk: _Walk, schema: Schema, obj: dict[str, Any],
                  old: dict[str, Any] | None, path: str) -> None:
    # Only granular and atomic maps correlate their keys with the old object's.
    correlated = old if schema.get("x-kubernetes-map-type") in (None, "granular",
                                                                 "atomic") else None
    extra = schema.get("additionalProperties")
    properties = schema.get("properties") or {}
    for key, value in obj.items():
        before = correlated.get(key) if correlated is not None else None
        if isinstance(extra, dict):
            _validate(walk, extra, value, before, f"{path}[{key}]")
        if key in properties and isinstance(properties[key], dict):
            _validate(walk, properties[key], value, before, _child(path, key))


def _correlated_item(schema: Schema, item: Any, olds: list[Any]) -> Any:
    """The old item a new one is compared with: only a map-type list's items have one (the
    item with the same keys)."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(item, dict):
        return None
    keys = schema.get("x-kubernetes-list-map-keys") or []
    for candidate in olds:
        if isinstance(candidate, dict) and all(candidate.get(k) == item.get(k) for k in keys):
            return candidate
    return None


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_rules(walk: _Walk, schema: Schema, rules: list[Any], obj: Any, old: Any,
                 path: str, root: bool) -> None:
    value_type = go_quote(str(schema.get("type") or ""))
    here = path or ROOT
    self_value = _to_cel(_root_view(obj) if root else obj, schema)
    old_value = None if old is None else _to_cel(_root_view(old) if root else old, schema)
    for raw in rules:
        if not isinstance(raw, dict) or not str(raw.get("rule") or "").strip():
            continue
        rule = str(raw["rule"])
        shown = _rule_string(raw)
        try:
            program, uses_old = _program(rule)
        except RuleError as exc:
            walk.result.errors.append((here, f"Invalid value: {value_type}: rule compile "
                                       f"error: {exc}"))
            continue
        optional = raw.get("optionalOldSelf") is True
        if uses_old and old is None and not optional:
            continue  # a transition rule: only when there is something to compare with
        if not walk.spend():
            walk.result.errors.append((here, f"Invalid value: {value_type}: {OUT_OF_BUDGET}"))
            return
        activation = {"self": self_value}
        if optional:
            activation["oldSelf"] = _optional(old_value, old is not None)
        elif old_value is not None:
            activation["oldSelf"] = old_value
        outcome = _evaluate(program, activation)
        if isinstance(outcome, Exception):
            walk.result.errors.append((here, f"Invalid value: {value_type}: "
                                       f"{_eval_error(outcome, shown)}"))
            continue
        if outcome is True:
            continue
        where = _rule_path(path, str(raw.get("fieldPath") or ""), schema) or here
        detail = _message(raw, activation, walk) or _default_message(raw)
        cause = (where, _reason_message(str(raw.get("reason") or ""), value_type, detail))
        if not uses_old and old is not None and old == obj:
            walk.result.warnings.append(f"{cause[0]}: {cause[1]}")
        else:
            walk.result.errors.append(cause)


def _root_view(obj: Any) -> Any:
    """The resource's root as its rules see it: metadata cut to name and generateName."""
    if not isinstance(obj, dict):
        return obj
    out = dict(obj)
    md = obj.get("metadata")
    if isinstance(md, dict):
        out["metadata"] = {k: md[k] for k in ROOT_METADATA if k in md}
    return out


def _rule_string(raw: dict[str, Any]) -> str:
    """ruleErrorString: the rule's message when it has one, else the rule."""
    return str(raw.get("message") or "").strip() or str(raw["rule"]).strip()


def _default_message(raw: dict[str, Any]) -> str:
    message = str(raw.get("message") or "").strip()
    return message or f"failed rule: {_rule_string(raw)}"


def _reason_message(reason: str, value_type: str, detail: str) -> str:
    if reason == "FieldValueForbidden":
        return f"Forbidden: {detail}"
    if reason == "FieldValueRequired":
        return f"Required value: {detail}"
    if reason == "FieldValueDuplicate":
        return f"Duplicate value: {value_type}"
    return f"Invalid value: {value_type}: {detail}"


def _message(raw: dict[str, Any], activation: dict[str, Any], walk: _Walk) -> str | None:
    """messageExpression's string; None when it has none or it fails (upstream then logs
    and falls back to the message)."""
    expression = str(raw.get("messageExpression") or "")
    if not expression.strip() or not walk.spend():
        return None
    try:
        program, _ = _program(expression)
    except RuleError:
        return None
    value = _evaluate(program, activation)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or "\n" in text or len(text) > MESSAGE_EXPRESSION_MAX:
        return None
    return text


def _rule_path(path: str, field_path: str, schema: Schema) -> str:
    """Where a rule's fieldPath (`.spec.x`, `['a.b']`) puts its error: named fields of the
    schema as children, additionalProperties' keys as subscripts. Empty when unusable."""
    names = _path_names(field_path)
    if not names:
        return ""
    out = path
    node: Any = schema
    for name in names:
        properties = node.get("properties") if isinstance(node, dict) else None
        if isinstance(properties, dict) and name in properties:
            out, node = _child(out, name), properties[name]
        elif isinstance(node, dict) and isinstance(node.get("additionalProperties"), dict):
            out, node = f"{out}[{name}]", node["additionalProperties"]
        else:
            return ""
    return out


_TOKEN = re.compile(r"\.([^.\[\]']+)|\['((?:[^'\\]|\\.)*)'\]")


def _path_names(field_path: str) -> list[str]:
    """The names of a fieldPath; empty when it does not parse."""
    names: list[str] = []
    position = 0
    while position < len(field_path):
        found = _TOKEN.match(field_path, position)
        if found is None:
            return []
        names.append(found.group(1) if found.group(1) is not None else
                      re.sub(r"\\(.)", r"\1", found.group(2)))
        position = found.end()
    return names


# -- CEL: compile, convert, evaluate -------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _environment() -> celpy.Environment:
    import celpy

    return celpy.Environment()


@functools.lru_cache(maxsize=1024)
def _program(text: str) -> tuple[celpy.Runner, bool]:
    """The compiled rule (cached by its text) and whether it names oldSelf."""
    from celpy.celparser import CELParseError

    if len(text) > RULE_MAX:
        raise RuleError(f"expression of {len(text)} characters, over {RULE_MAX}")
    try:
        ast = _environment().compile(text)
        uses_old = any(True for _ in ast.scan_values(
            lambda t: getattr(t, "type", None) == "IDENT" and str(t) == "oldSelf"))
        return _environment().program(ast, functions=_functions()), uses_old
    except CELParseError as exc:
        raise RuleError(_parse_error(exc, text)) from exc
    except RecursionError as exc:
        raise RuleError("expression nested too deeply") from exc


def _parse_error(exc: Exception, text: str) -> str:
    """cel-go's report of a syntax error (where; cel-python does not say what it
    expected)."""
    line, column = getattr(exc, "line", None) or 1, getattr(exc, "column", None) or 1
    return _cel_error(text, line, column, "Syntax error: unexpected input")


def _cel_error(text: str, line: int, column: int, what: str) -> str:
    """One of cel-go's compile errors: where, what, and the line with a caret under it."""
    lines = text.split("\n")
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    return f"ERROR: <input>:{line}:{column}: {what}\n | {shown}\n | {'.' * (column - 1)}^"


def _evaluate(program: celpy.Runner, activation: dict[str, Any]) -> Any:
    """The rule's value as Python data (a bool, a str...), or the evaluation's error."""
    from celpy import celtypes
    from celpy.evaluation import CELEvalError

    try:
        value = program.evaluate(activation)
    except CELEvalError as exc:
        return exc
    except (TypeError, ValueError, KeyError, ZeroDivisionError, OverflowError,
            IndexError, RecursionError) as exc:
        return exc
    if isinstance(value, CELEvalError):
        return value
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    return str(value) if isinstance(value, str) else value


def _eval_error(exc: Exception, shown: str) -> str:
    """Upstream's wording for a rule that fails to evaluate (cel-go's error names)."""
    cause = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], type) else type(exc)
    text = str(exc.args[0]) if exc.args else str(exc)
    if issubclass(cause, KeyError):
        key = re.search(r"'([^']*)'", text)
        return f"no such key: {key.group(1) if key else text} evaluating rule: {shown}"
    if issubclass(cause, ZeroDivisionError):
        word = "modulus" if "modulus" in text and "divide" not in text else "division"
        return f"{word} by zero evaluating rule: {shown}"
    if issubclass(cause, TypeError) and "overload" in text:
        return ("'no such overload': call arguments did not match a supported operator, "
                f"function or macro signature for rule: {shown}")
    if issubclass(cause, IndexError):
        return f"index out of range evaluating rule: {shown}"
    return f"{text} evaluating rule: {shown}"


def _to_cel(value: Any, schema: Any) -> Any:
    """The value as CEL sees it through its schema: a number field's integers are doubles,
    date-time and date strings timestamps, duration strings durations, byte strings bytes."""
    return _converter()(value, schema)


@functools.lru_cache(maxsize=1)
def _converter() -> Callable[[Any, Any], Any]:
    """_to_cel, with cel-python's types bound once. It builds them past their checking
    constructors (a tenth of their time): JSON holds only these types, and an int beyond
    int64 still goes through IntType's overflow check."""
    from celpy import celtypes

    def convert(value: Any, schema: Any) -> Any:
        schema = schema if isinstance(schema, dict) else {}
        if value is None:
            return None
        if isinstance(value, bool):
            return celtypes.BoolType(value)
        if isinstance(value, int):
            if schema.get("type") == "number":
                return float.__new__(celtypes.DoubleType, value)
            if INT64[0] <= value <= INT64[1]:
                return int.__new__(celtypes.IntType, value)
            return celtypes.IntType(value)
        if isinstance(value, float):
            return float.__new__(celtypes.DoubleType, value)
        if isinstance(value, str):
            return _string(value, str(schema.get("format") or ""))
        if isinstance(value, list):
            items = schema.get("items")
            out_list = celtypes.ListType()
            list.extend(out_list, (convert(v, items) for v in value))
            return out_list
        if isinstance(value, dict):
            properties = schema.get("properties") or {}
            extra = schema.get("additionalProperties")
            out_map = celtypes.MapType()
            dict.update(out_map, ((str.__new__(celtypes.StringType, k),
                                   convert(v, properties.get(k, extra)))
                                  for k, v in value.items()))
            return out_map
        return value

    return convert


def _string(value: str, fmt: str) -> Any:
    from celpy import celtypes

    if not fmt:
        return str.__new__(celtypes.StringType, value)
    try:
        if fmt == "date-time":
            return celtypes.TimestampType(
                datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC))
        if fmt == "date":
            return celtypes.TimestampType(datetime.strptime(value, "%Y-%m-%d")
                                          .replace(tzinfo=UTC))
        if fmt == "duration":
            return celtypes.DurationType(value)
        if fmt == "byte":
            return celtypes.BytesType(base64.b64decode(value, validate=True))
    except (ValueError, TypeError):
        pass  # the schema's format check reports it; the rule sees the string
    return str.__new__(celtypes.StringType, value)


# -- the Kubernetes CEL libraries cel-python lacks (strings, lists, regex) -----------------

@functools.lru_cache(maxsize=1)
def _functions() -> dict[str, Callable[..., Any]]:
    from podctl.api import celext

    return celext.FUNCTIONS


def _optional(value: Any, present: bool) -> Any:
    from podctl.api.celext import Optional

    return Optional(value, present)


# -- a CRD's rules, as its create checks them -----------------------------------------------

def rule_problems(schema: Any, path: str, root: bool = True) -> list[Cause]:
    """Every rule of the schema (at `path`, e.g. `spec.versions[0].schema.openAPIV3Schema`,
    its resource's root) compiles, names only fields the schema has, and so does its
    messageExpression; reasons and field paths are valid."""
    out: list[Cause] = []
    if not isinstance(schema, dict):
        return out
    for index, raw in enumerate(schema.get("x-kubernetes-validations") or []):
        here = f"{path}.x-kubernetes-validations[{index}]"
        if not isinstance(raw, dict):
            continue
        out += _one_rule_problems(raw, schema, here, root)
    for name, sub in dict(schema.get("properties") or {}).items():
        out += rule_problems(sub, f"{path}.properties[{name}]", False)
    out += rule_problems(schema.get("items"), f"{path}.items", False)
    out += rule_problems(schema.get("additionalProperties"), f"{path}.additionalProperties",
                         False)
    for index, sub in enumerate(schema.get("allOf") or []):
        out += rule_problems(sub, f"{path}.allOf[{index}]", root)
    return out


def _one_rule_problems(raw: dict[str, Any], schema: Schema, here: str,
                       root: bool) -> list[Cause]:
    out: list[Cause] = []
    rule = str(raw.get("rule") or "")
    shown = go_rule(raw)
    if not rule.strip():
        out.append((f"{here}.rule", "Required value"))
    else:
        detail = _compile_problem(rule, schema, root)
        if detail:
            out.append((f"{here}.rule", f"Invalid value: {shown}: compilation failed: "
                        f"{detail}"))
    expression = str(raw.get("messageExpression") or "")
    if expression:
        detail = _compile_problem(expression, schema, root)
        if detail:
            out.append((f"{here}.messageExpression", f"Invalid value: {shown}: "
                        f"messageExpression compilation failed: {detail}"))
    message = raw.get("message")
    if isinstance(message, str) and message and not message.strip():
        out.append((f"{here}.message", f"Invalid value: {go_quote(message)}: message must "
                    "be non-empty if specified"))
    reason = raw.get("reason")
    if reason is not None and reason not in REASONS:
        allowed = ", ".join(go_quote(r) for r in REASONS)
        out.append((f"{here}.reason", f"Unsupported value: {go_quote(str(reason))}: "
                    f"supported values: {allowed}"))
    field_path = str(raw.get("fieldPath") or "")
    if field_path and not _rule_path("x", field_path, schema):
        out.append((f"{here}.fieldPath", f"Invalid value: {go_quote(field_path)}: fieldPath "
                    "must be a valid path"))
    return out


def go_rule(raw: dict[str, Any]) -> str:
    """A rule as the API server prints the value of its errors (Go's %#v of the struct)."""
    def pointer(key: str, go_type: str) -> str:
        return f"(*{go_type})(nil)" if raw.get(key) is None else f"(*{go_type})(0xc000010000)"

    return ("apiextensions.ValidationRule{"
            f"Rule:{go_quote(str(raw.get('rule') or ''))}, "
            f"Message:{go_quote(str(raw.get('message') or ''))}, "
            f"MessageExpression:{go_quote(str(raw.get('messageExpression') or ''))}, "
            f"Reason:{pointer('reason', 'apiextensions.FieldValueErrorReason')}, "
            f"FieldPath:{go_quote(str(raw.get('fieldPath') or ''))}, "
            f"OptionalOldSelf:{pointer('optionalOldSelf', 'bool')}}}")


def _compile_problem(text: str, schema: Schema, root: bool) -> str:
    """cel-go's compile errors for an expression on this schema node ('' when none)."""
    try:
        _program(text)
    except RuleError as exc:
        return str(exc)
    try:
        return "\n".join(_undefined_fields(text, schema, root))
    except RecursionError:
        return "expression nested too deeply"


def _undefined_fields(text: str, schema: Schema, root: bool) -> list[str]:
    """Selections of self or oldSelf naming a field their schema does not have (cel-go's
    type check; variables of macros are not followed)."""
    tree = _environment().compile(text)
    nodes: list[Any] = list(tree.iter_subtrees())
    has_at: dict[int, tuple[int, int]] = {}  # has() is reported at its parenthesis, as cel-go
    for node in nodes:
        if node.data == "ident_arg" and str(node.children[0]) == "has":
            word: Any = node.children[0]
            for inner in node.children[1].iter_subtrees():
                if inner.data == "member_dot":
                    has_at[id(inner)] = (word.line, word.column + 3)
    found: list[tuple[int, int, str]] = []
    for node in nodes:
        chain = _selection(node) if node.data == "member_dot" else None
        missing = _missing(chain, schema, root) if chain else None
        # Reported once, where the selection that names the missing field ends.
        if chain is None or missing != len(chain) - 1:
            continue
        name: Any = chain[missing]
        line, column = has_at.get(id(node), (name.line, name.column - 1))
        found.append((line, column, str(name)))
    return [_cel_error(text, line, column, f"undefined field '{name}'")
            for line, column, name in sorted(found)]


def _selection(node: Any) -> list[Any] | None:
    """The names of a field selection rooted at self or oldSelf (`self.a.b` -> [a, b])."""
    names = []
    while getattr(node, "data", None) == "member_dot":
        names.append(node.children[1])
        node = node.children[0]
        if getattr(node, "data", None) == "member" and len(node.children) == 1:
            node = node.children[0]
    if getattr(node, "data", None) != "primary" or len(node.children) != 1:
        return None
    ident = node.children[0]
    if getattr(ident, "data", None) != "ident" or str(ident.children[0]) not in (
            "self", "oldSelf"):
        return None
    return list(reversed(names))


def _missing(chain: list[Any], schema: Schema, root: bool) -> int | None:
    """The index of the first name the schema does not have, None when all are there or
    the schema stops saying (unknown fields kept, a map's keys, a non-object)."""
    node: Any = schema
    for index, token in enumerate(chain):
        name = str(token)
        if not isinstance(node, dict) or node.get("x-kubernetes-preserve-unknown-fields") \
                or node.get("x-kubernetes-int-or-string"):
            return None
        properties = node.get("properties")
        if root and index == 0 and name in ("apiVersion", "kind", "metadata") and \
                not (isinstance(properties, dict) and name in properties):
            if name != "metadata":
                return None
            node = {"type": "object", "properties": {k: {"type": "string"}
                                                     for k in ROOT_METADATA}}
            continue
        if isinstance(properties, dict) and name in properties:
            node = properties[name]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif node.get("type") in (None, "object") and not node.get("additionalProperties"):
            return index
        else:
            return None
    return None
