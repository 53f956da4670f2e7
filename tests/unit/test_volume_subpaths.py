"""subPath and subPathExpr as the kubelet resolves them, and a Memory emptyDir's size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from podctl.manifest import check_document
from podctl.manifest.load import parse_text
from podctl.runtime import specs, subpaths
from podctl.runtime.specs import SubPathError, VolumeSource
from podctl.runtime.volumes import memory_volume_bytes, pod_memory_limit, sandbox_mounts

MI = 1024 * 1024


def pod(containers: list[dict[str, Any]], volumes: list[dict[str, Any]],
        inits: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers, "volumes": volumes}
    if inits:
        spec["initContainers"] = inits
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u-1"}, "spec": spec}


def limited(memory: str | None, **extra: Any) -> dict[str, Any]:
    resources = {"limits": {"memory": memory}} if memory else {}
    return {"name": f"c{memory}", "image": "x", "resources": resources, **extra}


@pytest.mark.parametrize("mount,env,want", [
    ({"subPath": "html"}, {}, "html"),
    ({"subPath": "a/b/"}, {}, "a/b/"),
    ({"subPathExpr": "$(POD_NAME)"}, {"POD_NAME": "web-0"}, "web-0"),
    ({"subPathExpr": "logs/$(NS)/$(POD_NAME)"}, {"POD_NAME": "p", "NS": "prod"}, "logs/prod/p"),
    ({"subPathExpr": "cost$$/$(A)"}, {"A": "1"}, "cost$/1"),
    ({}, {}, ""),
])
def test_the_sub_path_of_a_mount(mount: dict[str, Any], env: dict[str, str], want: str) -> None:
    assert specs.sub_path({"name": "v", "mountPath": "/m", **mount}, env) == want


@pytest.mark.parametrize("mount,env,message", [
    ({"subPathExpr": "$(POD_NAME)"}, {}, "missing value for POD_NAME"),
    ({"subPathExpr": "$(B)/$(A)/$(B)"}, {"A": ""}, "missing value for A, B"),
    ({"subPathExpr": "/$(A)"}, {"A": "x"}, "error SubPath `/x` must not be an absolute path"),
    ({"subPathExpr": "$(A)/x"}, {"A": ".."},
     "unable to provision SubPath `../x`: must not contain '..'"),
    ({"subPath": "/etc"}, {}, "error SubPath `/etc` must not be an absolute path"),
])
def test_the_kubelet_s_refusals(mount: dict[str, Any], env: dict[str, str],
                                message: str) -> None:
    with pytest.raises(SubPathError) as caught:
        specs.sub_path({"name": "v", "mountPath": "/m", **mount}, env)
    assert str(caught.value) == message


def test_mounts_of_sub_paths_of_host_directories_and_docker_volumes() -> None:
    container = {"name": "app", "image": "x", "volumeMounts": [
        {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
        {"name": "data", "mountPath": "/var/log/app", "subPathExpr": "logs/$(POD)"},
        {"name": "data", "mountPath": "/data"},
        {"name": "host", "mountPath": "/host", "subPath": "./a//b", "readOnly": True}]}
    the_pod = pod([container], [{"name": "cfg", "configMap": {"name": "c"}},
                                {"name": "data", "emptyDir": {}},
                                {"name": "host", "hostPath": {"path": "/srv"}}])
    sources = {"cfg": VolumeSource("bind", "/home/v/u-1/cfg"),
               "data": VolumeSource("volume", "podctl_u-1_data", "/var/lib/docker/v/_data"),
               "host": VolumeSource("bind", "/srv")}
    mounts = specs.container_mounts(the_pod, container, sources, {"POD": "web"})
    assert mounts == [
        specs.Mount("bind", "/home/v/u-1/cfg/app.conf", "/etc/app.conf", True,
                    "cfg", "app.conf", "/home/v/u-1/cfg"),
        specs.Mount("bind", "/var/lib/docker/v/_data/logs/web", "/var/log/app", False,
                    "data", "logs/web", "/var/lib/docker/v/_data", engine_creates=True,
                    backing="podctl_u-1_data"),
        specs.Mount("volume", "podctl_u-1_data", "/data", False),
        specs.Mount("bind", "/srv/a/b", "/host", True, "host", "./a//b", "/srv")]


def test_a_valid_sub_path_expression_passes_the_api_server_s_checks() -> None:
    text = """apiVersion: v1
