"""Create stored objects; pods are scheduled and started at once (one sync)."""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import bind_created
from podctl.errors import DockerUnavailable, PodctlError
from podctl.kubelet.sync import sync_pod
from podctl.ops.deferred import DockerWork
from podctl.ops.followup import after_write, follow_up, services_of
from podctl.runtime.images import ProgressFn
from podctl.store import Store

# Pods whose containers start at once in a `create -f` of many: Docker starts several pods
# in parallel several times faster than one after another; more only queue in the engine.
START_WORKERS = 8
STRICT = registry.STRICT
ENDPOINTS_KINDS = ("Pod", "ReplicationController", "ReplicaSet", "Deployment", "Service")


def create_object(store: Store, obj: Obj, docker: DockerWork, source: str | None = None,
                  progress: ProgressFn | None = None, namespace: str | None = None,
                  validation: str = STRICT) -> str:
    """Store an object through the registry and start it; returns kubectl's result line.

    With the Docker engine down the object is still stored, and `docker` says what waits.
    """
    stored = _store_object(store, obj, docker, source, namespace, validation)
    _docker_half(store, stored, docker, progress)
    if stored["kind"] in ENDPOINTS_KINDS:
        ns = meta.namespace_of(stored)
        docker.run(lambda: endpoints_if_no_controller(store, ns))
    return _created(stored)


Outcome = tuple[Obj, str, PodctlError | None]  # the document, its line or its error


def create_objects(store: Store, documents: Iterable[tuple[str | None, Obj]],
                   docker: DockerWork, progress: ProgressFn | None = None,
                   namespace: str | None = None, validation: str = STRICT
                   ) -> Iterator[Outcome]:
    """create_object for many documents (source file, object), with each document's line or
    error yielded in the given order, as one-by-one creation prints them.

    Objects are stored one after another, in order, as kubectl creates them; the pods'
    containers start meanwhile on a bounded pool. Any other object's Docker work waits for
    the pods before it, so it sees what a one-by-one create would; Endpoints are brought
    up to date once per namespace, at the end."""
    outcomes: queue.SimpleQueue[tuple[Obj, Future[str]] | None] = queue.SimpleQueue()
    abandoned = threading.Event()  # the caller stopped (a crash): create nothing more
    with ThreadPoolExecutor(max_workers=START_WORKERS, thread_name_prefix="start") as pool:
        threading.Thread(target=_create_in_order, name="create", daemon=True,
                         args=(store, documents, docker, progress, pool, outcomes,
                               abandoned, (namespace, validation))).start()
        try:
            while (item := outcomes.get()) is not None:
                obj, line = item
                try:
                    yield obj, line.result(), None
                except PodctlError as exc:
                    yield obj, "", exc
        finally:
            abandoned.set()


def _create_in_order(store: Store, documents: Iterable[tuple[str | None, Obj]],
                     docker: DockerWork, progress: ProgressFn | None, pool: ThreadPoolExecutor,
                     outcomes: queue.SimpleQueue[tuple[Obj, Future[str]] | None],
                     abandoned: threading.Event, where: tuple[str | None, str]) -> None:
    starting: list[Future[str]] = []
    namespaces: dict[str, None] = {}  # whose Endpoints to sync at the end, in order
    try:
        for source, obj in documents:
            if abandoned.is_set():
                return
            line: Future[str] = Future()
            outcomes.put((obj, line))
            try:
                stored = _store_object(store, obj, docker, source, *where)
            except BaseException as exc:
                line.set_exception(exc)
                continue
            if stored["kind"] in ENDPOINTS_KINDS:
                namespaces[meta.namespace_of(stored)] = None
            if stored["kind"] == "Pod":
                starting.append(pool.submit(_start_pod, store, stored, docker, progress))
                _chain(starting[-1], line)
                continue
            wait(starting)
            starting.clear()
            try:
                _docker_half(store, stored, docker, progress)
                line.set_result(_created(stored))
            except BaseException as exc:
                line.set_exception(exc)
        wait(starting)
        for namespace in namespaces:
            docker.run(functools.partial(endpoints_if_no_controller, store, namespace))
    except BaseException as exc:
        failed: Future[str] = Future()
        failed.set_exception(exc)
        outcomes.put(({}, failed))
    finally:
        outcomes.put(None)


def _chain(source: Future[str], target: Future[str]) -> None:
    def copy(done: Future[str]) -> None:
        failure = done.exception()
        if failure is not None:
            target.set_exception(failure)
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)


def _start_pod(store: Store, pod: Obj, docker: DockerWork, progress: ProgressFn | None) -> str:
    _docker_half(store, pod, docker, progress)
    return _created(pod)


def _created(stored: Obj) -> str:
    return f"{meta.singular(meta.key_of(stored))}/{meta.name_of(stored)} created"


def _store_object(store: Store, obj: Obj, docker: DockerWork, source: str | None,
                  namespace: str | None = None, validation: str = STRICT) -> Obj:
    """The object through the registry (validated, defaulted, admitted), a pod then bound
    to the node when it fits; with the engine down it waits unbound, and `docker` says so."""
    context = f'error when creating "{source}": ' if source else ""
    stored = registry.create(store, obj, namespace, validation=validation, context=context)
    if stored["kind"] == "Pod":
        try:
            return bind_created(store, stored)
        except DockerUnavailable as exc:
            docker.note_unreachable(exc)
    return stored


def start_stored(store: Store, stored: Obj, docker: DockerWork) -> None:
    """What a write by another door (a server-side apply) leaves to start: as a create's."""
    _docker_half(store, stored, docker, None)


def _docker_half(store: Store, stored: Obj, docker: DockerWork,
                 progress: ProgressFn | None) -> None:
    """Start what the stored object asks for, when no controller is there to do it."""
    namespace, name = meta.namespace_of(stored), meta.name_of(stored)
    if stored["kind"] == "Pod" and stored["spec"].get("nodeName"):
        docker.run(lambda: sync_pod(store, namespace, name, progress))
    after_write(store, stored, docker)


def endpoints_if_no_controller(store: Store, namespace: str) -> None:
    """With no controller running, bring the namespace's Endpoints and EndpointSlices up to
    date once, here, as the endpoint controllers would after this write."""
    follow_up(store, *services_of(store, namespace))
