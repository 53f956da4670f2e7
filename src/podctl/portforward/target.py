"""Which pod a forward reaches: a pod by name, or a running replica of an RC, looked up
afresh from the store and one Docker list call each time the forward asks.

Live status and ownership are read through a PodSource that the caller (ops) supplies, so that
the forward follows pods exactly as `get` shows them without portforward depending on ops.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.podpick import (
    ATTACH,
    SelectorError,
    failure_prefix,
    selector_for,
    sort_pods,
    split_argument,
)
from podctl.errors import PodctlError
from podctl.store import Store

_WAIT_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Endpoint:
    """Where a pod answers now; a recreated sandbox is a new endpoint."""

    pod: str
    uid: str
    ip: str


@dataclass(frozen=True)
class Sighting:
    """One look at the followed object: where to connect now (None: nowhere yet), and
    whether the object still exists (a deleted one may come back under the same name)."""

    endpoint: Endpoint | None
    exists: bool


class PodSource(Protocol):
    """The read side a forward needs: pods with their live status, and the pods an object
    (a workload or a Service) selects."""

    def with_status(self, pods: list[Obj]) -> list[Obj]: ...

    def selected_by(self, owner: Obj) -> list[Obj]: ...


class Follower(Protocol):
    """Finds the current endpoint of what the user named; `look` may block on I/O."""

    unavailable: str  # why no connection can be made while there is no endpoint

    def look(self) -> Sighting: ...


class PodFollower:
    """A pod followed by name: a recreated sandbox or a re-created pod is picked up."""

    def __init__(self, store: Store, pods: PodSource, namespace: str, name: str) -> None:
        self._store = store
        self._pods = pods
        self._namespace = namespace
        self._name = name
        self.unavailable = f'pod "{name}" is not running'

    def look(self) -> Sighting:
        pod = self._store.get("Pod", self._namespace, self._name)
        if pod is None:
            return Sighting(None, False)
        return Sighting(endpoint_of(self._pods.with_status([pod])[0]), True)


class ReplicaFollower:
    """One running pod of the pods a workload or a Service selects; it sticks to that pod
    while it runs and moves to another one when the pod stops or is being deleted."""

    def __init__(self, store: Store, pods: PodSource, kind: str, namespace: str,
                 name: str) -> None:
        self._store = store
        self._pods = pods
        self.kind = kind
        self._namespace = namespace
        self._name = name
        self._current = ""  # uid of the pod connections go to
        self.unavailable = f'{meta.singular(kind)} "{name}" has no running pod'

    def look(self) -> Sighting:
        owner = self._store.get(self.kind, self._namespace, self._name)
        if owner is None:
            return Sighting(None, False)
        chosen = self._choose(self._live_pods(owner))
        return Sighting(endpoint_of(chosen) if chosen else None, True)

    def wait_for_pod(self, seconds: float) -> Obj:
        """The replica to start on, waiting for one to run as kubectl's
        --pod-running-timeout does; a pod that is not running is returned for the caller
        to refuse, as kubectl refuses it."""
        deadline = time.monotonic() + seconds
        while True:
            owner = self._store.require(self.kind, self._namespace, self._name)
            pods = self._live_pods(owner)
            chosen = self._choose(pods)
            if chosen is not None:
                return chosen
            if time.monotonic() >= deadline:
                if pods:
                    return sort_pods(pods, ATTACH)[0]
                raise PodctlError("timed out waiting for the condition")
            time.sleep(_WAIT_POLL_SECONDS)

    def _live_pods(self, owner: Obj) -> list[Obj]:
        pods = [p for p in self._pods.selected_by(owner)
                if not p["metadata"].get("deletionTimestamp")]
        return self._pods.with_status(pods)

    def _choose(self, pods: list[Obj]) -> Obj | None:
        """The pod followed so far while it runs, else the running pod kubectl would pick."""
        running = [p for p in pods if endpoint_of(p) is not None]
        same = [p for p in running if meta.uid_of(p) == self._current]
        chosen = same[0] if same else next(iter(sort_pods(running, ATTACH)), None)
        self._current = meta.uid_of(chosen) if chosen else ""
        return chosen


def follow(store: Store, pods: PodSource, namespace: str, resource: str,
           wait_seconds: float) -> tuple[Follower, Obj]:
    """The follower for kubectl's TYPE/NAME argument and the pod (with status) it starts on."""
    kind, name = split_argument(resource)
    if kind == "Pod":
        pod = store.require("Pod", namespace, name)
        return PodFollower(store, pods, namespace, name), pods.with_status([pod])[0]
    owner = store.require(kind, namespace if kind in meta.NAMESPACED else "", name)
    try:
        selector_for(owner)
    except SelectorError as exc:
        raise PodctlError(f"{failure_prefix(ATTACH, kind)}: {exc}") from exc
    replicas = ReplicaFollower(store, pods, kind, namespace, name)
    return replicas, replicas.wait_for_pod(wait_seconds)


def service_ports_to_target_ports(specs: Sequence[str], service: Obj, pod: Obj) -> list[str]:
    """kubectl's translation for svc/NAME: each remote port names a Service port (by number
    or name) and becomes that port's targetPort on the chosen pod; the local port stays
    what was asked (the Service port when none was)."""
    out = []
    for spec in specs:
        local, _, remote = spec.rpartition(":") if ":" in spec else ("", "", spec)
        ports = service["spec"].get("ports") or []
        match = next((p for p in ports if str(p.get("port")) == remote
                      or (p.get("name") and p["name"] == remote)), None)
        if match is None:
            raise PodctlError(f"Service {meta.name_of(service)} does not have a service port "
                              f"{remote}")
        target = match.get("targetPort") or match["port"]
        if isinstance(target, str) and not target.isdigit():
            target = next((port["containerPort"] for ctr in pod["spec"].get("containers", [])
                           for port in ctr.get("ports") or [] if port.get("name") == target),
                          None)
            if target is None:
                raise PodctlError(f"Pod '{meta.name_of(pod)}' does not have a named port "
                                  f"'{match['targetPort']}'")
        keep = local if ":" in spec else str(match["port"])
        out.append(f"{keep}:{target}")
    return out


def endpoint_of(pod: Obj) -> Endpoint | None:
    """The endpoint of a pod with status, if it is running with an IP."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or not status.get("podIP"):
        return None
    return Endpoint(meta.name_of(pod), meta.uid_of(pod), str(status["podIP"]))


