"""The VolumeBinding plugin: a pod's claims must exist and not be going; an unbound claim of
an Immediate class keeps the pod waiting; a bound claim's volume must admit the node; an
unbound claim of a WaitForFirstConsumer class needs a volume it can bind on the node, or a
provisioner to make one there. Once a node is chosen the claims are bound to it
(`claims_to_bind`) before the pod is."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.claims import claim_names, claim_of
from podctl.api.meta import Obj
from podctl.controllers import pvmatch
from podctl.controllers.scheduler.state import TERMINAL, Cluster
from podctl.manifest.storage_rules import class_of

UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME = "node(s) didn't find available persistent volumes to bind"
RWOP_CONFLICT = ("node has pod using PersistentVolumeClaim with the same name and "
                 "ReadWriteOncePod access mode")


def _claims(pod: Obj, cluster: Cluster) -> list[tuple[str, Obj | None]]:
    return [(name, cluster.claims.get(name)) for name in claim_names(pod)]


def _delayed(claim: Obj, cluster: Cluster) -> bool:
    storage_class = cluster.classes.get(class_of(claim)) or {}
    return storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"


def prefilter(pod: Obj, cluster: Cluster) -> str | None:
    """Why no node can take the pod now, judged by its claims alone."""
    ephemeral = {claim_of(pod, v) for v in pod["spec"].get("volumes") or []
                 if isinstance(v.get("ephemeral"), dict)}
    unbound_immediate = False
    for name, claim in _claims(pod, cluster):
        if claim is None and name in ephemeral:
            return ("waiting for ephemeral volume controller to create the "
                    f'persistentvolumeclaim "{name}"')
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if name in ephemeral and (meta.controller_of(claim) or {}).get("uid") != \
                meta.uid_of(pod):
            md = pod["metadata"]
            return (f"PVC {md['namespace']}/{name} was not created for pod "
                    f"{md['namespace']}/{md['name']} (pod is not owner)")
        if claim["metadata"].get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        if not claim["spec"].get("volumeName") and not _delayed(claim, cluster):
            unbound_immediate = True
        if "ReadWriteOncePod" in (claim["spec"].get("accessModes") or []) and \
                _used_elsewhere(pod, name, cluster):
            return RWOP_CONFLICT
    return UNBOUND_IMMEDIATE if unbound_immediate else None


def _used_elsewhere(pod: Obj, claim: str, cluster: Cluster) -> bool:
    """Another scheduled, unfinished pod mounts the claim (VolumeRestrictions' test)."""
    namespace = meta.namespace_of(pod)
    return any(meta.namespace_of(other) == namespace and meta.uid_of(other) != meta.uid_of(pod)
               and other["spec"].get("nodeName") and claim in claim_names(other)
               and (other.get("status") or {}).get("phase") not in TERMINAL
               for other in cluster.pods)


def reject(pod: Obj, node: Obj, cluster: Cluster) -> str | None:
    """Why the node cannot take the pod's claims, None when it can."""
    for _, claim in _claims(pod, cluster):
        if claim is None:
            continue
        bound_to = claim["spec"].get("volumeName")
        if bound_to:
            volume = cluster.volumes.get(bound_to)
            if volume is not None and not pvmatch.node_fits(volume, node):
                return CONFLICT
            continue
        selected = (claim["metadata"].get("annotations") or {}).get(pvmatch.SELECTED_NODE)
        if selected and selected != node["metadata"]["name"]:
            return CONFLICT  # its volume is being made on the node picked before
        if pvmatch.find_match(claim, cluster.volumes.values(), node) is None and \
                not _provisionable(claim, cluster):
            return NO_VOLUME
    return None


def _provisionable(claim: Obj, cluster: Cluster) -> bool:
    storage_class = cluster.classes.get(class_of(claim)) or {}
    return storage_class.get("provisioner") == pvmatch.PROVISIONER


def claims_to_bind(pod: Obj, node: Obj, cluster: Cluster) -> list[tuple[Obj, Obj | None]]:
    """The pod's unbound claims, each with the volume it takes on the node (None: one is to
    be provisioned there)."""
    out: list[tuple[Obj, Obj | None]] = []
    for _, claim in _claims(pod, cluster):
        if claim is not None and not claim["spec"].get("volumeName"):
            out.append((claim, pvmatch.find_match(claim, cluster.volumes.values(), node)))
    return out
