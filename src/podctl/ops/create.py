"""Create stored objects; pods are scheduled and started at once (one sync)."""

from __future__ import annotations

from ipaddress import IPv4Network

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.services import create_service
from podctl.errors import AlreadyExists, DockerUnavailable, NotFound
from podctl.home import home_id
from podctl.kubelet.sync import sync_pod
from podctl.ops.deferred import DockerWork
from podctl.runtime.images import ProgressFn
from podctl.runtime.servicenet import reserve_service_range
from podctl.store import Store


def create_object(store: Store, obj: Obj, docker: DockerWork, source: str | None = None,
                  progress: ProgressFn | None = None) -> str:
    """Store a validated, defaulted object and start it; returns kubectl's result line.

    With the Docker engine down the object is still stored, and `docker` says what waits.
    """
    context = f'error when creating "{source}": ' if source else ""
    try:
        if obj["kind"] == "Pod":
            stored = _store_pod(store, obj, docker)
        elif obj["kind"] == "Service":
            stored = create_service(store, obj, home_service_range)
        else:
            stored = store.create(obj)
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


def home_service_range() -> IPv4Network:
    """This home's /24 of service IPs, reserved on the engine the first time."""
    return reserve_service_range(home_id())