kind: Pod
metadata: {name: logger}
spec:
  containers:
  - name: app
    image: busybox
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    volumeMounts:
    - {name: logs, mountPath: /logs, subPathExpr: $(POD_NAME)}
    - {name: logs, mountPath: /tmp/x, subPath: app/tmp}
  volumes:
  - name: logs
    emptyDir: {medium: Memory, sizeLimit: 64Mi}
"""
    checked = check_document(parse_text(text, "t.yaml").documents[0])
    assert checked.problems == []


def test_a_host_sub_path_is_created_with_the_volume_s_mode(tmp_path: Path) -> None:
    root = tmp_path / "vol"
    root.mkdir(mode=0o750)
    mount = specs.Mount("bind", str(root / "a" / "b"), "/m", False, "v", "a/b", str(root))
    subpaths.prepare(mount, "app", "")
    assert (root / "a" / "b").is_dir()
    assert (root / "a" / "b").stat().st_mode & 0o777 == 0o750 & ~_umask()
    subpaths.prepare(mount, "app", "")  # already there: nothing to do


def test_a_host_sub_path_leaving_its_volume_through_a_symlink_is_refused(
        tmp_path: Path) -> None:
    root = tmp_path / "vol"
    root.mkdir()
    outside = tmp_path / "secret"
    outside.mkdir()
    (root / "inner").mkdir()
    (root / "escape").symlink_to(outside)
    (root / "fine").symlink_to("inner")
    good = specs.Mount("bind", str(root / "fine"), "/m", False, "v", "fine", str(root))
    subpaths.prepare(good, "app", "")  # a link that stays inside the volume is fine
    bad = specs.Mount("bind", str(root / "escape" / "x"), "/m", False, "v", "escape/x",
                      str(root))
    with pytest.raises(SubPathError) as caught:
        subpaths.prepare(bad, "app", "")
    assert str(caught.value) == 'failed to prepare subPath for volumeMount "v" of container "app"'
    assert not (outside / "x").exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_pod_memory_limit_needs_every_container_to_declare_one() -> None:
    assert pod_memory_limit(pod([limited("64Mi"), limited("32Mi")], [])) == 96 * MI
    assert pod_memory_limit(pod([limited("64Mi"), limited(None)], [])) is None
    assert pod_memory_limit(pod([limited("64Mi")], [], [limited("128Mi")])) == 128 * MI
    sidecar = limited("16Mi", restartPolicy="Always")
    assert pod_memory_limit(pod([limited("64Mi")], [], [sidecar])) == 80 * MI
    assert pod_memory_limit(pod([limited("64Mi")], [], [limited(None)])) is None


@pytest.mark.parametrize("containers,size_limit,allocatable,want", [
    ([limited(None)], "64Mi", "8Gi", 64 * MI),       # the volume's own limit
    ([limited(None)], None, "8Gi", 8192 * MI),       # no limit: the node's allocatable
    ([limited("32Mi")], "64Mi", "8Gi", 32 * MI),     # not above the pod's memory limit
    ([limited("128Mi")], "64Mi", "8Gi", 64 * MI),
    ([limited("128Mi")], None, "8Gi", 128 * MI),
    ([limited(None)], "16Gi", "8Gi", 8192 * MI),     # not above the node's
    ([limited(None)], "64Mi", None, 64 * MI),
    ([limited(None)], None, None, None),              # nothing known: Docker's default
    ([limited(None)], "0", "1Gi", 1024 * MI),          # zero is no limit
])
def test_a_memory_volume_s_size(containers: list[dict[str, Any]], size_limit: str | None,
                                allocatable: str | None, want: int | None) -> None:
    empty_dir = {"medium": "Memory", **({"sizeLimit": size_limit} if size_limit else {})}
    the_pod = pod(containers, [{"name": "m", "emptyDir": empty_dir}])
    assert memory_volume_bytes(the_pod, empty_dir, allocatable) == want


def test_the_sandbox_mounts_every_empty_dir_and_nothing_else() -> None:
    the_pod = pod([limited(None)], [{"name": "a", "emptyDir": {}},
                                    {"name": "m", "emptyDir": {"medium": "Memory"}},
                                    {"name": "h", "hostPath": {"path": "/srv"}},
                                    {"name": "c", "configMap": {"name": "x"}}])
    assert sandbox_mounts(the_pod) == {"/.podctl/volumes/a": "podctl_u-1_a",
                                       "/.podctl/volumes/m": "podctl_u-1_m"}
