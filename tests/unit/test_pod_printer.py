"""printers.pods and printers.describe: kubectl's STATUS column and describe layout."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from podctl.printers.describe import describe_events, describe_pod, probe_text
from podctl.printers.pods import pod_row, pod_status_text, ready_text, restarts_text
from podctl.printers.table import format_columns

NOW = datetime(2026, 1, 1, 0, 10, 0, tzinfo=UTC)


def pod_with(statuses: list[dict[str, Any]], phase: str = "Running", **md: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default",
                         "creationTimestamp": "2026-01-01T00:00:00Z", **md},
            "spec": {"containers": [{"name": s["name"]} for s in statuses]},
            "status": {"phase": phase, "containerStatuses": statuses,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def cs(name: str, state: dict[str, Any], ready: bool = False, restarts: int = 0,
       last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "state": state, "ready": ready, "restartCount": restarts,
            "lastState": last or {}}


RUNNING = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}


@pytest.mark.parametrize("statuses,phase,expected", [
    ([cs("a", RUNNING, True)], "Running", "Running"),
    ([cs("a", {"waiting": {"reason": "CrashLoopBackOff"}})], "Running", "CrashLoopBackOff"),
    ([cs("a", {"terminated": {"reason": "Completed", "exitCode": 0}})], "Succeeded", "Completed"),
    ([cs("a", {"terminated": {"exitCode": 3}})], "Failed", "ExitCode:3"),
    ([cs("a", {"terminated": {"exitCode": 0, "signal": 9}})], "Failed", "Signal:9"),
    # Statuses are walked backwards: the alphabetically first container's reason wins.
    ([cs("a", {"waiting": {"reason": "ErrImagePull"}}),
      cs("b", {"waiting": {"reason": "CrashLoopBackOff"}})], "Pending", "ErrImagePull"),
    ([cs("a", {"terminated": {"reason": "Completed", "exitCode": 0}}), cs("b", RUNNING, True)],
     "Running", "Running"),
])
def test_status_column(statuses: list[dict[str, Any]], phase: str, expected: str) -> None:
    assert pod_status_text(pod_with(statuses, phase)) == expected


def test_completed_with_a_running_container_and_pod_not_ready_is_not_ready() -> None:
    p = pod_with([cs("a", {"terminated": {"reason": "Completed", "exitCode": 0}}),
                  cs("b", RUNNING, True)])
    p["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert pod_status_text(p) == "NotReady"


def test_deleting_pod_is_terminating() -> None:
    p = pod_with([cs("a", RUNNING, True)], deletionTimestamp="2026-01-01T00:11:00Z")
    assert pod_status_text(p) == "Terminating"


def test_ready_counts_running_ready_containers() -> None:
    p = pod_with([cs("a", RUNNING, True), cs("b", RUNNING, False)])
    assert ready_text(p) == "1/2"


def test_restarts_show_how_long_ago_the_last_one_was() -> None:
    last = {"terminated": {"finishedAt": "2026-01-01T00:07:30Z"}}
    p = pod_with([cs("a", RUNNING, True, restarts=5, last=last)])
    assert restarts_text(p, NOW) == "5 (2m30s ago)"
    assert restarts_text(pod_with([cs("a", RUNNING, True)]), NOW) == "0"


def test_restarts_of_an_initialized_pod_leave_its_init_containers_out() -> None:
    """printPod resets the count once the pod is initialized: the app containers' (and
    sidecars') restarts, the newest finish among them (printers_test.go's test11)."""
    p = pod_with([cs("a", RUNNING, True, restarts=2,
                     last={"terminated": {"finishedAt": "2026-01-01T00:09:00Z"}}),
                  cs("b", RUNNING, True, restarts=1,
                     last={"terminated": {"finishedAt": "2026-01-01T00:05:00Z"}})])
    p["status"]["initContainerStatuses"] = [
        cs("i", {"terminated": {"exitCode": 0}}, restarts=4,
           last={"terminated": {"finishedAt": "2026-01-01T00:01:00Z"}})]
    assert restarts_text(p, NOW) == "3 (60s ago)"


def test_restarts_while_initializing_are_the_init_containers() -> None:
    p = pod_with([cs("a", {"waiting": {"reason": "PodInitializing"}})], phase="Pending")
    p["status"]["initContainerStatuses"] = [
        cs("i", {"waiting": {"reason": "CrashLoopBackOff"}}, restarts=2,
           last={"terminated": {"finishedAt": "2026-01-01T00:09:40Z"}})]
    assert restarts_text(p, NOW) == "2 (20s ago)"
    assert pod_status_text(p) == "Init:CrashLoopBackOff"


def test_pod_row() -> None:
    row = pod_row(pod_with([cs("a", RUNNING, True)]), NOW)
    assert row == ["p", "1/1", "Running", "0", "10m"]


def test_tabwriter_aligns_runs_of_lines_like_go() -> None:
    text, _ = format_columns("Name:\tx\nNamespace:\tdefault\nIPs:\n  IP:\t1.2.3.4\n"
                             "Controlled By:\tRC/k", minwidth=0, padding=2, remember=False)
    assert text.splitlines() == ["Name:       x", "Namespace:  default", "IPs:",
                                 "  IP:           1.2.3.4", "Controlled By:  RC/k"]


def test_probe_text_matches_kubectl() -> None:
    probe = {"httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1,
             "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert probe_text(probe) == ("http-get http://:8080/ delay=0s timeout=1s period=10s "
                                 "#success=1 #failure=3")
    assert probe_text({"exec": {"command": ["cat", "/tmp/ok"]}}).startswith("exec [cat /tmp/ok] ")
    assert probe_text({"tcpSocket": {"port": 80}}).startswith("tcp-socket :80 ")


def test_events_table_with_repeats() -> None:
    events = [{"type": "Warning", "reason": "Unhealthy", "message": "Liveness probe failed: x",
               "source": "kubelet", "count": 3, "firstTimestamp": "2026-01-01T00:09:29Z",
               "lastTimestamp": "2026-01-01T00:09:49Z", "fieldPath": ""}]
    lines = describe_events(events, NOW).splitlines()
    assert lines[0] == "Events:"
    assert lines[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert lines[3] == "  Warning  Unhealthy  11s (x3 over 31s)  kubelet  Liveness probe failed: x"
    assert describe_events([], NOW) == "Events:  <none>\n"


def test_describe_pod_layout() -> None:
    p = pod_with([cs("a", RUNNING, True)])
    p["metadata"]["labels"] = {"b": "2", "a": "1"}
    p["spec"]["nodeName"] = "node"
    p["status"].update(podIP="10.0.0.2", podIPs=[{"ip": "10.0.0.2"}], hostIP="192.168.0.1",
                       qosClass="BestEffort", startTime="2026-01-01T00:00:00Z")
    p["spec"]["containers"][0].update(image="img", ports=[{"containerPort": 80,
                                                           "protocol": "TCP", "name": "http"}])
    text = describe_pod(p, [], NOW)
    lines = text.splitlines()
    assert lines[:4] == ["Name:             p", "Namespace:        default",
                         "Priority:         0", "Service Account:  default"]
    assert "Node:             node/192.168.0.1" in lines
    assert "Start Time:       Thu, 01 Jan 2026 00:00:00 +0000" in lines
    assert "Labels:           a=1" in lines and "                  b=2" in lines
    assert "    Port:           80/TCP (http)" in lines
    assert "    Host Port:      0/TCP" in lines
    assert lines[-1] == "Events:  <none>"


def test_describe_shows_field_ref_env_values_from_the_pod() -> None:
    p = pod_with([cs("a", RUNNING, True)])
    p["metadata"]["labels"] = {"app": "web"}
    p["status"]["podIP"] = "10.0.0.2"
    p["spec"]["containers"][0].update(image="img", env=[
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                   "fieldPath": "metadata.labels['app']"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}}])
    words = [" ".join(line.split()) for line in describe_pod(p, [], NOW).splitlines()]
    env = words[words.index("Environment:") + 1:][:3]
    assert env == ["IP: 10.0.0.2 (v1:status.podIP)", "APP: web (v1:metadata.labels['app'])",
                   "SA: default (v1:spec.serviceAccountName)"]


def test_describe_shows_mounts_with_their_sub_path_as_kubectl() -> None:
    p = pod_with([cs("a", RUNNING, True)])
    p["spec"]["containers"][0].update(image="img", volumeMounts=[
        {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf", "readOnly": True},
        {"name": "data", "mountPath": "/data"},
        {"name": "data", "mountPath": "/logs", "subPathExpr": "$(POD_NAME)"}])
    words = [" ".join(line.split()) for line in describe_pod(p, [], NOW).splitlines()]
    mounts = words[words.index("Mounts:") + 1:][:3]
    assert mounts == ['/data from data (rw)', '/etc/app.conf from cfg (ro,path="app.conf")',
                      "/logs from data (rw)"]


@pytest.mark.parametrize("init,expected", [
    ([{"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
      {"state": {"running": {}}}], "Init:1/2"),
    ([{"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}, {"state": {}}],
     "Init:Error"),
    ([{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}], "Init:CrashLoopBackOff"),
    ([{"state": {"waiting": {"reason": "PodInitializing"}}}], "Init:0/1"),
    ([{"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}], "Running"),
])
def test_status_column_with_init_containers(init: list[dict[str, Any]], expected: str) -> None:
    p = pod_with([cs("a", RUNNING, True)])
    p["status"]["initContainerStatuses"] = init
    assert pod_status_text(p) == expected


def test_sort_by_orders_numbers_numerically_and_missing_first() -> None:
    from podctl.printers.output import sort_by

    objs = [{"n": "10", "k": "x"}, {"n": "9"}, {"k": "y"}]
    assert sort_by(objs, ".n") == [{"k": "y"}, {"n": "9"}, {"n": "10", "k": "x"}]


def _with_sidecar(side: dict[str, Any], app_state: dict[str, Any], initialized: bool
                  ) -> dict[str, Any]:
    p = pod_with([cs("app", app_state, ready="running" in app_state)])
    p["spec"]["initContainers"] = [{"name": "init"}, {"name": "side", "restartPolicy": "Always"}]
    done = cs("init", {"terminated": {"exitCode": 0, "reason": "Completed"}})
    p["status"]["initContainerStatuses"] = [done, side]
    p["status"]["conditions"].append({"type": "Initialized",
                                      "status": "True" if initialized else "False"})
    return p


def test_a_started_sidecar_counts_in_ready_and_not_in_init() -> None:
    side = {**cs("side", {"running": {}}, ready=True), "started": True}
    p = _with_sidecar(side, {"running": {}}, initialized=True)
    assert ready_text(p) == "2/2" and pod_status_text(p) == "Running"


def test_a_sidecar_not_started_yet_is_init_progress() -> None:
    side = {**cs("side", {"running": {}}), "started": False}
    p = _with_sidecar(side, {"waiting": {"reason": "PodInitializing"}}, initialized=False)
    p["status"]["phase"] = "Pending"
    assert ready_text(p) == "0/2" and pod_status_text(p) == "Init:1/2"


def test_a_crashing_sidecar_after_initialization_shows_as_kubectl_does() -> None:
    side = {**cs("side", {"waiting": {"reason": "CrashLoopBackOff"}}), "started": False}
    p = _with_sidecar(side, {"running": {}}, initialized=True)
    assert pod_status_text(p) == "Init:CrashLoopBackOff" and ready_text(p) == "1/2"
