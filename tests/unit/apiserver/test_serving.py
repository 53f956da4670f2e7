"""The API's serving bounds as pure decisions: what a request is, Go durations, the
in-flight counts, body progress, the health endpoints' text and checks, the watch buffer,
and the metrics' exposition."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from podctl import instrument
from podctl.api.duration import parse_duration
from podctl.apiserver import limits
from podctl.apiserver.health import Health, Outcome, render
from podctl.apiserver.limits import InFlight, body_overdue, max_connections, request_seconds
from podctl.apiserver.metrics import ApiMetrics
from podctl.apiserver.pools import Pools, install, run_in, serving_a_write
from podctl.apiserver.requestinfo import RequestInfo, request_info
from podctl.apiserver.server import _admit
from podctl.apiserver.status import ApiError
from podctl.apiserver.watch import WATCH_BUFFER, Change, Watcher
from podctl.store import open_store
from podctl.workqueue import WorkQueue


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/pods", {}, ("LIST", "", "pods", "", "cluster", False)),
    ("GET", "/api/v1/namespaces/ns/pods", {"watch": "true"},
     ("WATCH", "", "pods", "", "namespace", True)),
    ("GET", "/api/v1/pods", {"watch": "0"}, ("LIST", "", "pods", "", "cluster", False)),
    ("GET", "/api/v1/namespaces/ns/pods/p", {}, ("GET", "", "pods", "", "namespace", False)),
    ("HEAD", "/api/v1/nodes/n", {}, ("GET", "", "nodes", "", "resource", False)),
    ("POST", "/apis/apps/v1/namespaces/ns/deployments", {},
     ("POST", "apps", "deployments", "", "namespace", False)),
    ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/scale", {},
     ("PUT", "apps", "deployments", "scale", "namespace", False)),
    ("DELETE", "/api/v1/namespaces/ns/configmaps", {},
     ("DELETECOLLECTION", "", "configmaps", "", "namespace", False)),
    ("DELETE", "/api/v1/namespaces/ns", {}, ("DELETE", "", "namespaces", "", "resource", False)),
    ("POST", "/api/v1/namespaces/ns/pods/p/exec", {},
     ("CONNECT", "", "pods", "exec", "namespace", True)),
    ("GET", "/api/v1/namespaces/ns/pods/p/attach", {},
     ("CONNECT", "", "pods", "attach", "namespace", True)),
    # Upstream counts every pods/log as long-running, followed or not.
    ("GET", "/api/v1/namespaces/ns/pods/p/log", {},
     ("GET", "", "pods", "log", "namespace", True)),
    ("BREW", "/api/v1/pods", {}, ("other", "", "pods", "", "cluster", False)),
])
def test_request_info_names_verb_resource_and_scope(
        method: str, path: str, query: dict[str, str],
        expected: tuple[str, str, str, str, str, bool]) -> None:
    info = request_info(method, path, query)
    assert (info.verb, info.group, info.resource, info.subresource, info.scope,
            info.long_running) == expected


def test_request_info_outside_the_resource_tree_makes_up_no_label() -> None:
    assert request_info("GET", "/readyz", {}) == RequestInfo("GET", subresource="/readyz",
                                                             probe=True)
    assert request_info("GET", "/metrics/", {}).subresource == "/metrics"
    # Paths a client invents (or an unknown resource) name nothing: bounded label values.
    for path in ("/x-1234", "/api/v1/widgets", "/apis/nope/v1/things/a/b/c/d"):
        info = request_info("GET", path, {})
        assert (info.resource, info.subresource, info.probe) == ("", "", False)
    assert request_info("PROPFIND", "/", {}).verb == "other"


def test_request_info_mutating_dry_run_and_apply() -> None:
    assert not request_info("GET", "/api/v1/pods", {}).mutating
    assert request_info("PATCH", "/api/v1/namespaces/ns/pods/p", {}).mutating
    assert request_info("PATCH", "/api/v1/namespaces/ns/pods/p", {},
                        "application/apply-patch+yaml").verb == "APPLY"
    info = request_info("POST", "/api/v1/namespaces/ns/pods", {"dryRun": "All"})
    assert info.labels == ("POST", "All", "", "v1", "pods", "", "namespace", "apiserver")


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("1s", 1.0), ("1m30s", 90.0), ("250ms", 0.25), ("1.5h", 5400.0),
    (".5s", 0.5), ("1.s", 1.0), ("-2s", -2.0), ("+3m", 180.0), ("100us", 1e-4),
    ("2µs", 2e-6), ("3ns", 3e-9)])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("", 'time: invalid duration ""'),
    ("soon", 'time: invalid duration "soon"'),
    (".s", 'time: invalid duration ".s"'),
    ("-", 'time: invalid duration "-"'),
    ("10", 'time: missing unit in duration "10"'),
    ("1.2.3s", 'time: missing unit in duration "1.2.3s"'),
    ("5d", 'time: unknown unit "d" in duration "5d"'),
])
def test_go_durations_refused_with_gos_words(text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_duration(text)
    assert str(refused.value) == message


def test_request_seconds_a_shorter_timeout_only() -> None:
    assert request_seconds({}) == limits.REQUEST_SECONDS
    assert request_seconds({"timeout": "5s"}) == 5.0
    assert request_seconds({"timeout": "10m"}) == limits.REQUEST_SECONDS
    assert request_seconds({"timeout": "0s"}) == limits.REQUEST_SECONDS
    assert request_seconds({"timeout": "-1s"}) == limits.REQUEST_SECONDS
    with pytest.raises(ApiError) as refused:
        request_seconds({"timeout": "abc"})
    assert (refused.value.code, refused.value.message) == (
        400, 'invalid timeout specified in the request URL - time: invalid duration "abc"')


def test_in_flight_counts_each_kind_against_its_own_limit() -> None:
    counts = InFlight()
    read, write = request_info("GET", "/api/v1/pods", {}), \
        request_info("POST", "/api/v1/namespaces/ns/pods", {})
    watch = request_info("GET", "/api/v1/pods", {"watch": "1"})
    taken = [counts.enter(write) for _ in range(limits.MAX_MUTATING)]
    assert taken == [limits.MUTATING] * limits.MAX_MUTATING
    assert counts.enter(write) is None  # full
    assert counts.enter(read) == limits.READ_ONLY  # the other kinds are not
    assert counts.enter(watch) == limits.LONG_RUNNING
    counts.leave(limits.MUTATING)
    assert counts.enter(write) == limits.MUTATING
    for _ in range(limits.MAX_LONG_RUNNING - 1):
        assert counts.enter(watch) == limits.LONG_RUNNING
    assert counts.enter(watch) is None
    assert (counts.read_only, counts.mutating, counts.long_running) == (
        1, limits.MAX_MUTATING, limits.MAX_LONG_RUNNING)


def test_a_body_must_start_soon_and_keep_a_minimum_rate() -> None:
    assert not body_overdue(limits.BODY_SECONDS - 0.1, 0)
    assert body_overdue(limits.BODY_SECONDS + 0.1, 0)
    assert body_overdue(limits.BODY_SECONDS + 5, 100)  # a trickle earns almost nothing
    # A big body on a slow link earns its time.
    assert not body_overdue(100, int(limits.BODY_MIN_RATE * 100))


def test_health_text_is_upstreams() -> None:
    passed = [Outcome("ping"), Outcome("store")]
    assert render("livez", passed, [], verbose=False) == (200, "ok")
    assert render("livez", passed, [], verbose=True) == (
        200, "[+]ping ok\n[+]store ok\nlivez check passed\n")
    failed = [Outcome("ping"), Outcome("store", "disk I/O error"),
              Outcome("controller", excluded=True)]
    # Failing is always verbose, and never tells why: anyone may ask.
    assert render("readyz", failed, ["nope", "also"], verbose=False) == (
        500, "[+]ping ok\n[-]store failed: reason withheld\n[+]controller excluded: ok\n"
             'warn: some health checks cannot be excluded: no matches for "also","nope"\n'
             "readyz check failed\n")


class _Hub:
    def __init__(self) -> None:
        self.ready = asyncio.Event()


def test_readyz_checks_fail_for_a_dead_store_an_unsynced_hub_and_stopped_loops(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()

    async def check() -> None:
        store = open_store(home)
        hub, task = _Hub(), asyncio.create_task(asyncio.sleep(3600))
        health = Health(store, home, hub, task)

        async def reasons() -> dict[str, str | None]:
            return {name: await run() for name, run in health.checks.items()}

        assert await reasons() == {
            "ping": None, "store": None,
            "informer-sync": "the watch hub has not listed the store yet",
            "controller": f"no controller is active for {home}", "shutdown": None}
        store.close()  # its reads now fail
        stopped = threading.Thread(target=lambda: None)
        stopped.start()
        stopped.join()
        instrument.controller_started(WorkQueue(), {"store": threading.current_thread(),
                                                    "dispatch": stopped})
        hub.ready.set()
        health.stopping = True
        failed = await reasons()
        assert str(failed["store"]).startswith("the store failed: ")
        assert failed["controller"] == "controller loops stopped: dispatch"
        assert failed["shutdown"] == "the server is shutting down"
        assert failed["informer-sync"] is None
        task.cancel()
        await asyncio.sleep(0)
        assert await health.checks["informer-sync"]() == "the watch hub stopped"

    install(Pools(1, 1, 1))
    try:
        asyncio.run(check())
    finally:
        instrument.controller_stopped()
        install(None)


def test_a_watcher_that_falls_behind_is_ended_not_buffered() -> None:
    async def fill() -> tuple[list[bool], list[Change | None]]:
        watcher = Watcher("Pod", None, lambda obj: True)
        offered = [watcher.offer(Change(rv, "Pod", None, {})) for rv in
                   range(WATCH_BUFFER + 1)]
        left = [watcher.queue.get_nowait() for _ in range(watcher.queue.qsize())]
        return offered, left

    offered, left = asyncio.run(fill())
    assert offered == [True] * WATCH_BUFFER + [False]
    assert left == [None]  # its changes dropped; the watch ends at the marker


def test_work_queue_counts_adds_as_upstream_and_its_depth() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("a")  # already waiting: not an add
    queue.add("b")
    queue.add("c", delay=60)  # not due yet: neither an add nor in the depth
    assert (queue.adds, queue.depth) == (2, 2)
    assert queue.get(0.1) == "a"
    queue.add("a")  # being handled: runs again afterwards, one add
    queue.add("a")
    assert (queue.adds, queue.depth) == (3, 1)


def test_metrics_expose_requests_in_flight_the_queue_and_pod_syncs() -> None:
    in_flight = InFlight()
    metrics = ApiMetrics(in_flight)
    listing = request_info("GET", "/api/v1/pods", {})
    watch = request_info("GET", "/api/v1/pods", {"watch": "1"})
    in_flight.enter(listing)
    metrics.started(listing)
    metrics.finished(listing, 200, 0.03)
    metrics.started(watch)
    metrics.finished(request_info("GET", "/api/v1/pods/x", {}), None, 1.0)  # client left
    queue = WorkQueue()
    queue.add("a")
    instrument.controller_started(queue, {})
    instrument.pod_synced("create", 0.2)
    try:
        text = metrics.exposition().decode()
    finally:
        instrument.controller_stopped()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    labels = (("component", "apiserver"), ("dry_run", ""), ("group", ""),
              ("resource", "pods"), ("scope", "cluster"), ("subresource", ""),
              ("verb", "LIST"), ("version", "v1"))
    assert samples[("apiserver_request_total", tuple(sorted((*labels, ("code", "200")))))] == 1
    assert samples[("apiserver_request_duration_seconds_count", labels)] == 1
    assert samples[("apiserver_request_duration_seconds_bucket",
                    tuple(sorted((*labels, ("le", "0.05")))))] == 1
    watching = tuple(sorted(("verb", "WATCH") if k == "verb" else (k, v)
                            for k, v in labels if k != "dry_run"))
    assert samples[("apiserver_longrunning_requests", watching)] == 1
    assert samples[("apiserver_current_inflight_requests", (("request_kind", "readOnly"),))] == 1
    assert samples[("workqueue_depth", (("name", "controller"),))] == 1
    assert samples[("workqueue_adds_total", (("name", "controller"),))] == 1
    assert samples[("kubelet_pod_worker_duration_seconds_count",
                    (("operation_type", "create"),))] >= 1
    assert not any(name.endswith("_created") for name, _ in samples)
    assert not any(dict(key).get("resource") == "pods" and dict(key).get("verb") == "GET"
                   for name, key in samples if name == "apiserver_request_total")


def test_a_writes_blocking_calls_go_to_the_write_threads_of_its_own_task() -> None:
    pools = Pools(1, 1, 1)

    async def serve(write: bool) -> str:
        serving_a_write.set(write)
        return await run_in(pools.requests, lambda: threading.current_thread().name)

    async def both() -> list[str]:
        # Concurrent requests, each in its own task as aiohttp serves them.
        return list(await asyncio.gather(serve(True), serve(False), serve(True)))

    try:
        names = asyncio.run(both())
    finally:
        pools.shutdown()
    assert [name.split("_")[0] for name in names] == ["api-write", "api-read", "api-write"]


def test_connections_are_bounded_by_a_share_of_the_file_descriptors() -> None:
    assert max_connections(-1) == limits.MAX_CONNECTIONS  # no limit
    assert max_connections(1_000_000) == limits.MAX_CONNECTIONS
    assert max_connections(1024) == 256
    assert max_connections(2) == 1


class _Server:
    """What `_admit` asks of aiohttp's server: its open connections, a new protocol."""

    def __init__(self, open_now: int) -> None:
        self.connections = [object()] * open_now

    def __call__(self) -> asyncio.Protocol:
        return asyncio.Protocol()


class _Transport(asyncio.Transport):
    closed = False

    def close(self) -> None:
        self.closed = True


def test_a_connection_over_the_limit_is_closed_when_made() -> None:
    assert type(_admit(_Server(2), 3)) is asyncio.Protocol
    refused = _admit(_Server(3), 3)
    transport = _Transport()
    refused.connection_made(transport)
    assert transport.closed
