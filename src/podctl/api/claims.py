"""The claims a pod's volumes name: a persistentVolumeClaim's claimName, and the claim
`<pod>-<volume>` of a generic ephemeral volume (upstream's ephemeral.VolumeClaimName)."""

from __future__ import annotations

from podctl.api.meta import Obj

# podctl's provisioner answers to kind's name: manifests written for kind name it in their
# own classes, and its volumes are recorded as kind's (hostPath, node affinity).
PROVISIONER = "rancher.io/local-path"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


def claim_of(pod: Obj, volume: Obj) -> str | None:
    """The claim one volume of the pod mounts, or None for other sources."""
    source = volume.get("persistentVolumeClaim")
    if isinstance(source, dict):
        return str(source.get("claimName") or "")
    if isinstance(volume.get("ephemeral"), dict):
        return f"{pod['metadata']['name']}-{volume.get('name', '')}"
    return None


def claim_names(pod: Obj) -> list[str]:
    """Every claim the pod mounts, in its volumes' order."""
    found = (claim_of(pod, v) for v in (pod.get("spec") or {}).get("volumes") or []
             if isinstance(v, dict))
    return [name for name in found if name]


def provisioned(volume: Obj) -> bool:
    """A PersistentVolume podctl's provisioner made (backed by a Docker named volume)."""
    annotations = (volume.get("metadata") or {}).get("annotations") or {}
    return annotations.get(PROVISIONED_BY) == PROVISIONER
