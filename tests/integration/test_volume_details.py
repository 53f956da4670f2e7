"""Volume details on the real engine: emptyDir medium Memory (a tmpfs of the kubelet's size,
kept across container restarts, on the host and on a node container), and subPath and
subPathExpr on every kind of volume, with the kubelet's failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest

from .conftest import BUSYBOX_IMAGE, PAUSE_IMAGE, ControllerProcess, Podctl
from .test_api_kubectl import ApiController


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _exec(podctl: Podctl, pod: str, script: str, container: str | None = None) -> str:
    args = ["exec", pod] + (["-c", container] if container else []) + ["--", "sh", "-c", script]
    result = podctl.run(*args)
    return result.out.strip() if result.code == 0 else f"<exit {result.code}: {result.err}>"


def _running(podctl: Podctl, pod: str) -> bool:
    statuses = podctl.pod_json(pod).get("status", {}).get("containerStatuses") or []
    return bool(statuses) and all("running" in (s.get("state") or {}) for s in statuses)


def _waiting(podctl: Podctl, pod: str) -> dict[str, Any]:
    statuses = podctl.pod_json(pod).get("status", {}).get("containerStatuses") or [{}]
    return dict((statuses[0].get("state") or {}).get("waiting") or {})


def _memory_pod(name: str, node: str | None = None) -> str:
    placement = f"  nodeName: {node}\n" if node else ""
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{placement}  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 1' TERM; sleep 3600 & wait"]
    volumeMounts:
    - {{name: cache, mountPath: /cache}}
    - {{name: cache, mountPath: /work, subPath: jobs/current}}
  volumes:
  - name: cache
    emptyDir: {{medium: Memory, sizeLimit: 64Mi}}
"""


def _df(podctl: Podctl, pod: str, path: str) -> list[str]:
    lines = _exec(podctl, pod, f"df -k {path}").splitlines()
    return lines[-1].split() if len(lines) > 1 else lines


def test_memory_empty_dir_is_a_tmpfs_of_its_size_kept_across_restarts(
        podctl: Podctl, controller: Callable[[], ControllerProcess]) -> None:
    controller()
    pod = _name("mem")
    podctl.apply_yaml(_memory_pod(pod))
    podctl.wait_for(lambda: _running(podctl, pod), timeout=60, message="the pod to run")
    filesystem, blocks = _df(podctl, pod, "/cache")[:2]
    assert (filesystem, blocks) == ("tmpfs", str(64 * 1024))
    assert _df(podctl, pod, "/work")[:2] == ["tmpfs", str(64 * 1024)]  # a sub-path of it
    assert _exec(podctl, pod, "echo kept > /work/state; cat /cache/jobs/current/state") == "kept"
    _exec(podctl, pod, "kill 1")  # the container restarts; the pod's tmpfs stays
    podctl.wait_for(lambda: (podctl.pod_json(pod)["status"]["containerStatuses"][0]
                             .get("restartCount", 0) >= 1 and _running(podctl, pod)),
                    timeout=60, message="the container to restart")
    assert _exec(podctl, pod, "cat /work/state /cache/jobs/current/state") == "kept\nkept"
    full = _exec(podctl, pod, "dd if=/dev/zero of=/cache/big bs=1M count=80 2>&1; echo $?")
    assert "No space left on device" in full
    assert _exec(podctl, pod, "du -sk /cache/big | cut -f1") == str(64 * 1024 - 4)


def test_memory_empty_dir_on_a_node_container(
        podctl: Podctl, controller: Callable[[], ControllerProcess]) -> None:
    podctl("node", "add", "n2")
    controller()
    pod = _name("memnode")
    podctl.apply_yaml(_memory_pod(pod, node="n2"))
    podctl.wait_for(lambda: _running(podctl, pod), timeout=90, message="the pod on n2")
    assert _df(podctl, pod, "/cache")[:2] == ["tmpfs", str(64 * 1024)]
    assert _df(podctl, pod, "/work")[:2] == ["tmpfs", str(64 * 1024)]
    assert _exec(podctl, pod, "echo n2 > /work/f; cat /cache/jobs/current/f") == "n2"


def test_sub_paths_of_every_volume_kind(
        podctl: Podctl, controller: Callable[[], ControllerProcess], tmp_path: Path) -> None:
    controller()
    pod, cm, secret = _name("sub"), _name("cfg"), _name("key")
    host = tmp_path / "host"
    (host / "shared").mkdir(parents=True)
    (host / "shared" / "motd").write_text("from the host\n")
    podctl("create", "configmap", cm, "--from-literal=app.conf=mode=fast",
           "--from-literal=other=x")
    podctl("create", "secret", "generic", secret, "--from-literal=token=s3cr3t")
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {pod}
  labels: {{tier: web}}
