"""The horizontal pod autoscaler as upstream's (pkg/controller/podautoscaler: horizontal.go,
replica_calculator.go), a pure plan: from the HPA, its target's scale, the pods the scale
selects, their metrics (metrics.k8s.io, as the scraper last answered), the controller's
memory of recent recommendations and scale events, and now -> the new status (conditions,
current metrics), the size to scale to, and the events to record."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from podctl.api import meta
from podctl.api.labels import Selector
from podctl.api.meta import Obj
from podctl.api.quantity import parse_quantity
from podctl.api.resourcemetrics import decimal_si

TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance
DOWNSCALE_WINDOW = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization
CPU_INITIALIZATION = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
READINESS_DELAY = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay
SCALE_UP_FACTOR, SCALE_UP_MINIMUM = 2.0, 4.0  # without a behavior
SOURCE = "horizontal-pod-autoscaler"
UNAVAILABLE = ("unable to fetch metrics from resource metrics API: the server is currently "
               "unable to handle the request (get pods.metrics.k8s.io)")


@dataclass(frozen=True)
class Scale:
    """What the target's scale subresource says: spec and status replicas, its selector."""

    replicas: int
    selector: Selector | None  # None: the scale has none


@dataclass(frozen=True)
class PodMetric:
    value: int  # milli-units (millicores, millibytes)
    timestamp: float
    window: float


