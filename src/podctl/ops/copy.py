"""`cp`: files between this machine and a container, through Docker's archive API."""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from pathlib import Path

from podctl.errors import PodctlError
from podctl.kubelet.lookup import Target
from podctl.ops.logs import resolve
from podctl.runtime import engines
from podctl.runtime.client import docker_api, translate_errors


def split_spec(spec: str) -> tuple[str | None, str]:
    """`[ns/]pod:path` -> (pod reference, path); a plain local path -> (None, path)."""
    if ":" in spec and not spec.startswith(("/", ".")):
        pod, _, path = spec.partition(":")
        return pod, path
    return None, spec


def copy(namespace: str, source: str, dest: str, container: str | None) -> None:
    src_pod, src_path = split_spec(source)
    dst_pod, dst_path = split_spec(dest)
    if (src_pod is None) == (dst_pod is None):
        raise PodctlError("one of src or dest must be a local file specification and the "
                          "other a remote file specification (pod:path)")
    if src_pod is not None:
        target = _target(namespace, src_pod, container)
        with engines.using(target.engine):
            _from_pod(target.container_id, src_pod.rpartition("/")[2], src_path,
                      Path(dst_path))
    else:
        assert dst_pod is not None
        target = _target(namespace, dst_pod, container)
        with engines.using(target.engine):
            _to_pod(Path(src_path), target.container_id, dst_pod.rpartition("/")[2],
                    dst_path)


def _target(namespace: str, pod: str, container: str | None) -> Target:
    ns, _, name = pod.rpartition("/")
    return resolve(ns or namespace, name, container)


def _to_pod(local: Path, container_id: str, pod: str, remote: str) -> None:
    if not local.exists():
        raise PodctlError(f"{local} doesn't exist in local filesystem")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(str(local), arcname=posixpath.basename(remote.rstrip("/")) or local.name)
    with translate_errors():
        ok = docker_api().put_archive(container_id, posixpath.dirname(remote) or "/",
                                      buffer.getvalue())
    if not ok:
        raise PodctlError(f"cannot copy to {pod}:{remote}")


def _from_pod(container_id: str, pod: str, remote: str, local: Path) -> None:
    import docker.errors

    try:
        with translate_errors():
            stream, _ = docker_api().get_archive(container_id, remote)
            data = b"".join(stream)
    except docker.errors.NotFound as exc:
        raise PodctlError(f"{remote}: No such file or directory") from exc
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        root = members[0].name.split("/")[0] if members else ""
        for member in members:
            relative = member.name[len(root):].lstrip("/")
            target = local / relative if relative else local
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                extracted = archive.extractfile(member)
                assert extracted is not None
                target.write_bytes(extracted.read())
                os.chmod(target, member.mode & 0o777)
