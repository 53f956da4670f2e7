"""Semantic rules the API server enforces for PersistentVolumes, PersistentVolumeClaims and
StorageClasses (upstream's ValidatePersistentVolume, ValidatePersistentVolumeClaim,
ValidateStorageClass and their update forms), and their defaults."""

from __future__ import annotations

import posixpath
from typing import Any

from podctl.api.quantity import format_quantity, parse_quantity
from podctl.manifest import names
from podctl.manifest.apps_rules import validate_label_selector
from podctl.manifest.fielderr import forbidden, invalid, required, too_long, unsupported
from podctl.manifest.problems import FieldPath, MapKey
from podctl.manifest.rules import HOST_PATH_TYPES, Errors, _d, _l, validate_metadata

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
PV_RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
CLASS_RECLAIM_POLICIES = ("Delete", "Retain")
VOLUME_MODES = ("Block", "Filesystem")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
MAX_PARAMETERS = 512
MAX_PARAMETERS_BYTES = 256 * 1024
# Every volume source a PersistentVolume may name (exactly one of them).
PV_SOURCES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flocker",
              "nfs", "rbd", "quobyte", "cephfs", "iscsi", "cinder", "fc", "flexVolume",
              "azureFile", "vsphereVolume", "photonPersistentDisk", "portworxVolume",
              "azureDisk", "scaleIO", "local", "storageos", "csi")
IMMUTABLE = "field is immutable"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def _cluster_metadata(errs: Errors, obj: dict[str, Any]) -> None:
    """ObjectMeta of a cluster-scoped object: a namespace it carries is cleared by the API
    server (the request names none), not refused."""
    md = {k: v for k, v in _d(obj.get("metadata")).items() if k != "namespace"}
    validate_metadata(errs, md, False, names.dns1123_subdomain)


def _access_modes(errs: Errors, modes: Any, path: FieldPath, detail: str) -> None:
    if not _l(modes):
        errs.append(required(path, detail))
    rwop = other = False
    for mode in _l(modes):
        if mode not in ACCESS_MODES:
            errs.append(unsupported(path, mode, ACCESS_MODES))
        elif mode == "ReadWriteOncePod":
            rwop = True
        else:
            other = True
    if rwop and other:
        errs.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))


def _positive_quantity(errs: Errors, raw: Any, path: FieldPath) -> None:
    """ValidatePositiveQuantityValue (the schema has refused what is not a quantity)."""
    value = parse_quantity(raw) if isinstance(raw, str | int | float) else None
    if value is not None and value <= 0:
        errs.append(invalid(path, format_quantity(raw), "must be greater than zero"))


def _class_name(errs: Errors, value: Any, path: FieldPath) -> None:
    if isinstance(value, str) and value:
        errs.extend(invalid(path, value, d) for d in names.dns1123_subdomain(value))


def _no_backsteps(errs: Errors, value: Any, path: FieldPath) -> None:
    if isinstance(value, str) and ".." in value.split("/"):
        errs.append(invalid(path, value, "must not contain '..'"))


def validate_node_selector(errs: Errors, selector: Any, path: FieldPath) -> None:
    """ValidateNodeSelector: at least one term; each requirement's operator decides its
    values."""
    terms = _l(_d(selector).get("nodeSelectorTerms"))
    if not terms:
        errs.append(required((*path, "nodeSelectorTerms"),
                             "must have at least one node selector term"))
    for i, term in enumerate(terms):
        for field in ("matchExpressions", "matchFields"):
            for j, expr in enumerate(_l(_d(term).get(field))):
                _node_requirement(errs, _d(expr), (*path, "nodeSelectorTerms", i, field, j))


def _node_requirement(errs: Errors, expr: dict[str, Any], path: FieldPath) -> None:
    operator, values = expr.get("operator"), _l(expr.get("values"))
    if operator in ("In", "NotIn"):
        if not values:
            errs.append(required((*path, "values"),
                                 "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errs.append(forbidden((*path, "values"), "may not be specified when `operator` is "
                                                     "'Exists' or 'DoesNotExist'"))
    elif operator in ("Gt", "Lt"):
        if len(values) != 1:
            errs.append(required((*path, "values"), "must be specified single value when "
                                                    "`operator` is 'Lt' or 'Gt'"))
    elif isinstance(operator, str):
        errs.append(invalid((*path, "operator"), operator, "not a valid selector operator"))
    key = expr.get("key")
    if isinstance(key, str):
        errs.extend(invalid((*path, "key"), key, d) for d in names.qualified_name(key))


