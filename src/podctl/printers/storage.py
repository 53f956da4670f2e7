"""kubectl's columns and describe layouts for PersistentVolumes, PersistentVolumeClaims and
StorageClasses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.meta import Obj
from podctl.manifest.storage_rules import class_of, is_default_class
from podctl.printers.age import age
from podctl.printers.describe import Lines, annotations_multiline, describe_events, multiline_map

PV_HEADERS = ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM",
              "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
PVC_HEADERS = ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
               "VOLUMEATTRIBUTESCLASS", "AGE"]
VOLUME_WIDE_HEADERS = ["VOLUMEMODE"]
SC_HEADERS = ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
              "ALLOWVOLUMEEXPANSION", "AGE"]
# GetAccessModesAsString's abbreviations, in its order.
_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
          ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: list[str] | None) -> str:
    present = set(modes or [])
    return ",".join(short for mode, short in _MODES if mode in present)


def _phase(obj: Obj) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str((obj.get("status") or {}).get("phase") or "")


def _storage(resources: Obj | None) -> str:
    return str((resources or {}).get("storage") or "0")


def claim_ref(pv: Obj) -> str:
    ref = pv["spec"].get("claimRef")
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""


def pv_row(pv: Obj, now: datetime, wide: bool) -> list[str]:
    spec, status = pv["spec"], pv.get("status") or {}
    row = [pv["metadata"]["name"], _storage(spec.get("capacity")),
           access_modes(spec.get("accessModes")),
           str(spec.get("persistentVolumeReclaimPolicy") or ""), _phase(pv), claim_ref(pv),
           class_of(pv), str(spec.get("volumeAttributesClassName") or "<unset>"),
           str(status.get("reason") or ""), age(pv["metadata"].get("creationTimestamp"), now)]
    if wide:
        row.append(str(spec.get("volumeMode") or "<unset>"))
    return row


def _claim_size(pvc: Obj) -> tuple[str, str]:
    """CAPACITY and ACCESS MODES: the bound volume's, blank before the claim names one."""
    if not pvc["spec"].get("volumeName"):
        return "", ""
    status = pvc.get("status") or {}
    return _storage(status.get("capacity")), access_modes(status.get("accessModes"))


def pvc_row(pvc: Obj, now: datetime, wide: bool) -> list[str]:
    spec = pvc["spec"]
    capacity, modes = _claim_size(pvc)
    row = [pvc["metadata"]["name"], _phase(pvc), str(spec.get("volumeName") or ""), capacity,
           modes, class_of(pvc), str(spec.get("volumeAttributesClassName") or "<unset>"),
           age(pvc["metadata"].get("creationTimestamp"), now)]
    if wide:
        row.append(str(spec.get("volumeMode") or "<unset>"))
    return row


def sc_row(sc: Obj, now: datetime, wide: bool) -> list[str]:
    name = sc["metadata"]["name"] + (" (default)" if is_default_class(sc) else "")
    return [name, str(sc.get("provisioner") or ""), str(sc.get("reclaimPolicy") or "Delete"),
            str(sc.get("volumeBindingMode") or "Immediate"),
            "true" if sc.get("allowVolumeExpansion") else "false",
            age(sc["metadata"].get("creationTimestamp"), now)]


def _status_line(w: Lines, obj: Obj, now: datetime) -> None:
    deleted = obj["metadata"].get("deletionTimestamp")
    if deleted:
        w.add(0, f"Status:\tTerminating (lasts {age(deleted, now)})")
    else:
        w.add(0, f"Status:\t{(obj.get('status') or {}).get('phase', '')}")


def _finalizers(obj: Obj) -> str:
    return "[" + " ".join(obj["metadata"].get("finalizers") or []) + "]"