spec:
  terminationGracePeriodSeconds: 0
  initContainers:
  - name: seed
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "mkdir -p /scratch/seed; echo seeded > /scratch/seed/file"]
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    env:
    - name: POD_NAME
      valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
    volumeMounts:
    - {{name: scratch, mountPath: /mine, subPathExpr: "pods/$(POD_NAME)"}}
    - {{name: scratch, mountPath: /seeded.txt, subPath: seed/file}}
    - {{name: scratch, mountPath: /all}}
    - {{name: hostdir, mountPath: /host, subPath: shared}}
    - {{name: hostdir, mountPath: /made, subPathExpr: "made/$(POD_NAME)"}}
    - {{name: cfg, mountPath: /etc/app.conf, subPath: app.conf}}
    - {{name: cfg, mountPath: /etc/nokey, subPath: missing-key}}
    - {{name: sec, mountPath: /run/token, subPath: token}}
    - {{name: meta, mountPath: /etc/labels, subPath: labels}}
    - {{name: meta, mountPath: /etc/meta}}
    - {{name: cfg, mountPath: /etc/cfg}}
    - {{name: all, mountPath: /etc/proj, subPath: nested}}
  volumes:
  - name: scratch
    emptyDir: {{}}
  - name: hostdir
    hostPath: {{path: {host}}}
  - name: cfg
    configMap: {{name: {cm}}}
  - name: sec
    secret: {{secretName: {secret}}}
  - name: meta
    downwardAPI:
      items:
      - {{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}
  - name: all
    projected:
      sources:
      - configMap:
          name: {cm}
          items: [{{key: other, path: nested/other}}]
""")
    podctl.wait_for(lambda: _running(podctl, pod), timeout=90, message="the pod to run")
    assert _exec(podctl, pod, "echo mine > /mine/f; cat /all/pods/*/f; ls /all/pods") == \
        f"mine\n{pod}"
    assert _exec(podctl, pod, "cat /seeded.txt") == "seeded"  # a single file of the volume
    assert _exec(podctl, pod, "cat /host/motd") == "from the host"
    assert _exec(podctl, pod, "echo made > /made/f") == ""
    assert (host / "made" / pod / "f").read_text() == "made\n"
    assert _exec(podctl, pod, "cat /etc/app.conf") == "mode=fast"
    assert _exec(podctl, pod, "test -d /etc/nokey && echo dir") == "dir"  # kubelet: a dir
    assert _exec(podctl, pod, "cat /run/token") == "s3cr3t"
    assert _exec(podctl, pod, "cat /etc/labels") == 'tier="web"'
    assert _exec(podctl, pod, "cat /etc/proj/other") == "x"
    # The objects change; a file mounted by subPath keeps what it had (as upstream: the
    # bind holds the file of the moment; a directory's old files are removed, as there).
    podctl("label", "pod", pod, "tier=db", "--overwrite")
    changed = podctl.tmp / "cm.yaml"
    changed.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\n"
                       "data:\n  app.conf: mode=slow\n  other: y\n")
    podctl("apply", "-f", str(changed))
    podctl.wait_for(lambda: _cat(podctl, pod, "/etc/cfg/app.conf", "/etc/meta/labels") ==
                    'mode=slow\ntier="db"', timeout=60, message="the whole volumes to follow")
    assert _cat(podctl, pod, "/etc/app.conf", "/etc/labels") == 'mode=fast\ntier="web"'


def _cat(podctl: Podctl, pod: str, *files: str) -> str:
    """The files' contents a line each (a configMap value has no newline of its own)."""
    return _exec(podctl, pod, f"for f in {' '.join(files)}; do cat $f; echo; done")


def _refused(podctl: Podctl, pod: str) -> dict[str, Any]:
    podctl.wait_for(lambda: bool(_waiting(podctl, pod).get("message")), timeout=60,
                    message="the container's waiting reason")
    return _waiting(podctl, pod)


def test_the_kubelet_s_sub_path_failures(
        podctl: Podctl, controller: Callable[[], ControllerProcess]) -> None:
    controller()
    unset, escape = _name("unset"), _name("escape")
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {unset}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    env:
    - {{name: EMPTY, value: ""}}
    volumeMounts:
    - {{name: v, mountPath: /v, subPathExpr: "$(NOPE)/$(EMPTY)"}}
  volumes:
  - {{name: v, emptyDir: {{}}}}
""")
    assert _refused(podctl, unset) == {"reason": "CreateContainerConfigError",
                                       "message": "missing value for EMPTY, NOPE"}
    events = json.loads(podctl("get", "events", "-o", "json"))["items"]
    assert any(e["reason"] == "Failed" and e["message"] == "Error: missing value for EMPTY, NOPE"
               for e in events)
    # A container plants a symlink to the engine host's root in the volume; another
    # container's subPath through it is refused, not bound.
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {escape}
spec:
  terminationGracePeriodSeconds: 0
  initContainers:
  - name: plant
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "ln -s / /v/evil"]
    volumeMounts:
    - {{name: v, mountPath: /v}}
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    volumeMounts:
    - {{name: v, mountPath: /host-etc, subPath: evil/etc}}
  volumes:
  - {{name: v, emptyDir: {{}}}}
""")
    assert _refused(podctl, escape) == {
        "reason": "CreateContainerConfigError",
        "message": 'failed to prepare subPath for volumeMount "v" of container "main"'}


