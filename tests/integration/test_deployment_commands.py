"""kubectl's imperative Deployment commands with the real engine: create deployment,
set image, rollout restart."""

from __future__ import annotations

import json
from typing import Any

from .conftest import BUSYBOX_IMAGE, KUBIA_IMAGE, Podctl
from .test_controller import Start

SLEEPER = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleeper
spec:
  replicas: 2
  selector:
    matchLabels:
      app: sleeper
  template:
    metadata:
      labels:
        app: sleeper
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {BUSYBOX_IMAGE}
        command: ["sleep", "3600"]
"""


def pods(podctl: Podctl) -> list[dict[str, Any]]:
    return list(json.loads(podctl("get", "pods", "-o", "json"))["items"])


def rolled_out(podctl: Podctl, name: str) -> None:
    status = podctl("rollout", "status", f"deployment/{name}", "--timeout=90s", timeout=120)
    assert status.splitlines()[-1] == f'deployment "{name}" successfully rolled out'


def live_pods(podctl: Podctl) -> list[dict[str, Any]]:
    return [p for p in pods(podctl) if not p["metadata"].get("deletionTimestamp")]


def test_create_deployment_generates_kubectls_object(podctl: Podctl) -> None:
    out = podctl("create", "deployment", "hello", f"--image={KUBIA_IMAGE}", "--replicas", "2",
                 "--port", "8080")
    assert out == "deployment.apps/hello created\n"
    deployment = json.loads(podctl("get", "deploy", "hello", "-o", "json"))
    assert deployment["metadata"]["labels"] == {"app": "hello"}
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"app": "hello"}}
    assert spec["template"]["metadata"]["labels"] == {"app": "hello"}
    [container] = spec["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("kubia", KUBIA_IMAGE)
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert spec["strategy"]["type"] == "RollingUpdate"
    podctl.wait_for(lambda: len(pods(podctl)) == 2, timeout=60, message="two pods")

    again = podctl.run("create", "deployment", "hello", f"--image={KUBIA_IMAGE}")
    assert again.code == 1
    assert again.err == ('error: failed to create deployment: deployments.apps "hello" '
                         "already exists\n")
    podctl("delete", "deployment", "hello")


def test_set_image_rolls_the_pods_to_the_new_image(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(SLEEPER)
    rolled_out(podctl, "sleeper")
    before = {p["metadata"]["name"] for p in live_pods(podctl)}
    assert len(before) == 2

    wrong = podctl.run("set", "image", "deployment/sleeper", "nope=x")
    assert (wrong.code, wrong.err) == (1, 'error: unable to find container named "nope"\n')
    out = podctl("set", "image", "deploy/sleeper", f"main={KUBIA_IMAGE}")
    assert out == "deployment.apps/sleeper image updated\n"
    rolled_out(podctl, "sleeper")

    def on_new_image() -> bool:
        current = live_pods(podctl)
        return len(current) == 2 and all(
            p["spec"]["containers"][0]["image"] == KUBIA_IMAGE
            and p["metadata"]["name"] not in before for p in current)

    podctl.wait_for(on_new_image, timeout=60, message="two pods on the new image")
    revisions = sorted(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                       for r in json.loads(podctl("get", "rs", "-o", "json"))["items"])
    assert revisions == ["1", "2"]
    podctl("delete", "deployment", "sleeper")


def test_rollout_restart_replaces_the_pods(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(SLEEPER)
    rolled_out(podctl, "sleeper")
    before = {p["metadata"]["name"] for p in live_pods(podctl)}

    assert podctl("rollout", "restart", "deployment/sleeper") == \
        "deployment.apps/sleeper restarted\n"
    deployment = json.loads(podctl("get", "deploy", "sleeper", "-o", "json"))
    assert "kubectl.kubernetes.io/restartedAt" in \
        deployment["spec"]["template"]["metadata"]["annotations"]
    rolled_out(podctl, "sleeper")
    podctl.wait_for(lambda: len(current := live_pods(podctl)) == 2 and not (
        {p["metadata"]["name"] for p in current} & before), timeout=60,
        message="two new pods")

    assert podctl("rollout", "pause", "deploy/sleeper") == "deployment.apps/sleeper paused\n"
    paused = podctl.run("rollout", "restart", "deploy/sleeper")
    assert (paused.code, paused.err) == (
        1, "error: can't restart paused deployment (run rollout resume first)\n")
    podctl("delete", "deployment", "sleeper")
