"""Updates as the API server allows them: which parts of a stored object a new version may
change (pod specs hardly, selectors never), and when its generation moves. Shared by
`apply`/`edit` and the API server's PUT and PATCH."""

from __future__ import annotations

import copy
import json
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import Invalid
from podctl.manifest.config_rules import validate_update
from podctl.manifest.defaults import STORAGE_KINDS

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
POD_MUTABLE = ("`spec.containers[*].image`,`spec.initContainers[*].image`,"
               "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
               "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if "
               "it was previously negative)")

# What an update of an RBAC object takes (its metadata aside).
RBAC_FIELDS = {"Role": ("rules",), "ClusterRole": ("rules", "aggregationRule"),
               "RoleBinding": ("roleRef", "subjects"),
               "ClusterRoleBinding": ("roleRef", "subjects")}


def merged(existing: Obj, desired: Obj) -> Obj:
    """The existing object updated with the desired one's mutable parts.

    Raises Invalid for a pod spec change the API server forbids.
    """
    if existing["kind"] == "Job":
        desired = _job_with_uid(desired, meta.uid_of(existing))
    out = copy.deepcopy(existing)
    md, new_md = out["metadata"], desired["metadata"]
    for key in ("labels", "annotations"):
        if new_md.get(key):
            md[key] = dict(new_md[key])
        else:
            md.pop(key, None)
    kind = existing["kind"]
    if kind == "Pod":
        out["spec"] = _pod_spec_update(existing, desired)
    elif kind in ("ReplicationController", "ReplicaSet", "Deployment", "DaemonSet"):
        if kind != "ReplicationController" and desired["spec"].get("selector") != existing[
                "spec"].get("selector"):
            raise Invalid(f'The {kind} "{meta.name_of(existing)}" is invalid: '
                          f"spec.selector: Invalid value: "
                          f"{_selector_json(desired['spec'].get('selector'))}: "
                          "field is immutable")
        out["spec"] = copy.deepcopy(desired["spec"])
        if out["spec"] != existing["spec"]:
            md["generation"] = int(md.get("generation", 1)) + 1
    elif kind == "StatefulSet":
        out["spec"] = _stateful_set_spec(existing, desired)
        if out["spec"] != existing["spec"]:
            md["generation"] = int(md.get("generation", 1)) + 1
    elif kind in ("ConfigMap", "Secret"):
        _config_update(out, desired)
    elif kind in STORAGE_KINDS:
        _storage_update(out, desired)
    elif kind in RBAC_FIELDS:
        if kind.endswith("Binding") and desired.get("roleRef") != existing.get("roleRef"):
            ref = desired.get("roleRef") or {}
            raise Invalid(f'The {kind} "{meta.name_of(existing)}" is invalid: roleRef: '
                          f'Invalid value: rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", '
                          f'Kind:"{ref.get("kind", "")}", Name:"{ref.get("name", "")}"}}: '
                          "cannot change roleRef")
        for field in RBAC_FIELDS[kind]:
            if field in desired:
                out[field] = copy.deepcopy(desired[field])
            else:
                out.pop(field, None)
    elif kind in ("Job", "CronJob"):
        if kind == "Job" and desired["spec"].get("template") != existing["spec"].get("template"):
            raise Invalid(f'The Job "{meta.name_of(existing)}" is invalid: spec.template: '
                          "Invalid value: the pod template: field is immutable")
        out["spec"] = copy.deepcopy(desired["spec"])
        if out["spec"] != existing["spec"]:
            md["generation"] = int(md.get("generation", 1)) + 1
    return out


# What an update of a StatefulSet's spec may change (ValidateStatefulSetUpdate).
STATEFUL_SET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                        "persistentVolumeClaimRetentionPolicy", "minReadySeconds",
                        "revisionHistoryLimit")


def _stateful_set_spec(existing: Obj, desired: Obj) -> Obj:
    old, new = existing["spec"], desired["spec"]
    rest_old = {k: v for k, v in old.items() if k not in STATEFUL_SET_MUTABLE}
    rest_new = {k: v for k, v in new.items() if k not in STATEFUL_SET_MUTABLE}
    if rest_old != rest_new:
        raise Invalid(f'The StatefulSet "{meta.name_of(existing)}" is invalid: spec: '
                      "Forbidden: updates to statefulset spec for fields other than "
                      "'replicas', 'ordinals', 'template', 'updateStrategy', "
                      "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                      "'minReadySeconds' are forbidden")
    return dict(copy.deepcopy(new))


def _job_with_uid(desired: Obj, uid: str) -> Obj:
    """The desired Job as defaulted for the stored one: its generated selector and labels
    name the stored Job's UID, not the one defaulting made up for the manifest."""
    made_up = desired["metadata"].get("uid")
    if not made_up or made_up == uid:
        return desired
    out: Obj = json.loads(json.dumps(desired).replace(made_up, uid))
    return out


def _config_update(out: Obj, desired: Obj) -> None:
    """A ConfigMap or Secret takes the desired data, unless the API server forbids it."""
    errs = validate_update(out, desired)
    if errs:
        body = errs[0].message if len(errs) == 1 else "\n" + "\n".join(
            f"* {e.message}" for e in errs)
        raise Invalid(f'The {out["kind"]} "{meta.name_of(out)}" is invalid: {body}')
    for field in ("data", "binaryData", "immutable", "type"):
        if field in desired:
            out[field] = copy.deepcopy(desired[field])
        else:
            out.pop(field, None)


STORAGE_CLASS_FIELDS = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode",
                        "allowVolumeExpansion", "mountOptions", "allowedTopologies")