def test_a_volume_the_sandbox_does_not_mount_is_looked_at_through_a_container_made_for_it(
        podctl: Podctl, docker_client: docker.DockerClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from podctl.runtime import specs, subpaths

    monkeypatch.setenv("PODCTL_HOME", str(podctl.home))
    labels = {"io.podctl.home": podctl.homeid}
    volume = docker_client.volumes.create(_name("podctl-test"), labels=labels)
    sandbox = docker_client.containers.create(PAUSE_IMAGE, labels=labels)
    try:
        docker_client.containers.run(BUSYBOX_IMAGE, ["sh", "-c", "mkdir /v/real; ln -s / /v/evil"],
                                     volumes={volume.name: {"bind": "/v"}}, remove=True)
        root = volume.attrs["Mountpoint"]

        def mount(sub: str) -> specs.Mount:
            return specs.Mount("bind", f"{root}/{sub}", "/m", False, "data", sub, root,
                               engine_creates=True, backing=volume.name)

        def of_the_home() -> set[str]:  # the list alone: other runs' containers come and go
            return {c["Id"] for c in docker_client.api.containers(
                all=True, filters={"label": f"io.podctl.home={podctl.homeid}"})}

        subpaths.prepare(mount("real/deeper"), "app", sandbox.id)
        with pytest.raises(specs.SubPathError) as caught:
            subpaths.prepare(mount("evil/etc"), "app", sandbox.id)
        assert str(caught.value) == ('failed to prepare subPath for volumeMount "data" of '
                                     'container "app"')
        assert of_the_home() == {sandbox.id}  # the container made for the look is gone
    finally:
        sandbox.remove(force=True)
        volume.remove(force=True)


def test_kubectl_hears_the_api_server_s_sub_path_refusals(podctl: Podctl) -> None:
    kubectl = ApiController(podctl)
    try:
        bad = podctl.tmp / "bad-subpath.yaml"
        bad.write_text(f"""apiVersion: v1
kind: Pod
metadata: {{name: bad}}
spec:
  containers:
  - name: a
    image: {BUSYBOX_IMAGE}
    volumeMounts:
    - {{name: v, mountPath: /v, subPath: /etc, subPathExpr: "$(X)/.."}}
  volumes:
  - {{name: v, emptyDir: {{}}}}
""")
        assert kubectl.fails("create", "-f", str(bad)) == (
            'The Pod "bad" is invalid: \n'
            '* spec.containers[0].volumeMounts.subPath: Invalid value: "/etc": must be a '
            'relative path\n'
            '* spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(X)/..": '
            'subPathExpr and subPath are mutually exclusive\n'
            '* spec.containers[0].volumeMounts.subPathExpr: Invalid value: "$(X)/..": must '
            "not contain '..'\n")
    finally:
        kubectl.stop()


def test_sub_paths_of_a_claim(podctl: Podctl,
                              controller: Callable[[], ControllerProcess]) -> None:
    controller()
    claim, pod, link = _name("data"), _name("db"), _name("link")
    podctl.apply_yaml(f"""apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {claim}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
""")

    def pod_of(name: str, script: str, mounts: str) -> str:
        return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "{script}"]
    env:
    - name: POD_NAME
      valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
    volumeMounts:
{mounts}
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: {claim}}}
"""

    podctl.apply_yaml(pod_of(pod, "echo mine > /db/f; ln -s / /all/escape; ls /all/pods",
                             "    - {name: data, mountPath: /db, subPathExpr: pods/$(POD_NAME)}\n"
                             "    - {name: data, mountPath: /all}"))
    podctl.wait_for(lambda: podctl.pod_json(pod)["status"].get("phase") == "Succeeded",
                    timeout=90, message="the pod that writes into the claim")
    assert podctl("logs", pod) == f"{pod}\n"
    podctl("delete", "pod", pod)
    # The claim's data outlives the pod; a sub-path through a symlink in it is refused.
    podctl.apply_yaml(pod_of(link, "cat /mine/f", f"    - {{name: data, mountPath: /mine, "
                             f"subPath: pods/{pod}}}\n"
                             "    - {name: data, mountPath: /etc-of-host, subPath: escape/etc}"))
    assert _refused(podctl, link) == {
        "reason": "CreateContainerConfigError",
        "message": 'failed to prepare subPath for volumeMount "data" of container "main"'}
    podctl("delete", "pod", link)
    podctl("delete", "pvc", claim)