@dataclass
class Memory:
    """The controller's memory of one HPA (upstream keeps it in the controller too):
    recent unstabilised recommendations and scale events, as (time, replicas)."""

    recommendations: list[tuple[float, int]] = field(default_factory=list)
    scale_ups: list[tuple[float, int]] = field(default_factory=list)
    scale_downs: list[tuple[float, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Observed:
    scale: Scale | None
    scale_error: str  # why the scale could not be read ("" when it was)
    pods: list[Obj]  # the pods the scale's selector selects
    metrics: list[Obj] | None  # their PodMetrics; None while the metrics API has none
    # The HPAs (namespace/name) whose targets select any of these pods, this one included.
    controllers: tuple[str, ...] = ()


@dataclass
class Plan:
    status: Obj
    rescale_to: int | None = None
    reason: str = ""
    events: list[tuple[str, str, str]] = field(default_factory=list)


class MetricError(Exception):
    """One metric could not give a proposal: its reason (the event's and the ScalingActive
    condition's), its own error and what the metric loop wraps it in."""

    def __init__(self, reason: str, error: str, context: str) -> None:
        super().__init__(f"{context}: {error}")
        self.reason = reason
        self.error = error


def plan(hpa: Obj, observed: Observed, memory: Memory, now: float) -> Plan:
    spec, old = hpa.get("spec") or {}, hpa.get("status") or {}
    conditions = [dict(c) for c in old.get("conditions") or []]
    out = Plan({})
    stamp = meta.format_time(datetime.fromtimestamp(now, UTC))

    def condition(kind: str, status: str, reason: str, message: str) -> None:
        _set_condition(conditions, kind, status, reason, message, stamp)

    if observed.scale is None:
        out.events.append(("Warning", "FailedGetScale", observed.scale_error))
        condition("AbleToScale", "False", "FailedGetScale",
                  f"the HPA controller was unable to get the target's current scale: "
                  f"{observed.scale_error}")
        out.status = {**old, "conditions": conditions}
        return out
    condition("AbleToScale", "True", "SucceededGetScale",
              "the HPA controller was able to get the target's current scale")
    current = observed.scale.replicas
    if not memory.recommendations:
        memory.recommendations.append((now, current))
    low, high = int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or 0)
    desired, reason = 0, ""
    statuses: list[Obj] = []
    rescale = True
    if current == 0 and low != 0:
        rescale = False
        condition("ScalingActive", "False", "ScalingDisabled",
                  "scaling is disabled since the replica count of the target is zero")
    elif current > high:
        desired, reason = high, "Current number of replicas above Spec.MaxReplicas"
    elif current < low:
        desired, reason = low, "Current number of replicas below Spec.MinReplicas"
    else:
        proposal, metric_name, statuses = _for_metrics(spec, observed, current, now, out,
                                                       condition)
        if proposal is None:
            out.status = _status(old, current, int(old.get("desiredReplicas") or 0),
                                 statuses, conditions, None)
            return out
        desired = proposal
        if desired > current:
            reason = f"{metric_name} above target"
        if desired < current:
            reason = "All metrics below target"
        key_rules = spec.get("behavior")
        if key_rules is None:
            desired = _normalize(memory, current, desired, low, high, now, condition)
        else:
            desired = _normalize_with_behavior(memory, key_rules, current, desired, low, high,
                                               now, condition)
        rescale = desired != current
    if rescale:
        out.rescale_to, out.reason = desired, reason
        condition("AbleToScale", "True", "SucceededRescale",
                  f"the HPA controller was able to update the target scale to {desired}")
        out.events.append(("Normal", "SuccessfulRescale",
                           f"New size: {desired}; reason: {reason}"))
    else:
        desired = current
    out.status = _status(old, current, desired, statuses, conditions,
                         stamp if rescale else None)
    return out


def rescale_failed(out: Plan, hpa: Obj, error: str, now: float) -> Plan:
    """The scale write failed: upstream's FailedRescale event and AbleToScale=False, the
    status keeping the size it had."""
    old = hpa.get("status") or {}
    conditions = [dict(c) for c in out.status.get("conditions") or []]
    stamp = meta.format_time(datetime.fromtimestamp(now, UTC))
    _set_condition(conditions, "AbleToScale", "False", "FailedUpdateScale",
                   f"the HPA controller was unable to update the target scale: {error}", stamp)
    status = {**out.status, "conditions": conditions,
              "desiredReplicas": old.get("desiredReplicas", 0)}
    if old.get("lastScaleTime"):
        status["lastScaleTime"] = old["lastScaleTime"]
    else:
        status.pop("lastScaleTime", None)
    events = [("Warning", "FailedRescale",
               f"New size: {out.rescale_to}; reason: {out.reason}; error: {error}")]
    return replace(out, status=status, rescale_to=None, events=events)


def record_scale(memory: Memory, behavior: Any, before: int, after: int, now: float) -> None:
    """storeScaleEvent: a scale made under a behavior counts against its policies."""
    if not isinstance(behavior, dict):
        return
    if after > before:
        longest = _longest_period(behavior.get("scaleUp") or {})
        memory.scale_ups = [e for e in memory.scale_ups if e[0] >= now - longest]
        memory.scale_ups.append((now, after - before))
    else:
        longest = _longest_period(behavior.get("scaleDown") or {})
        memory.scale_downs = [e for e in memory.scale_downs if e[0] >= now - longest]
        memory.scale_downs.append((now, before - after))


def _longest_period(rules: Obj) -> float:
    return float(max((int(p.get("periodSeconds") or 0) for p in rules.get("policies") or []),
                     default=0))


def _status(old: Obj, current: int, desired: int, metrics: list[Obj],
            conditions: list[Obj], scaled_at: str | None) -> Obj:
    status: Obj = {"currentReplicas": current, "desiredReplicas": desired}
    last = scaled_at or old.get("lastScaleTime")
    if last:
        status["lastScaleTime"] = last
    if metrics:
        status["currentMetrics"] = metrics
    if conditions:
        status["conditions"] = conditions
    return status


def _set_condition(conditions: list[Obj], kind: str, status: str, reason: str,
                   message: str, stamp: str) -> None:
    found = next((c for c in conditions if c.get("type") == kind), None)
    if found is None:
        found = {"type": kind}
        conditions.append(found)
    if found.get("status") != status:
        found["lastTransitionTime"] = stamp
    found.update(status=status, reason=reason, message=message)


# -- the metrics: computeReplicasForMetrics ------------------------------------------------

def _for_metrics(spec: Obj, observed: Observed, current: int, now: float, out: Plan,
                 condition: Any) -> tuple[int | None, str, list[Obj]]:
    """computeReplicasForMetrics: the largest proposal (None when the metrics give none)
    with its metric's name, and each metric's status (`type: ""` where it failed, as
    upstream's zero MetricStatus)."""
    assert observed.scale is not None
    if observed.scale.selector is None:
        out.events += [("Warning", "SelectorRequired", "selector is required"),
                       ("Warning", "FailedComputeMetricsReplicas", "selector is required")]
        condition("ScalingActive", "False", "InvalidSelector",
                  "the HPA target's scale is missing a selector")
        return None, "", []
    if len(observed.controllers) > 1:
        error = (f"pods by selector {observed.scale.selector} are controlled by multiple "
                 f"HPAs: [{' '.join(observed.controllers)}]")
        out.events += [("Warning", "AmbiguousSelector", error),
                       ("Warning", "FailedComputeMetricsReplicas", error)]
        condition("ScalingActive", "False", "AmbiguousSelector", error)
        return None, "", []
    specs = spec.get("metrics") or []
    statuses: list[Obj] = []
    best, best_name = 0, ""
    invalid, first = 0, MetricError("", "", "")
    for metric in specs:
        try:
            proposal, name, status = _for_metric(metric, spec, observed, current, now)
        except MetricError as exc:
            out.events.append(("Warning", exc.reason, exc.error))
            if invalid == 0:
                first = exc
            invalid += 1
            statuses.append({"type": ""})
            continue
        statuses.append(status)
        if best == 0 or proposal > best:
            best, best_name = proposal, name
    if invalid and (invalid >= len(specs) or best < current):
        error = (f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: "
                 f"{first}")
        condition("ScalingActive", "False", first.reason,
                  f"the HPA was unable to compute the replica count: {first.error}")
        out.events.append(("Warning", "FailedComputeMetricsReplicas", error))
        return None, "", statuses
    condition("ScalingActive", "True", "ValidMetricFound",
              f"the HPA was able to successfully calculate a replica count from {best_name}")
    return best, best_name, statuses


def _for_metric(metric: Obj, spec: Obj, observed: Observed, current: int,
                now: float) -> tuple[int, str, Obj]:
    kind = metric.get("type")
    if kind not in ("Resource", "ContainerResource"):
        # Pods, Object and External metrics need a custom or external metrics API, which
        # podctl does not serve: as upstream's answer when none is registered.
        failed = {"Pods": "FailedGetPodsMetric", "Object": "FailedGetObjectMetric",
                  "External": "FailedGetExternalMetric"}.get(str(kind), "InvalidMetricSourceType")
        raise MetricError(failed, "unable to fetch metrics from custom metrics API: no custom "
                          "metrics API (custom.metrics.k8s.io) registered",
                          f"failed to get {str(kind).lower()} metric value")
    field_name = "resource" if kind == "Resource" else "containerResource"
    source = metric.get(field_name) or {}
    resource, container = str(source.get("name", "")), str(source.get("container") or "")
    target = source.get("target") or {}
    reason = "FailedGetResourceMetric" if kind == "Resource" else \
        "FailedGetContainerResourceMetric"
    what = f"{resource} resource" if kind == "Resource" else f"{container} container"
    try:
        metrics = _pod_metrics(observed, resource, container)
        tolerances = _tolerances(spec)
        if target.get("averageValue") is not None:
            goal = _milli(target["averageValue"])
            replicas, usage = _plain_replicas(metrics, observed.pods, current, goal, resource,
                                              tolerances, now)
            current_status: Obj = {"averageValue": decimal_si(usage, -3)}
            name = f"{resource} resource"
        else:
            if target.get("averageUtilization") is None:
                raise ValueError("invalid resource metric source: neither an average "
                                 "utilization target nor an average value target was set")
            replicas, percent, raw = _resource_replicas(
                metrics, observed.pods, current, int(target["averageUtilization"]), resource,
                container, tolerances, now)
            current_status = {"averageUtilization": percent,
                              "averageValue": decimal_si(raw, -3)}
            name = f"{resource} resource utilization (percentage of request)" \
                if kind == "Resource" else \
                f"{resource} container resource utilization (percentage of request)"
    except ValueError as exc:
        raise MetricError(reason, f"failed to get {resource} utilization: {exc}",
                          f"failed to get {what} metric value") from exc
    status: Obj = {"type": kind, field_name: {"name": resource, "current": current_status}}
    if container:
        status[field_name]["container"] = container
    return replicas, name, status


def _milli(quantity: Any) -> int:
    value = parse_quantity(quantity)
    return 0 if value is None else math.ceil(value * 1000)


def _tolerances(spec: Obj) -> tuple[float, float]:
    """(down, up): a behavior's own tolerance per direction, else the controller's."""
    behavior = spec.get("behavior") or {}
    out = []
    for direction in ("scaleDown", "scaleUp"):
        value = parse_quantity((behavior.get(direction) or {}).get("tolerance") or "")
        out.append(TOLERANCE if value is None else float(value))
    return out[0], out[1]


def _within(ratio: float, tolerances: tuple[float, float]) -> bool:
    return 1.0 - tolerances[0] <= ratio <= 1.0 + tolerances[1]


def _pod_metrics(observed: Observed, resource: str, container: str) -> dict[str, PodMetric]:
    """The metrics client's answer: each pod's usage of the resource (its containers', or
    one container's), pods missing it left out."""
    if observed.metrics is None:
        raise ValueError(f"unable to get metrics for resource {resource}: {UNAVAILABLE}")
    out: dict[str, PodMetric] = {}
    for item in observed.metrics:
        containers = item.get("containers") or []
        if container:
            containers = [c for c in containers if c.get("name") == container]
        usages = [(c.get("usage") or {}).get(resource) for c in containers]
        if not containers or any(u is None for u in usages):
            continue
        window = _seconds(str(item.get("window") or "0s"))
        out[meta.name_of(item)] = PodMetric(
            sum(_milli(u) for u in usages),
            meta.parse_time(str(item["timestamp"])).timestamp(), window)
    if not out:
        raise ValueError(f"unable to get metrics for resource {resource}: no metrics "
                         "returned from resource metrics API")
    return out


def _seconds(window: str) -> float:
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for char in window:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total += float(number) * units[char]
            number = ""
    return total


def _condition(pod: Obj, kind: str) -> Obj | None:
    return next((c for c in (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == kind), None)


def _group_pods(pods: list[Obj], metrics: dict[str, PodMetric], resource: str,
                now: float) -> tuple[int, set[str], set[str], set[str]]:
    """groupPods: ready count, unready, missing and ignored pod names."""
    ready, unready, missing, ignored = 0, set(), set(), set()
    for pod in pods:
        name, status = meta.name_of(pod), pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            ignored.add(name)
            continue
        if status.get("phase") == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu" and _unready_for_cpu(pod, metric, now):
            unready.add(name)
            continue
        ready += 1
    return ready, unready, missing, ignored


def _unready_for_cpu(pod: Obj, metric: PodMetric, now: float) -> bool:
    ready = _condition(pod, "Ready")
    started = (pod.get("status") or {}).get("startTime")
    if ready is None or not started:
        return True
    start = meta.parse_time(str(started)).timestamp()
    transition = meta.parse_time(str(ready.get("lastTransitionTime") or started)).timestamp()
    if start + CPU_INITIALIZATION > now:
        return ready.get("status") == "False" or \
            metric.timestamp < transition + metric.window
    return ready.get("status") == "False" and start + READINESS_DELAY > transition


def _requests(pods: list[Obj], resource: str, container: str) -> dict[str, int]:
    """calculatePodRequests: each pod's request (milli), a container without one an
    error in upstream's words."""
    out: dict[str, int] = {}
    for pod in pods:
        total = 0
        spec = pod.get("spec") or {}
        sidecars = [c for c in spec.get("initContainers") or []
                    if c.get("restartPolicy") == "Always"]
        for c in [*(spec.get("containers") or []), *sidecars]:
            if container and c.get("name") != container:
                continue
            request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise ValueError(f"missing request for {resource} in container "
                                 f"{c.get('name')} of Pod {meta.name_of(pod)}")
            total += _milli(request)
        out[meta.name_of(pod)] = total
    return out


def _utilization(metrics: dict[str, int], requests: dict[str, int],
                 target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (ratio, utilization %, average raw milli-value)."""
    used = [(value, requests[name]) for name, value in metrics.items() if name in requests]
    total_request = sum(r for _, r in used)
    if total_request == 0:
        raise ValueError("no metrics returned matched known pods")
    utilization = int(sum(v for v, _ in used) * 100 // total_request)
    return utilization / target, utilization, sum(v for v, _ in used) // len(used)


def _resource_replicas(metrics: dict[str, PodMetric], pods: list[Obj], current: int,
                       target: int, resource: str, container: str,
                       tolerances: tuple[float, float], now: float) -> tuple[int, int, int]:
    """GetResourceReplicas: (replicas, utilization %, average raw value)."""
    if not pods:
        raise ValueError("no pods returned by selector while calculating replica count")
    ready, unready, missing, ignored = _group_pods(pods, metrics, resource, now)
    values = {name: m.value for name, m in metrics.items()
              if name not in ignored and name not in unready}
    requests = _requests(pods, resource, container)
    if not values:
        raise ValueError("did not receive metrics for targeted pods (pods might be unready)")
    ratio, utilization, raw = _utilization(values, requests, target)
    rebalance = bool(unready) and ratio > 1.0
    if not rebalance and not missing:
        if _within(ratio, tolerances):
            return current, utilization, raw
        return math.ceil(ratio * ready), utilization, raw
    if missing:
        for name in missing:
            values[name] = requests.get(name, 0) if ratio < 1.0 else 0
    if rebalance:
        for name in unready:
            values[name] = 0
    new_ratio = _utilization(values, requests, target)[0]
    if _within(new_ratio, tolerances) or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current, utilization, raw
    replicas = math.ceil(new_ratio * len(values))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current, utilization, raw
    return replicas, utilization, raw


def _plain_replicas(metrics: dict[str, PodMetric], pods: list[Obj], current: int, target: int,
                    resource: str, tolerances: tuple[float, float],
                    now: float) -> tuple[int, int]:
    """calcPlainMetricReplicas (an AverageValue target): (replicas, average usage)."""
    if not pods:
        raise ValueError("no pods returned by selector while calculating replica count")
    ready, unready, missing, ignored = _group_pods(pods, metrics, resource, now)
    values = {name: m.value for name, m in metrics.items()
              if name not in ignored and name not in unready}
    if not values:
        raise ValueError("did not receive metrics for targeted pods (pods might be unready)")
    usage = sum(values.values()) // len(values)
    ratio = usage / target
    rebalance = bool(unready) and ratio > 1.0
    if not rebalance and not missing:
        if _within(ratio, tolerances):
            return current, usage
        return math.ceil(ratio * ready), usage
    for name in missing:
        values[name] = target if ratio < 1.0 else 0
    if rebalance:
        for name in unready:
            values[name] = 0
    new_ratio = (sum(values.values()) // len(values)) / target
    if _within(new_ratio, tolerances) or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current, usage
    return math.ceil(new_ratio * len(values)), usage


# -- normalisation: stabilisation windows and scaling rules --------------------------------

def _normalize(memory: Memory, current: int, proposal: int, low: int, high: int, now: float,
               condition: Any) -> int:
    """normalizeDesiredReplicas (no behavior): the highest recommendation of the downscale
    window, then min, max and the scale-up limit."""
    recent = [r for t, r in memory.recommendations if t >= now - DOWNSCALE_WINDOW]
    stabilized = max([proposal, *recent])
    memory.recommendations = [(t, r) for t, r in memory.recommendations
                              if t >= now - DOWNSCALE_WINDOW] + [(now, proposal)]
    if stabilized != proposal:
        condition("AbleToScale", "True", "ScaleDownStabilized",
                  "recent recommendations were higher than current one, applying the highest "
                  "recent recommendation")
    else:
        condition("AbleToScale", "True", "ReadyForNewScale",
                  "recommended size matches current size")
    limit = int(max(SCALE_UP_FACTOR * current, SCALE_UP_MINIMUM))
    if high > limit:
        ceiling, why, text = limit, "ScaleUpLimit", \
            "the desired replica count is increasing faster than the maximum scale rate"
    else:
        ceiling, why, text = high, "TooManyReplicas", \
            "the desired replica count is more than the maximum replica count"
    desired = stabilized
    if stabilized < low:
        desired, why, text = low, "TooFewReplicas", \
            "the desired replica count is less than the minimum replica count"
    elif stabilized > ceiling:
        desired = ceiling
    else:
        why, text = "DesiredWithinRange", "the desired count is within the acceptable range"
    condition("ScalingLimited", "True" if desired != stabilized else "False", why, text)
    return desired


def _normalize_with_behavior(memory: Memory, behavior: Obj, current: int, proposal: int,
                             low: int, high: int, now: float, condition: Any) -> int:
    up, down = behavior.get("scaleUp") or {}, behavior.get("scaleDown") or {}
    up_window = float(up.get("stabilizationWindowSeconds") or 0)
    down_window = down.get("stabilizationWindowSeconds")
    down_window = DOWNSCALE_WINDOW if down_window is None else float(down_window)
    up_floor, down_ceiling = proposal, proposal
    for at, recommended in memory.recommendations:
        if at > now - up_window:
            up_floor = min(up_floor, recommended)
        if at > now - down_window:
            down_ceiling = max(down_ceiling, recommended)
    stabilized = min(max(current, up_floor), down_ceiling)
    horizon = max(up_window, down_window)
    memory.recommendations = [(t, r) for t, r in memory.recommendations
                              if t >= now - horizon] + [(now, proposal)]
    if stabilized != proposal:
        if proposal >= current:
            condition("AbleToScale", "True", "ScaleUpStabilized",
                      "recent recommendations were lower than current one, applying the "
                      "lowest recent recommendation")
        else:
            condition("AbleToScale", "True", "ScaleDownStabilized",
                      "recent recommendations were higher than current one, applying the "
                      "highest recent recommendation")
    else:
        condition("AbleToScale", "True", "ReadyForNewScale",
                  "recommended size matches current size")
    desired, why, text = _rate_limited(memory, up, down, current, stabilized, low, high, now)
    condition("ScalingLimited", "True" if desired != stabilized else "False", why, text)
    return desired


def _changed(events: list[tuple[float, int]], period: float, now: float) -> int:
    return sum(change for at, change in events if at > now - period)


def _limit(memory: Memory, rules: Obj, current: int, now: float, up: bool) -> int:
    """calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    pick = (min if select == "Min" else max) if up else (max if select == "Min" else min)
    proposals = []
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds") or 0)
        start = current - _changed(memory.scale_ups, period, now) + \
            _changed(memory.scale_downs, period, now)
        value = int(policy.get("value") or 0)
        if policy.get("type") == "Pods":
            proposals.append(start + value if up else start - value)
        elif up:
            proposals.append(math.ceil(start * (1 + value / 100)))
        else:
            proposals.append(int(start * (1 - value / 100)))
    if not proposals:
        return current
    return int(pick(proposals))


def _rate_limited(memory: Memory, up: Obj, down: Obj, current: int, desired: int, low: int,
                  high: int, now: float) -> tuple[int, str, str]:
    """convertDesiredReplicasWithBehaviorRate."""
    if desired > current:
        limit = max(_limit(memory, up, current, now, True), current)
        if high > limit:
            ceiling, why, text = limit, "ScaleUpLimit", \
                "the desired replica count is increasing faster than the maximum scale rate"
        else:
            ceiling, why, text = high, "TooManyReplicas", \
                "the desired replica count is more than the maximum replica count"
        if desired > ceiling:
            return ceiling, why, text
    elif desired < current:
        limit = min(_limit(memory, down, current, now, False), current)
        if low < limit:
            floor, why, text = limit, "ScaleDownLimit", \
                "the desired replica count is decreasing faster than the maximum scale rate"
        else:
            floor, why, text = low, "TooFewReplicas", \
                "the desired replica count is less than the minimum replica count"
        if desired < floor:
            return floor, why, text
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
