"""CustomResourceDefinitions (apiextensions.k8s.io/v1), pure: what a definition serves, its
versions, schemas, printer columns and subresources, its own validation as upstream's
(names, scope, versions with one storage version, structural schemas) and its status."""

from __future__ import annotations

import re
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj, Resource

KIND = "CustomResourceDefinition"  # a built-in kind: its store key is its name
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
Cause = tuple[str, str]

_VERSION = re.compile(r"v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key, most preferred first: GA by number, then beta, then alpha, then the
    others alphabetically (upstream's kube-aware version order)."""
    found = _VERSION.fullmatch(version)
    if found is None:
        return (3, 0, 0, version)
    major, stage, minor = found.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def spec_of(crd: Obj) -> Obj:
    spec = crd.get("spec")
    return spec if isinstance(spec, dict) else {}


def versions(crd: Obj) -> list[Obj]:
    found = spec_of(crd).get("versions")
    return [v for v in found if isinstance(v, dict)] if isinstance(found, list) else []


def served_versions(crd: Obj) -> list[str]:
    """The served versions, most preferred first."""
    return sorted((str(v.get("name")) for v in versions(crd) if v.get("served")),
                  key=version_priority)


def storage_version(crd: Obj) -> str:
    return next((str(v.get("name")) for v in versions(crd) if v.get("storage")), "")


def with_defaults(crd: Obj) -> Obj:
    """A copy with upstream's defaults: singular and listKind from the kind, conversion
    None."""
    out: Obj = meta.clone(crd)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str) and names["kind"]:
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})
    return out


def version_of(crd: Obj, version: str) -> Obj:
    return next((v for v in versions(crd) if v.get("name") == version), {})


def schema_of(crd: Obj, version: str) -> Obj | None:
    schema = (version_of(crd, version).get("schema") or {}).get("openAPIV3Schema")
    return schema if isinstance(schema, dict) else None


def subresources_of(crd: Obj, version: str) -> Obj:
    subs = version_of(crd, version).get("subresources")
    return subs if isinstance(subs, dict) else {}


AGE_COLUMN: Obj = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def printer_columns(crd: Obj, version: str) -> list[Obj]:
    """A version's additionalPrinterColumns; Age alone when it declares none, as upstream
    serves them."""
    columns = version_of(crd, version).get("additionalPrinterColumns")
    return [c for c in columns if isinstance(c, dict)] if columns else [AGE_COLUMN]


def condition(crd: Obj, kind: str) -> Obj | None:
    for cond in (crd.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def established(crd: Obj) -> bool:
    cond = condition(crd, "Established")
    return cond is not None and cond.get("status") == "True"


# store key -> the Established definition serving that kind (register keeps it).
DEFINITIONS: dict[str, Obj] = {}


def register(definitions: list[Obj]) -> None:
    """Serve the kinds of the Established definitions among `definitions`, and no others."""
    served: dict[str, tuple[Resource, Obj]] = {}
    for definition in definitions:
        resource = resource_of(definition)
        if resource is not None:
            served[resource.key] = (resource, definition)
    meta.register_custom([r for r, _ in served.values()])
    for key in [k for k in DEFINITIONS if k not in served]:
        DEFINITIONS.pop(key, None)
    DEFINITIONS.update((k, d) for k, (_, d) in served.items())


def resource_of(crd: Obj) -> Resource | None:
    """The kind an Established definition serves, as the resource table holds it."""
    if not established(crd):
        return None
    spec = spec_of(crd)
    names = (crd.get("status") or {}).get("acceptedNames") or spec.get("names") or {}
    served = served_versions(crd)
    if not served or not names.get("kind") or not names.get("plural"):
        return None
    subs = subresources_of(crd, storage_version(crd))
    verbs = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
    return Resource(
        str(names["plural"]), str(names.get("singular") or str(names["kind"]).lower()),
        tuple(names.get("shortNames") or ()), str(names["kind"]),
        spec.get("scope") == "Namespaced", api_version=f"{spec.get('group')}/{served[0]}",
        verbs=verbs, categories=tuple(names.get("categories") or ()),
        status="status" in subs, scalable="scale" in subs, custom=True,
        versions=tuple(served))


def initial_status(crd: Obj, now: str) -> Obj:
    """What the API server's naming and establishing controllers write at once: the names
    accepted, the kind Established (podctl serves it from the moment it is stored)."""
    names = dict(spec_of(crd).get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind')}List")
    return {
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now,
             "reason": "InitialNamesAccepted", "message": "the initial names have been "
             "accepted"}],
        "acceptedNames": names,
        "storedVersions": [storage_version(crd)]}


