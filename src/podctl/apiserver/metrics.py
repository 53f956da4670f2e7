"""/metrics in Prometheus' text format, with upstream's metric names: the API's requests
(apiserver_*), the controller's work queue (workqueue_*) and the kubelet's pod syncs
(kubelet_pod_worker_duration_seconds), plus the process's own (process_*).

Request metrics are recorded as requests finish; the in-flight counts and the work queue
are read when scraped, so the controller's hot path does nothing for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from podctl import instrument
from podctl.apiserver.limits import MUTATING, READ_ONLY, InFlight
from podctl.apiserver.requestinfo import RequestInfo

CONTENT_TYPE = CONTENT_TYPE_LATEST
REQUEST_LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope",
                  "component")
# Upstream's buckets for apiserver_request_duration_seconds, and Go's default ones (the
# kubelet's pod worker histogram uses those).
REQUEST_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0,
                   5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
GO_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUEUE_NAME = "controller"


class ApiMetrics:
    def __init__(self, in_flight: InFlight) -> None:
        # upstream's metrics have no *_created series (the function has no annotations)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.registry.register(_Sampled(in_flight))
        self.requests = Counter(
            "apiserver_request", "Counter of apiserver requests broken out for each verb, "
            "dry run value, group, version, resource, scope, component, and HTTP response "
            "code.", [*REQUEST_LABELS, "code"], registry=self.registry)
        self.durations = Histogram(
            "apiserver_request_duration_seconds", "Response latency distribution in seconds "
            "for each verb, dry run value, group, version, resource, subresource, scope and "
            "component (long-running requests are not included).", REQUEST_LABELS,
            buckets=REQUEST_BUCKETS, registry=self.registry)
        self.long_running = Gauge(
            "apiserver_longrunning_requests", "Gauge of all active long-running apiserver "
            "requests broken out by verb, group, version, resource, scope and component.",
            [label for label in REQUEST_LABELS if label != "dry_run"],
            registry=self.registry)
        self.pod_syncs = Histogram(
            "kubelet_pod_worker_duration_seconds", "Duration in seconds to sync a single pod. "
            "Broken down by operation type: create or sync.", ["operation_type"],
            buckets=GO_DEFAULT_BUCKETS, registry=self.registry)
        instrument.observe_pod_syncs(self._pod_synced)

    def started(self, info: RequestInfo) -> None:
        if info.long_running:
            self.long_running.labels(*_without_dry_run(info)).inc()

    def finished(self, info: RequestInfo, code: int | None, seconds: float) -> None:
        """`code` None: the client left before an answer."""
        if info.long_running:
            self.long_running.labels(*_without_dry_run(info)).dec()
        elif code is not None:
            self.durations.labels(*info.labels).observe(seconds)
        if code is not None:
            self.requests.labels(*info.labels, str(code)).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def _pod_synced(self, operation: str, seconds: float) -> None:
        self.pod_syncs.labels(operation).observe(seconds)


def _without_dry_run(info: RequestInfo) -> tuple[str, ...]:
    verb, _, *rest = info.labels
    return (verb, *rest)


class _Sampled:
    """What is read at scrape time: requests in flight, the controller's work queue."""

    def __init__(self, in_flight: InFlight) -> None:
        self.in_flight = in_flight

    def collect(self) -> Iterator[Metric]:
        current = GaugeMetricFamily(
            "apiserver_current_inflight_requests", "Number of requests currently being "
            "served by this apiserver per request kind (long-running ones apart).",
            labels=["request_kind"])
        for kind in (READ_ONLY, MUTATING):
            current.add_metric([kind], self.in_flight.count(kind))
        yield current
        yield from _queue_metrics()

    def describe(self) -> list[Any]:
        return []


def _queue_metrics() -> Iterator[Metric]:
    depth = GaugeMetricFamily("workqueue_depth", "Current depth of workqueue",
                              labels=["name"])
    adds = CounterMetricFamily("workqueue_adds", "Total number of adds handled by workqueue",
                               labels=["name"])
    state = instrument.active_controller()
    if state is not None:
        depth.add_metric([QUEUE_NAME], state.queue.depth)
        adds.add_metric([QUEUE_NAME], state.queue.adds)
    yield depth
    yield adds
