"""The horizontal pod autoscaler's plan (controllers.horizontal), pure: upstream's replica
calculator, normalisation, conditions and events."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from podctl.api.labels import selector_from_map
from podctl.api.meta import format_time
from podctl.controllers.horizontal import Memory, Observed, Scale, plan, record_scale
from podctl.manifest.autoscaling_rules import default_horizontal_pod_autoscaler

NOW = 1_800_000_000.0
LONG_AGO = format_time(datetime.fromtimestamp(NOW - 3600, UTC))
SELECTOR = selector_from_map({"app": "web"})


def hpa(**spec: Any) -> dict[str, Any]:
    body = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
            **spec}
    default_horizontal_pod_autoscaler(body)
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": body}


def pod(name: str, cpu_request: str | None = "100m", phase: str = "Running") -> dict[str, Any]:
    resources = {"requests": {"cpu": cpu_request}} if cpu_request else {}
    return {"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "resources": resources}]},
            "status": {"phase": phase, "startTime": LONG_AGO, "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": LONG_AGO}]}}


def usage(name: str, cpu: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"},
            "timestamp": format_time(datetime.fromtimestamp(NOW - 5, UTC)),
            "window": "15s", "containers": [{"name": "main", "usage": {"cpu": cpu,
                                                                        "memory": "1Mi"}}]}


def observed(replicas: int, pods: list[dict[str, Any]],
             metrics: list[dict[str, Any]] | None) -> Observed:
    return Observed(Scale(replicas, SELECTOR), "", pods, metrics)


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions", [])}


def test_a_busy_pod_scales_up_within_the_scale_up_limit() -> None:
    done = plan(hpa(), observed(1, [pod("a")], [usage("a", "250m")]), Memory(), NOW)
    # 250% of the request against 50%: 5 wanted, 4 at most from 1 without a behavior.
    assert done.rescale_to == 4
    assert done.events == [("Normal", "SuccessfulRescale", "New size: 4; reason: cpu resource "
                            "utilization (percentage of request) above target")]
    assert done.status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 250, "averageValue": "250m"}}}]
    assert conditions(done.status) == {
        "AbleToScale": ("True", "SucceededRescale"),
        "ScalingActive": ("True", "ValidMetricFound"),
        "ScalingLimited": ("True", "ScaleUpLimit")}
    assert done.status["desiredReplicas"] == 4 and "lastScaleTime" in done.status


def test_within_the_tolerance_nothing_changes() -> None:
    done = plan(hpa(), observed(2, [pod("a"), pod("b")],
                                [usage("a", "52m"), usage("b", "53m")]), Memory(), NOW)
    assert done.rescale_to is None and done.events == []
    assert conditions(done.status)["ScalingLimited"] == ("False", "DesiredWithinRange")


def test_scale_down_waits_for_the_stabilisation_window() -> None:
    memory = Memory(recommendations=[(NOW - 60, 4)])
    idle = observed(4, [pod(n) for n in "abcd"], [usage(n, "1m") for n in "abcd"])
    held = plan(hpa(), idle, memory, NOW)
    assert held.rescale_to is None
    assert conditions(held.status)["AbleToScale"] == ("True", "ScaleDownStabilized")
    later = plan(hpa(), idle, memory, NOW + 301)
    assert later.rescale_to == 1
    assert later.events[0][2] == "New size: 1; reason: All metrics below target"


def test_a_behavior_sets_the_window_and_the_rate() -> None:
    spec = hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [
        {"type": "Pods", "value": 1, "periodSeconds": 60}]}})
    memory = Memory()
    idle = observed(4, [pod(n) for n in "abcd"], [usage(n, "1m") for n in "abcd"])
    first = plan(spec, idle, memory, NOW)
    assert first.rescale_to == 3
    assert conditions(first.status)["ScalingLimited"] == ("True", "ScaleDownLimit")
    record_scale(memory, spec["spec"]["behavior"], 4, 3, NOW)
    again = plan(spec, observed(3, [pod(n) for n in "abc"], [usage(n, "1m") for n in "abc"]),
                 memory, NOW + 10)
    assert again.rescale_to is None  # one pod a minute
    assert plan(spec, observed(3, [pod(n) for n in "abc"], [usage(n, "1m") for n in "abc"]),
                memory, NOW + 61).rescale_to == 2


def test_disabled_scale_up_holds_the_size() -> None:
    spec = hpa(behavior={"scaleUp": {"selectPolicy": "Disabled"}})
    done = plan(spec, observed(1, [pod("a")], [usage("a", "500m")]), Memory(), NOW)
    assert done.rescale_to is None
    assert conditions(done.status)["ScalingLimited"] == ("True", "ScaleUpLimit")


def test_without_metrics_the_hpa_says_why_in_upstreams_words() -> None:
    done = plan(hpa(), observed(1, [pod("a")], None), Memory(), NOW)
    assert done.rescale_to is None
    reasons = [reason for _, reason, _ in done.events]
    assert reasons == ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]
    assert done.events[1][2].startswith("invalid metrics (1 invalid out of 1), first error "
                                        "is: failed to get cpu resource metric value: failed "
                                        "to get cpu utilization: unable to get metrics for "
                                        "resource cpu: unable to fetch metrics")
    assert conditions(done.status)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    # upstream's zero MetricStatus for the metric that failed (get hpa: <unknown>)
    assert done.status["currentMetrics"] == [{"type": ""}]


def test_a_container_without_a_request_is_named() -> None:
    done = plan(hpa(), observed(1, [pod("a", None)], [usage("a", "50m")]), Memory(), NOW)
    assert done.events[0][2] == ("failed to get cpu utilization: missing request for cpu in "
                                 "container main of Pod a")


def test_a_missing_target_and_a_target_at_zero() -> None:
    gone = plan(hpa(), Observed(None, 'deployments.apps "web" not found', [], None),
                Memory(), NOW)
    assert gone.events == [("Warning", "FailedGetScale", 'deployments.apps "web" not found')]
    assert conditions(gone.status) == {"AbleToScale": ("False", "FailedGetScale")}
    zero = plan(hpa(), observed(0, [], None), Memory(), NOW)
    assert zero.rescale_to is None
    assert conditions(zero.status)["ScalingActive"] == ("False", "ScalingDisabled")


def test_below_min_and_above_max_are_brought_back_without_metrics() -> None:
    low = plan(hpa(minReplicas=2), observed(1, [], None), Memory(), NOW)
    assert (low.rescale_to, low.reason) == (2, "Current number of replicas below "
                                                "Spec.MinReplicas")
    high = plan(hpa(maxReplicas=3), observed(5, [], None), Memory(), NOW)
    assert (high.rescale_to, high.reason) == (3, "Current number of replicas above "
                                                 "Spec.MaxReplicas")


def test_pending_pods_count_as_zero_on_a_scale_up() -> None:
    pods = [pod("a"), pod("b", phase="Pending")]
    done = plan(hpa(maxReplicas=10), observed(2, pods, [usage("a", "300m")]), Memory(), NOW)
    # 300% on the ready pod; the pending one counts as idle: 150% over two -> 6, held to
    # the scale-up limit (twice the current size, at least 4).
    assert done.rescale_to == 4
    # 100% on the ready pod, idle beside it: 50%, the target: no change.
    calm = plan(hpa(maxReplicas=10), observed(2, pods, [usage("a", "100m")]), Memory(), NOW)
    assert calm.rescale_to is None


def test_an_average_value_target() -> None:
    spec = hpa(metrics=[{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "AverageValue", "averageValue": "100m"}}}])
    done = plan(spec, observed(1, [pod("a")], [usage("a", "300m")]), Memory(), NOW)
    assert done.rescale_to == 3
    assert done.status["currentMetrics"][0]["resource"]["current"] == {"averageValue": "300m"}


def test_lasttransitiontime_moves_only_with_the_status() -> None:
    first = plan(hpa(), observed(2, [pod("a"), pod("b")],
                                 [usage("a", "50m"), usage("b", "50m")]), Memory(), NOW)
    again = copy.deepcopy(hpa())
    again["status"] = first.status
    second = plan(again, observed(2, [pod("a"), pod("b")],
                                  [usage("a", "50m"), usage("b", "50m")]), Memory(), NOW + 30)
    assert second.status == first.status


def test_pods_of_two_autoscalers_are_ambiguous() -> None:
    two = Observed(Scale(1, SELECTOR), "", [pod("a")], [usage("a", "250m")],
                   ("default/web", "default/web2"))
    done = plan(hpa(), two, Memory(), NOW)
    message = ("pods by selector app=web are controlled by multiple HPAs: "
               "[default/web default/web2]")
    assert done.rescale_to is None
    assert done.events == [("Warning", "AmbiguousSelector", message),
                           ("Warning", "FailedComputeMetricsReplicas", message)]
    assert conditions(done.status)["ScalingActive"] == ("False", "AmbiguousSelector")


def test_memory_utilization_counts_bytes() -> None:
    spec = hpa(metrics=[{"type": "Resource", "resource": {
        "name": "memory", "target": {"type": "Utilization", "averageUtilization": 50}}}])
    big = pod("a")
    big["spec"]["containers"][0]["resources"]["requests"]["memory"] = "4Mi"
    used = usage("a", "1m")
    used["containers"][0]["usage"]["memory"] = "6Mi"
    done = plan(spec, observed(1, [big], [used]), Memory(), NOW)
    assert done.rescale_to == 3  # 150% of the request against 50%
    assert done.status["currentMetrics"][0]["resource"]["current"] == {
        "averageUtilization": 150, "averageValue": "6291456"}
