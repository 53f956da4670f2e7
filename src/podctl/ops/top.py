"""`podctl top pod|node`: what kubectl top asks of the metrics API, read from the same
answer the API serves (the controller's last scrape), with kubectl's refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from podctl.api import labels, meta
from podctl.api.meta import Obj
from podctl.errors import PodctlError
from podctl.home import podctl_home
from podctl.ops.session import open_store
from podctl.store import metrics as metrics_file

# kubectl's: a pod younger than this may have no metrics yet.
METRICS_CREATION_DELAY = 120.0
SORT_FIELDS = ("cpu", "memory")


def check_options(name: str | None, selector: str | None, sort_by: str,
                  field_selector: str | None = None) -> None:
    if sort_by and sort_by not in SORT_FIELDS:
        raise PodctlError("--sort-by accepts only cpu or memory")
    if name and (selector or field_selector):
        raise PodctlError("only one of NAME or selector can be provided")


def _scraped() -> dict[str, Any]:
    scraped = metrics_file.read(podctl_home())
    if scraped is None:
        raise PodctlError("Metrics API not available")
    return scraped


def _label_filter(selector: str | None) -> Any:
    try:
        parsed = labels.parse_selector(selector or "")
    except labels.SelectorError as exc:
        raise PodctlError(str(exc)) from exc
    return lambda obj: parsed.matches(meta.labels_of(obj))


def pod_metrics(namespace: str | None, name: str | None,
                selector: str | None) -> tuple[list[Obj], str | None]:
    """The pods' metrics; with none, the line kubectl prints on stderr instead (or its
    error: pods there, so their metrics are late)."""
    select = _label_filter(selector)
    store = open_store()
    items = metrics_file.pod_metrics(store, _scraped(), namespace, name, select)
    if items:
        return items, None
    pods = [p for p in store.list("Pod", namespace) if select(p)]
    now = datetime.now(UTC)
    for pod in pods:
        age = (now - meta.parse_time(pod["metadata"]["creationTimestamp"])).total_seconds()
        if age > METRICS_CREATION_DELAY:
            raise PodctlError(f"Metrics not available for pod {meta.namespace_of(pod)}/"
                              f"{meta.name_of(pod)}, age: {_go_duration(age)}")
    if pods:
        raise PodctlError("metrics not available yet")
    return [], ("No resources found" if namespace is None
                else f"No resources found in {namespace} namespace.")


def node_metrics(name: str | None, selector: str | None,
                 capacity: bool) -> tuple[list[Obj], dict[str, Obj]]:
    """The nodes' metrics and what each listed node has room for (allocatable, or
    capacity)."""
    select = _label_filter(selector)
    store = open_store()
    items = metrics_file.node_metrics(store, _scraped(), name, select)
    if not items:
        raise PodctlError("metrics not available yet")
    nodes = [store.get("Node", "", name)] if name else \
        [n for n in store.list("Node") if select(n)]
    field = "capacity" if capacity else "allocatable"
    return items, {meta.name_of(n): dict((n.get("status") or {}).get(field) or {})
                   for n in nodes if n is not None}


def _go_duration(seconds: float) -> str:
    from podctl.api.resourcemetrics import go_duration

    return go_duration(seconds)
