"""`wait`: block until objects meet a condition, are deleted, or a JSONPath has a value."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import NotFound, PodctlError
from podctl.ops.get import GetRequest, fetch
from podctl.printers.jsonpath import render
from podctl.store import Store

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Condition:
    """What --for asks: condition=Type[=value], delete, or jsonpath={...}=value."""

    text: str
    test: Callable[[Obj | None], bool]


def parse_for(spec: str) -> Condition:
    """kubectl's --for forms."""
    if spec == "delete":
        return Condition(spec, lambda obj: obj is None)
    if spec.startswith("condition="):
        name, _, wanted = spec[len("condition="):].partition("=")
        value = wanted or "True"
        return Condition(spec, lambda obj: obj is not None and any(
            c.get("type", "").lower() == name.lower() and str(c.get("status")) == value
            for c in (obj.get("status") or {}).get("conditions") or []))
    if spec.startswith("jsonpath="):
        expression, _, wanted = spec[len("jsonpath="):].rpartition("=")
        if not expression:
            raise PodctlError("jsonpath wait format must be "
                              "--for=jsonpath='{.status.readyReplicas}'=3")
        expression = expression.strip("'\"")
        return Condition(spec, lambda obj: obj is not None
                         and render(expression, obj) == wanted.strip("'\""))
    raise PodctlError("unrecognized condition: " + repr(spec))


def wait_for(store: Store, request: GetRequest, condition: Condition,
             timeout: float) -> Iterator[str]:
    """Yield `kind/name condition met` for each object as it meets the condition."""
    try:
        targets = fetch(store, request)
    except NotFound as exc:
        if condition.text != "delete":
            raise
        yield f"{meta.singular(request.targets[0][0])}/{exc.name} condition met"
        return
    if not targets:
        raise PodctlError("no matching resources found")
    pending = {(o["kind"], meta.namespace_of(o), meta.name_of(o)) for o in targets}
    uids = {meta.uid_of(t) for t in targets}
    # Re-read by kind only: a named object that vanished must not be an error.
    everything = GetRequest([(kind, []) for kind, _ in request.targets], request.namespace,
                            request.selector)
    deadline = time.monotonic() + timeout
    while True:
        current = {(o["kind"], meta.namespace_of(o), meta.name_of(o)): o
                   for o in fetch(store, everything)}
        for key in sorted(pending):
            obj = current.get(key)
            if obj is not None and meta.uid_of(obj) not in uids:
                obj = None  # a new object of the same name is not the one we waited for
            if condition.test(obj):
                pending.discard(key)
                yield f"{meta.singular(key[0])}/{key[2]} condition met"
        if not pending:
            return
        if time.monotonic() >= deadline:
            kind, _, name = sorted(pending)[0]
            raise PodctlError(  # kubectl names the resource without its group here
                f"timed out waiting for the condition on {meta.RESOURCES[kind].name}/{name}")
        time.sleep(POLL_SECONDS)