def _node_affinity(w: Lines, affinity: Obj | None) -> None:
    required = (affinity or {}).get("required")
    if not required:
        w.add(0, "Node Affinity:\t<none>")
        return
    w.add(0, "Node Affinity:\t")
    terms = required.get("nodeSelectorTerms") or []
    w.add(1, "Required Terms:\t" + ("" if terms else "<none>"))
    for i, term in enumerate(terms):
        exprs = term.get("matchExpressions") or []
        if not exprs:
            w.add(2, f"Term {i}:\t<none>")
        for j, req in enumerate(exprs):
            text = f"{req.get('key', '')} {str(req.get('operator', '')).lower()}"
            if req.get("values"):
                text += f" [{', '.join(req['values'])}]"
            w.add(2, (f"Term {i}:\t" if j == 0 else "\t") + text)


def _source(w: Lines, spec: Obj) -> None:
    w.add(0, "Source:")
    if "hostPath" in spec:
        w.add(2, "Type:\tHostPath (bare host directory volume)")
        w.add(2, f"Path:\t{spec['hostPath'].get('path', '')}")
        w.add(2, f"HostPathType:\t{spec['hostPath'].get('type', '')}")
    elif "local" in spec:
        w.add(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)")
        w.add(2, f"Path:\t{spec['local'].get('path', '')}")


def describe_pv(pv: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md, spec = pv["metadata"], pv["spec"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"Finalizers:\t{_finalizers(pv)}")
    w.add(0, f"StorageClass:\t{class_of(pv)}")
    _status_line(w, pv, now)
    w.add(0, f"Claim:\t{claim_ref(pv)}")
    w.add(0, f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy', '')}")
    w.add(0, f"Access Modes:\t{access_modes(spec.get('accessModes'))}")
    if spec.get("volumeMode"):
        w.add(0, f"VolumeMode:\t{spec['volumeMode']}")
    w.add(0, f"Capacity:\t{_storage(spec.get('capacity'))}")
    _node_affinity(w, spec.get("nodeAffinity"))
    w.add(0, f"Message:\t{(pv.get('status') or {}).get('message', '')}")
    _source(w, spec)
    return w.text() + describe_events(events, now)


def describe_pvc(pvc: Obj, users: list[str], events: list[dict[str, Any]],
                 now: datetime) -> str:
    """`users`: the names of the pods that mount the claim."""
    md, spec = pvc["metadata"], pvc["spec"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    w.add(0, f"StorageClass:\t{class_of(pvc)}")
    _status_line(w, pvc, now)
    w.add(0, f"Volume:\t{spec.get('volumeName', '')}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"Finalizers:\t{_finalizers(pvc)}")
    capacity, modes = _claim_size(pvc)
    w.add(0, f"Capacity:\t{capacity}")
    w.add(0, f"Access Modes:\t{modes}")
    if spec.get("volumeMode"):
        w.add(0, f"VolumeMode:\t{spec['volumeMode']}")
    if not users:
        w.add(0, "Used By:\t<none>")
    for i, name in enumerate(sorted(users)):
        w.add(0, ("Used By:\t" if i == 0 else "\t") + name)
    return w.text() + describe_events(events, now)


def describe_sc(sc: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md = sc["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"IsDefaultClass:\t{'Yes' if is_default_class(sc) else 'No'}")
    w.add(0, f"Annotations:\t{_joined(md.get('annotations'))}")
    w.add(0, f"Provisioner:\t{sc.get('provisioner', '')}")
    w.add(0, f"Parameters:\t{_joined(sc.get('parameters'))}")
    expansion = sc.get("allowVolumeExpansion")
    w.add(0, "AllowVolumeExpansion:\t"
             f"{'<unset>' if expansion is None else str(bool(expansion))}")
    options = sc.get("mountOptions") or []
    w.add(0, "MountOptions:\t" + ("<none>" if not options else ""))
    for option in options:
        w.add(1, option)
    w.add(0, f"ReclaimPolicy:\t{sc.get('reclaimPolicy', 'Delete')}")
    w.add(0, f"VolumeBindingMode:\t{sc.get('volumeBindingMode', 'Immediate')}")
    return w.text() + describe_events(events, now)


def _joined(items: dict[str, str] | None) -> str:
    """labels.FormatLabels: `k=v,k2=v2` sorted, `<none>` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((items or {}).items())) or "<none>"
