"""Pod volumes: emptyDir as a Docker volume owned by the pod, hostPath as a bind mount."""

from __future__ import annotations

import json
import os
from pathlib import Path

from podctl.api.meta import Obj
from podctl.api.quantity import bytes_of
from podctl.runtime import naming
from podctl.runtime.client import docker_api, engine_call, translate_errors
from podctl.runtime.specs import VolumeSources


def prepare_volumes(pod: Obj, bound: dict[str, str] | None = None,
                    claimed: VolumeSources | None = None) -> VolumeSources:
    """Create the pod's volumes; map each volume name to (mount kind, source). `bound`: the
    host directories already written for some of them (configMap, secret); `claimed`: the
    sources of its claims' volumes."""
    sources: VolumeSources = dict(claimed or {})
    for volume in pod["spec"].get("volumes") or []:
        name = volume["name"]
        if name in sources:
            continue
        if bound and name in bound:
            sources[name] = ("bind", bound[name])
        elif "hostPath" in volume:
            sources[name] = ("bind", _host_path(volume["hostPath"]))
        else:
            sources[name] = ("volume", _empty_dir(pod, name, volume.get("emptyDir") or {}))
    return sources


def _empty_dir(pod: Obj, name: str, empty_dir: Obj) -> str:
    volume = naming.volume_name(pod, name)
    opts = None
    if empty_dir.get("medium") == "Memory":
        opts = {"type": "tmpfs", "device": "tmpfs"}
        if empty_dir.get("sizeLimit"):
            opts["o"] = f"size={bytes_of(empty_dir['sizeLimit'])}"
    with translate_errors():
        docker_api().create_volume(
            name=volume, driver="local", driver_opts=opts,
            labels={**naming.pod_labels(pod)},
        )
    return volume


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
