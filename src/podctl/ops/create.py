"""Create stored objects; pods are scheduled and started at once (one sync)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.endpoints import sync_endpoints
from podctl.controllers.services import create_service
from podctl.errors import AlreadyExists, DockerUnavailable, NotFound
from podctl.home import podctl_home
from podctl.kubelet.sync import sync_pod
from podctl.leader import controller_running
from podctl.ops.deferred import DockerWork
from podctl.ops.session import home_service_range
from podctl.runtime.configenv import references
from podctl.runtime.images import ProgressFn
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
    elif stored["kind"] in ("ReplicationController", "ReplicaSet", "Deployment"):
        from podctl.ops.replication import reconcile_if_no_controller

        docker.run(lambda: reconcile_if_no_controller(store, namespace, name, stored["kind"]))
    elif stored["kind"] == "DaemonSet":
        from podctl.ops.daemonset import reconcile_if_no_controller as reconcile_ds

        docker.run(lambda: reconcile_ds(store, namespace, name))
    if stored["kind"] in ("Pod", "ReplicationController", "ReplicaSet", "Deployment", "Service"):
        docker.run(lambda: endpoints_if_no_controller(store, namespace))
    if stored["kind"] in ("ConfigMap", "Secret"):
        docker.run(lambda: users_if_no_controller(store, stored["kind"], namespace, name))
    return f"{meta.singular(stored['kind'])}/{name} created"


def users_if_no_controller(store: Store, kind: str, namespace: str, name: str) -> None:
    """With no controller running, sync here, once, the pods that use a ConfigMap or Secret
    just written: one waiting for it starts, mounted files follow it."""
    if controller_running(podctl_home()):
        return
    for pod in store.list("Pod", namespace):
        if (kind, name) in references(pod) and pod["spec"].get("nodeName"):
            sync_pod(store, namespace, meta.name_of(pod))


def endpoints_if_no_controller(store: Store, namespace: str) -> None:
    """With no controller running, bring the namespace's Endpoints up to date once, here,
    as the endpoints controller would after this write."""
    if controller_running(podctl_home()):
        return
    for service in store.list("Service", namespace):
        sync_endpoints(store, namespace, meta.name_of(service))


def _store_pod(store: Store, pod: Obj, docker: DockerWork) -> Obj:
    try:
        return store_and_bind(store, pod)
    except DockerUnavailable as exc:
        # The node registers itself from the engine's first answer: till then the pod waits
        # unscheduled, and a controller binds it.
        docker.note_unreachable(exc)
        return store.create({**pod, "status": {"phase": "Pending"}})
