"""StatefulSets (apps/v1) with the real engine and controller: the book's chapter 10 flow
(a StatefulSet of 2 behind a headless Service, ordered start, per-pod DNS from another pod,
scale down and up, a deleted pod back with its name), rollouts and their undo."""

from __future__ import annotations

import json
import uuid
from typing import Any

import docker
import pytest

from podctl.api import meta
from podctl.api.meta import RESOURCES

from .conftest import BUSYBOX_IMAGE, KUBIA_IMAGE, Podctl, containers_of
from .test_controller import Start

# Each pod is Ready once /tmp/ready exists in it (web-0 is made so by the test).
STATEFUL_SET = f"""\
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - name: web
    port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {BUSYBOX_IMAGE}
        command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
        readinessProbe:
          exec:
            command: ["test", "-f", "/tmp/ready"]
          periodSeconds: 1
"""


def live_pods(podctl: Podctl, *args: str) -> dict[str, dict[str, Any]]:
    items = json.loads(podctl("get", "pods", "-l", "app=web", "-o", "json", *args))["items"]
    return {p["metadata"]["name"]: p for p in items
            if not p["metadata"].get("deletionTimestamp")}


def ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def sts_status(podctl: Podctl) -> dict[str, Any]:
    return dict(json.loads(podctl("get", "sts", "web", "-o", "json")).get("status") or {})


def all_ready(podctl: Podctl, names: list[str]) -> bool:
    pods = live_pods(podctl)
    return sorted(pods) == names and all(ready(p) for p in pods.values())


