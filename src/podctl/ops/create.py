"""Create stored objects; pods are scheduled and started at once (one sync)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.errors import AlreadyExists, DockerUnavailable, NotFound
from podctl.kubelet.sync import sync_pod
from podctl.ops.deferred import DockerWork
from podctl.runtime.images import ProgressFn
from podctl.store import Store


def create_object(store: Store, obj: Obj, docker: DockerWork, source: str | None = None,
                  progress: ProgressFn | None = None) -> str:
    """Store a validated, defaulted object and start it; returns kubectl's result line.

    With the Docker engine down the object is still stored, and `docker` says what waits.
    """
    context = f'error when creating "{source}": ' if source else ""
    try:
        stored = _store_pod(store, obj, docker) if obj["kind"] == "Pod" else store.create(obj)
    except (AlreadyExists, NotFound) as exc:
        raise type(exc)(exc.resource, exc.name, context) from exc
    namespace, name = meta.namespace_of(stored), meta.name_of(stored)
    if stored["kind"] == "Pod" and stored["spec"].get("nodeName"):
        docker.run(lambda: sync_pod(store, namespace, name, progress))
    elif stored["kind"] == "ReplicationController":
        from podctl.ops.replication import reconcile_if_no_controller

        docker.run(lambda: reconcile_if_no_controller(store, namespace, name))
    return f"{meta.singular(stored['kind'])}/{name} created"


def _store_pod(store: Store, pod: Obj, docker: DockerWork) -> Obj:
    try:
        return store_and_bind(store, pod)
    except DockerUnavailable as exc:
        # The node registers itself from the engine's first answer: till then the pod waits
        # unscheduled, and a controller binds it.
        docker.note_unreachable(exc)
        return store.create({**pod, "status": {"phase": "Pending"}})
