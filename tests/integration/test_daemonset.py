"""DaemonSets (apps/v1) with the real engine and controller: the node's labels decide
whether it runs the daemon pod."""

from __future__ import annotations

import json
from typing import Any

from .conftest import BUSYBOX_IMAGE, KUBIA_IMAGE, Podctl
from .test_controller import Start

DAEMON_SET = f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ssd-monitor
spec:
  selector:
    matchLabels:
      app: ssd-monitor
  template:
    metadata:
      labels:
        app: ssd-monitor
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector:
        disk: ssd
      containers:
      - name: main
        image: {BUSYBOX_IMAGE}
        command: ["sleep", "3600"]
"""


def live_pods(podctl: Podctl) -> list[dict[str, Any]]:
    return [p for p in json.loads(podctl("get", "pods", "-o", "json"))["items"]
            if not p["metadata"].get("deletionTimestamp")]


def registered_node(podctl: Podctl) -> str:
    """node/NAME, once the controller registered it (at its start; no read makes it)."""
    podctl.wait_for(lambda: podctl("get", "nodes", "-o", "name").strip() != "",
                    message="the node to register")
    return podctl("get", "nodes", "-o", "name").strip()


def ds_row(podctl: Podctl) -> list[str]:
    header, row = podctl("get", "ds").splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE",
                              "AVAILABLE", "NODE", "SELECTOR", "AGE"]
    return row.split()[:7]


def test_node_selector_daemon_set_follows_the_node_label(
        podctl: Podctl, controller: Start) -> None:
    controller()
    assert podctl.apply_yaml(DAEMON_SET) == "daemonset.apps/ssd-monitor created\n"
    node = registered_node(podctl)
    podctl.wait_for(lambda: ds_row(podctl) == ["ssd-monitor", "0", "0", "0", "0", "0",
                                               "disk=ssd"], message="nothing desired")
    assert live_pods(podctl) == []

    assert podctl("label", node, "disk=ssd") == f"{node} labeled\n"
    podctl.wait_for(lambda: ds_row(podctl) == ["ssd-monitor", "1", "1", "1", "1", "1",
                                               "disk=ssd"], timeout=60,
                    message="one ready daemon pod")
    [pod] = live_pods(podctl)
    assert pod["metadata"]["name"].startswith("ssd-monitor-")
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    assert pod["spec"]["nodeName"] == node.split("/", 1)[1]
    assert "controller-revision-hash" in pod["metadata"]["labels"]
    described = podctl("describe", "ds", "ssd-monitor").splitlines()
    assert "Node-Selector:  disk=ssd" in described
    assert "Desired Number of Nodes Scheduled: 1" in described
    assert "Pods Status:  1 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described

    assert podctl("set", "image", "ds/ssd-monitor", f"main={KUBIA_IMAGE}") == \
        "daemonset.apps/ssd-monitor image updated\n"
    status = podctl("rollout", "status", "ds/ssd-monitor", "--timeout=90s", timeout=120)
    assert status.splitlines()[-1] == 'daemon set "ssd-monitor" successfully rolled out'
    podctl.wait_for(lambda: [p["spec"]["containers"][0]["image"] for p in live_pods(podctl)]
                    == [KUBIA_IMAGE], timeout=60, message="the pod on the new image")
    [updated] = live_pods(podctl)
    assert updated["metadata"]["name"] != pod["metadata"]["name"]

    assert podctl("label", node, "disk-") == f"{node} unlabeled\n"
    podctl.wait_for(lambda: live_pods(podctl) == [], timeout=60, message="pod removed")
    podctl.wait_for(lambda: ds_row(podctl)[1:3] == ["0", "0"], message="nothing desired")
    events = podctl("get", "events")
    assert f"Deleted pod: {updated['metadata']['name']}" in events
    assert podctl("delete", "ds", "ssd-monitor") == 'daemonset.apps "ssd-monitor" deleted\n'


def test_no_execute_taint_evicts_the_daemon_pod_until_it_goes(
        podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(DAEMON_SET.replace("      nodeSelector:\n        disk: ssd\n", ""))
    node = registered_node(podctl)
    podctl.wait_for(lambda: len(live_pods(podctl)) == 1, timeout=60, message="a daemon pod")

    assert podctl("taint", node, "dedicated=x:NoSchedule") == f"{node} tainted\n"
    again = podctl.run("taint", node, "dedicated=y:NoSchedule")
    assert (again.code, again.err) == (
        1, f"error: Node {node.split('/', 1)[1]} already has dedicated taint(s) with same "
           "effect(s) and --overwrite is false\n")
    # NoSchedule alone: the running daemon pod stays, but no node is desired any more.
    podctl.wait_for(lambda: ds_row(podctl)[1] == "0", message="nothing desired")
    assert len(live_pods(podctl)) == 1

    assert podctl("taint", node, "evict:NoExecute") == f"{node} tainted\n"
    podctl.wait_for(lambda: live_pods(podctl) == [], timeout=60, message="pod evicted")
    assert podctl("taint", node, "evict-", "dedicated-") == f"{node} untainted\n"
    podctl.wait_for(lambda: len(live_pods(podctl)) == 1, timeout=60, message="pod back")

    [before] = live_pods(podctl)
    assert podctl("rollout", "restart", "ds/ssd-monitor") == \
        "daemonset.apps/ssd-monitor restarted\n"
    podctl.wait_for(lambda: [p["metadata"]["name"] for p in live_pods(podctl)] not in (
        [], [before["metadata"]["name"]]), timeout=60, message="a new pod")
    podctl("delete", "ds", "ssd-monitor")


def test_without_a_controller_label_and_taint_are_followed_before_the_command_returns(
        podctl: Podctl) -> None:
    """The commands drain the controllers' handlers in-process: node → DaemonSet → its pod
    (made, started, or stopped) → the DaemonSet's status, all before they print."""
    podctl.apply_yaml(DAEMON_SET)
    node = podctl("get", "nodes", "-o", "name").strip()
    assert ds_row(podctl)[1:6] == ["0", "0", "0", "0", "0"]

    podctl("label", node, "disk=ssd")
    [pod] = live_pods(podctl)
    assert pod["status"]["phase"] == "Running"
    assert ds_row(podctl)[1:6] == ["1", "1", "1", "1", "1"]

    podctl("taint", node, "evict:NoExecute")
    assert podctl("get", "pods", "-o", "name") == ""
    assert ds_row(podctl)[1:6] == ["0", "0", "0", "0", "0"]
    podctl("delete", "ds", "ssd-monitor")
