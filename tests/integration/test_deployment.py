"""Deployments (apps/v1) with the real engine and controller: rollout, rolling update,
rollout status, scale, cascading delete."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from .conftest import PODCTL, Podctl
from .test_controller import Start

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: {grace}
      containers:
      - name: kubia
        image: podctl/kubia:1
"""


def replica_sets(podctl: Podctl) -> list[dict[str, Any]]:
    return list(json.loads(podctl("get", "rs", "-o", "json"))["items"])


def test_rolling_update_replaces_every_pod_through_a_new_replica_set(
        podctl: Podctl, controller: Start) -> None:
    controller()
    path = podctl.tmp / "deploy.yaml"
    path.write_text(DEPLOYMENT.format(grace=1))
    assert podctl("apply", "-f", str(path)) == "deployment.apps/web created\n"
    status = podctl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    assert status.splitlines()[-1] == 'deployment "web" successfully rolled out'
    [first] = replica_sets(podctl)
    digest = first["metadata"]["labels"]["pod-template-hash"]
    assert first["metadata"]["name"] == f"web-{digest}"
    assert first["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    header, row = podctl("get", "deploy").splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:4] == ["web", "3/3", "3", "3"]

    path.write_text(DEPLOYMENT.format(grace=2))  # a template change: a new revision
    assert podctl("apply", "-f", str(path)) == "deployment.apps/web configured\n"
    status = podctl("rollout", "status", "deploy/web", "--timeout=90s", timeout=120)
    assert status.splitlines()[-1] == 'deployment "web" successfully rolled out'
    by_name = {r["metadata"]["name"]: r for r in replica_sets(podctl)}
    assert len(by_name) == 2 and by_name[first["metadata"]["name"]]["spec"]["replicas"] == 0
    [new] = [r for n, r in by_name.items() if n != first["metadata"]["name"]]
    assert new["spec"]["replicas"] == 3
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    podctl.wait_for(lambda: {p["metadata"]["labels"]["pod-template-hash"] for p in json.loads(
        podctl("get", "pods", "-o", "json"))["items"]} == {
            new["metadata"]["labels"]["pod-template-hash"]}, timeout=60,
        message="only new pods left")
    described = podctl("describe", "deployment", "web").splitlines()
    assert "Replicas:               3 desired | 3 updated | 3 total | 3 available | " \
        "0 unavailable" in described
    assert f"OldReplicaSets:  {first['metadata']['name']} (0/0 replicas created)" in described
    assert f"NewReplicaSet:   {new['metadata']['name']} (3/3 replicas created)" in described
    scaled = [line for line in described if "ScalingReplicaSet" in line]
    assert scaled[-1].endswith(f"Scaled down replica set {first['metadata']['name']} "
                               "from 1 to 0")

    assert podctl("scale", "deploy", "web", "--replicas=1") == "deployment.apps/web scaled\n"
    podctl.wait_for(lambda: len(json.loads(podctl("get", "pods", "-o", "json"))["items"]) == 1,
                    timeout=60, message="one pod left")
    assert podctl("delete", "deployment", "web") == 'deployment.apps "web" deleted\n'
    assert replica_sets(podctl) == []
    podctl.wait_for(lambda: not json.loads(podctl("get", "pods", "-o", "json"))["items"],
                    timeout=60, message="pods deleted with the Deployment")


def test_pause_holds_a_template_change_until_resume(podctl: Podctl, controller: Start) -> None:
    controller()
    path = podctl.tmp / "deploy.yaml"
    path.write_text(DEPLOYMENT.format(grace=1).replace("replicas: 3", "replicas: 1"))
    podctl("apply", "-f", str(path))
    podctl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    assert podctl("rollout", "pause", "deployment/web") == "deployment.apps/web paused\n"
    again = podctl.run("rollout", "pause", "deployment/web")
    assert again.code != 0 and 'deployments.apps "web" is already paused' in again.err
    path.write_text(DEPLOYMENT.format(grace=2).replace("replicas: 3", "replicas: 1"))
    podctl("apply", "-f", str(path))
    podctl.wait_for(lambda: any(
        c.get("reason") == "DeploymentPaused" for c in json.loads(podctl(
            "get", "deploy", "web", "-o", "json"))["status"].get("conditions", [])),
        timeout=30, message="the paused condition")
    assert len(replica_sets(podctl)) == 1
    assert podctl("rollout", "resume", "deploy/web") == "deployment.apps/web resumed\n"
    status = podctl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    assert status.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert sorted(r["spec"]["replicas"] for r in replica_sets(podctl)) == [0, 1]
    podctl("delete", "deploy", "web")


def first_hash(podctl: Podctl) -> str:
    return str(next(r["metadata"]["labels"]["pod-template-hash"] for r in replica_sets(podctl)
                    if r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"))


def test_history_and_undo(podctl: Podctl) -> None:
    """Without a controller the command rolls out itself; undo reuses the old ReplicaSet."""
    path = podctl.tmp / "deploy.yaml"
    path.write_text(DEPLOYMENT.format(grace=1).replace("replicas: 3", "replicas: 1"))
    podctl("apply", "-f", str(path))
    assert podctl("rollout", "history", "deployment/web") == (
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n\n")
    path.write_text(DEPLOYMENT.format(grace=2).replace("replicas: 3", "replicas: 1"))
    podctl("apply", "-f", str(path))
    assert podctl("rollout", "history", "deploy/web").splitlines()[2:] == [
        "1         <none>", "2         <none>", ""]
    shown = podctl("rollout", "history", "deploy/web", "--revision=1").splitlines()
    assert shown[0] == "deployment.apps/web with revision #1"
    assert shown[1:3] == ["Pod Template:", "  Labels:  app=web"]
    assert shown[3].split() == [f"pod-template-hash={first_hash(podctl)}"]
    missing = podctl.run("rollout", "history", "deploy/web", "--revision=7")
    assert missing.code != 0 and "unable to find the specified revision" in missing.err
    first = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]:
             r["metadata"]["name"] for r in replica_sets(podctl)}["1"]
    assert podctl("rollout", "undo", "deployment/web") == "deployment.apps/web rolled back\n"
    by_revision = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r
                   for r in replica_sets(podctl)}
    assert sorted(by_revision) == ["2", "3"]
    assert by_revision["3"]["metadata"]["name"] == first
    assert by_revision["3"]["spec"]["replicas"] == 1
    assert podctl("rollout", "undo", "deployment/web", "--to-revision=3") == (
        "deployment.apps/web skipped rollback (current template already matches revision 3)\n")
    gone = podctl.run("rollout", "undo", "deployment/web", "--to-revision=1")
    assert gone.code != 0 and "unable to find specified revision 1 in history" in gone.err
    podctl("delete", "deploy", "web")


GATED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: gated
spec:
  replicas: 3
  progressDeadlineSeconds: 8
  selector:
    matchLabels: {{app: gated}}
  template:
    metadata:
      labels: {{app: gated}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kubia
        image: podctl/kubia:1
        env: [{{name: VERSION, value: "{version}"}}]
        readinessProbe:
          exec: {{command: ["{probe}"]}}
          periodSeconds: 1
"""


def _ready_pods(podctl: Podctl) -> int:
    items = json.loads(podctl("get", "pods", "-l", "app=gated", "-o", "json"))["items"]
    return sum(1 for p in items if not p["metadata"].get("deletionTimestamp")
               and any(c["type"] == "Ready" and c["status"] == "True"
                       for c in p["status"].get("conditions") or []))


def test_a_rollout_keeps_enough_pods_ready_and_a_stalled_one_reports_its_deadline(
        podctl: Podctl, controller: Start) -> None:
    """maxUnavailable 25% of 3 rounds down to 0: never fewer than 3 ready pods while the
    rollout runs; an image that never gets ready stalls it past progressDeadlineSeconds."""
    controller()
    path = podctl.tmp / "gated.yaml"
    path.write_text(GATED.format(version="1", probe="true"))
    podctl("apply", "-f", str(path))
    podctl("rollout", "status", "deploy/gated", "--timeout=90s", timeout=120)
    path.write_text(GATED.format(version="2", probe="true"))
    podctl("apply", "-f", str(path))
    seen: list[int] = []
    rollout = subprocess.Popen([PODCTL, "rollout", "status", "deploy/gated", "--timeout=90s"],
                               env=podctl.env, stdout=subprocess.PIPE, text=True)
    while rollout.poll() is None:
        seen.append(_ready_pods(podctl))
    assert rollout.returncode == 0
    assert rollout.stdout is not None
    assert rollout.stdout.read().splitlines()[-1] == \
        'deployment "gated" successfully rolled out'
    assert seen and min(seen) >= 3, seen

    path.write_text(GATED.format(version="3", probe="false"))  # never ready
    podctl("apply", "-f", str(path))
    stalled = podctl.run("rollout", "status", "deploy/gated", "--timeout=60s", timeout=90)
    assert stalled.code == 1
    assert stalled.err.strip().endswith('deployment "gated" exceeded its progress deadline')
    progressing = next(c for c in json.loads(podctl("get", "deploy", "gated", "-o", "json"))[
        "status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False",
                                                              "ProgressDeadlineExceeded")
    assert _ready_pods(podctl) == 3  # the old pods keep serving
