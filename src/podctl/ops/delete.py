"""Deleting pods (graceful stop, then every container, the sandbox and volumes) and more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import CASCADES, advance_namespace_deletion, delete_object
from podctl.errors import NotFound, PodctlError
from podctl.kubelet.teardown import finish_pods, left_to_its_node
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
                force: bool = False) -> Iterator[Outcome]:
    """Delete pods in parallel; yields kubectl's line (or the error) for each, in the order
    given. Each pod is marked first, so a controller finishes it if this command dies."""
    grace = grace_period if grace_period >= 0 else None
    verb = "force deleted" if force and grace_period <= 0 else "deleted"
    marked: list[Obj] = []
    gone: list[str] = []
    for pod in pods:
        try:
            deletion = delete_object(store, "Pod", meta.namespace_of(pod), meta.name_of(pod),
                                     grace=grace, uid=meta.uid_of(pod))
        except NotFound:
            continue  # gone meanwhile, as kubectl finds it
        except PodctlError as exc:
            yield "", exc
            continue
        if deletion.marked is not None:
            marked.append(deletion.marked)
        else:
            # Marked, and finished by the controller before this command could look again.
            gone.append(meta.name_of(pod))
    for name in gone:
        yield f'pod "{name}" {verb}', None
    waiting = [pod for pod in marked if left_to_its_node(store, pod)]
    for pod in waiting:
        yield f'pod "{meta.name_of(pod)}" {verb}', None  # Terminating until its node is back
    for pod in finish_pods(store, [p for p in marked if p not in waiting]):
        yield f'pod "{meta.name_of(pod)}" {verb}', None


def delete_namespace(store: Store, name: str, grace_period: int = -1) -> str:
    """Delete a namespace with everything in it: Terminating first (no new content), then
    its contents, then itself; a controller finishes it if this command dies half-way."""
    grace = grace_period if grace_period >= 0 else None
    delete_object(store, "Namespace", "", name, grace=grace)
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
    from podctl.ops.session import load_custom_kinds

    wanted = []
    for result in read_manifests(filenames):
        load_custom_kinds(doc.obj for doc in result.documents)
        for doc in result.documents:
            obj = doc.obj
            kind = meta.key_of(obj) if isinstance(obj, dict) else ""
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
        else:
            try:
                yield _delete_one(store, kind, namespace, name, request), None
            except PodctlError as exc:
                yield "", exc
    yield from delete_pods(store, pods, request.grace, request.force)


def _delete_one(store: Store, kind: str, namespace: str, name: str,
                request: DeleteRequest) -> str:
    """One object through the one delete, then finished here, as kubectl waits for it."""
    if kind == "Namespace":
        return delete_namespace(store, name, request.grace)
    deletion = delete_object(store, kind, namespace, name,
                             grace=request.grace if request.grace >= 0 else None,
                             propagation=request.cascade.capitalize())
    if kind == "Deployment" and deletion.marked is not None:
        from podctl.ops.deployment import finish_deployment_deletion

        finish_deployment_deletion(store, deletion.marked, request.grace)
    elif meta.RESOURCES[kind].owns_pods:
        from podctl.ops.replication import finish_owner_deletion

        finish_owner_deletion(store, deletion, request.grace)
    elif deletion.marked is not None and kind in ("PersistentVolumeClaim", "PersistentVolume"):
        from podctl.ops.followup import follow_up

        # Its protection finalizer goes here when no controller runs (unless in use).
        follow_up(store, (kind, namespace, name))
    if kind == "CustomResourceDefinition" or meta.RESOURCES[kind].custom:
        from podctl.ops.followup import follow_up

        # Its objects, or its dependents, go here when no controller runs.
        follow_up(store, (kind, namespace, name), ("GarbageCollector", "", ""))
    if kind in meta.NAMESPACED and kind != "ResourceQuota":
        from podctl.ops.followup import follow_up, quotas_of

        follow_up(store, *quotas_of(store, namespace))
    return f'{meta.singular(kind)} "{name}" deleted'