def _storage_update(out: Obj, desired: Obj) -> None:
    """A volume or claim takes the desired spec, a class its fields, as far as the kind's
    ValidateUpdate allows."""
    from podctl.manifest.storage_rules import carry_over, storage_update_errors

    desired = carry_over(out, desired)
    errs = storage_update_errors(out, desired)
    if errs:
        body = errs[0].message if len(errs) == 1 else "\n" + "\n".join(
            f"* {e.message}" for e in errs)
        raise Invalid(f'The {out["kind"]} "{meta.name_of(out)}" is invalid: {body}')
    for field in ("spec",) if out["kind"] != "StorageClass" else STORAGE_CLASS_FIELDS:
        if field in desired:
            out[field] = copy.deepcopy(desired[field])
        else:
            out.pop(field, None)


def keep_paused(spec: Obj, existing: Obj) -> None:
    """`rollout pause` sets spec.paused outside the applied configuration: as kubectl's
    three-way merge, a re-apply that never mentioned the field leaves it alone."""
    try:
        applied = json.loads((existing["metadata"].get("annotations") or {}).get(
            LAST_APPLIED, "{}"))
    except ValueError:
        applied = {}
    mentioned = "paused" in ((applied.get("spec") or {}) if isinstance(applied, dict) else {})
    if "paused" not in spec and not mentioned and existing["spec"].get("paused"):
        spec["paused"] = existing["spec"]["paused"]


def _selector_json(selector: Obj | None) -> str:
    """A LabelSelector as the API server prints it in errors: Go's JSON field order
    (matchLabels, matchExpressions; key, operator, values), empty fields left out."""
    selector = selector or {}
    out: Obj = {}
    if selector.get("matchLabels"):
        out["matchLabels"] = dict(sorted(selector["matchLabels"].items()))
    if selector.get("matchExpressions"):
        out["matchExpressions"] = [
            {k: e[k] for k in ("key", "operator", "values") if e.get(k)}
            for e in selector["matchExpressions"]]
    return json.dumps(out, separators=(",", ":"))


def _gates_only_removed(pod: Obj, old: Any, new: Any) -> None:
    """validateSchedulingGates on update: a gate may go, none may come."""
    before = {g.get("name") for g in old or [] if isinstance(g, dict)}
    for gate in new or []:
        name = gate.get("name") if isinstance(gate, dict) else None
        if name not in before:
            raise Invalid(f'The Pod "{meta.name_of(pod)}" is invalid: spec.schedulingGates: '
                          f"Forbidden: only deletion is allowed, but found new scheduling "
                          f"gate '{name}'")


TOKEN_VOLUME_PREFIX = "kube-api-access-"


def _keep_admitted(old: Obj, new: Obj) -> None:
    """What the ServiceAccount admission added and a re-applied manifest never names (its
    account, the token volume and its mounts) stays, as kubectl's three-way merge keeps
    it."""
    for key in ("serviceAccountName", "serviceAccount"):
        if not new.get(key) and old.get(key):
            new[key] = old[key]
    tokens = [v for v in old.get("volumes") or [] if isinstance(v, dict)
              and str(v.get("name", "")).startswith(TOKEN_VOLUME_PREFIX)]
    names = {v.get("name") for v in new.get("volumes") or [] if isinstance(v, dict)}
    kept = [v for v in tokens if v["name"] not in names]
    if not kept:
        return
    new["volumes"] = [*(new.get("volumes") or []), *copy.deepcopy(kept)]
    kept_names = {v["name"] for v in kept}
    for kind in ("initContainers", "containers"):
        by_name = {c.get("name"): c for c in old.get(kind) or [] if isinstance(c, dict)}
        for container in new.get(kind) or []:
            before = by_name.get(container.get("name")) or {}
            paths = {m.get("mountPath") for m in container.get("volumeMounts") or []}
            mounts = [m for m in before.get("volumeMounts") or []
                      if m.get("name") in kept_names and m.get("mountPath") not in paths]
            if mounts:
                container["volumeMounts"] = [*(container.get("volumeMounts") or []),
                                             *copy.deepcopy(mounts)]


def _pod_spec_update(existing: Obj, desired: Obj) -> dict[str, Any]:
    old, new = existing["spec"], copy.deepcopy(desired["spec"])
    _keep_admitted(old, new)
    comparable = copy.deepcopy(new)
    comparable["nodeName"] = old.get("nodeName")
    if not comparable.get("nodeName"):
        comparable.pop("nodeName")
    for kind in ("containers", "initContainers"):
        for mine, theirs in zip(comparable.get(kind) or [], old.get(kind) or [], strict=False):
            mine["image"] = theirs.get("image")
    free = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds",
            "schedulingGates")
    for key in free:
        comparable.pop(key, None)
    baseline = {k: v for k, v in old.items() if k not in free}
    if comparable != baseline:
        raise Invalid(f'The Pod "{meta.name_of(existing)}" is invalid: spec: Forbidden: pod '
                      f"updates may not change fields other than {POD_MUTABLE}")
    _gates_only_removed(existing, old.get("schedulingGates"), new.get("schedulingGates"))
    if old.get("nodeName"):
        new["nodeName"] = old["nodeName"]
    # Tolerations may only be added: the stored ones stay (admission's defaults among
    # them, which a re-applied manifest never names), as kubectl's three-way merge keeps them.
    stored = list(old.get("tolerations") or [])
    added = [t for t in new.get("tolerations") or [] if t not in stored]
    if stored or added:
        new["tolerations"] = stored + added
    return dict(new)
