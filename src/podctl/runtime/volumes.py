"""Pod volumes: emptyDir as a Docker volume owned by the pod (a tmpfs for medium Memory),
hostPath as a bind mount.

The sandbox mounts every emptyDir of its pod under SANDBOX_DIR: it holds a Memory volume's
tmpfs for the pod's life (Docker's local driver unmounts a tmpfs, and so drops its files,
when the last container using it stops: an app container's restart would lose them), and
it is where a sub-path of the volume is looked at before it is bound (runtime.subpaths).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from podctl.api.meta import Obj
from podctl.api.quantity import bytes_of
from podctl.runtime import naming
from podctl.runtime.client import engine_call
from podctl.runtime.specs import VolumeSource, VolumeSources

SANDBOX_DIR = "/.podctl/volumes"


def prepare_volumes(pod: Obj, bound: dict[str, str] | None = None,
                    claimed: VolumeSources | None = None,
                    allocatable_memory: str | None = None) -> VolumeSources:
    """Create the pod's volumes; map each volume name to where it is. `bound`: the host
    directories already written for some of them (configMap, secret); `claimed`: where
    its claims' volumes are."""
    sources: VolumeSources = dict(claimed or {})
    empty_dirs = prepare_empty_dirs(pod, allocatable_memory)
    for volume in pod["spec"].get("volumes") or []:
        name = volume["name"]
        if name in sources:
            continue
        if bound and name in bound:
            sources[name] = VolumeSource("bind", bound[name])
        elif "hostPath" in volume:
            sources[name] = VolumeSource("bind", _host_path(volume["hostPath"]))
        elif name in empty_dirs:
            sources[name] = empty_dirs[name]
    return sources


def prepare_empty_dirs(pod: Obj, allocatable_memory: str | None) -> VolumeSources:
    """Create (or find: creating is idempotent) the pod's emptyDir volumes."""
    made: VolumeSources = {}
    for volume in pod["spec"].get("volumes") or []:
        if not is_empty_dir(volume):
            continue
        empty_dir = volume.get("emptyDir") or {}
        opts = None
        if empty_dir.get("medium") == "Memory":
            opts = {"type": "tmpfs", "device": "tmpfs"}
            size = memory_volume_bytes(pod, empty_dir, allocatable_memory)
            if size:
                opts["o"] = f"size={size}"
        created = engine_call("POST", "/volumes/create", body={
            "Name": naming.volume_name(pod, volume["name"]), "Driver": "local",
            "DriverOpts": opts or {}, "Labels": naming.pod_labels(pod)})
        made[volume["name"]] = VolumeSource("volume", str(created["Name"]),
                                            str(created.get("Mountpoint") or ""))
    return made


def is_empty_dir(volume: Obj) -> bool:
    return "emptyDir" in volume


def sandbox_mounts(pod: Obj) -> dict[str, str]:
    """Where the sandbox mounts each of the pod's emptyDir volumes: target -> volume."""
    return {f"{SANDBOX_DIR}/{v['name']}": naming.volume_name(pod, v["name"])
            for v in pod["spec"].get("volumes") or [] if is_empty_dir(v)}


def pod_memory_limit(pod: Obj) -> int | None:
    """The pod's memory limit as the kubelet sets its cgroup: only when every container
    declares one; the app containers' (and sidecars') sum, or an init container's if
    larger."""
    spec = pod["spec"]
    containers = spec.get("containers") or []
    inits = spec.get("initContainers") or []
    limits = [((c.get("resources") or {}).get("limits") or {}).get("memory")
              for c in [*containers, *inits]]
    if not limits or any(limit is None for limit in limits):
        return None
    running = sum(bytes_of(c["resources"]["limits"]["memory"]) for c in containers) + sum(
        bytes_of(c["resources"]["limits"]["memory"]) for c in inits
        if c.get("restartPolicy") == "Always")
    one_time = [bytes_of(c["resources"]["limits"]["memory"]) for c in inits
                if c.get("restartPolicy") != "Always"]
    return max([running, *one_time])


def memory_volume_bytes(pod: Obj, empty_dir: Obj, allocatable_memory: str | None) -> int | None:
    """A Memory emptyDir's tmpfs size, as the kubelet sizes it: the node's allocatable
    memory, lowered to the pod's memory limit, then to the volume's sizeLimit (each only
    when positive and not above what it lowers). None: no bound known (Docker's default)."""
    size = bytes_of(allocatable_memory) if allocatable_memory else None
    given = empty_dir.get("sizeLimit")
    for candidate in (pod_memory_limit(pod), bytes_of(given) if given is not None else None):
        if candidate is not None and candidate > 0 and (size is None or candidate <= size):
            size = candidate
    return size


def _host_path(host_path: Obj) -> str:
    path = str(host_path["path"])
    kind = host_path.get("type") or ""
    if kind == "DirectoryOrCreate":
        Path(path).mkdir(parents=True, exist_ok=True)
    elif kind == "FileOrCreate" and not os.path.exists(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).touch()
    elif kind == "Directory" and not os.path.isdir(path):
        raise HostPathError(f"hostPath type check failed: {path} is not a directory")
    elif kind == "File" and not os.path.isfile(path):
        raise HostPathError(f"hostPath type check failed: {path} is not a file")
    return path


class HostPathError(Exception):
    """A hostPath volume whose type check fails (the kubelet's FailedMount)."""


def remove_pod_volumes(pod_uid: str) -> None:
    found = engine_call("GET", "/volumes",
                        {"filters": json.dumps({"label": [f"{naming.POD_UID}={pod_uid}"]})})
    for volume in found.get("Volumes") or []:
        engine_call("DELETE", f"/volumes/{volume['Name']}", {"force": "1"}, allow=(404,))


def host_path_source(host_path: Obj) -> str:
    """A hostPath PersistentVolume's directory, checked and made as a pod's hostPath."""
    return _host_path(host_path)