def updated_status(crd: Obj) -> Obj:
    """After a spec change: the names accepted anew, the storage version recorded."""
    status = dict(crd.get("status") or {})
    fresh = initial_status(crd, "")
    status["acceptedNames"] = fresh["acceptedNames"]
    stored = list(status.get("storedVersions") or [])
    if storage_version(crd) and storage_version(crd) not in stored:
        stored.append(storage_version(crd))
    status["storedVersions"] = stored
    return status


def terminating_status(crd: Obj, now: str, message: str) -> Obj:
    status = dict(crd.get("status") or {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Terminating"]
    conditions.append({"type": "Terminating", "status": "True", "lastTransitionTime": now,
                       "reason": "InstanceDeletionInProgress", "message": message})
    status["conditions"] = conditions
    return status


def accepted_status(crd: Obj, others: list[Obj], now: str) -> Obj:
    """The status a new definition gets from the naming controller: its names accepted
    and the kind Established, unless another definition of the group took one of them."""
    status = initial_status(crd, now)
    conflict = name_conflict(crd, others)
    if conflict is None:
        return status
    reason, message = conflict
    status["conditions"] = [
        {"type": "NamesAccepted", "status": "False", "lastTransitionTime": now,
         "reason": reason, "message": message},
        {"type": "Established", "status": "False", "lastTransitionTime": now,
         "reason": "NotAccepted", "message": "not all names are accepted"}]
    status["acceptedNames"] = {}
    return status


def name_conflict(crd: Obj, others: list[Obj]) -> tuple[str, str] | None:
    """(reason, message) when a name is taken by another definition of the group."""
    spec = spec_of(crd)
    names = spec.get("names") or {}
    for other in others:
        if meta.name_of(other) == meta.name_of(crd) or \
                spec_of(other).get("group") != spec.get("group"):
            continue
        taken = (other.get("status") or {}).get("acceptedNames") or {}
        words = {taken.get("plural"), taken.get("singular"), *(taken.get("shortNames") or [])}
        if names.get("kind") and names.get("kind") == taken.get("kind"):
            return "KindConflict", f'"{names["kind"]}" is already in use'
        if names.get("singular") in words:
            return "SingularConflict", f'"{names["singular"]}" is already in use'
        for short in names.get("shortNames") or []:
            if short in words:
                return "ShortNamesConflict", f'"{short}" is already in use'
    return None


def validate(crd: Obj) -> list[Cause]:
    """Upstream's ValidateCustomResourceDefinition, the rules a user meets first."""
    spec = spec_of(crd)
    out: list[Cause] = []
    group = str(spec.get("group") or "")
    names: Obj = spec["names"] if isinstance(spec.get("names"), dict) else {}
    plural = str(names.get("plural") or "")
    name = meta.name_of(crd)
    if name != f"{plural}.{group}":
        out.append(("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+'
                    f'"."+spec.group'))
    if not group:
        out.append(("spec.group", "Required value"))
    elif not _DNS_SUBDOMAIN.fullmatch(group) or len(group) > 253:
        out.append(("spec.group", f'Invalid value: "{group}": a lowercase RFC 1123 '
                    "subdomain must consist of lower case alphanumeric characters, '-' or "
                    "'.', and must start and end with an alphanumeric character (e.g. "
                    "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9]"
                    ")?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
    elif len(group.split(".")) < 2:
        out.append(("spec.group", f'Invalid value: "{group}": should be a domain with at '
                    "least one dot"))
    scope = spec.get("scope")
    if not scope:
        out.append(("spec.scope", "Required value"))
    elif scope not in ("Cluster", "Namespaced"):
        out.append(("spec.scope", f'Unsupported value: "{scope}": supported values: '
                    '"Cluster", "Namespaced"'))
    out += _validate_names(names)
    out += _validate_versions(spec)
    return out


def _validate_names(names: Obj) -> list[Cause]:
    out: list[Cause] = []
    for field in ("plural", "singular"):
        value = names.get(field)
        if field == "plural" and not value:
            out.append(("spec.names.plural", "Required value"))
        elif value and not _DNS_LABEL.fullmatch(str(value)):
            out.append((f"spec.names.{field}", f'Invalid value: "{value}": a lowercase RFC '
                        "1123 label must consist of lower case alphanumeric characters or "
                        "'-', and must start and end with an alphanumeric character (e.g. "
                        "'my-name',  or '123-abc', regex used for validation is "
                        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"))
    for field in ("kind", "listKind"):
        value = names.get(field)
        if field == "kind" and not value:
            out.append(("spec.names.kind", "Required value"))
        elif value and not _KIND.fullmatch(str(value)):
            out.append((f"spec.names.{field}", f'Invalid value: "{value}": may have mixed '
                        "case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?"))
    for i, short in enumerate(names.get("shortNames") or []):
        if not _DNS_LABEL.fullmatch(str(short)):
            out.append((f"spec.names.shortNames[{i}]", f'Invalid value: "{short}": a '
                        "lowercase RFC 1123 label must consist of lower case alphanumeric "
                        "characters or '-', and must start and end with an alphanumeric "
                        "character (e.g. 'my-name',  or '123-abc', regex used for validation "
                        "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"))
    return out


def _validate_versions(spec: Obj) -> list[Cause]:
    out: list[Cause] = []
    found = spec.get("versions")
    if not isinstance(found, list) or not found:
        return [("spec.versions", "Invalid value: null: must have exactly one version "
                 "marked as storage version")]
    seen: set[str] = set()
    for i, version in enumerate(found):
        if not isinstance(version, dict):
            continue
        name = str(version.get("name") or "")
        if not name:
            out.append((f"spec.versions[{i}].name", "Required value"))
        elif not _DNS_LABEL.fullmatch(name):
            out.append((f"spec.versions[{i}].name", f'Invalid value: "{name}": a DNS-1035 '
                        "label must consist of lower case alphanumeric characters or '-', "
                        "start with an alphabetic character, and end with an alphanumeric "
                        "character (e.g. 'my-name',  or 'abc-123', regex used for validation "
                        "is '[a-z]([-a-z0-9]*[a-z0-9])?')"))
        if name in seen:
            out.append((f"spec.versions[{i}].name", f'Duplicate value: "{name}"'))
        seen.add(name)
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        path = f"spec.versions[{i}].schema.openAPIV3Schema"
        if schema is None:
            out.append((path, "Required value: schemas are required"))
        else:
            out += structural_problems(schema, path, root=True)
            # Loaded here: every command opens the store, which imports this module.
            from podctl.api import cel

            if cel.has_rules(schema):
                out += cel.rule_problems(schema, path)
    storage = sum(1 for v in found if isinstance(v, dict) and v.get("storage"))
    if storage != 1:
        listing = ", ".join(f"{'true' if isinstance(v, dict) and v.get('storage') else 'false'}"
                            for v in found)
        out.append(("spec.versions", f"Invalid value: []apiextensions.CustomResourceDefinition"
                    f"Version{{{listing}}}: must have exactly one version marked as storage "
                    "version"))
    if not any(isinstance(v, dict) and v.get("served") for v in found):
        out.append(("spec.versions", "Invalid value: []apiextensions.CustomResourceDefinition"
                    "Version{...}: must serve at least one version"))
    return out


_TYPES = ("object", "array", "string", "integer", "number", "boolean")


MAX_SCHEMA_DEPTH = 64  # deeper than any real schema; a hostile one stops here


def structural_problems(schema: Any, path: str, root: bool = False,
                        depth: int = 0) -> list[Cause]:
    """The structural schema rules that matter most: every node typed (unless it keeps
    unknown fields or is int-or-string), arrays with items, no $ref."""
    if depth > MAX_SCHEMA_DEPTH:
        return [(path, f"Forbidden: must not be nested more than {MAX_SCHEMA_DEPTH} levels")]
    if not isinstance(schema, dict):
        return [(path, "Invalid value: must be an object")]
    out: list[Cause] = []
    kind = schema.get("type")
    if "$ref" in schema:
        out.append((f"{path}.$ref", "Forbidden: $ref is not supported"))
    if root and kind != "object":
        out.append((f"{path}.type", 'Unsupported value: "' + str(kind or "") +
                    '": supported values: "object"'))
    elif kind is None and not schema.get("x-kubernetes-int-or-string") and \
            not schema.get("x-kubernetes-preserve-unknown-fields") and \
            not _only_logic(schema):
        out.append((f"{path}.type", "Required value: must not be empty for specified object "
                    "fields"))
    elif kind is not None and kind not in _TYPES:
        out.append((f"{path}.type", f'Unsupported value: "{kind}": supported values: '
                    + ", ".join(f'"{t}"' for t in _TYPES)))
    out += _keyword_problems(schema, path)
    for word in ("allOf", "anyOf", "oneOf"):
        subs = schema.get(word)
        for i, sub in enumerate(subs if isinstance(subs, list) else []):
            out += _keyword_problems(sub, f"{path}.{word}[{i}]") if isinstance(sub, dict) \
                else [(f"{path}.{word}[{i}]", "Invalid value: must be a map")]
    if kind == "array" and not isinstance(schema.get("items"), dict):
        out.append((f"{path}.items", "Required value: must be specified"))
    props = schema.get("properties")
    for name, sub in (props.items() if isinstance(props, dict) else ()):
        out += structural_problems(sub, f"{path}.properties[{name}]", depth=depth + 1)
    if isinstance(schema.get("items"), dict):
        out += structural_problems(schema["items"], f"{path}.items", depth=depth + 1)
    if isinstance(schema.get("additionalProperties"), dict):
        out += structural_problems(schema["additionalProperties"],
                                   f"{path}.additionalProperties", depth=depth + 1)
    return out


_NUMBER_WORDS = ("maximum", "minimum", "multipleOf")
_COUNT_WORDS = ("maxLength", "minLength", "maxItems", "minItems", "maxProperties",
                "minProperties")


def _keyword_problems(schema: Obj, path: str) -> list[Cause]:
    """Keywords of the wrong JSON type: refused here, so validating an object never meets
    them (upstream's decoder refuses them into its Go types)."""
    out: list[Cause] = []
    for word in _NUMBER_WORDS:
        value = schema.get(word)
        if word in schema and (isinstance(value, bool) or not isinstance(value, int | float)):
            out.append((f"{path}.{word}", "Invalid value: must be a number"))
    for word in _COUNT_WORDS:
        value = schema.get(word)
        if word in schema and (isinstance(value, bool) or not isinstance(value, int)
                               or value < 0):
            out.append((f"{path}.{word}", "Invalid value: must be a non-negative integer"))
    for word, kind in (("properties", dict), ("required", list), ("enum", list),
                       ("allOf", list), ("pattern", str)):
        if word in schema and not isinstance(schema[word], kind):
            out.append((f"{path}.{word}", f"Invalid value: must be a "
                        f"{'map' if kind is dict else 'list' if kind is list else 'string'}"))
    if isinstance(schema.get("required"), list) and \
            not all(isinstance(r, str) for r in schema["required"]):
        out.append((f"{path}.required", "Invalid value: must be a list of strings"))
    if isinstance(schema.get("pattern"), str):
        from podctl.api.crschema import pattern_error

        error = pattern_error(schema["pattern"])
        if error is not None:
            out.append((f"{path}.pattern", f'Invalid value: "{schema["pattern"]}": must be a '
                        f"valid regular expression, but isn't: error parsing regexp: "
                        f"{error}"))
    return out


def _only_logic(schema: Obj) -> bool:
    """A node inside allOf/anyOf/oneOf/not carries no type of its own."""
    return not schema.get("properties") and not schema.get("items") and \
        any(k in schema for k in ("allOf", "anyOf", "oneOf", "not"))


# -- the scale subresource ----------------------------------------------------------------

def _steps(path: str) -> list[str]:
    """A scale path (`.spec.replicas`): upstream allows only such simple paths."""
    return [step for step in path.split(".") if step]


def path_value(obj: Obj, path: str) -> Any:
    value: Any = obj
    for step in _steps(path):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def set_path(obj: Obj, path: str, value: Any) -> None:
    steps = _steps(path)
    target = obj
    for step in steps[:-1]:
        nxt = target.get(step)
        if not isinstance(nxt, dict):
            nxt = target[step] = {}
        target = nxt
    target[steps[-1]] = value


def scale_spec(definition: Obj) -> Obj:
    found = subresources_of(definition, storage_version(definition)).get("scale")
    return found if isinstance(found, dict) else {}


def spec_replicas_path(definition: Obj) -> str:
    return str(scale_spec(definition).get("specReplicasPath") or ".spec.replicas")


def scale_of(definition: Obj, obj: Obj) -> Obj:
    """The autoscaling/v1 Scale of a custom resource, read along its definition's paths."""
    spec = scale_spec(definition)
    md = obj["metadata"]
    wanted = path_value(obj, spec_replicas_path(definition))
    have = path_value(obj, str(spec.get("statusReplicasPath") or ".status.replicas"))
    status: Obj = {"replicas": int(have) if isinstance(have, int | float) else 0}
    if spec.get("labelSelectorPath"):
        selector = path_value(obj, str(spec["labelSelectorPath"]))
        if isinstance(selector, str):
            status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                            "creationTimestamp") if k in md},
            "spec": {"replicas": int(wanted) if isinstance(wanted, int | float) else 0},
            "status": status}