def validate_persistent_volume(obj: dict[str, Any]) -> Errors:
    """ValidatePersistentVolume."""
    errs: Errors = []
    _cluster_metadata(errs, obj)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    _access_modes(errs, spec.get("accessModes"), (*path, "accessModes"), "")
    _pv_capacity(errs, spec.get("capacity"), (*path, "capacity"))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if isinstance(policy, str) and policy and policy not in PV_RECLAIM_POLICIES:
        errs.append(unsupported((*path, "persistentVolumeReclaimPolicy"), policy,
                                PV_RECLAIM_POLICIES))
    affinity = spec.get("nodeAffinity")
    if isinstance(affinity, dict):
        if isinstance(affinity.get("required"), dict):
            validate_node_selector(errs, affinity["required"], (*path, "nodeAffinity",
                                                                "required"))
        else:
            errs.append(required((*path, "nodeAffinity", "required"),
                                 "must specify required node constraints"))
    _pv_source(errs, spec, path, isinstance(affinity, dict))
    _class_name(errs, spec.get("storageClassName"), (*path, "storageClassName"))
    mode = spec.get("volumeMode")
    if isinstance(mode, str) and mode not in VOLUME_MODES:
        errs.append(unsupported((*path, "volumeMode"), mode, VOLUME_MODES))
    return errs


def _pv_capacity(errs: Errors, capacity: Any, path: FieldPath) -> None:
    capacity = _d(capacity)
    if not capacity:
        errs.append(required(path))
    if "storage" not in capacity or len(capacity) > 1:
        errs.append(unsupported(path, capacity, ("storage",)))
    for name, raw in capacity.items():
        _positive_quantity(errs, raw, (*path, MapKey(name)))


def _pv_source(errs: Errors, spec: dict[str, Any], path: FieldPath, affinity: bool) -> None:
    """Exactly one volume source, and the rules of the two podctl serves (hostPath, local)."""
    sources = [s for s in PV_SOURCES if spec.get(s) is not None]
    if not sources:
        errs.append(required(path, "must specify a volume type"))
    for extra in sources[1:]:
        errs.append(forbidden((*path, extra), "may not specify more than 1 volume type"))
    first = sources[0] if sources else ""
    source = _d(spec.get(first))
    if first in ("hostPath", "local"):
        if not source.get("path"):
            errs.append(required((*path, first, "path")))
        _no_backsteps(errs, source.get("path"), (*path, first, "path"))
    if first == "hostPath":
        hp_type = source.get("type")
        if isinstance(hp_type, str) and hp_type not in HOST_PATH_TYPES:
            errs.append(unsupported((*path, "hostPath", "type"), hp_type, HOST_PATH_TYPES))
        if (isinstance(source.get("path"), str)
                and posixpath.normpath(source["path"]) == "/"
                and spec.get("persistentVolumeReclaimPolicy") == "Recycle"):
            errs.append(forbidden((*path, "persistentVolumeReclaimPolicy"),
                                  "may not be 'recycle' for a hostPath mount of '/'"))
    if first == "local" and not affinity:
        errs.append(required((*path, "nodeAffinity"), "Local volume requires node affinity"))


