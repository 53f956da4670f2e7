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
from podctl.api import crd, meta, resourcemetrics
from podctl.api.labels import Selector, SelectorError, parse_selector
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
            key = target_key(store, hpa) or str(ref["kind"])
            try:
                if key not in meta.RESOURCES or \
                        set_replicas(store, key, namespace, ref["name"], size) is None:
                    raise PodctlError(f'{meta.plural(key) if key in meta.RESOURCES else key} '
                                      f'"{ref["name"]}" not found')
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
    """The object the HPA scales (stored under its kind's key: a custom kind's carries its
    group), or why it cannot be had (upstream's scale GET error)."""
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    kind, target_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    group = str(ref.get("apiVersion") or "").rpartition("/")[0]
    key = target_key(store, hpa)
    if key is None:
        return None, f'no matches for kind "{kind}" in group "{group}"'
    target = store.get(key, meta.namespace_of(hpa), target_name)
    if target is None:
        return None, f'{meta.plural(key)} "{target_name}" not found'
    return target, ""


def target_key(store: Store, hpa: Obj) -> str | None:
    """The store key of the kind the HPA scales, when one with a scale is served."""
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    kind = str(ref.get("kind") or "")
    group = str(ref.get("apiVersion") or "").rpartition("/")[0]
    store.refresh_kinds()  # a custom kind is served once its definition is
    key = next((k for k in (kind, f"{kind}.{group}") if k in meta.RESOURCES
                and meta.RESOURCES[k].group == group), None)
    return key if key is not None and meta.RESOURCES[key].scalable else None


def scale_of(target: Obj) -> tuple[int, Selector | None]:
    """The target's scale as its scale subresource reads it: the replicas, and the
    selector (a custom resource's along its definition's labelSelectorPath)."""
    group = str(target.get("apiVersion") or "").rpartition("/")[0]
    definition = crd.DEFINITIONS.get(f"{target['kind']}.{group}")
    if definition is None:
        return int(target["spec"].get("replicas", 1)), selector_of(target)
    scale = crd.scale_of(definition, target)
    text = scale["status"].get("selector")
    try:
        return scale["spec"]["replicas"], parse_selector(text) if text else None
    except SelectorError:
        return scale["spec"]["replicas"], None


def observe(store: Store, hpa: Obj, now: float) -> Observed:
    namespace = meta.namespace_of(hpa)
    target, error = target_of(store, hpa)
    if target is None:
        return Observed(None, error, [], None)
    replicas, selector = scale_of(target)
    if selector is None or selector.is_empty():
        return Observed(Scale(replicas, None), "", [], None)
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
    return Observed(Scale(replicas, selector), "", pods, metrics, controllers)


def _selects_any(store: Store, hpa: Obj, pods: list[Obj]) -> bool:
    """Whether the HPA's target selects any of these pods (upstream's HPA selector store)."""
    target, _ = target_of(store, hpa)
    if target is None:
        return False
    _, selector = scale_of(target)
    return selector is not None and not selector.is_empty() and \
        any(selector.matches(meta.labels_of(p)) for p in pods)
