"""The kubelet's share of claims: each persistentVolumeClaim (or generic ephemeral) volume
of a pod resolved to what it mounts, once its claim is bound: a provisioned volume's Docker
named volume on this node's engine, a hostPath or local volume's directory."""

from __future__ import annotations

from podctl.api.claims import claim_of, provisioned
from podctl.api.meta import Obj
from podctl.runtime import pvvolumes, volumes
from podctl.runtime.specs import VolumeSource, VolumeSources
from podctl.store import Store


class ClaimNotReady(Exception):
    """A claim the pod mounts is not bound to a usable volume yet (the kubelet's
    FailedMount)."""


def claim_sources(store: Store, pod: Obj) -> VolumeSources:
    """Each claim volume of the pod, by volume name, as the runtime mounts it."""
    sources: VolumeSources = {}
    namespace = pod["metadata"]["namespace"]
    for volume in pod["spec"].get("volumes") or []:
        claim_name = claim_of(pod, volume)
        if claim_name is None:
            continue
        claim = store.get("PersistentVolumeClaim", namespace, claim_name)
        if claim is None:
            raise ClaimNotReady(f'persistentvolumeclaim "{claim_name}" not found')
        pv_name = claim["spec"].get("volumeName")
        pv = store.get("PersistentVolume", "", pv_name) if pv_name else None
        if pv is None or (claim.get("status") or {}).get("phase") != "Bound":
            raise ClaimNotReady(f"Unable to attach or mount volumes: unmounted volumes="
                                f"[{volume['name']}]: persistentvolumeclaim \"{claim_name}\" "
                                "is not bound")
        sources[volume["name"]] = _source(pv)
    return sources


def _source(pv: Obj) -> VolumeSource:
    name = pv["metadata"]["name"]
    if provisioned(pv):
        mountpoint = pvvolumes.mountpoint(name)
        if mountpoint is None:
            raise ClaimNotReady(f'MountVolume.SetUp failed for volume "{name}": its data '
                                "volume is missing on this node")
        return VolumeSource("volume", name, mountpoint)
    if isinstance(pv["spec"].get("hostPath"), dict):
        return VolumeSource("bind", volumes.host_path_source(pv["spec"]["hostPath"]))
    source = pv["spec"].get("local") or {}
    if not source.get("path"):
        raise ClaimNotReady(f'MountVolume.SetUp failed for volume "{name}": podctl mounts '
                            "only hostPath and local persistent volumes")
    return VolumeSource("bind", str(source["path"]))
