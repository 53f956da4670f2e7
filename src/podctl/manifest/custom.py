"""A custom resource checked as the apiextensions API server checks it: its version served,
unknown fields pruned (refused under Strict), `default`s applied, its structural schema
and metadata validated; stored at its definition's storage version."""

from __future__ import annotations

import copy
import re
from typing import Any

from podctl.api import crd, crschema, meta
from podctl.manifest import names
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, validate_metadata
from podctl.manifest.schema import FieldError

STRICT, WARN = "Strict", "Warn"
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(path: str) -> FieldPath:
    """`spec.items[0].name` -> ("spec", "items", 0, "name")."""
    return tuple(int(i) if i else name for name, i in _STEP.findall(path))


def unknown_field_errors(dropped: list[str]) -> list[str]:
    return [f'unknown field "{path}"' for path in dropped]


def check(obj: dict[str, Any], key: str, namespace_default: str,
          validation: str) -> tuple[dict[str, Any] | None, Errors, list[str]]:
    """(the object to store, or None; its field errors; its warnings)."""
    resource = meta.RESOURCES[key]
    definition = crd.DEFINITIONS.get(key)
    version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    if definition is None or version not in resource.versions:
        return None, [FieldError(("apiVersion",), f'no matches for kind "{resource.kind}" in '
                                 f'version "{obj.get("apiVersion")}"')], []
    out = copy.deepcopy(obj)
    schema = crd.schema_of(definition, version) or {"type": "object",
                                                    "x-kubernetes-preserve-unknown-fields": True}
    dropped = crschema.prune(out, schema)
    if dropped and validation == STRICT:
        return None, [FieldError(field_path(p), f'unknown field "{p}"', True)
                      for p in dropped], []
    warnings = unknown_field_errors(dropped) if validation == WARN else []
    crschema.apply_defaults(out, schema)
    errs: Errors = []
    validate_metadata(errs, out.get("metadata"), resource.namespaced, names.dns1123_subdomain)
    errs += [FieldError(field_path(path), f"{path}: {message}")
             for path, message in crschema.validate(out, schema)]
    if errs:
        return None, errs, warnings
    out["apiVersion"] = f"{resource.group}/{crd.storage_version(definition)}"
    md = out.setdefault("metadata", {})
    if resource.namespaced:
        md.setdefault("namespace", namespace_default)
    return out, [], warnings


def is_custom(obj: dict[str, Any]) -> str | None:
    """The store key of a custom resource's kind, if the object is one."""
    key = meta.key_of(obj)
    resource = meta.RESOURCES.get(key)
    return key if resource is not None and resource.custom else None



def rule_errors(obj: dict[str, Any], old: dict[str, Any] | None,
                api_version: str) -> list[tuple[str, str]]:
    """The x-kubernetes-validations (CEL) errors of a custom resource, as written at
    `api_version` (its rules are that version's), on a create (old None) or an update; the
    rules see the object at that version, as the request's."""
    from podctl.api import cel  # only where custom kinds are written

    key = is_custom(obj)
    definition = crd.DEFINITIONS.get(key) if key is not None else None
    version = api_version.rpartition("/")[2]
    schema = crd.schema_of(definition, version) if definition is not None else None
    if schema is None or not cel.has_rules(schema):
        return []
    seen = {**obj, "apiVersion": api_version}
    before = None if old is None else {**old, "apiVersion": api_version}
    return cel.validate(schema, seen, before).errors
