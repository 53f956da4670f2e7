"""The PersistentVolume controller (upstream's pkg/controller/volume/persistentvolume, with
the pvc-protection and pv-protection controllers and kind's local provisioner): claims bind
volumes both ways, volumes go Available, Bound, Released or Failed, reclaim deletes or
retains them, and a claim of the provisioner's class gets a volume made for it, on the node
the scheduler picked (`volume.kubernetes.io/selected-node`).

Each pass reads one claim or volume and what it refers to, decides, and writes through the
registry at the resourceVersion it read; every step is idempotent, so a pass cut short by
a kill is finished by the next."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from podctl import registry
from podctl.admission.storage import default_class_name
from podctl.api import meta
from podctl.api.claims import claim_names, provisioned
from podctl.api.meta import Obj
from podctl.controllers import pvmatch
from podctl.controllers.deletion import delete_object, mark_finalizing
from podctl.controllers.ephemeral import owners_gone
from podctl.controllers.pvmatch import (
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    PROVISIONED_BY,
    PROVISIONER,
    SELECTED_NODE,
)
from podctl.errors import AlreadyExists, Conflict, NotFound
from podctl.manifest.storage_rules import DEFAULT_CLASS_ANNOTATION, class_of
from podctl.node import host_node_name, kubelet_engine
from podctl.runtime import engines, pvvolumes
from podctl.store import Store

log = logging.getLogger("podctl.controller")

CONTROLLER = "persistentvolume-controller"
PROVISIONER_SOURCE = f"{PROVISIONER}_podctl"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
DEFAULT_CLASS = "standard"
Key = tuple[str, str, str]
WAIT_FOR_CONSUMER = "waiting for first consumer to be created before binding"
NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
NO_DELETER = "no deletable volume plugin matched"
NO_RECYCLER = "No recycler plugin found for the volume!"
IN_USE_RETRY = 2.0  # seconds: a Terminating claim looks again for the pods that use it
DATA_BUSY_RETRY = 2.0  # seconds: a container still holds the data (its pod is stopping)


@dataclass
class Synced:
    """What a pass asks of its caller: keys to look at next, and when to look at this one
    again (None: when it changes)."""

    wake: list[Key] = field(default_factory=list)
    retry_in: float | None = None


def default_class() -> Obj:
    """kind's `standard` class: the default, bound when a pod uses the claim, deleted
    with it."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": DEFAULT_CLASS,
                         "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}


def ensure_default_class(store: Store) -> None:
    """Made at the cluster's start when missing, as kind's manifests make it."""
    if store.get("StorageClass", "", DEFAULT_CLASS) is None:
        with contextlib.suppress(AlreadyExists):
            registry.create(store, default_class())


# -- claims ------------------------------------------------------------------------------


def sync_claim(store: Store, namespace: str, name: str) -> Synced:
    """One claim's pass; the pods that mount it are woken too: those waiting to be
    scheduled with it (the scheduler's queue moves them on a claim's change) and those
    whose kubelet waits for it to be bound."""
    synced = _sync_claim(store, namespace, name)
    synced.wake += _waiting_pods(store, namespace, name)
    return synced