def test_chapter_10_ordered_start_dns_scale_and_a_pod_back(
        podctl: Podctl, controller: Start) -> None:
    controller()
    # web-0 waits to be made Ready by hand: web-1 may not come before it is.
    held = STATEFUL_SET.replace('"touch /tmp/ready; exec sleep 3600"',
                                '"test $(hostname) = web-0 || touch /tmp/ready; '
                                'exec sleep 3600"')
    assert podctl.apply_yaml(held) == "service/nginx created\nstatefulset.apps/web created\n"
    podctl.wait_for(lambda: sts_status(podctl).get("replicas") == 1
                    and live_pods(podctl).get("web-0", {}).get("status", {}).get("phase")
                    == "Running", timeout=60, message="web-0 running, not ready")
    # A pass saw web-0 Running and not Ready, and made nothing more.
    assert sorted(live_pods(podctl)) == ["web-0"]
    podctl("exec", "web-0", "--", "touch", "/tmp/ready")
    podctl.wait_for(lambda: all_ready(podctl, ["web-0", "web-1"]), timeout=60,
                    message="both pods ready")
    pods = live_pods(podctl)
    assert pods["web-0"]["metadata"]["creationTimestamp"] <= \
        pods["web-1"]["metadata"]["creationTimestamp"]
    labels = pods["web-1"]["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert labels["apps.kubernetes.io/pod-index"] == "1"
    assert labels["controller-revision-hash"] == sts_status(podctl)["updateRevision"]
    assert (pods["web-1"]["spec"]["hostname"], pods["web-1"]["spec"]["subdomain"]) == \
        ("web-1", "nginx")
    assert podctl("exec", "web-1", "--", "hostname") == "web-1\n"
    podctl.wait_for(lambda: podctl("get", "sts").split() == ["NAME", "READY", "AGE", "web",
                                                             "2/2", podctl("get", "sts")
                                                             .split()[-1]],
                    message="get sts says 2/2")
    described = [" ".join(line.split()) for line in podctl("describe", "sts", "web")
                 .splitlines()]
    assert "Replicas: 2 desired | 2 total" in described
    assert "Pods Status: 2 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert "Volume Claims: <none>" in described
    assert "Service Name: nginx" in described
    assert "Pod Management Policy: OrderedReady" in described
    events = podctl("get", "events")
    assert "create Pod web-0 in StatefulSet web successful" in events

    # Per-pod DNS through the headless governing Service, from another pod.
    podctl("run", "client", f"--image={BUSYBOX_IMAGE}", "--command", "--", "sleep", "3600")
    podctl.wait_for(lambda: podctl.pod_json("client")["status"].get("phase") == "Running",
                    timeout=60, message="the client pod")
    web0_ip = live_pods(podctl)["web-0"]["status"]["podIP"]

    def resolves() -> bool:
        out = podctl.run("exec", "client", "--", "nslookup",
                         "web-0.nginx.default.svc.cluster.local")
        return out.code == 0 and web0_ip in out.out

    podctl.wait_for(resolves, timeout=30, message="web-0.nginx resolving")

    # Scale down removes web-1; up brings it back under the same name.
    assert podctl("scale", "sts", "web", "--replicas=1") == "statefulset.apps/web scaled\n"
    podctl.wait_for(lambda: sorted(live_pods(podctl)) == ["web-0"], timeout=60,
                    message="web-1 removed")
    assert podctl("scale", "sts", "web", "--replicas=2") == "statefulset.apps/web scaled\n"
    podctl.wait_for(lambda: all_ready(podctl, ["web-0", "web-1"]), timeout=60,
                    message="web-1 back")

    # A deleted pod comes back with its name (and a new uid).
    uid = live_pods(podctl)["web-0"]["metadata"]["uid"]
    podctl("delete", "pod", "web-0")
    podctl.wait_for(lambda: "web-0" in live_pods(podctl)
                    and live_pods(podctl)["web-0"]["metadata"]["uid"] != uid
                    and live_pods(podctl)["web-0"]["status"].get("phase") == "Running",
                    timeout=60, message="web-0 back")
    podctl("exec", "web-0", "--", "touch", "/tmp/ready")  # its template holds it back
    podctl.wait_for(lambda: all_ready(podctl, ["web-0", "web-1"]), timeout=60,
                    message="web-0 ready again")
    podctl.wait_for(lambda: podctl.run("exec", "web-0", "--", "hostname").out == "web-0\n",
                    message="the new web-0 named web-0")

    # delete sts cascades to its pods and its revisions.
    assert podctl("delete", "sts", "web") == 'statefulset.apps "web" deleted\n'
    podctl.wait_for(lambda: live_pods(podctl) == {}, timeout=60, message="pods gone")
    podctl.wait_for(lambda: podctl("get", "controllerrevisions", "-o", "name") == "",
                    message="revisions gone")


def test_parallel_start_and_a_partitioned_rollout_then_undo(
        podctl: Podctl, controller: Start) -> None:
    controller()
    name = f"web{uuid.uuid4().hex[:4]}"
    manifest = STATEFUL_SET.replace("name: web\n", f"name: {name}\n").replace(
        "  replicas: 2\n", "  replicas: 3\n  podManagementPolicy: Parallel\n"
        "  updateStrategy:\n    rollingUpdate:\n      partition: 1\n")
    podctl.apply_yaml(manifest)
    podctl.wait_for(lambda: all_ready(podctl, [f"{name}-0", f"{name}-1", f"{name}-2"]),
                    timeout=90, message="three ready pods")
    first = sts_status_of(podctl, name)["updateRevision"]

    changed = podctl.tmp / "changed.yaml"
    changed.write_text(manifest.replace("exec sleep 3600", "exec sleep 3601"))
    podctl("apply", "-f", str(changed))
    podctl.wait_for(lambda: sts_status_of(podctl, name).get("updatedReplicas") == 2
                    and all_ready(podctl, [f"{name}-0", f"{name}-1", f"{name}-2"]),
                    timeout=90, message="ordinals 1 and 2 updated")
    status = sts_status_of(podctl, name)
    second = status["updateRevision"]
    assert second != first and status["currentRevision"] == first
    pods = live_pods(podctl)
    assert pods[f"{name}-0"]["metadata"]["labels"]["controller-revision-hash"] == first
    assert {pods[f"{name}-{i}"]["metadata"]["labels"]["controller-revision-hash"]
            for i in (1, 2)} == {second}
    rows = podctl("get", "controllerrevisions").splitlines()
    assert rows[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert sorted(r.split()[:3] for r in rows[1:]) == sorted(
        [[first, f"statefulset.apps/{name}", "1"], [second, f"statefulset.apps/{name}", "2"]])
    assert podctl("rollout", "status", f"sts/{name}", "--watch=false") == \
        "partitioned roll out complete: 2 new pods have been updated...\n"
    assert podctl("rollout", "history", f"sts/{name}") == (
        f"statefulset.apps/{name} \nREVISION  CHANGE-CAUSE\n1         <none>\n"
        "2         <none>\n\n")

    # Undo: the first template again, its revision renumbered 3, ordinals 1 and 2 back on it.
    assert podctl("rollout", "undo", f"sts/{name}") == f"statefulset.apps/{name} rolled back\n"
    podctl.wait_for(lambda: {p["metadata"]["labels"]["controller-revision-hash"]
                             for p in live_pods(podctl).values()} == {first}
                    and all_ready(podctl, [f"{name}-0", f"{name}-1", f"{name}-2"]),
                    timeout=90, message="every pod back on the first revision")
    assert podctl("rollout", "history", f"sts/{name}").splitlines()[2:] == [
        "2         <none>", "3         <none>", ""]
    assert podctl("rollout", "undo", f"sts/{name}", "--to-revision=3") == (
        f"statefulset.apps/{name} skipped rollback (current template already matches "
        "revision 3)\n")
    missing = podctl.run("rollout", "undo", f"sts/{name}", "--to-revision=9")
    assert (missing.code, missing.err) == (
        1, "error: unable to find specified revision 9 in history\n")

    # Orphaned pods are adopted by a set of the same name, not made again.
    uids = {n: p["metadata"]["uid"] for n, p in live_pods(podctl).items()}
    podctl("delete", "sts", name, "--cascade=orphan")
    podctl.wait_for(lambda: not podctl("get", "sts", "-o", "name"), message="set gone")
    assert {n: p["metadata"]["uid"] for n, p in live_pods(podctl).items()} == uids
    original = podctl.tmp / "original.yaml"
    original.write_text(manifest)  # the template the pods run since the undo
    podctl("apply", "-f", str(original))
    podctl.wait_for(lambda: all(p["metadata"].get("ownerReferences")
                                for p in live_pods(podctl).values())
                    and sts_status_of(podctl, name).get("readyReplicas") == 3, timeout=60,
                    message="the pods adopted")
    assert {n: p["metadata"]["uid"] for n, p in live_pods(podctl).items()} == uids


def test_daemon_set_revisions_history_and_undo(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(DAEMON_SET)
    podctl.wait_for(lambda: len(podctl("get", "controllerrevisions", "-o", "name")
                                .split()) == 1, timeout=60, message="a first revision")
    assert podctl("set", "image", "ds/mon", f"main={KUBIA_IMAGE}") == \
        "daemonset.apps/mon image updated\n"
    podctl("rollout", "status", "ds/mon", "--timeout=90s", timeout=120)
    assert podctl("rollout", "history", "ds/mon") == (
        "daemonset.apps/mon \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n")
    assert podctl("rollout", "undo", "ds/mon") == "daemonset.apps/mon rolled back\n"
    podctl.wait_for(lambda: podctl("rollout", "history", "ds/mon").splitlines()[2:] == [
        "2         <none>", "3         <none>", ""], timeout=60,
        message="revision 1 renumbered")
    podctl("rollout", "status", "ds/mon", "--timeout=90s", timeout=120)
    images = json.loads(podctl("get", "pods", "-l", "app=mon", "-o", "json"))["items"]
    assert {p["spec"]["containers"][0]["image"] for p in images
            if not p["metadata"].get("deletionTimestamp")} == {BUSYBOX_IMAGE}
    podctl("delete", "ds", "mon")
    podctl.wait_for(lambda: podctl("get", "controllerrevisions", "-o", "name") == "",
                    message="revisions gone with the DaemonSet")


DAEMON_SET = f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: mon
spec:
  selector:
    matchLabels:
      app: mon
  template:
    metadata:
      labels:
        app: mon
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {BUSYBOX_IMAGE}
        command: ["sleep", "3600"]
"""


def sts_status_of(podctl: Podctl, name: str) -> dict[str, Any]:
    return dict(json.loads(podctl("get", "sts", name, "-o", "json")).get("status") or {})


CLAIM_TEMPLATES = """\
        volumeMounts:
        - name: www
          mountPath: /data
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
"""


@pytest.mark.skipif("PersistentVolumeClaim" not in RESOURCES,
                    reason="needs part A's PersistentVolumeClaim kind and its provisioner")
def test_chapter_10_claims_keep_their_data_across_scale_and_pod_deletion(
        podctl: Podctl, controller: Start) -> None:
    controller()
    manifest = STATEFUL_SET.replace("          periodSeconds: 1\n",
                                    "          periodSeconds: 1\n" + CLAIM_TEMPLATES)
    podctl.apply_yaml(manifest)
    podctl.wait_for(lambda: all_ready(podctl, ["web-0", "web-1"]), timeout=90,
                    message="both pods ready")
    claims = json.loads(podctl("get", "pvc", "-o", "json"))["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["www-web-0", "www-web-1"]
    assert all(c["metadata"]["labels"] == {"app": "web"} for c in claims)
    events = podctl("get", "events")
    assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in events
    podctl("exec", "web-1", "--", "sh", "-c", "echo written-by-web-1 > /data/x")

    podctl("scale", "sts", "web", "--replicas=1")
    podctl.wait_for(lambda: sorted(live_pods(podctl)) == ["web-0"], timeout=60,
                    message="web-1 removed")
    assert "www-web-1" in podctl("get", "pvc", "-o", "name")  # kept (whenScaled: Retain)
    podctl("scale", "sts", "web", "--replicas=2")
    podctl.wait_for(lambda: all_ready(podctl, ["web-0", "web-1"]), timeout=90,
                    message="web-1 back")
    assert podctl("exec", "web-1", "--", "cat", "/data/x") == "written-by-web-1\n"

    uid = live_pods(podctl)["web-1"]["metadata"]["uid"]
    podctl("delete", "pod", "web-1")
    podctl.wait_for(lambda: "web-1" in live_pods(podctl)
                    and live_pods(podctl)["web-1"]["metadata"]["uid"] != uid
                    and all_ready(podctl, ["web-0", "web-1"]), timeout=90,
                    message="web-1 back after its deletion")
    assert podctl("exec", "web-1", "--", "cat", "/data/x") == "written-by-web-1\n"
    claim = json.loads(podctl("get", "pvc", "www-web-1", "-o", "json"))
    assert claim["spec"]["volumeName"].startswith("pvc-")


@pytest.mark.skipif("PersistentVolumeClaim" not in RESOURCES,
                    reason="needs part A's PersistentVolumeClaim kind and its provisioner")
def test_retention_policy_delete_removes_claims_on_scale_down_and_delete(
        podctl: Podctl, controller: Start) -> None:
    controller()
    manifest = STATEFUL_SET.replace("          periodSeconds: 1\n",
                                    "          periodSeconds: 1\n" + CLAIM_TEMPLATES).replace(
        "  serviceName: nginx\n", "  serviceName: nginx\n  podManagementPolicy: Parallel\n"
        "  persistentVolumeClaimRetentionPolicy:\n    whenDeleted: Delete\n"
        "    whenScaled: Delete\n")
    podctl.apply_yaml(manifest)
    podctl.wait_for(lambda: all_ready(podctl, ["web-0", "web-1"]), timeout=90,
                    message="both pods ready")
    refs = {c["metadata"]["name"]: [r["kind"] for r in c["metadata"]["ownerReferences"]]
            for c in json.loads(podctl("get", "pvc", "-o", "json"))["items"]}
    assert refs == {"www-web-0": ["StatefulSet"], "www-web-1": ["StatefulSet"]}
    podctl("scale", "sts", "web", "--replicas=1")
    podctl.wait_for(lambda: podctl("get", "pvc", "-o", "name").split() ==
                    ["persistentvolumeclaim/www-web-0"], timeout=60,
                    message="web-1's claim deleted with its pod")
    podctl("delete", "sts", "web")
    podctl.wait_for(lambda: podctl("get", "pvc", "-o", "name") == "", timeout=60,
                    message="the claims deleted with the set")


def test_min_ready_seconds_hold_the_next_pod_then_let_it_come(
        podctl: Podctl, controller: Start) -> None:
    """web-1 is made once web-0 has been Ready for minReadySeconds: the controller looks
    again when that time is up (no event says so; the resync is 30 s away)."""
    controller()
    podctl.apply_yaml(STATEFUL_SET.replace("  replicas: 2\n",
                                           "  replicas: 2\n  minReadySeconds: 3\n"))
    podctl.wait_for(lambda: all_ready(podctl, ["web-0", "web-1"]), timeout=25,
                    message="web-1 made and ready before a resync")
    pods = live_pods(podctl)
    became_ready = next(c["lastTransitionTime"] for c in pods["web-0"]["status"]["conditions"]
                        if c["type"] == "Ready")
    made = pods["web-1"]["metadata"]["creationTimestamp"]
    assert (meta.parse_time(made) - meta.parse_time(became_ready)).total_seconds() >= 3
    podctl.wait_for(lambda: sts_status(podctl).get("availableReplicas") == 2, timeout=25,
                    message="both available")


def test_a_controller_killed_mid_scale_up_leaves_nothing_lost_or_doubled(
        podctl: Podctl, controller: Start) -> None:
    first = controller()
    podctl.apply_yaml(STATEFUL_SET.replace("  replicas: 2\n",
                                           "  replicas: 4\n  podManagementPolicy: Parallel\n"))
    podctl.wait_for(lambda: len(live_pods(podctl)) >= 1, timeout=60, message="a first pod")
    first.kill()  # kill -9, while the set's pods are being made
    controller()
    names = ["web-0", "web-1", "web-2", "web-3"]
    podctl.wait_for(lambda: all_ready(podctl, names), timeout=90, message="four ready pods")
    assert sorted(p["metadata"]["name"] for p in json.loads(podctl(
        "get", "pods", "-o", "json"))["items"]) == names
    status = sts_status(podctl)
    assert (status["replicas"], status["readyReplicas"]) == (4, 4)
    assert len(podctl("get", "controllerrevisions", "-o", "name").split()) == 1


def test_a_container_left_created_by_a_killed_kubelet_is_made_again(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    """A kubelet killed between creating an app container and starting it leaves it in
    Docker's `created` state under its attempt's name; the next one asks for that attempt
    again, so the leftover must go rather than the name conflict fail the pod for good
    (a StatefulSet's pods met it after a kill -9 of the controller)."""
    first = controller()
    podctl("run", "mon", f"--image={BUSYBOX_IMAGE}", "--command", "--", "sleep", "3600")
    podctl.wait_for(lambda: podctl.pod_json("mon")["status"].get("phase") == "Running",
                    timeout=60, message="the pod running")
    assert first.stop() == 0
    uid = podctl.pod_json("mon")["metadata"]["uid"]
    [app] = [c for c in containers_of(docker_client, uid)
             if c.labels["io.kubernetes.container.name"] == "mon"]
    name, labels = app.name, app.labels
    app.remove(force=True)
    docker_client.containers.create(BUSYBOX_IMAGE, ["sleep", "3600"], name=name,
                                    labels=labels)
    controller()
    podctl.wait_for(lambda: podctl.pod_json("mon")["status"].get("phase") == "Running"
                    and all(c.get("ready") for c in podctl.pod_json("mon")["status"].get(
                        "containerStatuses") or [{}]), timeout=60,
                    message="the pod running again")
    assert "already in use" not in podctl("get", "events")
