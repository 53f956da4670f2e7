"""`port-forward`: what to forward, with pods read the way `get` reads them."""

from __future__ import annotations

from collections.abc import Sequence

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.endpoints import selected
from podctl.controllers.owners import owned_pods
from podctl.kubelet.observed import pods_with_status
from podctl.ops.session import open_store
from podctl.portforward.plan import Plan, plan
from podctl.store import Store


class _StorePods:
    """The forward's PodSource: live status from the runtime, replicas by owner reference."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def with_status(self, pods: list[Obj]) -> list[Obj]:
        return pods_with_status(self._store, pods)

    def owned_by(self, rc: Obj) -> list[Obj]:
        return owned_pods(self._store, rc)

    def selected_by(self, service: Obj) -> list[Obj]:
        return selected(service, self._store.list("Pod", meta.namespace_of(service)))


def plan_forward(namespace: str, resource: str, port_args: Sequence[str],
                 address_args: Sequence[str], wait_seconds: float) -> Plan:
    store = open_store()
    return plan(store, _StorePods(store), namespace, resource, port_args, address_args,
                wait_seconds)
