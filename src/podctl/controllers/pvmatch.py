"""Which PersistentVolume a claim may bind (upstream's checkVolumeSatisfyClaim and
findMatchingVolume, shared by the PV controller and the scheduler's volume binding): pure
functions of the claim, the volumes and, for a delayed binding, the chosen node."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from podctl.api import labels as lbl
from podctl.api import meta
from podctl.api.claims import PROVISIONED_BY as PROVISIONED_BY
from podctl.api.claims import PROVISIONER as PROVISIONER
from podctl.api.meta import Obj
from podctl.api.quantity import parse_quantity
from podctl.controllers.scheduler.nodeaffinity import term_matches
from podctl.manifest.storage_rules import class_of

SELECTED_NODE = "volume.kubernetes.io/selected-node"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"


def size(resources: Obj | None) -> Fraction:
    raw = (resources or {}).get("storage")
    value = parse_quantity(raw) if isinstance(raw, str | int | float) else None
    return value if value is not None else Fraction(0)


def requested(claim: Obj) -> Fraction:
    return size(((claim.get("spec") or {}).get("resources") or {}).get("requests"))


def mismatch(volume: Obj, claim: Obj) -> str | None:
    """Why the volume cannot satisfy the claim (upstream's words), None when it can."""
    vspec, cspec = volume.get("spec") or {}, claim.get("spec") or {}
    if size(vspec.get("capacity")) < requested(claim):
        return "requested PV is too small"
    if class_of(volume) != class_of(claim):
        return "storageClassName does not match"
    if (vspec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
        return "incompatible volumeMode"
    if not set(cspec.get("accessModes") or []) <= set(vspec.get("accessModes") or []):
        return "incompatible accessMode"
    return None


def reserved_for(volume: Obj, claim: Obj) -> bool:
    """The volume's claimRef names this claim (a pre-bound volume, or one bound to it)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    md = claim["metadata"]
    return (ref.get("namespace") == md.get("namespace") and ref.get("name") == md.get("name")
            and ref.get("uid") in (None, "", md.get("uid")))


def node_fits(volume: Obj, node: Obj | None) -> bool:
    """The volume's required node affinity admits the node (any node when it has none)."""
    required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required or node is None:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or []
               if isinstance(t, dict))


def find_match(claim: Obj, volumes: Iterable[Obj], node: Obj | None = None) -> Obj | None:
    """The volume this claim binds: one reserved for it first, else the smallest available
    one that satisfies it and its selector (on `node`, for a delayed binding)."""
    selector = (claim.get("spec") or {}).get("selector")
    wanted = lbl.selector_from_label_selector(selector) if selector else None
    best: Obj | None = None
    for volume in volumes:
        if volume["metadata"].get("deletionTimestamp") or not node_fits(volume, node):
            continue
        if mismatch(volume, claim) is not None:
            continue
        if reserved_for(volume, claim):
            return volume
        if (volume.get("spec") or {}).get("claimRef"):
            continue
        if (volume.get("status") or {}).get("phase") != "Available":
            continue
        if wanted is not None and not wanted.matches(meta.labels_of(volume)):
            continue
        if best is None or size(volume["spec"].get("capacity")) < size(
                best["spec"].get("capacity")):
            best = volume
    return best


def claim_ref(claim: Obj) -> Obj:
    md = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "namespace": md["namespace"], "name": md["name"],
            "uid": md["uid"], "apiVersion": "v1", "resourceVersion": md.get("resourceVersion")}


def hostname_affinity(node: str) -> Obj:
    """A volume's node affinity to one node, by its hostname label, as local-path writes it."""
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
