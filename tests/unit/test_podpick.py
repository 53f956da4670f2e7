"""api.podpick: the pod kubectl's logs, exec, attach and port-forward take for TYPE/NAME —
selectors per kind, and podutils' ByLogging and (reversed) ActivePods orders."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.api.podpick import (
    ATTACH,
    LOGS,
    SelectorError,
    failure_prefix,
    selector_for,
    sort_pods,
    split_argument,
)
from podctl.errors import PodctlError


def pod(name: str, *, node: str = "vm", phase: str = "Running", ready_at: str | None = None,
        restarts: int = 0, created: str = "2024-01-01T00:00:00Z") -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True", "lastTransitionTime": ready_at}] \
        if ready_at else [{"type": "Ready", "status": "False"}]
    return {"kind": "Pod",
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": conditions,
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


def names(pods: list[dict[str, Any]], purpose: str) -> list[str]:
    return [p["metadata"]["name"] for p in sort_pods(pods, purpose)]


EARLY, LATE = "2024-01-01T00:00:10Z", "2024-01-01T00:05:00Z"


def test_logs_prefer_assigned_running_ready_pods() -> None:
    pods = [pod("unassigned", node="", phase="Pending"), pod("pending", phase="Pending"),
            pod("unknown", phase="Unknown"), pod("running"), pod("ready", ready_at=EARLY)]
    assert names(pods, LOGS) == ["ready", "running", "unknown", "pending", "unassigned"]


def test_logs_prefer_the_longest_ready_then_the_most_restarted_then_the_oldest() -> None:
    assert names([pod("new", ready_at=LATE), pod("old", ready_at=EARLY)], LOGS) == \
        ["old", "new"]
    assert names([pod("calm"), pod("crashy", restarts=3)], LOGS) == ["crashy", "calm"]
    assert names([pod("young", created=LATE), pod("aged", created=EARLY)], LOGS) == \
        ["aged", "young"]
    # A completed pod ranks with the running ones (ByLogging's map has no other phases).
    assert names([pod("pending", phase="Pending"), pod("done", phase="Succeeded")], LOGS) == \
        ["done", "pending"]


def test_attach_takes_the_most_active_pod_first() -> None:
    pods = [pod("unassigned", node="", phase="Pending"), pod("pending", phase="Pending"),
            pod("unknown", phase="Unknown"), pod("running"), pod("ready", ready_at=EARLY)]
    assert names(pods, ATTACH) == ["ready", "running", "unknown", "pending", "unassigned"]


def test_attach_prefers_the_longest_ready_the_least_restarted_and_the_oldest() -> None:
    assert names([pod("new", ready_at=LATE), pod("old", ready_at=EARLY)], ATTACH) == \
        ["old", "new"]
    # Unlike logs: restarts make a pod less active (ActivePods deletes it first).
    assert names([pod("crashy", restarts=3), pod("calm")], ATTACH) == ["calm", "crashy"]
    assert names([pod("young", created=LATE), pod("aged", created=EARLY)], ATTACH) == \
        ["aged", "young"]
    # Ready beats restarts beats age: the order of the rules, not of the fields.
    assert names([pod("old-crashy", restarts=2, created=EARLY),
                  pod("young-calm", created=LATE)], ATTACH) == ["young-calm", "old-crashy"]


def test_a_pod_without_a_creation_time_comes_last_for_both() -> None:
    timeless = pod("timeless")
    del timeless["metadata"]["creationTimestamp"]
    for purpose in (LOGS, ATTACH):
        assert names([timeless, pod("dated")], purpose) == ["dated", "timeless"]


LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(("kind", "selector"), [
    ("ReplicationController", {"app": "web"}),
    ("Service", {"app": "web"}),
    ("ReplicaSet", {"matchLabels": {"app": "web"}}),
    ("Deployment", {"matchLabels": {"app": "web"}}),
    ("DaemonSet", {"matchExpressions": [{"key": "tier", "operator": "In",
                                         "values": ["front"]}]}),
    ("StatefulSet", {"matchLabels": {"app": "web"}}),
    ("Job", {"matchLabels": {"app": "web"}}),
])
def test_every_workload_kind_selects_its_pods(kind: str, selector: dict[str, Any]) -> None:
    found = selector_for({"kind": kind, "metadata": {"name": "x"}, "spec": {"selector": selector}})
    assert found.matches(LABELS)
    assert not found.matches({"app": "db", "tier": "back"})


def test_what_names_no_pods_is_refused_as_kubectl_refuses_it() -> None:
    with pytest.raises(SelectorError) as caught:
        selector_for({"kind": "Service", "metadata": {"name": "ext"}, "spec": {"ports": []}})
    assert f"{failure_prefix(LOGS, 'Service')}: {caught.value}" == (
        "cannot get the logs from *v1.Service: invalid service 'ext': Service is defined "
        "without a selector")
    with pytest.raises(SelectorError) as caught:
        selector_for({"kind": "Node", "metadata": {"name": "vm"}, "spec": {}})
    assert f"{failure_prefix(ATTACH, 'Node')}: {caught.value}" == (
        "cannot attach to *v1.Node: selector for *v1.Node not implemented")


@pytest.mark.parametrize(("arg", "expected"), [
    ("web", ("Pod", "web")), ("po/web", ("Pod", "web")), ("deploy/web", ("Deployment", "web")),
    ("deployment/web", ("Deployment", "web")), ("rs/web", ("ReplicaSet", "web")),
    ("rc/web", ("ReplicationController", "web")), ("ds/web", ("DaemonSet", "web")),
    ("job/web", ("Job", "web")), ("svc/web", ("Service", "web")),
    ("sts/web", ("StatefulSet", "web")),
    ("deployments.apps/web", ("Deployment", "web")), ("jobs.batch/web", ("Job", "web")),
])
def test_type_name_arguments(arg: str, expected: tuple[str, str]) -> None:
    assert split_argument(arg) == expected


@pytest.mark.parametrize(("arg", "message"), [
    ("pc/web", 'the server doesn\'t have a resource type "pc"'),
    ("deployments.batch/web", 'the server doesn\'t have a resource type "deployments.batch"'),
    ("deploy/", "arguments in resource/name form must have a single resource and name"),
    ("/web", "arguments in resource/name form must have a single resource and name"),
    ("deploy/a/b", "arguments in resource/name form must have a single resource and name"),
])
def test_bad_type_name_arguments(arg: str, message: str) -> None:
    with pytest.raises(PodctlError) as caught:
        split_argument(arg)
    assert str(caught.value) == message
