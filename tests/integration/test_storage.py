"""Claims, volumes and the default class on the real engine: binding when a pod uses the
claim, data that outlives pods and the controller, reclaim, protection, static volumes."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import docker
import pytest

from .conftest import BUSYBOX_IMAGE, ControllerProcess, Podctl
from .test_faults import _restart_dockerd, can_restart_dockerd
from .test_nodes import engines_of, nodes

__all__ = ["engines_of"]  # the fixture, used by name

Start = Callable[..., ControllerProcess]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _claim(name: str, extra: str = "", size: str = "1Gi") -> str:
    return f"""apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {name}
spec:
{extra}  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: {size}
"""


def _pod(name: str, claim: str, script: str, restart: str = "Never") -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  restartPolicy: {restart}
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "{script}"]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: {claim}
"""


def _get(podctl: Podctl, kind: str, name: str) -> dict[str, Any] | None:
    result = podctl.run("get", kind, name, "-o", "json")
    return json.loads(result.out) if result.code == 0 else None


def _phase(podctl: Podctl, kind: str, name: str) -> str | None:
    obj = _get(podctl, kind, name)
    return None if obj is None else (obj.get("status") or {}).get("phase")


def _finished(podctl: Podctl, pod: str) -> Callable[[], bool]:
    return lambda: _phase(podctl, "pod", pod) == "Succeeded"


def _write_then_read(podctl: Podctl, claim: str, text: str) -> str:
    """A pod writes `text` into the claim, a second one reads it back: its log."""
    writer, reader = _name("writer"), _name("reader")
    podctl.apply_yaml(_pod(writer, claim, f"echo {text} > /data/note"))
    podctl.wait_for(_finished(podctl, writer), timeout=60, message="the writer done")
    podctl("delete", "pod", writer)
    podctl.apply_yaml(_pod(reader, claim, "cat /data/note"))
    podctl.wait_for(_finished(podctl, reader), timeout=60, message="the reader done")
    out = podctl("logs", reader)
    podctl("delete", "pod", reader)
    return out


def _volume_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.volumes.get(name)
        return True
    except docker.errors.NotFound:
        return False


