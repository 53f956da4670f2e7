"""`podctl autoscale`: a HorizontalPodAutoscaler for a Deployment, ReplicaSet, StatefulSet
or replication controller, made as kubectl autoscale makes its autoscaling/v2 object."""

from __future__ import annotations

import re
from typing import Any

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.quantity import parse_quantity
from podctl.errors import NotFound, PodctlError
from podctl.store import Store

TARGET_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")
DEFAULT_UNITS = {"cpu": "m", "memory": "Mi"}  # a bare number's unit, as kubectl's


def check(low: int, high: int, cpu_percent: int, cpu: str, memory: str) -> None:
    """kubectl autoscale's Validate."""
    if high < 1:
        raise PodctlError(f"--max=MAXPODS is required and must be at least 1, max: {high}")
    if high < low:
        raise PodctlError(f"--max=MAXPODS must be larger or equal to --min=MINPODS, max: "
                          f"{high}, min: {low}")
    if cpu_percent > 0 and cpu:
        raise PodctlError("--cpu-percent and --cpu are mutually exclusive")
    for text, resource in ((cpu, "cpu"), (memory, "memory")):
        if text:
            target(text, resource)


def target(text: str, resource: str) -> Obj:
    """parseResourceInput: `70%` a utilization, a bare number in the resource's unit, else
    a quantity: an average value."""
    text = text.strip()
    if text.endswith("%"):
        digits = text[:-1]
        if not re.fullmatch(r"-?[0-9]+", digits):
            raise PodctlError(f"invalid percentage value: {text}")
        value = int(digits)
        if value <= 0:
            raise PodctlError(f"percentage must be positive: {text}")
        return {"type": "Utilization", "averageUtilization": value}
    try:
        number = float(text)
    except ValueError:
        number = None
    quantity = f"{number:g}{DEFAULT_UNITS[resource]}" if number is not None else text
    if parse_quantity(quantity) is None:
        raise PodctlError("quantities must match the regular expression "
                          "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return {"type": "AverageValue", "averageValue": quantity}


def autoscale(store: Store, kind: str, namespace: str, name: str, *, low: int, high: int,
              cpu_percent: int = -1, cpu: str = "", memory: str = "",
              hpa_name: str = "") -> str:
    if kind not in TARGET_KINDS:
        raise PodctlError(f"cannot autoscale a {kind}: could not find scale subresource for "
                          f"{meta.plural(kind)} in discovery information")
    if store.get(kind, namespace, name) is None:
        raise NotFound(meta.plural(kind), name)
    metrics: list[Any] = []
    if cpu_percent > 0:
        metrics.append(_resource("cpu", {"type": "Utilization",
                                         "averageUtilization": cpu_percent}))
    if cpu:
        metrics.append(_resource("cpu", target(cpu, "cpu")))
    if memory:
        metrics.append(_resource("memory", target(memory, "memory")))
    spec: Obj = {"scaleTargetRef": {"apiVersion": meta.api_version(kind), "kind": kind,
                                    "name": name}, "maxReplicas": high}
    if low > 0:
        spec["minReplicas"] = low
    if metrics:
        spec["metrics"] = metrics
    hpa = {"apiVersion": meta.api_version("HorizontalPodAutoscaler"),
           "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": hpa_name or name, "namespace": namespace}, "spec": spec}
    created = registry.create(store, hpa, namespace)
    return f"{meta.singular('HorizontalPodAutoscaler')}/{meta.name_of(created)} autoscaled"


def _resource(name: str, goal: Obj) -> Obj:
    return {"type": "Resource", "resource": {"name": name, "target": goal}}
