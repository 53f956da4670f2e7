"""`podctl run-controller`: the kubelet's and the controller-manager's loops for every pod,
replication controller and namespace in $PODCTL_HOME, driven by Docker events and store
changes, with a periodic resync for anything missed."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from podctl import driver, instrument, registry
from podctl.admission.tolerations import DEFAULT_SECONDS, save_settings
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import customresources
from podctl.controllers.dataplane import (
    DNS_POD,
    FAILED,
    PROXY_POD,
    remove_rules,
    sync_dataplane,
    wanted,
)
from podctl.controllers.endpointslices import SERVICE_NAME_LABEL
from podctl.controllers.ingress import ensure_class as ensure_ingress_class
from podctl.controllers.ingress import is_proxy as is_ingress_proxy
from podctl.controllers.ingress import sync_ingress
from podctl.controllers.nodelifecycle import (
    GRACE_PERIOD,
    MONITOR_PERIOD,
    STARTUP_GRACE_PERIOD,
    Graces,
    NodeLifecycle,
)
from podctl.controllers.persistentvolume import ensure_default_class
from podctl.controllers.rbac import ensure_bootstrap_policy
from podctl.controllers.services import SYSTEM_NAMESPACE, ensure_kubernetes_service
from podctl.controllers.slowstart import OwnerControl
from podctl.driver import DATAPLANE, INGRESS, POD_WATCHERS, Context, Handler, PodHooks
from podctl.errors import DockerUnavailable
from podctl.home import home_id, podctl_home
from podctl.kubelet import hooks
from podctl.kubelet.heartbeat import RENEW_INTERVAL, Heartbeat, host_heartbeat
from podctl.kubelet.prober import Prober
from podctl.kubelet.stats import RESOLUTION, Scraper
from podctl.kubelet.statusmanager import mark_unknown, set_readiness
from podctl.kubelet.sync import SyncResult
from podctl.kubelet.teardown import remove_orphans
from podctl.leader import LeaderLock, holder_pid
from podctl.locks import collect_garbage, object_locks, stale
from podctl.node import container_status, ensure_node, pod_engine, post_address
from podctl.notify import ChangeListener, notify_controller
from podctl.proxy.apply import ProxyError
from podctl.proxy.ingress import Ports as IngressPorts
from podctl.runtime import containers as ctr
from podctl.runtime import engines, inventory, naming, nodecontainers
from podctl.runtime.client import docker_api
from podctl.runtime.records import ContainerRecord
from podctl.runtime.servicenet import reserve_service_range
from podctl.store import Store, open_store
from podctl.workqueue import Workers, WorkQueue

log = logging.getLogger("podctl.controller")

GARBAGE = customresources.GARBAGE
# One key for the lock files of deleted objects: a burst of deletions is one sweep.
LOCKS = ("Locks", "", "")
LOCKS_RETRY_SECONDS = 1.0
DOCKER_ACTIONS = {"start", "die", "oom", "destroy", "stop", "kill"}
# Objects synced at once; more wait in the queue. Each busy one holds a thread, idle ones end.
MAX_WORKERS = 64
RETRY_SECONDS = 5.0
PLANE_STOP_WAIT = 5.0  # how long a stop waits for a data plane sync in flight
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
# How long a stopping controller waits for its loops and syncs (which see the stop between
# batches and pods) before it returns; a pod worker still inside a Docker call is left.
STOP_GRACE = 1.0
SIGNAL_POLL = 0.1
# How long a deleted Node stays away before its pods are deleted (upstream's pod GC
# quarantine).
ORPHAN_QUARANTINE = 40.0
# The autoscaler's kind: every metrics scrape wakes each one.
AUTOSCALER = "HorizontalPodAutoscaler"
# How often the node containers are looked for besides a Node's change (an event stream
# per node's engine).
NODES_POLL = 30.0


class Controller(PodHooks):
    """Wires event sources to a work queue and the queue to per-object sync workers, which
    run the driver's handlers (the pod's with the prober's hooks)."""

    def __init__(self, store: Store, resync_seconds: float = 30.0,
                 nodes: NodeSettings | None = None,
                 metric_resolution: float = RESOLUTION,
                 ingress_ports: IngressPorts | None = None) -> None:
        self.store = store
        self.metric_resolution = metric_resolution
        self.nodes = nodes or NodeSettings()
        self.ingress_ports = ingress_ports or IngressPorts()
        self.lifecycle = NodeLifecycle(
            store, Graces(self.nodes.grace, self.nodes.startup_grace), self.nodes.period)
        self.queue = WorkQueue()
        self.workers = Workers(MAX_WORKERS, name="sync")
        self.resync_seconds = resync_seconds
        # Expectations, back-off and the stop signal the pod-owning syncs share.
        self.owners = OwnerControl()
        self.prober = Prober(store, self._kill_for_probe, on_change=self._pod_status_changed)
        self.uids: dict[tuple[str, str], str] = {}
        self._events_stream: Any = None
        self._resync_now = threading.Event()
        self._relist_now = threading.Event()  # the engine may have gone: see whether it has
        self._registered = False  # the node and the `kubernetes` Service are in the store
        # (namespace, pod) -> the resourceVersion of the kubelet's own last status write:
        # that change needs no sync of the pod (it came from one), only its watchers'.
        self._own_status: dict[tuple[str, str], int] = {}
        self._own_lock = threading.Lock()
        # Per node (None: the host's), (namespace, pod name) -> its containers' (id, state)
        # at the last relist.
        self._containers: dict[str | None, Snapshot] = {}
        # The event stream of each node container's engine, by node name.
        self._node_streams: dict[str, NodeStream] = {}
        self._nodes_changed = threading.Event()  # a Node came, went or changed
        # Containers a failed probe wants killed, done by that pod's own worker.
        self._kills: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        self._kills_lock = threading.Lock()
        # (namespace, slice name) -> the Service it is for, to sync once the slice is deleted.
        self._slice_services: dict[tuple[str, str], str] = {}
        # Held by a data plane sync; once the controller stops, no sync writes rules again.
        self._plane_lock = threading.Lock()
        self._plane_stopped = False
        self.context = Context(store, self.owners, self.queue)
        self.handlers: dict[str, Handler] = {
            **driver.HANDLERS,
            "Pod": lambda ctx, namespace, name: driver.sync_pod(ctx, namespace, name, self),
            "Node": self._node_changed,
            "EndpointSlice": lambda _, namespace, name: self._slice_changed(namespace, name),
            "Locks": lambda *_: self._collect_locks(),
            "PodGC": driver.collect_orphaned_pods,
            "DataPlane": lambda *_: self._sync_dataplane(),
            "IngressPlane": lambda *_: self._sync_ingress(),
        }

    def run(self, stop: threading.Event) -> None:
        self.owners.stop = stop
        self._register()
        loops: list[tuple[str, Callable[[threading.Event], None]]] = [
            ("store", self._watch_store), ("docker", self._watch_docker),
            ("nodes", self._watch_nodes),
            ("prober", self.prober.run), ("dispatch", self._dispatch),
            ("heartbeat", self._heartbeat), ("nodelifecycle", self.lifecycle.run),
            ("metrics", self._scrape_metrics)]
        threads = [threading.Thread(target=supervise, args=(name, loop, stop), name=name,
                                    daemon=True) for name, loop in loops]
        for thread in threads:
            thread.start()
        instrument.controller_started(self.queue, {t.name: t for t in threads})
        while not _stopped_within(stop, SIGNAL_POLL):
            pass
        instrument.controller_stopped()
        self.lifecycle.wake.set()
        log.info("stopping; pods keep running")
        self.queue.close()
        self._nodes_changed.set()  # the node watcher sees the stop
        if self._events_stream is not None:
            self._events_stream.close()
        for node_stream in list(self._node_streams.values()):
            node_stream.end()
        deadline = time.monotonic() + STOP_GRACE
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if not self.workers.wait_idle(max(0.0, deadline - time.monotonic())):
            log.info("leaving %d sync(s) still running (inside Docker calls)",
                     self.workers.busy)
        self._stop_dataplane()

    def _stop_dataplane(self) -> None:
        """The home's rules go with its controller: nothing would keep them in line with
        the Services now. A sync in flight is waited for, so it cannot write them again
        after they were removed; the next controller writes them anew."""
        if not self._plane_lock.acquire(timeout=PLANE_STOP_WAIT):
            log.warning("a data plane sync is still running; its rules stay until the next "
                        "controller or `podctl reset`")
            return
        try:
            self._plane_stopped = True
            removed = remove_rules(self.store, home_id(self.store.path.parent))
            if removed:
                log.info("data plane: removed this home's rules (%d lines)", removed)
        except Exception as exc:
            log.warning("could not remove this home's rules (%s); the next controller or "
                        "`podctl reset` will", exc)
        finally:
            self._plane_lock.release()

    def _register(self) -> None:
        """What exists from a cluster's start: the node (the kubelet registers it) and the
        `kubernetes` Service (the API server's), made here and never by a read. With the
        engine down, the next successful relist makes them."""
        ensure_default_class(self.store)
        ensure_ingress_class(self.store)
        ensure_bootstrap_policy(self.store)
        for namespace in registry.SYSTEM_NAMESPACES:
            registry.ensure_namespace(self.store, namespace)
        try:
            ensure_node(self.store)
            ensure_kubernetes_service(self.store, self._reserve)
        except DockerUnavailable as exc:
            log.warning("the Docker engine does not answer (%s); the node registers once "
                        "it does", exc.detail)
            return
        self._registered = True

    def _heartbeat(self, stop: threading.Event) -> None:
        """The host node's kubelet's heartbeats, once the node is registered, at the
        settings' renew interval (a short grace, in tests, must not find a live node
        silent)."""
        while not stop.is_set():
            beat = host_heartbeat(self.store, self.nodes.renew_interval)
            if beat is not None:
                beat.run(stop)
                return
            stop.wait(1.0)

    def _scrape_metrics(self, stop: threading.Event) -> None:
        """metrics-server's loop: every node's containers at a fixed interval; each scrape
        wakes the autoscalers (their metrics changed)."""
        scraper = Scraper(self.store, self.metric_resolution)
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    scraper.scrape()
                except DockerUnavailable as exc:
                    log.info("metrics: the engine does not answer (%s)", exc.detail)
                for hpa in self.store.list(AUTOSCALER):
                    self.queue.add((AUTOSCALER, meta.namespace_of(hpa), meta.name_of(hpa)))
                instrument.beat("metrics")
                stop.wait(max(0.0, self.metric_resolution - (time.monotonic() - started)))
        finally:
            scraper.close()

    # -- event sources -------------------------------------------------------------------

    def _watch_store(self, stop: threading.Event) -> None:
        """Enqueue objects whose resourceVersion changed; at each resync every object but
        the pods whose containers did not change (see _relist); everything at start-up and
        after the Docker event stream was down."""
        listener = ChangeListener(self.store.path.parent)
        known: dict[tuple[str, str, str], int] = {}
        next_resync = 0.0
        everything = True  # at start-up nothing is known
        try:
            while not stop.is_set():
                resync = time.monotonic() >= next_resync
                if self._resync_now.is_set():
                    self._resync_now.clear()
                    everything = True
                relist_now = self._relist_now.is_set()
                self._relist_now.clear()
                relisted: set[tuple[str, str]] | None = None
                if resync or everything or relist_now:
                    next_resync = time.monotonic() + self.resync_seconds
                    relisted = self._relist()
                    everything = everything or relisted is None
                revision = self.store.revision()
                # Every kind a handler is registered for, the custom kinds served now, and
                # the slices (whose Service is synced again when one is deleted).
                self.store.refresh_kinds()
                current = self.store.versions((*driver.watched_kinds(), "EndpointSlice"))
                # Before the owners are woken: their syncs may act on what was seen.
                self.owners.expectations.observed(revision)
                changed = [key for key, rv in current.items()
                           if everything or known.get(key) != rv
                           or (relisted is not None and _resync_due(key, relisted))]
                everything = False
                deleted = list(known.keys() - current.keys())
                changed += deleted
                if deleted or resync:
                    self.queue.add(LOCKS)
                    self.queue.add(GARBAGE)  # a custom resource's owner may be gone
                for key in changed:
                    if not self._own_write(key, current.get(key)):
                        self.queue.add(key)
                for key in driver.quota_fanout(changed, current):
                    self.queue.add(key)
                for namespace in {ns for kind, ns, _ in changed if kind == "Pod"}:
                    self._wake_namespace(namespace, current)
                if any(kind == "Pod" for kind, _, _ in changed):
                    self._wake_pending()  # host ports were freed (a node's change: its handler)
                known = current
                instrument.beat("store")
                listener.wait(timeout=1.0)
        finally:
            listener.close()

    def _relist(self) -> set[tuple[str, str]] | None:
        """The kubelet's PLEG relist: one list call for every container of the home; the
        (namespace, name) of pods whose containers changed since the last relist (a missed
        event). Resyncing only those keeps an idle controller idle however many pods it
        runs; None (resync every pod) when Docker cannot be asked."""
        try:
            records = inventory.list_containers()
        except Exception as exc:
            log.warning("relist failed (%s); resyncing every pod", exc)
            self._containers.pop(None, None)
            if isinstance(exc, DockerUnavailable):
                # The pods' state cannot be obtained: started ones are Unknown until the
                # engine answers again (its return resyncs every pod).
                mark_unknown(self.store, self.store.list("Pod"))
            return None
        if not self._registered:
            self._register()
        self._remove_orphans(None, records)
        current: dict[str | None, Snapshot] = {None: _snapshot(records)}
        for engine in self._node_engines():
            try:
                with engines.using(engine):
                    listed = inventory.list_containers()
                    self._remove_orphans(engine, listed)
                current[engine.node] = _snapshot(listed)
            except DockerUnavailable:
                # A node that is down: its pods are as last seen (its return wakes them).
                current[engine.node] = self._containers.get(engine.node, {})
        changed: set[tuple[str, str]] = set()
        for node, snapshot in current.items():
            before = self._containers.get(node, {})
            changed |= {pod for pod in snapshot.keys() | before.keys()
                        if snapshot.get(pod) != before.get(pod)}
        self._containers = current
        return changed

    def _remove_orphans(self, engine: engines.Engine | None,
                        records: list[ContainerRecord]) -> None:
        with engines.using(engine):
            gone = remove_orphans(self.store, records)
        if gone:
            log.info("removed the containers of %d pod(s) no longer in the store%s", len(gone),
                     "" if engine is None else f" from node {engine.node}")

    def _node_engines(self) -> list[engines.Engine]:
        homeid = home_id(self.store.path.parent)
        return [engine for node in self.store.list("Node")
                if (engine := engines.engine_of(homeid, node)) is not None]

    def _watch_docker(self, stop: threading.Event) -> None:
        """The host's Docker event stream: a container of a pod started, died or vanished."""
        self._watch_events(stop, None)

    def _watch_nodes(self, stop: threading.Event) -> None:
        """One event stream per node container's engine (each node's kubelet has its own
        PLEG), started as nodes are added and ended as they go."""
        try:
            while not stop.is_set():
                wanted = {engine.node: engine for engine in self._node_engines()}
                for name in self._node_streams.keys() - wanted.keys():
                    self._node_streams.pop(name).end()
                for name, engine in wanted.items():
                    if name not in self._node_streams:
                        node_stream = NodeStream()
                        self._node_streams[name] = node_stream
                        threading.Thread(target=supervise, name=f"docker-{name}", daemon=True,
                                         args=(f"docker-{name}", functools.partial(
                                             self._watch_events, engine=engine,
                                             own=node_stream), node_stream.stop)).start()
                        # The node's kubelet's heartbeats, silent while its engine is.
                        threading.Thread(target=self._node_heartbeat(name).run,
                                         name=f"heartbeat-{name}", daemon=True,
                                         args=(node_stream.stop,)).start()
                instrument.beat("nodes")
                self._nodes_changed.wait(NODES_POLL)
                self._nodes_changed.clear()
        finally:
            for node_stream in self._node_streams.values():
                node_stream.end()

    def _node_heartbeat(self, name: str) -> Heartbeat:
        """A node container's kubelet's heartbeats: its Lease and status, from its own
        engine; nothing while that engine does not answer (the node is down)."""
        probe = functools.partial(container_status, home_id(self.store.path.parent), name)
        return Heartbeat(self.store, name, probe, renew_interval=self.nodes.renew_interval,
                         on_node=True)

    def _watch_events(self, stop: threading.Event, engine: engines.Engine | None,
                      own: NodeStream | None = None) -> None:
        """An engine's event stream (the host's, or a node's: `own` holds its stream)."""
        connected_before = False
        while not stop.is_set():
            up = False
            try:
                with engines.using(engine):
                    stream = docker_api().events(
                        decode=True,
                        filters={"type": "container", "label": naming.home_selector()},
                    )
                if own is None:
                    self._events_stream = stream
                else:
                    own.stream = stream
                    if stop.is_set():
                        return
                up = True
                if connected_before:
                    # Whatever happened while the stream was down came with no event.
                    self._reconnected(engine)
                connected_before = True
                for event in stream:
                    if (event.get("Action") or event.get("status")) not in DOCKER_ACTIONS:
                        continue
                    attrs = (event.get("Actor") or {}).get("Attributes") or {}
                    ns, name = attrs.get(naming.POD_NAMESPACE), attrs.get(naming.POD_NAME)
                    if ns and name:
                        self.queue.add(("Pod", ns, name))
                        self._wake_namespace(ns)
            except Exception as exc:
                if stop.is_set():
                    return
                if engine is None or up:
                    log.warning("docker event stream%s broke (%s); reconnecting",
                                "" if engine is None else f" of node {engine.node}", exc)
            if up and not stop.is_set():
                self._relist_now.set()  # the stream ended: is the engine gone?
            if not stop.is_set():
                connected_before = True
                stop.wait(1.0)

    def _node_changed(self, ctx: Context, namespace: str, name: str) -> None:
        driver.sync_node(ctx, namespace, name)
        self._nodes_changed.set()
        self.lifecycle.wake.set()  # a taint or readiness to act on now
        if self.store.get("Node", "", name) is None:
            # The pod garbage collector waits before it deletes a gone node's pods.
            self.queue.add(("PodGC", "", name), delay=ORPHAN_QUARANTINE)

    def _reconnected(self, engine: engines.Engine | None) -> None:
        if engine is None:
            log.info("docker event stream reconnected; resyncing everything")
            self._resync_now.set()
            return
        # The node is back (started again): its kubelet looks at every pod bound to it, and
        # the relist removes what belongs to pods deleted meanwhile.
        log.info("node %s answers again; syncing its pods", engine.node)
        self._relist_now.set()
        homeid = home_id(self.store.path.parent)
        post_address(self.store, engine.node, nodecontainers.address(
            nodecontainers.inspect(homeid, engine.node) or {}))
        for pod in self.store.list("Pod"):
            if pod["spec"].get("nodeName") == engine.node:
                self.queue.add(("Pod", meta.namespace_of(pod), meta.name_of(pod)))

    # -- workers -------------------------------------------------------------------------

    def _dispatch(self, stop: threading.Event) -> None:
        """Hand each ready key to a worker of its own (the queue never hands out a key
        that is being handled)."""
        while not stop.is_set():
            key = self.queue.get()
            if key is not None:
                self.workers.submit(functools.partial(self._handle_key, key))

    def _handle_key(self, key: Hashable) -> None:
        try:
            self.handle(key)
        except Exception:
            log.exception("sync of %s failed; retrying in %ss", key, RETRY_SECONDS)
            self.queue.add(key, delay=RETRY_SECONDS)
        finally:
            self.queue.done(key)

    def handle(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        kind, namespace, name = (str(part) for part in key)
        log.debug("sync %s %s/%s", kind, namespace, name)
        started = time.monotonic()
        operation = "sync" if (namespace, name) in self.uids else "create"
        driver.handle(self.context, (kind, namespace, name), self.handlers)
        if kind == "Pod":
            instrument.pod_synced(operation, time.monotonic() - started)

    def _sync_dataplane(self) -> None:
        with self._plane_lock:
            if self._plane_stopped:
                return
            synced = sync_dataplane(self.store, self._reserve)
        if synced:
            log.info("data plane: %s", synced)
        if synced.get(FAILED):
            self.queue.add(DATAPLANE, delay=RETRY_SECONDS)

    def _sync_ingress(self) -> None:
        try:
            synced = sync_ingress(self.store, self.ingress_ports)
        except ProxyError as exc:
            # nginx keeps what it runs (a port taken, a refused configuration): one line,
            # and a new try, as any failed sync.
            log.warning("ingress: %s; retrying in %ss", exc, RETRY_SECONDS)
            self.queue.add(INGRESS, delay=RETRY_SECONDS)
            return
        if synced:
            log.info("ingress: %s", synced)

    def _collect_locks(self) -> None:
        """Remove the lock files of objects that are gone; one still held (its object's
        last sync is finishing) is tried again shortly."""
        home = self.store.path.parent
        removed = collect_garbage(home, self.store.uids())
        if removed:
            log.debug("removed %d lock files of deleted objects", removed)
        if stale(object_locks(home), self.store.uids()):
            self.queue.add(LOCKS, delay=LOCKS_RETRY_SECONDS)

    def _reserve(self) -> ipaddress.IPv4Network:
        return reserve_service_range(home_id(self.store.path.parent))

    def _slice_changed(self, namespace: str, name: str) -> None:
        """Only a deleted slice calls for its Service's sync: clients may delete slices but
        never write them, and the controller's own writes need no answer. Which Service a
        deleted slice was for is remembered from when it existed (or, for one never seen,
        read from its generated name)."""
        found = self.store.get("EndpointSlice", namespace, name)
        if found is not None:
            self._slice_services[(namespace, name)] = \
                meta.labels_of(found).get(SERVICE_NAME_LABEL, "")
            return
        service = self._slice_services.pop((namespace, name), None) or name.rpartition("-")[0]
        self.queue.add(("Service", namespace, service))

    def _wake_pending(self) -> None:
        """A pod changed (host ports freed): pods waiting for a node are scheduled again."""
        for namespace, name in self.store.unscheduled_pods():
            self.queue.add(("Pod", namespace, name))

    # -- the pod pass's hooks (driver.sync_pod) ----------------------------------------

    def gone(self, namespace: str, name: str) -> None:
        uid = self.uids.pop((namespace, name), None)
        if uid:
            self.prober.forget_pod(uid)
        if (namespace == SYSTEM_NAMESPACE and name == PROXY_POD) or not wanted(self.store):
            # Its rules go with it; or it may have been the last pod that needed the
            # cluster DNS, and the plane can go.
            self.queue.add(DATAPLANE)
        if is_ingress_proxy(namespace, name):
            self.queue.add(INGRESS)  # made again while Ingresses need it

    def seen(self, pod: Obj) -> None:
        self.uids[(meta.namespace_of(pod), meta.name_of(pod))] = meta.uid_of(pod)

    def finishing(self, pod: Obj) -> None:
        self.prober.forget_pod(meta.uid_of(pod))

    def before_sync(self, namespace: str, name: str) -> None:
        self._run_probe_kills(namespace, name)

    def synced(self, pod: Obj, result: SyncResult) -> None:
        namespace, name = meta.namespace_of(pod), meta.name_of(pod)
        self._wrote_status(namespace, name, result.status_version)
        if result.records is not None:
            self.prober.update_pod(pod, result.records)
        if namespace == SYSTEM_NAMESPACE and name in (PROXY_POD, DNS_POD):
            self.queue.add(DATAPLANE)  # a new container has no records or rules yet
        if is_ingress_proxy(namespace, name):
            self.queue.add(INGRESS)  # a new proxy has no configuration yet

    def _wake_namespace(self, namespace: str,
                        versions: dict[tuple[str, str, str], int] | None = None) -> None:
        """A pod changed: wake what its change concerns (driver.pod_fanout)."""
        if versions is None:
            versions = self.store.versions(POD_WATCHERS)
        for key in driver.pod_fanout(namespace, versions):
            self.queue.add(key)

    def _pod_status_changed(self, pod: Obj) -> None:
        """A probe's verdict changed: the status manager writes the pod's readiness (its
        watchers, woken by the write, see it)."""
        stored, wrote = set_readiness(self.store, pod)
        if wrote and stored is not None:
            self._wrote_status(meta.namespace_of(pod), meta.name_of(pod),
                               str(stored["metadata"]["resourceVersion"]))
        if any(c.get("restartPolicy") == "Always" and c.get("startupProbe")
               for c in pod["spec"].get("initContainers") or []):
            # A sidecar that started lets the next init (or the app) containers start.
            self.queue.add(("Pod", meta.namespace_of(pod), meta.name_of(pod)))

    def _wrote_status(self, namespace: str, name: str, version: str | None) -> None:
        if version is not None:
            with self._own_lock:
                self._own_status[(namespace, name)] = int(version)

    def _own_write(self, key: tuple[str, str, str], version: int | None) -> bool:
        """Whether the store watcher's change of `key` is the kubelet's own status write."""
        kind, namespace, name = key
        if kind != "Pod" or version is None:
            return False
        with self._own_lock:
            own = self._own_status.get((namespace, name))
            if own is not None and version >= own:
                del self._own_status[(namespace, name)]
            return own == version

    def _kill_for_probe(self, pod: Obj, container: str, container_id: str, grace: int) -> None:
        """Hand the kill to the pod's own worker: a long grace period holds up no probe."""
        log.info("killing %s/%s container %s (failed probe, grace %ss)",
                 meta.namespace_of(pod), meta.name_of(pod), container, grace)
        key = (meta.namespace_of(pod), meta.name_of(pod))
        with self._kills_lock:
            self._kills.setdefault(key, []).append((container, container_id, grace))
        self.queue.add(("Pod", *key))

    def _run_probe_kills(self, namespace: str, name: str) -> None:
        """The kills failed probes asked for, each with its preStop hook first."""
        with self._kills_lock:
            kills = self._kills.pop((namespace, name), [])
        pod = self.store.get("Pod", namespace, name) if kills else None
        with engines.using(None if pod is None else pod_engine(self.store, pod)):
            for container, container_id, grace in kills:
                if pod is None:
                    ctr.stop(container_id, grace)
                    continue
                pod_ip = str((pod.get("status") or {}).get("podIP") or "")
                hooks.kill_container(self.store, pod, hooks.container_specs(pod).get(container),
                                     container_id, grace, pod_ip)


Snapshot = dict[tuple[str, str], frozenset[tuple[str, str]]]


def _snapshot(records: list[ContainerRecord]) -> Snapshot:
    """(namespace, pod name) -> its containers' (id, state)."""
    seen: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for record in records:
        pod = (record.labels.get(naming.POD_NAMESPACE, ""),
               record.labels.get(naming.POD_NAME, ""))
        seen.setdefault(pod, set()).add((record.id, record.state))
    return {pod: frozenset(found) for pod, found in seen.items()}


class NodeStream:
    """The event stream of one node's engine, and the signal that ends its loop."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.stream: Any = None

    def end(self) -> None:
        self.stop.set()
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.close()


def _resync_due(key: tuple[str, str, str], relisted: set[tuple[str, str]]) -> bool:
    """At a periodic resync a pod is synced again only when its containers changed unseen;
    every other object (a cheap store-only sync) always is."""
    kind, namespace, name = key
    return kind != "Pod" or (namespace, name) in relisted


def supervise(name: str, loop: Callable[[threading.Event], None], stop: threading.Event,
              backoff: tuple[float, ...] = RESTART_BACKOFF) -> None:
    """Run a long-lived loop; restart it after an unexpected exception, with back-off, so
    the controller is never silently half dead."""
    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            loop(stop)
        except Exception:
            if time.monotonic() - started > 60:
                failures = 0
            delay = backoff[min(failures, len(backoff) - 1)]
            failures += 1
            log.exception("the %s loop failed; restarting it in %ss", name, delay)
            stop.wait(delay)


@dataclass(frozen=True)
class NodeSettings:
    """The node lifecycle's flags: --node-monitor-grace-period, --node-monitor-period,
    --node-startup-grace-period, and the DefaultTolerationSeconds admission's two (kept in
    the home for every writer)."""

    grace: float = GRACE_PERIOD
    period: float = MONITOR_PERIOD
    not_ready_seconds: int = DEFAULT_SECONDS
    unreachable_seconds: int = DEFAULT_SECONDS
    startup_grace: float = STARTUP_GRACE_PERIOD

    @property
    def renew_interval(self) -> float:
        """How often each kubelet here heartbeats: upstream's 10 s, or four times per
        grace period when that is shorter (the kubelets share the controller's process)."""
        return min(RENEW_INTERVAL, self.grace / 4)


def _stopped_within(stop: threading.Event, seconds: float) -> bool:
    """Whether `stop` is set, after a sleep of `seconds`: the main thread's wait.

    The SIGTERM/SIGINT handler sets `stop` and runs in the main thread, between two of its
    bytecodes; had the main thread been inside stop.wait(), holding the Event's own
    non-reentrant lock there, the handler's set() would wait for it forever (a controller
    that ignored SIGTERM until kill -9, seen in CI). A sleep holds no lock, and a signal
    that lands on another thread is seen within `seconds`."""
    time.sleep(seconds)
    return stop.is_set()


def run(stop: threading.Event, resync_seconds: float = 30.0,
        nodes: NodeSettings | None = None, metric_resolution: float = RESOLUTION,
        ingress_ports: IngressPorts | None = None) -> None:
    """Hold the leader lock (waiting as standby while another controller has it), then run."""
    nodes = nodes or NodeSettings()
    home = podctl_home()
    lock = LeaderLock(home)
    announced = False
    while not lock.try_acquire():
        if not announced:
            log.info("another controller (pid %s) holds the lock in %s; waiting as standby",
                     holder_pid(home), home)
            announced = True
        if _stopped_within(stop, 0.5):
            return
    log.info("controller active (home %s) at %s", home, datetime.now(UTC).isoformat())
    try:
        # Its own writes wake its store watcher too (a pod it deleted matters to the RCs).
        save_settings(home, nodes.not_ready_seconds, nodes.unreachable_seconds)
        store = open_store(home, functools.partial(notify_controller, home))
        Controller(store, resync_seconds=resync_seconds, nodes=nodes,
                   metric_resolution=metric_resolution,
                   ingress_ports=ingress_ports).run(stop)
    finally:
        lock.release()
