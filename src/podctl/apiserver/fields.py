"""Field selectors (`metadata.name=x,status.phase!=Running`) as the API server reads them:
parsed by apimachinery's rules, then each label converted by its kind's field label
conversion (only the labels a kind supports; the others are a 400 in upstream's words) and
matched against the value upstream's selectable-fields set gives the object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podctl.api.labels import go_quote
from podctl.api.meta import Obj


class FieldSelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    field: str
    value: str
    equal: bool

    def matches(self, obj: Obj) -> bool:
        return (field_value(obj, self.field) == self.value) == self.equal


_META = ("metadata.name", "metadata.namespace")
# Labels each kind's conversion accepts beyond none (kinds absent: the default conversion,
# metadata.name and metadata.namespace only), and how it words a refusal.
_SUPPORTED: dict[str, tuple[str, ...]] = {
    "Pod": (*_META, "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
            "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
            "status.podIPs", "status.nominatedNodeName"),
    "Node": ("metadata.name", "spec.unschedulable"),
    "ReplicationController": (*_META, "status.replicas"),
    "Event": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion",
              "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
              "reportingComponent", "source", "type", *_META),
    "Namespace": ("status.phase", "metadata.name"),
    "Secret": ("type", *_META),
    "Service": (*_META, "spec.clusterIP", "spec.type"),
    "Job": (*_META, "status.successful"),
}
# Old v1 clients send spec.host for a pod's node.
_RENAMED = {("Pod", "spec.host"): "spec.nodeName"}


def _refusal(kind: str, label: str) -> str:
    if kind == "Job":
        return f"field label {go_quote(label)} not supported for batchv1.Job"
    if kind in _SUPPORTED:
        return f"field label not supported: {label}"
    known = ", ".join(f'"{f}"' for f in (*_META, *_selectable(kind)))
    return f"{go_quote(label)} is not a known field selector: only {known}"


def convert_label(kind: str, label: str) -> str:
    """The label as the kind's field label conversion gives it back, or the refusal."""
    renamed = _RENAMED.get((kind, label))
    if renamed is not None:
        return renamed
    if label in _SUPPORTED.get(kind, _META) or label in _selectable(kind):
        return label
    raise FieldSelectorError(_refusal(kind, label))


def _selectable(kind: str) -> tuple[str, ...]:
    """A custom kind's selectableFields (its served version's), as field labels."""
    from podctl.api import crd, meta

    definition = crd.DEFINITIONS.get(kind)
    if definition is None:
        return ()
    fields = crd.version_of(definition, meta.RESOURCES[kind].versions[0]).get(
        "selectableFields") or []
    return tuple(str(f.get("jsonPath", "")).lstrip(".") for f in fields if isinstance(f, dict))


def parse_field_selector(text: str | None, kind: str | None = None) -> list[Requirement]:
    """`a=b`, `a==b` and `a!=b`, comma separated; `\\,` `\\=` `\\\\` escape in values. With
    a kind, every label must be one it supports."""
    if not text:
        return []
    out = []
    for term in sorted(_split_terms(text)):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise FieldSelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = split
        out.append(Requirement(field, _unescape(value), op != "!="))
    if kind is not None:
        out = [Requirement(convert_label(kind, r.field), r.value, r.equal) for r in out]
    return out


def matches(requirements: list[Requirement], obj: Obj) -> bool:
    return all(r.matches(obj) for r in requirements)


def _path(obj: Obj, path: str) -> Any:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pod_ips(obj: Obj) -> list[str]:
    status = obj.get("status")
    if not isinstance(status, dict):
        return []
    ips = [str(entry.get("ip")) for entry in status.get("podIPs") or []
           if isinstance(entry, dict) and entry.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return ips


def _event_source(obj: Obj) -> str:
    return _text(_path(obj, "source.component")) or _text(obj.get("reportingComponent"))


# Fields whose selectable value is not the plain value at their path.
_DERIVED: dict[str, Callable[[Obj], str]] = {
    "spec.hostNetwork": lambda o: _text(_path(o, "spec.hostNetwork"), "false"),
    "spec.unschedulable": lambda o: _text(_path(o, "spec.unschedulable"), "false"),
    "status.replicas": lambda o: _text(_path(o, "status.replicas"), "0"),
    "status.successful": lambda o: _text(_path(o, "status.succeeded"), "0"),
    "status.podIP": lambda o: (_pod_ips(o) or [""])[0],
    "status.podIPs": lambda o: ",".join(_pod_ips(o)),
    "source": _event_source,
}


def field_value(obj: Obj, path: str) -> str:
    """The string value a field label selects; "" when unset (as the selectable-fields set
    has it)."""
    derived = _DERIVED.get(path)
    if derived is not None:
        return derived(obj)
    return _text(_path(obj, path))


def _split_terms(text: str) -> list[str]:
    """Split on commas that no backslash escapes (the backslash stays for _unescape)."""
    terms, start, escaped = [], 0, False
    for index, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """(field, operator, raw value) at the first operator; fields take no escapes."""
    for index in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, index):
                return term[:index], op, term[index + len(op):]
    return None


def _unescape(value: str) -> str:
    if not any(ch in value for ch in "\\,="):
        return value
    out, escaped = [], False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise FieldSelectorError(
                    f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            # Go prints the rune as its number.
            raise FieldSelectorError(
                f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise FieldSelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)