def _waiting_pods(store: Store, namespace: str, claim: str) -> list[Key]:
    return [("Pod", namespace, meta.name_of(p)) for p in store.list("Pod", namespace)
            if claim in claim_names(p) and not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") in (None, "Pending")]


def _sync_claim(store: Store, namespace: str, name: str) -> Synced:
    claim = store.get("PersistentVolumeClaim", namespace, name)
    if claim is None:  # its volumes are released
        return Synced([("PersistentVolume", "", meta.name_of(v)) for v in store.list(
            "PersistentVolume") if _names_claim(v, namespace, name)])
    if not claim["metadata"].get("deletionTimestamp") and owners_gone(store, claim):
        # The garbage collector's share: a claim goes with its owners (an ephemeral
        # volume's pod).
        claim = mark_finalizing(store, claim) or claim
    if claim["metadata"].get("deletionTimestamp"):
        in_use = _release_protection(store, claim)
        # A pod's end wakes its claims when this controller finishes it; a pod removed
        # by a command's own finish is seen by the next look.
        return Synced(retry_in=IN_USE_RETRY if in_use else None)
    if "storageClassName" not in claim["spec"]:
        _assign_default_class(store, claim)
        return Synced()
    if (claim["metadata"].get("annotations") or {}).get(BIND_COMPLETED):
        return _sync_bound_claim(store, claim)
    return _sync_unbound_claim(store, claim)


def _names_claim(volume: Obj, namespace: str, name: str) -> bool:
    ref = volume["spec"].get("claimRef") or {}
    return ref.get("namespace") == namespace and ref.get("name") == name


def claim_users(store: Store, claim: Obj) -> list[Obj]:
    """The scheduled, unfinished pods that mount the claim (pvc-protection's test)."""
    md = claim["metadata"]
    return [p for p in store.list("Pod", md["namespace"])
            if p["spec"].get("nodeName") and md["name"] in claim_names(p)
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def _release_protection(store: Store, claim: Obj) -> bool:
    """The pvc-protection finalizer removed once no pod uses the claim; whether one does."""
    if PVC_PROTECTION not in (claim["metadata"].get("finalizers") or []):
        return False
    if claim_users(store, claim):
        return True
    _drop_finalizer(store, claim, PVC_PROTECTION)
    return False


def _drop_finalizer(store: Store, obj: Obj, finalizer: str) -> None:
    def change(fresh: Obj) -> bool:
        finalizers = fresh["metadata"].get("finalizers") or []
        if finalizer not in finalizers:
            return False
        fresh["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
        return True

    registry.mutate(store, obj["kind"], meta.namespace_of(obj), meta.name_of(obj), change,
                    meta.uid_of(obj))


def _assign_default_class(store: Store, claim: Obj) -> None:
    """A claim made while no class was the default gets the default once there is one
    (upstream's retroactive default StorageClass assignment)."""
    default = default_class_name(store.list("StorageClass"))
    if default is None:
        return

    def change(fresh: Obj) -> bool:
        if "storageClassName" in fresh["spec"]:
            return False
        fresh["spec"]["storageClassName"] = default
        return True

    registry.mutate(store, "PersistentVolumeClaim", meta.namespace_of(claim),
                    meta.name_of(claim), change, meta.uid_of(claim))


def _sync_bound_claim(store: Store, claim: Obj) -> Synced:
    volume_name = claim["spec"].get("volumeName")
    volume = store.get("PersistentVolume", "", volume_name) if volume_name else None
    if volume is None:
        lost = ("Bound claim has lost its PersistentVolume. Data on the volume is lost!"
                if volume_name else
                "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
        if _set_claim_phase(store, claim, "Lost", None):
            store.record_event(claim, "Warning", "ClaimLost", lost, CONTROLLER)
        return Synced()
    ref = volume["spec"].get("claimRef") or {}
    if not ref or ref.get("uid") == meta.uid_of(claim):
        volume = _expanded(store, volume, claim)
        return _bind(store, volume, claim)
    if _set_claim_phase(store, claim, "Lost", None):
        store.record_event(claim, "Warning", "ClaimMisbound",
                           "Two claims are bound to the same volume, this one is bound "
                           "incorrectly", CONTROLLER)
    return Synced()


def _expanded(store: Store, volume: Obj, claim: Obj) -> Obj:
    """A provisioned volume grown to what its bound claim now asks (admission let the
    claim grow only where its class allows it); its capacity is recorded, as local-path's,
    not enforced."""
    wanted = claim["spec"]["resources"]["requests"]["storage"]
    if not provisioned(volume) or pvmatch.requested(claim) <= pvmatch.size(
            volume["spec"].get("capacity")):
        return volume

    def change(fresh: Obj) -> bool:
        fresh["spec"]["capacity"] = {"storage": wanted}
        return True

    grown = registry.mutate(store, "PersistentVolume", "", meta.name_of(volume), change,
                            meta.uid_of(volume))
    return grown or volume


def _sync_unbound_claim(store: Store, claim: Obj) -> Synced:
    volume_name = claim["spec"].get("volumeName")
    if volume_name:
        return _sync_prebound_claim(store, claim, volume_name)
    class_name = class_of(claim)
    storage_class = store.get("StorageClass", "", class_name) if class_name else None
    delayed = (storage_class or {}).get("volumeBindingMode") == "WaitForFirstConsumer"
    selected = (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE)
    volumes = store.list("PersistentVolume")
    if delayed and not selected:
        match = next((v for v in volumes if pvmatch.reserved_for(v, claim)), None)
    else:
        node = store.get("Node", "", selected) if selected else None
        match = pvmatch.find_match(claim, volumes, node)
    if match is not None:
        return _bind(store, match, claim)
    _set_claim_phase(store, claim, "Pending", None)
    if delayed and not selected:
        store.record_event(claim, "Normal", "WaitForFirstConsumer", WAIT_FOR_CONSUMER,
                           CONTROLLER)
    elif not class_name:
        store.record_event(claim, "Normal", "FailedBinding", NO_CLASS, CONTROLLER)
    elif storage_class is None:
        store.record_event(claim, "Warning", "ProvisioningFailed",
                           f'storageclass.storage.k8s.io "{class_name}" not found', CONTROLLER)
    else:
        return _provision(store, claim, storage_class, selected)
    return Synced()


def _sync_prebound_claim(store: Store, claim: Obj, volume_name: str) -> Synced:
    """A claim naming its volume: bound to it when it is free and fits."""
    volume = store.get("PersistentVolume", "", volume_name)
    if volume is None:
        _set_claim_phase(store, claim, "Pending", None)
        return Synced()
    ref = volume["spec"].get("claimRef")
    if ref and not pvmatch.reserved_for(volume, claim):
        _set_claim_phase(store, claim, "Pending", None)
        store.record_event(claim, "Warning", "FailedBinding",
                           f'volume "{volume_name}" already bound to a different claim.',
                           CONTROLLER)
        return Synced()
    reason = pvmatch.mismatch(volume, claim)
    if reason is not None:
        _set_claim_phase(store, claim, "Pending", None)
        store.record_event(claim, "Warning", "VolumeMismatch",
                           f'Cannot bind to requested volume "{volume_name}": {reason}',
                           CONTROLLER)
        return Synced()
    return _bind(store, volume, claim)


def _bind(store: Store, volume: Obj, claim: Obj) -> Synced:
    """Both halves of a binding, volume first (upstream's order: a claim never names a
    volume that does not name it), then both statuses."""
    bound_volume = _bind_volume(store, volume, claim)
    if bound_volume is None:
        return Synced()
    bound_claim = _bind_claim(store, claim, bound_volume)
    if bound_claim is None:
        return Synced()
    _set_volume_phase(store, bound_volume, "Bound")
    _set_claim_phase(store, bound_claim, "Bound", bound_volume)
    return Synced([("PersistentVolume", "", meta.name_of(volume))])


def _bind_volume(store: Store, volume: Obj, claim: Obj) -> Obj | None:
    def change(fresh: Obj) -> bool:
        ref = fresh["spec"].get("claimRef")
        if ref and ref.get("uid") == meta.uid_of(claim):
            return False
        if ref and not pvmatch.reserved_for(fresh, claim):
            raise Conflict("persistentvolumes", meta.name_of(fresh))
        if not ref:
            fresh["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
        fresh["spec"]["claimRef"] = pvmatch.claim_ref(claim)
        return True

    try:
        return registry.mutate(store, "PersistentVolume", "", meta.name_of(volume), change,
                               meta.uid_of(volume))
    except Conflict:
        return None  # taken meanwhile by another claim: the next pass looks again


def _bind_claim(store: Store, claim: Obj, volume: Obj) -> Obj | None:
    def change(fresh: Obj) -> bool:
        annotations = fresh["metadata"].setdefault("annotations", {})
        if fresh["spec"].get("volumeName") == meta.name_of(volume) and \
                annotations.get(BIND_COMPLETED):
            return False
        if not fresh["spec"].get("volumeName"):
            annotations[BOUND_BY_CONTROLLER] = "yes"
        fresh["spec"]["volumeName"] = meta.name_of(volume)
        annotations[BIND_COMPLETED] = "yes"
        return True

    return registry.mutate(store, "PersistentVolumeClaim", meta.namespace_of(claim),
                           meta.name_of(claim), change, meta.uid_of(claim))


def _set_claim_phase(store: Store, claim: Obj, phase: str, volume: Obj | None) -> bool:
    """The claim's status (the volume's capacity and modes once bound); whether it changed."""
    status: Obj = {**(claim.get("status") or {}), "phase": phase}
    if volume is not None:
        status["accessModes"] = list(volume["spec"].get("accessModes") or [])
        status["capacity"] = dict(volume["spec"].get("capacity") or {})
    return _write_status(store, claim, status)


def _set_volume_phase(store: Store, volume: Obj, phase: str, message: str = "") -> bool:
    old = volume.get("status") or {}
    status: Obj = {"phase": phase}
    if message:
        status["message"] = message
    if old.get("phase") == phase:
        status["lastPhaseTransitionTime"] = old.get("lastPhaseTransitionTime")
    else:
        status["lastPhaseTransitionTime"] = meta.now_rfc3339()
    status = {k: v for k, v in status.items() if v is not None}
    return _write_status(store, volume, status)


def _write_status(store: Store, obj: Obj, status: Obj) -> bool:
    if (obj.get("status") or {}) == status:
        return False
    fresh = {**obj, "status": status}
    try:
        registry.update_status(store, fresh)
    except (Conflict, NotFound):
        return False  # changed meanwhile: its change wakes the next pass
    return True


# -- provisioning ------------------------------------------------------------------------


def _provision(store: Store, claim: Obj, storage_class: Obj, selected: str | None) -> Synced:
    """A volume for the claim, by the provisioner its class names: podctl's own makes a
    Docker named volume on the selected node (an Immediate class: the host's node) and
    the PersistentVolume `pvc-<claim uid>` naming the claim; another's is waited for."""
    provisioner = str(storage_class.get("provisioner") or "")
    _annotate_provisioner(store, claim, provisioner)
    store.record_event(claim, "Normal", "ExternalProvisioning",
                       "Waiting for a volume to be created either by the external provisioner "
                       f"'{provisioner}' or manually by the system administrator. If volume "
                       "creation is delayed, please verify that the provisioner is running "
                       "and correctly registered.", CONTROLLER)
    if provisioner != PROVISIONER:
        return Synced()
    node = selected or host_node_name(store)
    found = kubelet_engine(store, node) if node else None
    if found is None:
        store.record_event(claim, "Warning", "ProvisioningFailed",
                           f'failed to provision volume: node "{node}" has no kubelet here',
                           PROVISIONER_SOURCE)
        return Synced()
    md = claim["metadata"]
    store.record_event(claim, "Normal", "Provisioning", "External provisioner is provisioning "
                       f'volume for claim "{md["namespace"]}/{md["name"]}"', PROVISIONER_SOURCE)
    name = f"pvc-{md['uid']}"
    with engines.using(found[1]):
        mountpoint = pvvolumes.create(name)
    try:
        volume = registry.create(store, _volume_for(claim, storage_class, name, str(node),
                                                    mountpoint))
    except AlreadyExists:
        volume = store.require("PersistentVolume", "", name)
    store.record_event(claim, "Normal", "ProvisioningSucceeded",
                       f"Successfully provisioned volume {name}", PROVISIONER_SOURCE)
    log.info("provisioned volume %s for claim %s/%s on node %s", name, md["namespace"],
             md["name"], node)
    return _bind(store, volume, claim)


def _annotate_provisioner(store: Store, claim: Obj, provisioner: str) -> None:
    def change(fresh: Obj) -> bool:
        annotations = fresh["metadata"].setdefault("annotations", {})
        if annotations.get(pvmatch.STORAGE_PROVISIONER) == provisioner:
            return False
        annotations[pvmatch.STORAGE_PROVISIONER] = provisioner
        annotations[pvmatch.BETA_STORAGE_PROVISIONER] = provisioner
        return True

    registry.mutate(store, "PersistentVolumeClaim", meta.namespace_of(claim),
                    meta.name_of(claim), change, meta.uid_of(claim))


def _volume_for(claim: Obj, storage_class: Obj, name: str, node: str, path: str) -> Obj:
    spec = claim["spec"]
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}},
            "spec": {"capacity": {"storage": spec["resources"]["requests"]["storage"]},
                     "accessModes": list(spec.get("accessModes") or []),
                     "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy",
                                                                        "Delete"),
                     "storageClassName": meta.name_of(storage_class),
                     "volumeMode": spec.get("volumeMode", "Filesystem"),
                     "claimRef": pvmatch.claim_ref(claim),
                     "nodeAffinity": pvmatch.hostname_affinity(node),
                     "hostPath": {"path": path, "type": "DirectoryOrCreate"}}}


def volume_node(volume: Obj) -> str | None:
    """The node a provisioned volume lives on (its node affinity's hostname)."""
    for term in (((volume["spec"].get("nodeAffinity") or {}).get("required") or {})
                 .get("nodeSelectorTerms") or []):
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == "kubernetes.io/hostname" and expr.get("values"):
                return str(expr["values"][0])
    return None


# -- volumes -----------------------------------------------------------------------------


def sync_volume(store: Store, name: str) -> Synced:
    volume = store.get("PersistentVolume", "", name)
    if volume is None:
        return Synced()
    if volume["metadata"].get("deletionTimestamp"):
        if (volume.get("status") or {}).get("phase") != "Bound" and \
                PV_PROTECTION in (volume["metadata"].get("finalizers") or []):
            _drop_finalizer(store, volume, PV_PROTECTION)
        return Synced()
    ref = volume["spec"].get("claimRef")
    if not ref or not ref.get("uid"):
        if ref:  # reserved for a claim: that claim binds it
            _set_volume_phase(store, volume, "Available")
            return Synced([("PersistentVolumeClaim", ref["namespace"], ref["name"])])
        # Newly Available: the claims waiting for a volume look again (upstream's binder
        # finds them at its next periodic pass).
        return Synced(_unbound_claims(store) if _set_volume_phase(store, volume, "Available")
                      else [])
    claim = store.get("PersistentVolumeClaim", str(ref.get("namespace")), str(ref.get("name")))
    if claim is None or meta.uid_of(claim) != ref.get("uid"):
        return _reclaim(store, volume)
    volume_name = claim["spec"].get("volumeName")
    if volume_name == name:
        _set_volume_phase(store, volume, "Bound")
        return Synced()
    if not volume_name:  # the claim's half of the binding is still to come
        return Synced([("PersistentVolumeClaim", meta.namespace_of(claim),
                        meta.name_of(claim))])
    annotations = volume["metadata"].get("annotations") or {}
    if annotations.get(BOUND_BY_CONTROLLER):  # the claim went elsewhere: free it again
        _unbind(store, volume)
    return Synced()


def _unbound_claims(store: Store) -> list[Key]:
    return [("PersistentVolumeClaim", meta.namespace_of(c), meta.name_of(c))
            for c in store.list("PersistentVolumeClaim")
            if not c["spec"].get("volumeName") and not c["metadata"].get("deletionTimestamp")]


def _unbind(store: Store, volume: Obj) -> None:
    def change(fresh: Obj) -> bool:
        if not fresh["spec"].get("claimRef"):
            return False
        fresh["spec"].pop("claimRef")
        fresh["metadata"].get("annotations", {}).pop(BOUND_BY_CONTROLLER, None)
        return True

    registry.mutate(store, "PersistentVolume", "", meta.name_of(volume), change,
                    meta.uid_of(volume))


def _reclaim(store: Store, volume: Obj) -> Synced:
    """Its claim is gone: Released, then what its reclaim policy says."""
    _set_volume_phase(store, volume, "Released")
    volume = store.get("PersistentVolume", "", meta.name_of(volume)) or volume
    policy = volume["spec"].get("persistentVolumeReclaimPolicy", "Retain")
    if policy == "Retain":
        return Synced()
    if policy == "Recycle":
        _fail(store, volume, "VolumeFailedRecycle", NO_RECYCLER)
        return Synced()
    if not provisioned(volume):
        _fail(store, volume, "VolumeFailedDelete",
              f'error getting deleter volume plugin for volume "{meta.name_of(volume)}": '
              f"{NO_DELETER}")
        return Synced()
    if not _delete_data(store, volume):
        return Synced(retry_in=DATA_BUSY_RETRY)
    with contextlib.suppress(NotFound):
        delete_object(store, "PersistentVolume", "", meta.name_of(volume),
                      uid=meta.uid_of(volume))
    log.info("deleted volume %s and its data", meta.name_of(volume))
    return Synced([("PersistentVolume", "", meta.name_of(volume))])


def _fail(store: Store, volume: Obj, reason: str, message: str) -> None:
    if _set_volume_phase(store, volume, "Failed", message):
        store.record_event(volume, "Warning", reason, message, CONTROLLER)


def _delete_data(store: Store, volume: Obj) -> bool:
    """The named volume removed from its node's engine; False while a container still
    uses it (a pod being torn down: its end wakes the volume again)."""
    node = volume_node(volume)
    found = kubelet_engine(store, node) if node else None
    if found is None:
        return True  # its node is gone, and the data with it
    with engines.using(found[1]):
        return pvvolumes.remove(meta.name_of(volume))
