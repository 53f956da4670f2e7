"""`podctl run-controller`: the kubelet's and the controller-manager's loops for every pod
and replication controller in $PODCTL_HOME, driven by Docker events and store changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import bind_pending
from podctl.controllers.rc_sync import sync_rc
from podctl.home import podctl_home
from podctl.kubelet.prober import Prober
from podctl.kubelet.sync import sync_pod, terminate_pod
from podctl.notify import ChangeListener
from podctl.runtime import containers as ctr
from podctl.runtime import inventory, naming
from podctl.store import Store, open_store
from podctl.workqueue import WorkQueue

log = logging.getLogger("podctl.controller")

WATCHED_KINDS = ("Pod", "ReplicationController", "Node")
DOCKER_ACTIONS = {"start", "die", "oom", "destroy", "stop", "kill"}


class Controller:
    """Wires event sources to a work queue and the queue to sync handlers."""

    def __init__(self, store: Store, workers: int = 4, resync_seconds: float = 30.0) -> None:
        self.store = store
        self.queue = WorkQueue()
        self.workers = workers
        self.resync_seconds = resync_seconds
        self.prober = Prober(store, self._kill_for_probe, on_change=self._pod_status_changed)
        self.uids: dict[tuple[str, str], str] = {}
        self._events_stream: Any = None
        # Graceful stops take up to a grace period: they get their own threads so that
        # sync workers never wait on them.
        self.deleter = ThreadPoolExecutor(max_workers=8, thread_name_prefix="delete")
        self.deleting: set[str] = set()
        self._deleting_lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        threads = [threading.Thread(target=self._watch_store, args=(stop,), name="store"),
                   threading.Thread(target=self._watch_docker, args=(stop,), name="docker"),
                   threading.Thread(target=self.prober.run, args=(stop,), name="prober")]
        threads += [threading.Thread(target=self._work, args=(stop,), name=f"worker-{i}")
                    for i in range(self.workers)]
        for thread in threads:
            thread.daemon = True
            thread.start()
        stop.wait()
        log.info("stopping; pods keep running")
        self.queue.close()
        if self._events_stream is not None:
            self._events_stream.close()
        for thread in threads:
            thread.join(timeout=2)
        self.deleter.shutdown(wait=False, cancel_futures=True)

    # -- event sources -------------------------------------------------------------------

    def _watch_store(self, stop: threading.Event) -> None:
        """Enqueue objects whose resourceVersion changed; everything at each resync."""
        listener = ChangeListener(self.store.path.parent)
        known: dict[tuple[str, str, str], int] = {}
        next_resync = 0.0
        try:
            while not stop.is_set():
                full = time.monotonic() >= next_resync
                if full:
                    next_resync = time.monotonic() + self.resync_seconds
                current = self.store.versions(WATCHED_KINDS)
                changed = [key for key, rv in current.items() if full or known.get(key) != rv]
                changed += list(known.keys() - current.keys())
                for key in changed:
                    self.queue.add(key)
                for namespace in {ns for kind, ns, _ in changed if kind == "Pod"}:
                    self._wake_rcs(namespace, current)
                if any(kind in ("Node", "Pod") for kind, _, _ in changed):
                    self._wake_pending()  # labels changed or host ports were freed
                known = current
                listener.wait(timeout=1.0)
        finally:
            listener.close()

    def _watch_docker(self, stop: threading.Event) -> None:
        """Docker's event stream: a container of a pod started, died or vanished."""
        from podctl.runtime.client import docker_api

        while not stop.is_set():
            try:
                stream = docker_api().events(
                    decode=True,
                    filters={"type": "container", "label": f"{naming.MANAGED}=true"},
                )
                self._events_stream = stream
                for event in stream:
                    if (event.get("Action") or event.get("status")) not in DOCKER_ACTIONS:
                        continue
                    attrs = (event.get("Actor") or {}).get("Attributes") or {}
                    ns, name = attrs.get(naming.POD_NAMESPACE), attrs.get(naming.POD_NAME)
                    if ns and name:
                        self.queue.add(("Pod", ns, name))
                        self._wake_rcs(ns)
            except Exception as exc:
                if stop.is_set():
                    return
                log.warning("docker event stream broke (%s); reconnecting", exc)
                stop.wait(1.0)

    # -- workers -------------------------------------------------------------------------

    def _work(self, stop: threading.Event) -> None:
        while not stop.is_set():
            key = self.queue.get(timeout=1.0)
            if key is None:
                continue
            try:
                self.handle(key)
            except Exception:
                log.exception("sync of %s failed; retrying in 5s", key)
                self.queue.add(key, delay=5.0)
            finally:
                self.queue.done(key)

    def handle(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        kind, namespace, name = (str(part) for part in key)
        log.debug("sync %s %s/%s", kind, namespace, name)
        if kind == "Pod":
            self.sync_pod(namespace, name)
        elif kind == "ReplicationController":
            self.sync_rc(namespace, name)

    def _wake_pending(self) -> None:
        """A node changed (labels): pods waiting for one are scheduled again."""
        for pod in self.store.list("Pod"):
            if not pod["spec"].get("nodeName"):
                self.queue.add(("Pod", meta.namespace_of(pod), meta.name_of(pod)))

    def sync_pod(self, namespace: str, name: str) -> None:
        pod = self.store.get("Pod", namespace, name)
        if pod is None:
            uid = self.uids.pop((namespace, name), None)
            if uid:
                self.prober.forget_pod(uid)
            return
        self.uids[(namespace, name)] = meta.uid_of(pod)
        if pod["metadata"].get("deletionTimestamp"):
            self._finish_deletion(pod)
            return
        if not pod["spec"].get("nodeName") and not bind_pending(self.store, pod):
            return
        result = sync_pod(self.store, namespace, name)
        log.debug("synced pod %s/%s: %s", namespace, name, result)
        if result.retry_in is not None:
            self.queue.add(("Pod", namespace, name), delay=result.retry_in)
        records = result.records
        if records is None:  # the sync changed containers: see them as they are now
            records = inventory.list_containers(meta.uid_of(pod))
            inventory.inspect(r for r in records if r.running and not r.is_sandbox)
        self.prober.update_pod(pod, records)

    def sync_rc(self, namespace: str, name: str) -> None:
        result = sync_rc(self.store, namespace, name)
        for pod in result.created + result.deleting:
            self.queue.add(("Pod", namespace, meta.name_of(pod)))

    def _wake_rcs(self, namespace: str,
                  versions: dict[tuple[str, str, str], int] | None = None) -> None:
        """A pod changed: the replication controllers of its namespace may care."""
        if versions is None:
            versions = self.store.versions(("ReplicationController",))
        for kind, ns, name in versions:
            if kind == "ReplicationController" and ns == namespace:
                self.queue.add((kind, ns, name))

    def _pod_status_changed(self, pod: Obj) -> None:
        self._wake_rcs(meta.namespace_of(pod))

    def _finish_deletion(self, pod: Obj) -> None:
        """Stop and remove a pod marked deleting (by an RC, or a `delete` that died)."""
        uid = meta.uid_of(pod)
        with self._deleting_lock:
            if uid in self.deleting:
                return
            self.deleting.add(uid)

        def finish() -> None:
            try:
                grace = int(pod["metadata"].get("deletionGracePeriodSeconds", 30))
                terminate_pod(self.store, pod, grace)
                self.store.delete("Pod", meta.namespace_of(pod), meta.name_of(pod), uid)
                log.info("pod %s/%s deleted", meta.namespace_of(pod), meta.name_of(pod))
            except Exception:
                log.exception("deleting pod %s/%s failed", meta.namespace_of(pod),
                              meta.name_of(pod))
            finally:
                with self._deleting_lock:
                    self.deleting.discard(uid)

        self.deleter.submit(finish)

    def _kill_for_probe(self, pod: Obj, container: str, container_id: str, grace: int) -> None:
        log.info("killing %s/%s container %s (failed probe, grace %ss)",
                 meta.namespace_of(pod), meta.name_of(pod), container, grace)
        ctr.stop(container_id, grace)
        self.queue.add(("Pod", meta.namespace_of(pod), meta.name_of(pod)))


def run(stop: threading.Event, resync_seconds: float = 30.0) -> None:
    """Hold the leader lock (waiting as standby while another controller has it), then run."""
    from podctl.leader import LeaderLock, holder_pid

    home = podctl_home()
    lock = LeaderLock(home)
    announced = False
    while not lock.try_acquire():
        if not announced:
            log.info("another controller (pid %s) holds the lock in %s; waiting as standby",
                     holder_pid(home), home)
            announced = True
        if stop.wait(0.5):
            return
    log.info("controller active (home %s) at %s", home, datetime.now(UTC).isoformat())
    try:
        Controller(open_store(home), resync_seconds=resync_seconds).run(stop)
    finally:
        lock.release()
