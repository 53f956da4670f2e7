"""The API server's rules for rbac.authorization.k8s.io/v1 (K pkg/apis/rbac/validation):
names are path segments (`system:basic-user` is a name), every rule has verbs and either
resources in API groups or non-resource URLs (cluster roles only); a binding's roleRef
names a Role or ClusterRole of this group and each subject is a User, Group or
ServiceAccount. Defaults: the roleRef's and subjects' apiGroup (v1's SetDefaults)."""

from __future__ import annotations

from typing import Any

from podctl.manifest import names
from podctl.manifest.apps_rules import _d, validate_label_selector
from podctl.manifest.fielderr import invalid, required, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, _l, validate_metadata

GROUP = "rbac.authorization.k8s.io"
ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
KINDS = (*ROLE_KINDS, *BINDING_KINDS)
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def path_segment_name(value: str) -> list[str]:
    """ValidatePathSegmentName (what RBAC names are)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def validate_role(obj: dict[str, Any]) -> Errors:
    return _validate_any_role(obj, namespaced=True)


def validate_cluster_role(obj: dict[str, Any]) -> Errors:
    errs = _validate_any_role(obj, namespaced=False)
    rule = obj.get("aggregationRule")
    if isinstance(rule, dict):
        path: FieldPath = ("aggregationRule", "clusterRoleSelectors")
        selectors = _l(rule.get("clusterRoleSelectors"))
        if not selectors:
            errs.append(required(path, "at least one clusterRoleSelector required if "
                                       "aggregationRule is non-nil"))
        for index, selector in enumerate(selectors):
            validate_label_selector(errs, _d(selector), (*path, index))
    return errs


def _validate_any_role(obj: dict[str, Any], namespaced: bool) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), namespaced, path_segment_name)
    for index, rule in enumerate(_l(obj.get("rules"))):
        validate_policy_rule(errs, _d(rule), namespaced, ("rules", index))
    return errs


def validate_policy_rule(errs: Errors, rule: dict[str, Any], namespaced: bool,
                         path: FieldPath) -> None:
    # A missing list is the schema's Required (manifest.schema); an empty one is ours.
    if "verbs" in rule and not _l(rule.get("verbs")):
        errs.append(required((*path, "verbs"), "verbs must contain at least one value"))
    urls = _l(rule.get("nonResourceURLs"))
    if urls:
        if namespaced:
            errs.append(invalid((*path, "nonResourceURLs"), urls,
                                "namespaced rules cannot apply to non-resource URLs"))
        if _l(rule.get("apiGroups")) or _l(rule.get("resources")) or \
                _l(rule.get("resourceNames")):
            errs.append(invalid((*path, "nonResourceURLs"), urls, "rules cannot apply to both "
                                "regular resources and non-resource URLs"))
        return
    if not _l(rule.get("apiGroups")):
        errs.append(required((*path, "apiGroups"),
                             "resource rules must supply at least one api group"))
    if not _l(rule.get("resources")):
        errs.append(required((*path, "resources"),
                             "resource rules must supply at least one resource"))


def validate_role_binding(obj: dict[str, Any]) -> Errors:
    return _validate_binding(obj, namespaced=True)


def validate_cluster_role_binding(obj: dict[str, Any]) -> Errors:
    return _validate_binding(obj, namespaced=False)


def _validate_binding(obj: dict[str, Any], namespaced: bool) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), namespaced, path_segment_name)
    ref = _d(obj.get("roleRef"))
    group = ref.get("apiGroup") or GROUP  # v1 defaults it
    if group != GROUP:
        errs.append(unsupported(("roleRef", "apiGroup"), group, [GROUP]))
    kinds = ROLE_KINDS if namespaced else ("ClusterRole",)
    if ref.get("kind") not in kinds:
        errs.append(unsupported(("roleRef", "kind"), ref.get("kind") or "", kinds))
    name = ref.get("name")
    if not name:
        errs.append(required(("roleRef", "name")))
    elif isinstance(name, str):
        errs.extend(invalid(("roleRef", "name"), name, m) for m in path_segment_name(name))
    for index, subject in enumerate(_l(obj.get("subjects"))):
        _validate_subject(errs, _d(subject), namespaced, ("subjects", index))
    return errs


def _validate_subject(errs: Errors, subject: dict[str, Any], namespaced: bool,
                      path: FieldPath) -> None:
    name, kind = subject.get("name"), subject.get("kind")
    group = subject_group(subject)
    if not name:
        errs.append(required((*path, "name")))
    if kind == "ServiceAccount":
        if isinstance(name, str) and name:
            errs.extend(invalid((*path, "name"), name, m) for m in names.dns1123_subdomain(name))
        if group:
            errs.append(unsupported((*path, "apiGroup"), group, [""]))
        if not namespaced and not subject.get("namespace"):
            errs.append(required((*path, "namespace")))
    elif kind in ("User", "Group"):
        if group != GROUP:
            errs.append(unsupported((*path, "apiGroup"), group, [GROUP]))
    else:
        errs.append(unsupported((*path, "kind"), kind or "", SUBJECT_KINDS))


def subject_group(subject: dict[str, Any]) -> str:
    """A subject's apiGroup as v1 defaults it."""
    group = subject.get("apiGroup")
    if group:
        return str(group)
    return GROUP if subject.get("kind") in ("User", "Group") else ""


def default_rbac(kind: str, out: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Namespaced kinds take the namespace; bindings' apiGroups are defaulted."""
    meta = out.setdefault("metadata", {})
    if kind in ("Role", "RoleBinding"):
        if not meta.get("namespace"):
            meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if kind in BINDING_KINDS:
        out.setdefault("roleRef", {})
        if not out["roleRef"].get("apiGroup"):
            out["roleRef"]["apiGroup"] = GROUP
        for subject in out.get("subjects") or []:
            if isinstance(subject, dict) and subject_group(subject):
                subject["apiGroup"] = subject_group(subject)
    return out


VALIDATORS = {"Role": validate_role, "ClusterRole": validate_cluster_role,
              "RoleBinding": validate_role_binding,
              "ClusterRoleBinding": validate_cluster_role_binding}