def test_claim_waits_for_its_pod_then_binds_a_volume_that_keeps_data_until_deleted(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    controller()
    claim = _name("data")
    podctl.wait_for(lambda: _get(podctl, "sc", "standard") is not None, timeout=15,
                    message="the default class")
    row = podctl("get", "sc", "standard", "--no-headers").split()
    assert row[:6] == ["standard", "(default)", "rancher.io/local-path", "Delete",
                       "WaitForFirstConsumer", "false"]
    podctl.apply_yaml(_claim(claim))
    podctl.wait_for(lambda: "WaitForFirstConsumer" in podctl("describe", "pvc", claim),
                    timeout=15, message="the WaitForFirstConsumer event")
    stored = _get(podctl, "pvc", claim)
    assert stored is not None and stored["status"]["phase"] == "Pending"
    assert stored["spec"]["storageClassName"] == "standard"
    assert stored["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert podctl("get", "pvc", claim, "--no-headers").split()[1:4] == [
        "Pending", "standard", "<unset>"]

    assert _write_then_read(podctl, claim, "kept") == "kept\n"
    bound = _get(podctl, "pvc", claim)
    assert bound is not None
    volume = f"pvc-{bound['metadata']['uid']}"
    assert bound["spec"]["volumeName"] == volume and bound["status"]["phase"] == "Bound"
    assert bound["status"]["capacity"] == {"storage": "1Gi"}
    pv = _get(podctl, "pv", volume)
    assert pv is not None and pv["status"]["phase"] == "Bound"
    node = json.loads(podctl("get", "nodes", "-o", "json"))["items"][0]["metadata"]["name"]
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0] == {"key": "kubernetes.io/hostname", "operator": "In",
                                   "values": [node]}
    assert pv["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
    assert podctl("get", "pv", volume, "--no-headers").split()[:7] == [
        volume, "1Gi", "RWO", "Delete", "Bound", f"default/{claim}", "standard"]
    assert _volume_exists(docker_client, volume)

    podctl("delete", "pvc", claim)
    podctl.wait_for(lambda: _get(podctl, "pv", volume) is None, timeout=30,
                    message="the volume deleted with its claim")
    assert _get(podctl, "pvc", claim) is None
    podctl.wait_for(lambda: not _volume_exists(docker_client, volume), timeout=15,
                    message="the data removed")


def test_retain_keeps_the_volume_and_its_data_released(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    controller()
    keep, claim = _name("keep"), _name("data")
    podctl.apply_yaml(f"""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {keep}
provisioner: rancher.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
""")
    podctl.apply_yaml(_claim(claim, f"  storageClassName: {keep}\n"))
    assert _write_then_read(podctl, claim, "retained") == "retained\n"
    bound = _get(podctl, "pvc", claim)
    assert bound is not None
    volume = bound["spec"]["volumeName"]
    podctl("delete", "pvc", claim)
    podctl.wait_for(lambda: _phase(podctl, "pv", volume) == "Released", timeout=30,
                    message="the volume Released")
    assert _volume_exists(docker_client, volume)
    assert podctl("get", "pv", volume, "--no-headers").split()[3:6] == [
        "Retain", "Released", f"default/{claim}"]


def test_a_claim_in_use_stays_terminating_until_its_pod_is_gone(
        podctl: Podctl, controller: Start) -> None:
    controller()
    claim, pod = _name("data"), _name("user")
    podctl.apply_yaml(_claim(claim))
    podctl.apply_yaml(_pod(pod, claim, "sleep 3600", restart="Always"))
    podctl.wait_for(lambda: _phase(podctl, "pod", pod) == "Running", timeout=60,
                    message="the pod running")
    podctl("delete", "pvc", claim)
    claimed = _get(podctl, "pvc", claim)
    assert claimed is not None and claimed["metadata"].get("deletionTimestamp")
    assert podctl("get", "pvc", claim, "--no-headers").split()[1] == "Terminating"
    assert f"Used By:       {pod}" in podctl("describe", "pvc", claim)
    podctl("delete", "pod", pod)
    podctl.wait_for(lambda: _get(podctl, "pvc", claim) is None, timeout=30,
                    message="the claim gone with its last pod")


def test_pods_wait_for_missing_or_unbound_claims_with_the_schedulers_words(
        podctl: Podctl, controller: Start) -> None:
    controller()
    pod, immediate = _name("waiting"), _name("now")
    podctl.apply_yaml(_pod(pod, "nope", "true"))

    def message() -> str:
        conditions = (_get(podctl, "pod", pod) or {}).get("status", {}).get("conditions")
        return str((conditions or [{}])[0].get("message", ""))

    podctl.wait_for(lambda: "not found" in message(), timeout=15, message="FailedScheduling")
    assert message() == ('0/1 nodes are available: persistentvolumeclaim "nope" not found. '
                         "preemption: 0/1 nodes are available: 1 Preemption is not helpful "
                         "for scheduling.")
    podctl.apply_yaml(f"""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {immediate}
provisioner: example.com/elsewhere
""")
    podctl.apply_yaml(_claim("nope", f"  storageClassName: {immediate}\n"))
    podctl.wait_for(lambda: "unbound immediate" in message(), timeout=15,
                    message="the unbound claim's message")
    assert message().startswith(
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.")


def test_static_volumes_bind_by_size_and_class_or_by_name(
        podctl: Podctl, controller: Start) -> None:
    controller()
    small, large, named = _name("small"), _name("large"), _name("named")
    directory = podctl.tmp / "static"
    directory.mkdir()
    (directory / "note").write_text("static\n")
    os.chmod(directory, 0o777)
    for name, size in ((small, "1Gi"), (large, "5Gi"), (named, "2Gi")):
        podctl.apply_yaml(f"""apiVersion: v1
kind: PersistentVolume
metadata:
  name: {name}
spec:
  storageClassName: manual
  capacity: {{storage: {size}}}
  accessModes: [ReadWriteOnce]
  hostPath: {{path: {directory}}}
""")
    podctl.wait_for(lambda: _phase(podctl, "pv", small) == "Available", timeout=15,
                    message="the volumes Available")
    fits, by_name, too_big = _name("fits"), _name("byname"), _name("toobig")
    podctl.apply_yaml(_claim(fits, "  storageClassName: manual\n", size="2Gi"))
    podctl.apply_yaml(_claim(by_name, f"  storageClassName: manual\n  volumeName: {small}\n",
                             size="3Gi"))
    podctl.apply_yaml(_claim(too_big, "  storageClassName: manual\n", size="9Gi"))
    podctl.wait_for(lambda: _phase(podctl, "pvc", fits) == "Bound", timeout=15,
                    message="the claim bound")
    fitted = _get(podctl, "pvc", fits)
    assert fitted is not None and fitted["spec"]["volumeName"] == named  # the smallest fit
    podctl.wait_for(lambda: "VolumeMismatch" in podctl("describe", "pvc", by_name),
                    timeout=15, message="the mismatch event")
    assert (f'Cannot bind to requested volume "{small}": requested PV is too small'
            in podctl("describe", "pvc", by_name))
    assert _phase(podctl, "pvc", too_big) == "Pending"
    reader = _name("reader")
    podctl.apply_yaml(_pod(reader, fits, "cat /data/note"))
    podctl.wait_for(_finished(podctl, reader), timeout=60, message="the reader done")
    assert podctl("logs", reader) == "static\n"


def test_data_survives_a_controller_killed_with_sigkill(
        podctl: Podctl, controller: Start) -> None:
    first = controller()
    claim = _name("data")
    podctl.apply_yaml(_claim(claim))
    writer = _name("writer")
    podctl.apply_yaml(_pod(writer, claim, "echo survived > /data/note"))
    podctl.wait_for(_finished(podctl, writer), timeout=60, message="the writer done")
    first.kill()
    controller()
    reader = _name("reader")
    podctl.apply_yaml(_pod(reader, claim, "cat /data/note"))
    podctl.wait_for(_finished(podctl, reader), timeout=60, message="the reader done")
    assert podctl("logs", reader) == "survived\n"
    bound = _get(podctl, "pvc", claim)
    assert bound is not None and bound["status"]["phase"] == "Bound"
    assert len(json.loads(podctl("get", "pv", "-o", "json"))["items"]) == 1


@pytest.mark.serial
def test_data_survives_a_dockerd_restart(podctl: Podctl, controller: Start) -> None:
    if not can_restart_dockerd():
        pytest.skip("restarting the engine needs root and pidof")
    controller()
    claim, holder = _name("data"), _name("holder")
    podctl.apply_yaml(_claim(claim))
    podctl.apply_yaml(_pod(holder, claim, "sleep 3600", restart="Always"))
    podctl.wait_for(lambda: _phase(podctl, "pod", holder) == "Running", timeout=60,
                    message="the pod running")
    podctl("exec", holder, "--", "sh", "-c", "echo restarted > /data/note")
    first = podctl.pod_json(holder)["status"]["containerStatuses"][0]["containerID"]
    _restart_dockerd()

    def back() -> bool:
        status = podctl.pod_json(holder)["status"]
        container = (status.get("containerStatuses") or [{}])[0]
        return container.get("containerID") not in (None, first) and \
            "running" in (container.get("state") or {})

    podctl.wait_for(back, timeout=60, message="the pod's container started again")
    assert podctl("exec", holder, "--", "cat", "/data/note") == "restarted\n"


def test_an_ephemeral_volume_gets_a_claim_of_its_own_that_goes_with_the_pod(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    controller()
    pod = _name("scratch")
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {pod}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "echo scratch > /scratch/note; sleep 3600"]
    volumeMounts: [{{name: scratch, mountPath: /scratch}}]
  volumes:
  - name: scratch
    ephemeral:
      volumeClaimTemplate:
        metadata:
          labels: {{type: scratch}}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {{requests: {{storage: 1Gi}}}}
""")
    claim = f"{pod}-scratch"
    podctl.wait_for(lambda: _phase(podctl, "pod", pod) == "Running", timeout=60,
                    message="the pod running")
    stored = _get(podctl, "pvc", claim)
    owner = _get(podctl, "pod", pod)
    assert stored is not None and owner is not None
    assert stored["status"]["phase"] == "Bound"
    assert stored["metadata"]["labels"] == {"type": "scratch"}
    assert stored["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Pod", "name": pod, "uid": owner["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True}]
    assert podctl("exec", pod, "--", "cat", "/scratch/note") == "scratch\n"
    volume = stored["spec"]["volumeName"]
    podctl("delete", "pod", pod)
    podctl.wait_for(lambda: _get(podctl, "pvc", claim) is None, timeout=30,
                    message="the claim gone with its pod")
    podctl.wait_for(lambda: not _volume_exists(docker_client, volume), timeout=30,
                    message="its data gone")


def test_a_bound_claim_grows_only_where_its_class_allows_expansion(
        podctl: Podctl, controller: Start) -> None:
    controller()
    growing, fixed, claim_class = _name("grows"), _name("fixed"), _name("elastic")
    podctl.apply_yaml(f"""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {claim_class}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
""")
    for claim, extra in ((growing, f"  storageClassName: {claim_class}\n"), (fixed, "")):
        path = podctl.tmp / f"{claim}.yaml"
        path.write_text(_claim(claim, extra))
        podctl("apply", "-f", str(path))
        assert _write_then_read(podctl, claim, "sized") == "sized\n"
    (podctl.tmp / f"{fixed}.yaml").write_text(_claim(fixed, size="2Gi"))
    refused = podctl.run("apply", "-f", str(podctl.tmp / f"{fixed}.yaml"))
    assert refused.code == 1
    assert (f'persistentvolumeclaims "{fixed}" is forbidden: only dynamically provisioned '
            "pvc can be resized and the storageclass that provisions the pvc must support "
            "resize") in refused.err
    (podctl.tmp / f"{growing}.yaml").write_text(
        _claim(growing, f"  storageClassName: {claim_class}\n", size="2Gi"))
    podctl("apply", "-f", str(podctl.tmp / f"{growing}.yaml"))

    def capacity() -> str:
        return str(((_get(podctl, "pvc", growing) or {}).get("status") or {}).get(
            "capacity", {}).get("storage"))

    podctl.wait_for(lambda: capacity() == "2Gi", timeout=15, message="the claim grown")
    stored = _get(podctl, "pvc", growing)
    assert stored is not None
    assert podctl("get", "pv", stored["spec"]["volumeName"], "--no-headers").split()[1] == "2Gi"


def test_kubectl_makes_and_lists_claims_volumes_and_classes_through_the_api(
        podctl: Podctl) -> None:
    from .test_api_kubectl import ApiController

    server = ApiController(podctl)
    try:
        claim = _name("data")
        assert server("apply", "-f", "-", input=_claim(claim)).strip() == (
            f"persistentvolumeclaim/{claim} created")
        lines = server("get", "pvc").splitlines()
        assert lines[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES",
                                    "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
        assert lines[1].split()[:4] == [claim, "Pending", "standard", "<unset>"]
        assert server("get", "sc", "--no-headers").split()[:6] == [
            "standard", "(default)", "rancher.io/local-path", "Delete",
            "WaitForFirstConsumer", "false"]
        assert server.run("get", "pv").err.strip() == "No resources found"
        assert server("apply", "-f", "-", input=_claim(claim)).strip() == (
            f"persistentvolumeclaim/{claim} unchanged")
        volume = _name("pv")
        manifest = f"""apiVersion: v1
kind: PersistentVolume
metadata:
  name: {volume}
  namespace: ignored
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  hostPath: {{path: /tmp/{volume}}}
"""
        assert server("apply", "-f", "-", input=manifest).strip() == (
            f"persistentvolume/{volume} created")
        assert server("apply", "-f", "-", input=manifest.replace("1Gi", "2Gi")).strip() == (
            f"persistentvolume/{volume} configured")
        row = server("get", "pv", volume, "--no-headers").split()
        assert row[:5] == [volume, "2Gi", "RWO", "Retain", "Available"]
        refused = server.fails("apply", "-f", "-", input=_claim(_name("bad"), size="0"))
        assert "spec.resources[storage]: Invalid value: \"0\": must be greater than zero" in \
            refused
        assert "persistentvolumeclaims" in server("api-resources", "-o", "name")
        # kubectl waits for the claim to go: the controller drops its finalizer (unused)
        assert server("delete", "pvc", claim, timeout=30).strip() == (
            f'persistentvolumeclaim "{claim}" deleted from default namespace')
        assert server.run("get", "pvc", claim).code == 1
    finally:
        server.stop()


def test_a_claim_lives_on_its_nodes_engine_through_a_node_stop_and_start(
        podctl: Podctl, controller: Start, engines_of: Any,
        docker_client: docker.DockerClient) -> None:
    controller("--node-monitor-grace-period=3s", "--node-monitor-period=1s")
    podctl("node", "add", "n2")
    podctl.wait_for(lambda: nodes(podctl).get("n2") == "Ready", timeout=30, message="n2")
    claim, writer = _name("data"), _name("writer")
    podctl.apply_yaml(_claim(claim))
    pinned = _pod(writer, claim, "echo on-n2 > /data/note").replace(
        "spec:\n  restartPolicy", "spec:\n  nodeSelector: {kubernetes.io/hostname: n2}\n"
        "  restartPolicy")
    podctl.apply_yaml(pinned)
    podctl.wait_for(_finished(podctl, writer), timeout=90, message="the writer done on n2")
    bound = _get(podctl, "pvc", claim)
    assert bound is not None
    volume = bound["spec"]["volumeName"]
    assert _volume_exists(engines_of("n2"), volume)
    assert not _volume_exists(docker_client, volume)  # the node's engine's, not the host's
    podctl("delete", "pod", writer)
    assert podctl("node", "stop", "n2") == "node/n2 stopped\n"
    assert podctl("node", "start", "n2") == "node/n2 started\n"
    podctl.wait_for(lambda: nodes(podctl).get("n2") == "Ready", timeout=30,
                    message="n2 Ready again")
    reader = _name("reader")
    podctl.apply_yaml(_pod(reader, claim, "cat /data/note"))  # no selector: the claim's node
    podctl.wait_for(_finished(podctl, reader), timeout=90, message="the reader done")
    assert podctl.pod_json(reader)["spec"]["nodeName"] == "n2"
    assert podctl("logs", reader) == "on-n2\n"
