"""Making a volumeMount's sub-path ready before its container is created, as the kubelet's
makeMounts does: the sub-directory is created when missing, and a sub-path that leaves its
volume through a symlink is refused (a container could otherwise plant a link to any host
path in a volume it writes, and have another mount bind it: CVE-2017-1002101).

A host directory (hostPath, and the configMap, secret, downwardAPI and projected volumes
podctl writes under the home) is resolved and created here. A Docker volume's sub-path is
bound by its path on the engine's host, which the engine creates when missing; it is looked
at first through the pod's sandbox, which mounts every emptyDir (runtime.volumes).
"""

from __future__ import annotations

import os
import posixpath

from podctl.home import home_id
from podctl.runtime import naming
from podctl.runtime.client import container_path_stat, create_body, engine_call
from podctl.runtime.specs import Mount, SubPathError
from podctl.runtime.volumes import SANDBOX_DIR


def prepare(mount: Mount, container: str, sandbox_id: str) -> None:
    """SubPathError (the kubelet's words) when the mount's sub-path cannot be used."""
    if not mount.sub_path:
        return
    if mount.engine_creates:
        _check_in_sandbox(mount, container, sandbox_id)
    else:
        _prepare_on_host(mount, container)


def _escapes(mount: Mount, container: str) -> SubPathError:
    return SubPathError(f'failed to prepare subPath for volumeMount "{mount.volume}" of '
                        f'container "{container}"')


def _prepare_on_host(mount: Mount, container: str) -> None:
    root = os.path.realpath(mount.root)
    resolved = os.path.realpath(mount.source)
    if resolved != root and not resolved.startswith(root.rstrip("/") + "/"):
        raise _escapes(mount, container)
    if os.path.lexists(mount.source):
        return
    try:
        os.makedirs(resolved, mode=os.stat(root).st_mode & 0o7777, exist_ok=True)
    except OSError as exc:
        raise SubPathError(f'failed to create subPath directory for volumeMount '
                           f'"{mount.volume}" of container "{container}"') from exc


def _check_in_sandbox(mount: Mount, container: str, sandbox_id: str) -> None:
    """Every element of the sub-path that exists must be a directory or a file, not a
    symlink (the engine would follow it on its own host). A volume the sandbox does not
    mount (its sandbox predates it) is looked at through a container made for the look."""
    root = f"{SANDBOX_DIR}/{mount.volume}"
    if container_path_stat(sandbox_id, root) is not None:
        _check_elements(mount, container, sandbox_id, root)
        return
    image = engine_call("GET", f"/containers/{sandbox_id}/json")["Image"]
    made = engine_call("POST", "/containers/create", body=create_body(
        Image=image, Labels={naming.MANAGED: "true", naming.HOME: home_id()},
        HostConfig={"Mounts": [
            {"Type": "volume", "Source": mount.backing, "Target": root, "ReadOnly": True}]}))
    try:
        _check_elements(mount, container, str(made["Id"]), root)
    finally:
        engine_call("DELETE", f"/containers/{made['Id']}", {"force": "1"}, allow=(404,))


def _check_elements(mount: Mount, container: str, looker: str, root: str) -> None:
    path = root
    for element in posixpath.normpath(mount.sub_path).split("/"):
        path = f"{path}/{element}"
        stat = container_path_stat(looker, path)
        if stat is None:
            return
        if stat.get("linkTarget"):
            raise _escapes(mount, container)
