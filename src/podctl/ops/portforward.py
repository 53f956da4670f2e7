"""`port-forward`: what to forward, with pods read the way `get` reads them."""

from __future__ import annotations

from collections.abc import Sequence

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.podpick import selector_for
from podctl.ops.podfor import selected
from podctl.ops.session import open_store
from podctl.ops.views import pods_with_status
from podctl.portforward.plan import Plan, plan
from podctl.store import Store


class _StorePods:
    """The forward's PodSource: pods' status as stored, the pods an object selects
    found as logs, exec and attach find them."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def with_status(self, pods: list[Obj]) -> list[Obj]:
        return pods_with_status(self._store, pods)

    def selected_by(self, owner: Obj) -> list[Obj]:
        return selected(self._store, meta.namespace_of(owner), selector_for(owner))


def plan_forward(namespace: str, resource: str, port_args: Sequence[str],
                 address_args: Sequence[str], wait_seconds: float) -> Plan:
    store = open_store()
    return plan(store, _StorePods(store), namespace, resource, port_args, address_args,
                wait_seconds)
