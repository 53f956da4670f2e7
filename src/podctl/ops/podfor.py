"""The pod a `logs`, `exec`, `attach` or `port-forward` argument means — POD, pod/NAME or
TYPE/NAME of any kind with a pod selector — found as kubectl finds it: the one resolver of
the four commands."""

from __future__ import annotations

import time
from dataclasses import dataclass

from podctl.api import meta
from podctl.api.labels import Selector
from podctl.api.meta import Obj
from podctl.api.podpick import (
    LOGS,
    SelectorError,
    failure_prefix,
    selector_for,
    sort_pods,
    split_argument,
)
from podctl.errors import NotFound, PodctlError
from podctl.ops.views import pods_with_status
from podctl.store import Store

POLL_SECONDS = 0.5
WAIT_TIMEOUT = "timed out waiting for the condition"


@dataclass(frozen=True)
class Picked:
    pod: Obj  # with its status
    count: int  # the pods the argument could have meant (1 for a pod named directly)


def find_object(store: Store, namespace: str, arg: str, purpose: str) -> Obj:
    """The object the argument names; `logs` words a missing one as kubectl's logs does."""
    kind, name = split_argument(arg)
    scope = namespace if kind in meta.NAMESPACED else ""
    try:
        return store.require(kind, scope, name)
    except NotFound as exc:
        if purpose != LOGS:
            raise
        where = f' in namespace "{namespace}"' if scope else ""
        raise PodctlError(f"error from server (NotFound): {exc}{where}") from exc


def pick(store: Store, namespace: str, arg: str, purpose: str, timeout: float) -> Picked:
    """The pod kubectl would use: the pod itself, or the first in kubectl's order of those
    the object selects, waiting up to `timeout` seconds for one to appear."""
    obj = find_object(store, namespace, arg, purpose)
    if obj["kind"] == "Pod":
        return Picked(pods_with_status(store, [obj])[0], 1)
    try:
        selector = selector_for(obj)
    except SelectorError as exc:
        raise PodctlError(f"{failure_prefix(purpose, obj['kind'])}: {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        pods = selected(store, meta.namespace_of(obj), selector)
        if pods:
            return Picked(sort_pods(pods_with_status(store, pods), purpose)[0], len(pods))
        if time.monotonic() >= deadline:
            raise PodctlError(WAIT_TIMEOUT)
        time.sleep(POLL_SECONDS)


def selected(store: Store, namespace: str, selector: Selector) -> list[Obj]:
    """The pods of the namespace the selector matches (terminating ones too, as a list
    from the API server has them)."""
    return [p for p in store.list("Pod", namespace) if selector.matches(meta.labels_of(p))]
