"""Deleting pods (graceful stop, then every container, the sandbox and volumes) and more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import (
    CASCADES,
    advance_namespace_deletion,
    check_deletable,
    delete_at_once,
    finish_pods,
    mark_namespace_deleting,
    mark_pod_deleting,
)
from podctl.errors import NotFound, PodctlError
from podctl.ops.session import open_store
from podctl.ops.views import user_selector
from podctl.store import Store


def parse_cascade(value: str) -> tuple[str, str | None]:
    """kubectl's --cascade values, with its deprecation warnings for booleans."""
    if value in CASCADES:
        return value, None
    if value == "true":
        return "background", ("--cascade=true is deprecated (boolean value) and can be "
                              "replaced with --cascade=background.")
    if value == "false":
        return "orphan", ("--cascade=false is deprecated (boolean value) and can be "
                          "replaced with --cascade=orphan.")
    raise PodctlError(f'invalid cascade value ({value}). Must be "background", '
                      '"foreground", or "orphan".')


def effective_grace(grace_period: int, now: bool, force: bool) -> int:
    """kubectl's rules: --now is 1s, 0 without --force means 1, --force alone means 0.

    -1 means the pod's own terminationGracePeriodSeconds.
    """
    if now:
        return 1
    if force and grace_period < 0:
        return 0
    if grace_period == 0 and not force:
        return 1
    return grace_period


def delete_pods(store: Store, pods: list[Obj], grace_period: int = -1,
                force: bool = False) -> Iterator[str]:
    """Delete pods in parallel; yields kubectl's line for each, in the order given.

    Each pod is marked first, so a controller finishes it if this command dies."""
    grace = grace_period if grace_period >= 0 else None
    marked = [m for m in (mark_pod_deleting(store, pod, grace) for pod in pods) if m]
    verb = "force deleted" if force and grace_period <= 0 else "deleted"
    for pod in finish_pods(store, marked):
        yield f'pod "{meta.name_of(pod)}" {verb}'


def delete_namespace(store: Store, name: str, grace_period: int = -1) -> str:
    """Delete a namespace with everything in it: Terminating first (no new content), then
    its contents, then itself; a controller finishes it if this command dies half-way."""
    check_deletable(name)
    store.require("Namespace", "", name)
    grace = grace_period if grace_period >= 0 else None
    if mark_namespace_deleting(store, name) is None:
        raise NotFound("namespaces", name)
    while store.get("Namespace", "", name) is not None:
        advance_namespace_deletion(store, name, grace)
        # Finishing is idempotent: pods a controller is finishing too are simply waited for.
        list(finish_pods(store, [p for p in store.list("Pod", name)
                                 if p["metadata"].get("deletionTimestamp")]))
    return f'namespace "{name}" deleted'


@dataclass
class DeleteRequest:
    targets: list[tuple[str, list[str]]] | None  # (kind, names); None when from files
    filenames: list[str] = field(default_factory=list)
    namespace: str | None = None
    selector: str | None = None
    grace: int = -1
    force: bool = False
    cascade: str = "background"


Outcome = tuple[str, PodctlError | None]


def delete_objects(request: DeleteRequest) -> Iterator[Outcome]:
    """Delete what the request names; yields a result line or an error per object."""
    store = open_store()
    namespace = request.namespace or "default"
    wanted: list[tuple[str, str, str]] = []  # (kind, namespace, name)
    if request.targets is None:
        wanted = _from_files(request.filenames, request.namespace)
    else:
        selector = user_selector(request.selector)
        for kind, names in request.targets:
            if names:
                wanted += [(kind, namespace, n) for n in names]
            else:
                wanted += [(kind, namespace, meta.name_of(o)) for o in store.list(kind, namespace)
                           if selector is None or selector.matches(meta.labels_of(o))]
        if not wanted and request.selector is not None:
            return
    yield from _delete(store, wanted, request)


def _from_files(filenames: list[str], namespace: str | None) -> list[tuple[str, str, str]]:
    from podctl.manifest import read_manifests

    wanted = []
    for result in read_manifests(filenames):
        for doc in result.documents:
            obj = doc.obj
            kind = str(obj.get("kind", ""))
            md = obj.get("metadata") or {}
            ns = md.get("namespace") or namespace or "default"
            wanted.append((kind, ns, str(md.get("name", ""))))
    return wanted


def _delete(store: Store, wanted: list[tuple[str, str, str]],
            request: DeleteRequest) -> Iterator[Outcome]:
    pods: list[Obj] = []
    for kind, namespace, name in wanted:
        obj = store.get(kind, namespace, name)
        if obj is None:
            yield "", NotFound(meta.plural(kind) if kind in meta.RESOURCES else kind, name)
        elif kind == "Pod":
            pods.append(obj)
        elif kind == "Namespace":
            try:
                yield delete_namespace(store, name, request.grace), None
            except PodctlError as exc:
                yield "", exc
        elif kind in ("ReplicationController", "ReplicaSet", "DaemonSet", "Job"):
            from podctl.ops.replication import delete_rc

            yield delete_rc(store, kind, namespace, name, request.cascade, request.grace), None
        elif kind == "Deployment":
            from podctl.ops.deployment import delete_deployment

            yield delete_deployment(store, namespace, name, request.cascade,
                                    request.grace), None
        else:
            delete_at_once(store, kind, namespace, name)
            yield f'{meta.singular(kind)} "{name}" deleted', None
    for line in delete_pods(store, pods, request.grace, request.force):
        yield line, None
