"""A kubelet's heartbeats, as upstream's node lease controller and node status manager
send them: its node's Lease `kube-node-lease/<node>` renewed every 10 s, and its Node's
status (conditions, addresses, capacity, allocatable, nodeInfo) posted through the status
subresource when it changed, and at least every 5 minutes, with the resourceVersion read.

One `Heartbeat` per kubelet: it takes the node's name and a probe of that node's engine,
so each node's kubelet beats for its own node whatever engine it reaches."""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Conflict, DockerUnavailable, NotFound
from podctl.kubelet.common import KUBELET
from podctl.node import host_node_name, host_status, kubelet_conditions, ready_status
from podctl.store import Store

log = logging.getLogger("podctl.kubelet")

LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40  # upstream's nodeLeaseDurationSeconds; renewed at a quarter of it
RENEW_INTERVAL = 10.0
REPORT_INTERVAL = 300.0  # nodeStatusReportFrequency: an unchanged status is posted this often

# The event a kubelet records when its node's readiness changes, as upstream's.
READINESS_EVENTS = {"True": "NodeReady", "False": "NodeNotReady"}

# The node's status as its kubelet sees it now (addresses, capacity, allocatable,
# nodeInfo); raises DockerUnavailable when the node's engine does not answer.
StatusProbe = Callable[[], Obj]


def micro_time(moment: datetime) -> str:
    """metav1.MicroTime as it serialises: UTC with microseconds (a Lease's renewTime)."""
    return meta.as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_object(node: Obj, now: datetime) -> Obj:
    name = meta.name_of(node)
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE, "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": name, "uid": meta.uid_of(node)}]},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION,
                     "renewTime": micro_time(now)}}


def status_to_post(current: Obj, reported: Obj | None, runtime_up: bool, now: datetime,
                   last_post: datetime | None) -> Obj | None:
    """The node status a kubelet posts at `now`, or None when nothing changed (heartbeat
    times aside) and the last post is younger than REPORT_INTERVAL. `reported` is what
    the engine told (None: it did not answer: the stored facts stay)."""
    status = copy.deepcopy(current)
    if reported is not None:
        status.update(copy.deepcopy(reported))
    status["conditions"] = kubelet_conditions(
        runtime_up, meta.format_time(now), current.get("conditions") or [])
    due = last_post is None or (now - last_post).total_seconds() >= REPORT_INTERVAL
    if not due and _without_heartbeats(status) == _without_heartbeats(current):
        return None
    return status


def _without_heartbeats(status: Obj) -> Obj:
    return {**status, "conditions": [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                                     for c in status.get("conditions") or []]}


class Heartbeat:
    """One kubelet's heartbeats for the node `node_name`, whose engine `probe` asks.

    `on_node`: the kubelet lives on the node it serves (an added node's), so when that
    node's engine does not answer the node is down as a whole and nothing is posted: its
    Lease lapses, as a crashed node's does. The host's kubelet runs beside its engine:
    it keeps renewing and reports Ready=False (the container runtime is down), as
    upstream's kubelet does when its runtime fails."""

    def __init__(self, store: Store, node_name: str, probe: StatusProbe, *,
                 renew_interval: float = RENEW_INTERVAL, on_node: bool = False) -> None:
        self.store = store
        self.node_name = node_name
        self.probe = probe
        self.renew_interval = renew_interval
        self.on_node = on_node
        self._last_post: datetime | None = None

    def beat(self, now: datetime | None = None) -> None:
        """Renew the Lease and post the status if it changed: one heartbeat."""
        now = now or datetime.now(UTC)
        try:
            reported: Obj | None = self.probe()
        except DockerUnavailable:
            reported = None
        if reported is None and self.on_node:
            return
        node = self.store.get("Node", "", self.node_name)
        if node is None:
            return  # deleted: the kubelet registers it again when it starts next
        self._renew(node, now)
        self._post(node, reported, now)

    def run(self, stop: threading.Event) -> None:
        """Beat every renew interval until `stop`; one failed beat does not end it."""
        while not stop.is_set():
            try:
                self.beat()
            except Exception as exc:  # the store busy, the node replaced: the next beat
                log.warning("heartbeat of node %s failed (%s)", self.node_name, exc)
            stop.wait(self.renew_interval)

    def _renew(self, node: Obj, now: datetime) -> None:
        lease = self.store.get("Lease", LEASE_NAMESPACE, self.node_name)
        if lease is None:
            registry.ensure_namespace(self.store, LEASE_NAMESPACE)
            # AlreadyExists: another beat made it, renewed next time.
            with contextlib.suppress(AlreadyExists):
                registry.create(self.store, lease_object(node, now))
            return
        lease["spec"]["renewTime"] = micro_time(now)
        lease["spec"]["holderIdentity"] = self.node_name
        lease["spec"]["leaseDurationSeconds"] = LEASE_DURATION
        # Written or deleted meanwhile: the next beat renews it.
        with contextlib.suppress(Conflict, NotFound):
            registry.update(self.store, lease)

    def _post(self, node: Obj, reported: Obj | None, now: datetime,
              retry: bool = True) -> None:
        # A kubelet just started (or a command's one beat) counts from the stored post.
        last_post = self._last_post or _stored_post(node)
        status = status_to_post(node.get("status") or {}, reported, reported is not None,
                                now, last_post)
        if status is None:
            return
        try:
            stored = registry.update_status(self.store, {**node, "status": status})
        except Conflict:
            # The lifecycle controller wrote it meanwhile: once more on a fresh read.
            fresh = self.store.get("Node", "", self.node_name)
            if retry and fresh is not None:
                self._post(fresh, reported, now, retry=False)
            return
        except NotFound:
            return
        self._last_post = now
        ready = ready_status(stored)
        if ready != ready_status(node) and ready in READINESS_EVENTS:
            event = READINESS_EVENTS[ready]
            self.store.record_event(stored, "Normal", event,
                                    f"Node {self.node_name} status is now: {event}", KUBELET)


def _stored_post(node: Obj) -> datetime | None:
    """When the node's status was last posted: its Ready condition's heartbeat."""
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("lastHeartbeatTime"):
            try:
                return meta.parse_time(str(cond["lastHeartbeatTime"]))
            except ValueError:
                return None
    return None


def host_heartbeat(store: Store, renew_interval: float = RENEW_INTERVAL) -> Heartbeat | None:
    """The host node's kubelet's heartbeat, once the host node is registered."""
    name = host_node_name(store)
    if name is None:
        return None
    return Heartbeat(store, name, host_status, renew_interval=renew_interval)


def refresh_host(store: Store) -> None:
    """One heartbeat of the host's kubelet, for a command run while no controller runs
    (as pods' status is refreshed then): `get nodes` shows the engine as it is now. A
    node not registered yet stays so: reads never make it."""
    beat = host_heartbeat(store)
    if beat is not None:
        beat.beat()
