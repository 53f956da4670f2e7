"""configMap, secret, downwardAPI and projected volumes as host directories bind-mounted
into containers, written the way the kubelet's atomic writer does: the files live in a
timestamped directory, a `..data` symlink points at it and is swapped by one rename, and
every visible name is a symlink through `..data`; so a running container sees an update
all at once (subPath mounts, bound to one file, keep what they had)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from podctl.api.meta import Obj

if TYPE_CHECKING:
    # A type only: the functions import what they compute with, so removing a pod loads none.
    from podctl.runtime.configenv import ConfigObjects

DATA = "..data"
DATA_TMP = "..data_tmp"
DEFAULT_MODE = 0o644
VOLUMES_DIR = "volumes"


class MountError(Exception):
    """A volume that cannot be set up (the kubelet's FailedMount)."""

    def __init__(self, volume: str, detail: str) -> None:
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {detail}')


@dataclass(frozen=True)
class File:
    content: bytes
    mode: int


Payload = dict[str, File]  # relative path -> file


API_SOURCES = ("configMap", "secret", "downwardAPI", "projected")
# A projected serviceAccountToken's file: (pod, projection, the bytes written before) ->
# the bytes to write (the same while they are fresh); ValueError says why there are none.
TokenSource = Callable[[Obj, Obj, bytes | None], bytes]


def is_api_volume(volume: Obj) -> bool:
    """A volume the kubelet fills from the API: configMap, secret, downwardAPI, projected."""
    return any(key in volume for key in API_SOURCES)


def _contents(obj: Obj) -> dict[str, bytes]:
    """Every key's bytes: a ConfigMap's data and binaryData, a Secret's decoded data."""
    out: dict[str, bytes] = {}
    if obj["kind"] == "ConfigMap":
        out.update({k: str(v).encode() for k, v in (obj.get("data") or {}).items()})
    for field in ("binaryData",) if obj["kind"] == "ConfigMap" else ("data",):
        for key, value in (obj.get(field) or {}).items():
            try:
                out[key] = base64.b64decode(str(value))
            except (binascii.Error, ValueError):
                out[key] = b""
    return out


def _object_files(volume: str, kind: str, name: str, source: Obj, objects: ConfigObjects,
                  default: int) -> Payload:
    optional = bool(source.get("optional"))
    obj = objects.get((kind, name))
    if obj is None:
        if optional:
            return {}
        raise MountError(volume, f'{kind.lower()} "{name}" not found')
    contents = _contents(obj)
    items = source.get("items")
    if not items:
        return {key: File(value, default) for key, value in contents.items()}
    files: Payload = {}
    for item in items:
        key = str(item["key"])
        if key not in contents:
            if optional:
                continue
            raise MountError(volume,
                             f"{kind.lower()} references non-existent config key: {key}")
        files[str(item["path"])] = File(contents[key], int(item.get("mode", default)))
    return files


def _downward_files(pod: Obj, source: Obj, default: int,
                    allocatable: dict[str, str]) -> Payload:
    """metadata fields (whole label and annotation maps as `key="value"` lines) and
    container resources, one file per item."""
    from podctl.runtime.specs import resource_field_value

    containers = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
    files: Payload = {}
    for item in source.get("items") or []:
        if "fieldRef" in item:
            text = _metadata_field(pod, str(item["fieldRef"]["fieldPath"]))
        else:
            ref = item.get("resourceFieldRef") or {}
            container = containers.get(str(ref.get("containerName", "")), {})
            text = resource_field_value(container, ref, allocatable)
        files[str(item["path"])] = File(text.encode(), int(item.get("mode", default)))
    return files


def _metadata_field(pod: Obj, path: str) -> str:
    from podctl.api.fieldpath import field_value

    if path in ("metadata.labels", "metadata.annotations"):
        items = pod["metadata"].get(path.split(".")[1]) or {}
        return "\n".join(f"{k}={json.dumps(str(v), ensure_ascii=False)}"
                         for k, v in sorted(items.items()))
    return field_value(pod, path)


def payload(pod: Obj, volume: Obj, objects: ConfigObjects,
            allocatable: dict[str, str] | None = None, current: Payload | None = None,
            tokens: TokenSource | None = None) -> Payload:
    """The files of an API-data volume (`current`: what it shows now); MountError as the
    kubelet words it."""
    name, nodes = volume["name"], allocatable or {}
    if "configMap" in volume:
        src = volume["configMap"]
        return _object_files(name, "ConfigMap", str(src.get("name", "")), src, objects,
                             int(src.get("defaultMode", DEFAULT_MODE)))
    if "secret" in volume:
        src = volume["secret"]
        return _object_files(name, "Secret", str(src.get("secretName", "")), src, objects,
                             int(src.get("defaultMode", DEFAULT_MODE)))
    if "downwardAPI" in volume:
        src = volume["downwardAPI"]
        return _downward_files(pod, src, int(src.get("defaultMode", DEFAULT_MODE)), nodes)
    projected = volume.get("projected") or {}
    default = int(projected.get("defaultMode", DEFAULT_MODE))
    files: Payload = {}
    for source in projected.get("sources") or []:
        if "configMap" in source:
            src = source["configMap"]
            files.update(_object_files(name, "ConfigMap", str(src.get("name", "")), src,
                                       objects, default))
        elif "secret" in source:
            src = source["secret"]
            files.update(_object_files(name, "Secret", str(src.get("name", "")), src,
                                       objects, default))
        elif "downwardAPI" in source:
            files.update(_downward_files(pod, source["downwardAPI"], default, nodes))
        elif "serviceAccountToken" in source and tokens is not None:
            src = source["serviceAccountToken"]
            path = str(src.get("path", ""))
            old = (current or {}).get(path)
            try:
                token = tokens(pod, src, old.content if old else None)
            except ValueError as exc:
                raise MountError(name, f"failed to fetch token: {exc}") from None
            files[path] = File(token, default)
    return files


def volume_dir(home: Path, pod_uid: str, volume: str) -> Path:
    return home / VOLUMES_DIR / pod_uid / volume


def _current(target: Path) -> Payload | None:
    """What `..data` shows now, or None before the first write."""
    data = target / DATA
    if not data.is_symlink():
        return None
    root = target / os.readlink(data)
    found: Payload = {}
    for path in root.rglob("*"):
        if path.is_file():
            found[str(path.relative_to(root))] = File(path.read_bytes(),
                                                      path.stat().st_mode & 0o7777)
    return found


def write(target: Path, files: Payload) -> bool:
    """Make `target` show `files`, by one rename of `..data`; False when it already did."""
    if _current(target) == files:
        return False
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y_%m_%d_%H_%M_%S")
    fresh = target / f"..{stamp}.{secrets.token_hex(5)}"
    fresh.mkdir(mode=0o755)
    for rel, file in files.items():
        path = fresh / rel
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.write_bytes(file.content)
        path.chmod(file.mode)
    old = os.readlink(target / DATA) if (target / DATA).is_symlink() else None
    tmp = target / DATA_TMP
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(fresh.name)
    tmp.rename(target / DATA)
    visible = {rel.split("/", 1)[0] for rel in files}
    for name in visible:
        link = target / name
        if not link.is_symlink():
            link.symlink_to(f"{DATA}/{name}")
    for entry in target.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.name not in visible and entry.is_symlink():
            entry.unlink()
    if old is not None and old != fresh.name:
        shutil.rmtree(target / old, ignore_errors=True)
    return True


def prepare(home: Path, pod: Obj, objects: ConfigObjects,
            allocatable: dict[str, str] | None = None,
            tokens: TokenSource | None = None) -> dict[str, str]:
    """Write every API-data volume of the pod; volume name -> host directory."""
    dirs: dict[str, str] = {}
    uid = str(pod["metadata"]["uid"])
    # Secrets' files live here: only the home's owner (and root) may enter.
    (home / VOLUMES_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if not is_api_volume(volume):
            continue
        target = volume_dir(home, uid, volume["name"])
        write(target, payload(pod, volume, objects, allocatable, _current(target), tokens))
        dirs[volume["name"]] = str(target)
    return dirs


def refresh(home: Path, pod: Obj, objects: ConfigObjects,
            allocatable: dict[str, str] | None = None,
            tokens: TokenSource | None = None) -> list[str]:
    """Bring the already written volumes of a running pod up to date (objects changed, the
    pod's labels and annotations, a token near its expiry); the names of those that
    changed. A source that went missing leaves the files as they were."""
    changed = []
    uid = str(pod["metadata"]["uid"])
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        target = volume_dir(home, uid, volume["name"])
        if not is_api_volume(volume) or not (target / DATA).is_symlink():
            continue
        try:
            files = payload(pod, volume, objects, allocatable, _current(target), tokens)
        except MountError:
            continue
        if write(target, files):
            changed.append(volume["name"])
    return changed


def token_renewal_in(home: Path, pod: Obj, now: float) -> float | None:
    """Seconds until the first of the pod's written projected tokens is due for renewal
    (80% of its life; at least one second away), None when it has none."""
    from podctl.api.identity import REFRESH_AT, unverified_times

    due: list[float] = []
    uid = str(pod["metadata"]["uid"])
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        for source in (volume.get("projected") or {}).get("sources") or []:
            path = (source.get("serviceAccountToken") or {}).get("path")
            if not path:
                continue
            try:
                token = (volume_dir(home, uid, volume["name"]) / DATA / path).read_bytes()
            except OSError:
                continue
            times = unverified_times(token)
            if times is not None:
                iat, exp = times
                due.append(iat + REFRESH_AT * (exp - iat) - now)
    return max(1.0, min(due)) if due else None


def remove(home: Path, pod_uid: str) -> None:
    shutil.rmtree(home / VOLUMES_DIR / pod_uid, ignore_errors=True)