def validate_persistent_volume_claim(obj: dict[str, Any]) -> Errors:
    """ValidatePersistentVolumeClaim."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    validate_claim_spec(errs, obj.get("spec"), ("spec",))
    return errs


def validate_claim_spec(errs: Errors, spec: Any, path: FieldPath) -> None:
    """ValidatePersistentVolumeClaimSpec (claims, and the templates of ephemeral volumes and
    StatefulSets)."""
    spec = _d(spec)
    _access_modes(errs, spec.get("accessModes"), (*path, "accessModes"),
                  "at least 1 access mode is required")
    selector = spec.get("selector")
    if isinstance(selector, dict):
        validate_label_selector(errs, selector, (*path, "selector"))
    requests = _d(_d(spec.get("resources")).get("requests"))
    storage_path = (*path, "resources", MapKey("storage"))
    if "storage" not in requests:
        errs.append(required(storage_path))
    else:
        _positive_quantity(errs, requests["storage"], storage_path)
    _class_name(errs, spec.get("storageClassName"), (*path, "storageClassName"))
    mode = spec.get("volumeMode")
    if isinstance(mode, str) and mode not in VOLUME_MODES:
        errs.append(unsupported((*path, "volumeMode"), mode, VOLUME_MODES))
    for field in ("dataSource", "dataSourceRef"):
        source = spec.get(field)
        if isinstance(source, dict):
            _data_source(errs, source, (*path, field))


def _data_source(errs: Errors, source: dict[str, Any], path: FieldPath) -> None:
    for key in ("name", "kind"):
        if not source.get(key):
            errs.append(required((*path, key)))
    if not source.get("apiGroup") and source.get("kind") != "PersistentVolumeClaim":
        errs.append(invalid(path, source.get("kind") or "",
                            "must be 'PersistentVolumeClaim' when referencing the default "
                            "apiGroup"))


def validate_storage_class(obj: dict[str, Any]) -> Errors:
    """ValidateStorageClass (before defaults: a missing reclaimPolicy or volumeBindingMode is
    the default's)."""
    errs: Errors = []
    _cluster_metadata(errs, obj)
    provisioner = obj.get("provisioner")
    if not provisioner:
        errs.append(required(("provisioner",)))
    elif isinstance(provisioner, str):
        errs.extend(invalid(("provisioner",), provisioner, d)
                    for d in names.qualified_name(provisioner.lower()))
    _parameters(errs, obj.get("parameters"))
    policy = obj.get("reclaimPolicy")
    if isinstance(policy, str) and policy and policy not in CLASS_RECLAIM_POLICIES:
        errs.append(unsupported(("reclaimPolicy",), policy, CLASS_RECLAIM_POLICIES))
    mode = obj.get("volumeBindingMode")
    if isinstance(mode, str) and mode not in BINDING_MODES:
        errs.append(unsupported(("volumeBindingMode",), mode, BINDING_MODES))
    for i, term in enumerate(_l(obj.get("allowedTopologies"))):
        if not _l(_d(term).get("matchLabelExpressions")):
            errs.append(required(("allowedTopologies", i, "matchLabelExpressions"),
                                 "must have at least one label expression"))
    return errs


def _parameters(errs: Errors, params: Any) -> None:
    params = _d(params)
    if len(params) > MAX_PARAMETERS:
        errs.append(too_long(("parameters",), MAX_PARAMETERS))
        return
    total = 0
    for key, value in params.items():
        if not key:
            errs.append(invalid(("parameters",), key, "field can not be empty."))
        total += len(key) + (len(value) if isinstance(value, str) else 0)
    if total > MAX_PARAMETERS_BYTES:
        errs.append(too_long(("parameters",), MAX_PARAMETERS_BYTES))


def storage_update_errors(old: dict[str, Any], new: dict[str, Any]) -> Errors:
    """What the kind's ValidateUpdate refuses in a change from `old` to `new` (both
    defaulted)."""
    kind = old["kind"]
    if kind == "PersistentVolume":
        return _pv_update(old, new)
    if kind == "PersistentVolumeClaim":
        return _claim_update(old, new)
    return _class_update(old, new)


# Spec fields the controllers set that a manifest leaves out (kubectl's three-way merge keeps
# them): an update without them keeps the stored ones.
_SERVER_SET = {"PersistentVolume": ("claimRef",),
               "PersistentVolumeClaim": ("volumeName", "storageClassName")}


def carry_over(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new` with the stored values of the spec fields the controllers set and it omits."""
    old_spec, new_spec = _d(old.get("spec")), _d(new.get("spec"))
    kept = {f: old_spec[f] for f in _SERVER_SET.get(old["kind"], ())
            if old_spec.get(f) is not None and new_spec.get(f) is None}
    if not kept:
        return new
    return {**new, "spec": {**new_spec, **kept}}


def _pv_update(old: dict[str, Any], new: dict[str, Any]) -> Errors:
    errs: Errors = []
    old_spec, new_spec = _d(old.get("spec")), _d(new.get("spec"))
    if any(old_spec.get(s) != new_spec.get(s) for s in PV_SOURCES):
        errs.append(forbidden(("spec", "persistentvolumesource"),
                              "spec.persistentvolumesource is immutable after creation"))
    if old_spec.get("volumeMode") != new_spec.get("volumeMode"):
        errs.append(invalid(("volumeMode",), new_spec.get("volumeMode"), IMMUTABLE))
    if old_spec.get("nodeAffinity") is not None and \
            old_spec.get("nodeAffinity") != new_spec.get("nodeAffinity"):
        errs.append(invalid(("nodeAffinity",), new_spec.get("nodeAffinity"), IMMUTABLE))
    return errs


def _claim_update(old: dict[str, Any], new: dict[str, Any]) -> Errors:
    """Claims are immutable but for a first volumeName (the binder's), a storage class set
    where none was, and, once bound, the size asked for."""
    errs: Errors = []
    old_spec, new_spec = dict(_d(old.get("spec"))), dict(_d(new.get("spec")))
    if not old_spec.get("volumeName"):
        old_spec["volumeName"] = new_spec.get("volumeName")
    if old_spec.get("storageClassName") is None and new_spec.get("storageClassName") is not None:
        old_spec["storageClassName"] = new_spec["storageClassName"]
    old_size = _storage_request(old_spec)
    new_size = _storage_request(new_spec)
    bound = _d(old.get("status")).get("phase") == "Bound"
    if bound:
        for key in ("resources", "volumeAttributesClassName"):
            new_spec[key] = old_spec.get(key)
    if {k: v for k, v in old_spec.items() if v is not None} != \
            {k: v for k, v in new_spec.items() if v is not None}:
        errs.append(forbidden(("spec",), "spec is immutable after creation except "
                                         "resources.requests and volumeAttributesClassName "
                                         "for bound claims"))
    if old_size is not None and new_size is not None and new_size < old_size:
        errs.append(forbidden(("spec", "resources", "requests", "storage"),
                              "field can not be less than previous value"))
    return errs


def _storage_request(spec: dict[str, Any]) -> Any:
    raw = _d(_d(spec.get("resources")).get("requests")).get("storage")
    return parse_quantity(raw) if isinstance(raw, str | int | float) else None


def _class_update(old: dict[str, Any], new: dict[str, Any]) -> Errors:
    errs: Errors = []
    if (old.get("parameters") or {}) != (new.get("parameters") or {}):
        errs.append(forbidden(("parameters",), "updates to parameters are forbidden."))
    if old.get("provisioner") != new.get("provisioner"):
        errs.append(forbidden(("provisioner",), "updates to provisioner are forbidden."))
    if old.get("reclaimPolicy") != new.get("reclaimPolicy"):
        errs.append(forbidden(("reclaimPolicy",), "updates to reclaimPolicy are forbidden."))
    if old.get("volumeBindingMode") != new.get("volumeBindingMode"):
        errs.append(invalid(("volumeBindingMode",), new.get("volumeBindingMode"), IMMUTABLE))
    return errs


def default_storage_object(obj: dict[str, Any]) -> dict[str, Any]:
    """SetDefaults for the three kinds; the two cluster-scoped ones lose any namespace."""
    kind = obj["kind"]
    if kind != "PersistentVolumeClaim":
        obj["metadata"].pop("namespace", None)
    if kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
        return obj
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    if kind == "PersistentVolume":
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        host_path = spec.get("hostPath")
        if isinstance(host_path, dict):
            host_path.setdefault("type", "")
    return obj


def is_default_class(obj: dict[str, Any]) -> bool:
    """storageutil.IsDefaultAnnotation."""
    annotations = _d(_d(obj.get("metadata")).get("annotations"))
    return "true" in (annotations.get(DEFAULT_CLASS_ANNOTATION),
                      annotations.get(BETA_DEFAULT_CLASS_ANNOTATION))


def class_of(obj: dict[str, Any]) -> str:
    """The class a claim or volume names (the beta annotation first, as upstream reads it)."""
    annotations = _d(_d(obj.get("metadata")).get("annotations"))
    if BETA_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_CLASS_ANNOTATION])
    return str(_d(obj.get("spec")).get("storageClassName") or "")
