"""Writes while the Docker engine is unreachable: accepted and stored, as an API server does
while a node is down, with one warning; a controller starts the pods once the engine is back.
"Down" is this one podctl call pointing DOCKER_HOST at a socket that does not exist."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Podctl, Result
from .test_controller import Start

DOWN = {"DOCKER_HOST": "unix:///nonexistent.sock"}
POD = """apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: app, image: podctl/kubia:1}
"""
RC = """apiVersion: v1
kind: ReplicationController
metadata: {name: kubia}
spec:
  replicas: 1
  selector: {app: kubia}
  template:
    metadata: {labels: {app: kubia}}
    spec:
      containers:
      - {name: app, image: podctl/kubia:1}
"""
UNREACHABLE = "the Docker engine is unreachable (no daemon socket): the change is stored"


def down(podctl: Podctl, *args: str) -> Result:
    return podctl.run(*args, env=DOWN)


def warnings(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if line.startswith("Warning: ")]


def accepted(result: Result, line: str, waits: str = "its pods stay Pending") -> None:
    """kubectl's line, exit 0, and nothing on stderr but the one warning."""
    assert (result.code, result.out) == (0, line + "\n"), str(result)
    assert result.err == (
        f"Warning: {UNREACHABLE} and {waits} until the engine is back and a controller runs "
        "(`podctl run-controller --detach`)\n"), str(result)


def phases(podctl: Podctl, selector: str = "") -> dict[str, str]:
    args = ["get", "pods", "-o", "json"] + (["-l", selector] if selector else [])
    items: list[dict[str, Any]] = json.loads(podctl(*args))["items"]
    return {p["metadata"]["name"]: p["status"]["phase"] for p in items}


def test_create_while_down_is_stored_and_runs_once_a_controller_does(
        podctl: Podctl, controller: Start) -> None:
    path = podctl.tmp / "pod.yaml"
    path.write_text(POD)
    accepted(down(podctl, "create", "-f", str(path)), "pod/web created")
    listed = down(podctl, "get", "pods")
    assert listed.code == 0, str(listed)
    assert listed.out.splitlines()[1].split()[:3] == ["web", "0/1", "Pending"]
    assert warnings(listed) == [
        "Warning: the Docker engine is unreachable (no daemon socket): pod status is what the "
        "store knows (Unknown for pods that had started)"]
    described = down(podctl, "describe", "pod", "web")
    assert described.code == 0, str(described)
    assert ["Status:", "Pending"] in [line.split() for line in described.out.splitlines()]
    assert len(warnings(described)) == 1
    again = down(podctl, "create", "-f", str(path))
    assert again.code == 1 and 'pods "web" already exists' in again.err, str(again)

    controller()
    podctl.wait_for(lambda: phases(podctl) == {"web": "Running"}, timeout=60,
                    message="pod web Running")


def test_every_writing_verb_while_down(podctl: Podctl, controller: Start) -> None:
    rc = podctl.tmp / "rc.yaml"
    rc.write_text(RC)
    accepted(down(podctl, "create", "-f", str(rc)), "replicationcontroller/kubia created")
    accepted(down(podctl, "scale", "rc", "kubia", "--replicas=2"),
             "replicationcontroller/kubia scaled")
    accepted(down(podctl, "run", "solo", "--image=podctl/kubia:1"), "pod/solo created")
    applied = podctl.tmp / "applied.yaml"
    applied.write_text(POD.replace("name: web", "name: applied"))
    accepted(down(podctl, "apply", "-f", str(applied)), "pod/applied created")
    rc.write_text(RC.replace("replicas: 1", "replicas: 3"))
    applied_rc = down(podctl, "apply", "-f", str(rc))
    assert applied_rc.code == 0 and applied_rc.out == "replicationcontroller/kubia configured\n"
    assert warnings(applied_rc)[-1].startswith(f"Warning: {UNREACHABLE}"), str(applied_rc)
    # Store-only writes need no engine, so they have nothing to warn about.
    for args, line in ((("label", "pod", "solo", "tier=web"), "pod/solo labeled"),
                       (("annotate", "pod", "solo", "note=x"), "pod/solo annotated"),
                       (("create", "namespace", "offline"), "namespace/offline created")):
        result = down(podctl, *args)
        assert (result.code, result.out, result.err) == (0, line + "\n", ""), str(result)
    assert set(phases(podctl)) == {"solo", "applied"}  # the RC's pods wait for a controller

    controller()

    def all_running() -> bool:
        seen = phases(podctl)
        return (len(seen) == 5 and set(seen.values()) == {"Running"}
                and {"solo", "applied"} <= set(seen))

    podctl.wait_for(all_running, timeout=90, message="the RC's 3 pods, solo and applied Running")
    status = json.loads(podctl("get", "rc", "kubia", "-o", "json"))["status"]
    assert status["readyReplicas"] == 3


def test_scale_down_while_down_stops_pods_later(podctl: Podctl,
                                                       controller: Start) -> None:
    rc = podctl.tmp / "rc.yaml"
    rc.write_text(RC.replace("replicas: 1", "replicas: 2"))
    podctl("create", "-f", str(rc))
    podctl.wait_for(lambda: list(phases(podctl).values()) == ["Running", "Running"],
                    timeout=60, message="2 pods Running")
    accepted(down(podctl, "scale", "rc", "kubia", "--replicas=1"),
             "replicationcontroller/kubia scaled", waits="its surplus pods are not stopped")
    listed = down(podctl, "get", "pods")
    assert listed.code == 0, str(listed)
    # Pods that had started cannot be asked about: Unknown, as on an unreachable node.
    assert sorted(row.split()[2] for row in listed.out.splitlines()[1:]) == [
        "Unknown", "Unknown"]

    controller()
    podctl.wait_for(lambda: list(phases(podctl).values()) == ["Running"], timeout=60,
                    message="1 pod left")
