"""The horizontal pod autoscaler's act: read the HPA, its target's scale, the pods the
scale selects and their metrics (the scraper's last answer, as the metrics API serves it),
plan (controllers.horizontal), then scale the target through its scale (the registry, at
the resourceVersion read), record the events and write the status when it changed.
Woken by every metrics scrape (upstream's 15 s sync period is the scrape's), by the HPA's
own changes and by the resync."""

from __future__ import annotations

import logging
import threading
import time

from podctl import registry
from podctl.api import meta, resourcemetrics
from podctl.api.labels import Selector
from podctl.api.meta import Obj
from podctl.controllers.horizontal import (
    SOURCE,
    Memory,
    Observed,
    Scale,
    plan,
    record_scale,
    rescale_failed,
)
from podctl.controllers.replication import selector_of, set_replicas
from podctl.errors import PodctlError
from podctl.store import Store
from podctl.store import metrics as metrics_file

log = logging.getLogger("podctl.controller")
KIND = "HorizontalPodAutoscaler"


class AutoscalerSync:
    """One controller's autoscalers, with their memory (recent recommendations and scale
    events: upstream keeps them in the controller too, and loses them with it)."""

    def __init__(self) -> None:
        self._memory: dict[str, Memory] = {}
        self._lock = threading.Lock()

    def run(self, store: Store, namespace: str, name: str,
            now: float | None = None) -> None:
        hpa = store.get(KIND, namespace, name)
        with self._lock:
            if hpa is None:
                for key in [k for k in self._memory if k.startswith(f"{namespace}/{name}/")]:
                    del self._memory[key]
                return
            memory = self._memory.setdefault(f"{namespace}/{name}/{meta.uid_of(hpa)}",
                                             Memory())
        now = time.time() if now is None else now
        observed = observe(store, hpa, now)
        done = plan(hpa, observed, memory, now)
        size = done.rescale_to
        if size is not None and observed.scale is not None:
            ref = hpa["spec"]["scaleTargetRef"]
            try:
                if set_replicas(store, ref["kind"], namespace, ref["name"], size) is None:
                    raise PodctlError(f'{meta.plural(ref["kind"])} "{ref["name"]}" not found')
            except PodctlError as exc:
                done = rescale_failed(done, hpa, str(exc), now)
            else:
                record_scale(memory, hpa["spec"].get("behavior"), observed.scale.replicas,
                             size, now)
                log.info("hpa %s/%s: %s/%s scaled from %d to %d (%s)", namespace, name,
                         ref["kind"], ref["name"], observed.scale.replicas, size, done.reason)
        for type_, reason, message in done.events:
            store.record_event(hpa, type_, reason, message, SOURCE)
        if done.status != (hpa.get("status") or {}):
            try:
                registry.update_status(store, {**hpa, "status": done.status})
            except PodctlError as exc:  # changed meanwhile: its change wakes it again
                log.info("hpa %s/%s: status not written (%s)", namespace, name, exc)


def target_of(store: Store, hpa: Obj) -> tuple[Obj | None, str]:
    """The object the HPA scales, or why it cannot be had (upstream's scale GET error)."""
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    kind, target_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    group = str(ref.get("apiVersion") or "").rpartition("/")[0]
    resource = meta.RESOURCES.get(kind)
    if resource is None or not resource.scalable or \
            resource.api_version.rpartition("/")[0] != group:
        return None, f'no matches for kind "{kind}" in group "{group}"'
    target = store.get(kind, meta.namespace_of(hpa), target_name)
    if target is None:
        return None, f'{meta.plural(kind)} "{target_name}" not found'
    return target, ""


def observe(store: Store, hpa: Obj, now: float) -> Observed:
    namespace = meta.namespace_of(hpa)
    target, error = target_of(store, hpa)
    if target is None:
        return Observed(None, error, [], None)
    selector: Selector | None = selector_of(target)
    if selector is None or selector.is_empty():
        return Observed(Scale(int(target["spec"].get("replicas", 1)), None), "", [], None)
    pods = [p for p in store.list("Pod", namespace) if selector.matches(meta.labels_of(p))]
    controllers = tuple(sorted(f"{namespace}/{meta.name_of(other)}"
                               for other in store.list(KIND, namespace)
                               if _selects_any(store, other, pods)))
    scraped = metrics_file.read(store.path.parent, now)
    metrics = None
    if scraped is not None:
        stamp = meta.now_rfc3339()
        found = {(e.get("namespace"), e.get("name")): e for e in scraped.get("pods") or []}
        metrics = [resourcemetrics.pod_metrics(entry, meta.labels_of(pod), stamp)
                   for pod in pods if (entry := found.get((namespace, meta.name_of(pod))))]
    return Observed(Scale(int(target["spec"].get("replicas", 1)), selector), "", pods, metrics,
                    controllers)


def _selects_any(store: Store, hpa: Obj, pods: list[Obj]) -> bool:
    """Whether the HPA's target selects any of these pods (upstream's HPA selector store)."""
    target, _ = target_of(store, hpa)
    if target is None:
        return False
    selector = selector_of(target)
    return not selector.is_empty() and any(selector.matches(meta.labels_of(p)) for p in pods)
