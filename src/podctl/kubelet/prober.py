"""The prober manager: one worker per probe of each running container, run on a shared
thread pool so a slow probe never holds up another; results go to the store, and a
changed verdict to `on_change` (the status manager writes the pod's readiness).

The workers wait in a heap ordered by when each is due: one scheduling wake-up hands out
every probe due within a few milliseconds, and no wake-up scans every worker."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.kubelet.common import emit
from podctl.kubelet.node import node_facts
from podctl.kubelet.probes import FAILURE, SUCCESS, UNKNOWN, WARNING, Outcome, run_probe
from podctl.kubelet.status import current_sandbox, latest_by_container
from podctl.node import kubelet_engine
from podctl.runtime import engines
from podctl.runtime.records import ContainerRecord
from podctl.store import Store

log = logging.getLogger("podctl.prober")

KINDS = (("startup", "startupProbe"), ("liveness", "livenessProbe"),
         ("readiness", "readinessProbe"))
# The kubelet never gives a container less than this between SIGTERM and SIGKILL.
MINIMUM_GRACE_SECONDS = 2
TITLES = {"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}
# Probes due this close together run in one wake-up of the scheduler (the kubelet's own
# probe tickers are no more exact than this).
BATCH_SECONDS = 0.02

ProbeFn = Callable[[Obj, str, Obj, str], Outcome]
KillFn = Callable[[Obj, str, str, int], None]  # pod, container name, container id, grace


@dataclass
class Worker:
    """The state of one probe of one container instance (counters start fresh per instance)."""

    pod: Obj
    container: Obj
    container_id: str
    kind: str
    probe: Obj
    pod_ip: str
    due: float  # time.monotonic() of the next attempt
    engine: engines.Engine | None = None  # its node's (exec probes run there)
    successes: int = 0
    failures: int = 0
    result: bool | None = None
    key: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.container_id, self.kind)
        # The kubelet's initial results: liveness passes, readiness fails, startup unknown.
        self.result = {"liveness": True, "readiness": False}.get(self.kind)


class Prober:
    """Keeps the set of workers in line with running containers and runs them when due."""

    def __init__(self, store: Store, kill: KillFn, probe: ProbeFn = run_probe,
                 threads: int = 32, on_change: Callable[[Obj], None] | None = None) -> None:
        self.store = store
        self.kill = kill
        self.on_change = on_change
        self.probe = probe
        self.workers: dict[tuple[str, str], Worker] = {}
        # (due, tie-breaker, worker) of every worker not being run; a worker removed from
        # `workers` is dropped when it comes up.
        self._due: list[tuple[float, int, Worker]] = []
        self._order = itertools.count()
        self.started: set[str] = set()  # container ids whose startup probe passed
        self.lock = threading.Condition()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="probe")

    def update_pod(self, pod: Obj, records: list[ContainerRecord]) -> None:
        """Add workers for new running containers of the pod, drop those of gone ones."""
        uid = meta.uid_of(pod)
        wanted: dict[tuple[str, str], Worker] = {}
        sandbox = current_sandbox(records)
        found = kubelet_engine(self.store, str(pod["spec"].get("nodeName") or ""))
        engine = None if found is None else found[1]
        pod_ip = sandbox.ip if sandbox is not None and sandbox.running else ""
        if sandbox is not None and sandbox.running and pod["spec"].get("hostNetwork"):
            # The pod's ports are its node's: the host's own, or a node container's address.
            facts = node_facts(found[0]) if found is not None and engine is not None else None
            pod_ip = facts.host_ip if facts is not None else "127.0.0.1"
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        latest = latest_by_container(records)
        sidecars = [c for c in pod["spec"].get("initContainers") or []
                    if c.get("restartPolicy") == "Always"]
        for container in pod["spec"].get("containers", []) + sidecars:
            attempts = latest.get(container["name"], [])
            if not attempts or not attempts[0].running or not pod_ip:
                continue
            record = attempts[0]
            for kind, field_name in KINDS:
                probe = container.get(field_name)
                if not probe or (deleting and kind != "readiness"):
                    continue
                wanted[(record.id, kind)] = Worker(
                    pod, container, record.id, kind, probe, pod_ip,
                    due=_first_due(record, probe), engine=engine)
        with self.lock:
            for key in [k for k, w in self.workers.items()
                        if meta.uid_of(w.pod) == uid and k not in wanted]:
                del self.workers[key]
            fresh = [w for k, w in wanted.items() if k not in self.workers]
            for key in wanted:
                if key in self.workers:
                    self.workers[key].pod = pod
        # The initial results go to the store before the workers can run: a first verdict
        # stored in between would be overwritten, and the worker, its result unchanged,
        # would never store it again (a Ready pod shown 0/1 for good).
        self._publish_initial(uid, fresh)
        with self.lock:
            for worker in fresh:
                if worker.key not in self.workers:
                    self.workers[worker.key] = worker
                    self._schedule(worker)

    def _publish_initial(self, uid: str, workers: list[Worker]) -> None:
        """A new worker's initial result is the truth until its first verdict, as in the
        kubelet: after a controller restart a readiness result stored by the dead one must
        not keep a pod Ready, and a startup probe starts again from 'not started'."""
        if not workers:
            return
        stored = self.store.probe_results(uid)
        changed = False
        for worker in workers:
            known = stored.get(worker.container_id, {}).get(worker.kind)
            if worker.kind in ("readiness", "startup") and known is not False:
                self.store.set_probe_result(uid, worker.container_id, worker.kind, False)
                changed = True
        if changed and self.on_change is not None:
            self.on_change(workers[0].pod)

    def forget_pod(self, uid: str) -> None:
        with self.lock:
            for key in [k for k, w in self.workers.items() if meta.uid_of(w.pod) == uid]:
                del self.workers[key]

    def _schedule(self, worker: Worker) -> None:
        """Queue a worker for its due time (the lock held); wake the loop if it is first."""
        heapq.heappush(self._due, (worker.due, next(self._order), worker))
        if self._due[0][2] is worker:
            self.lock.notify()

    def run(self, stop: threading.Event) -> None:
        """The scheduling loop: hand due workers to the pool, sleep until the next is due."""
        while not stop.is_set():
            due = []
            with self.lock:
                horizon = time.monotonic() + BATCH_SECONDS
                while self._due and self._due[0][0] <= horizon:
                    worker = heapq.heappop(self._due)[2]
                    if self.workers.get(worker.key) is worker:
                        due.append(worker)
                if not due:
                    wait = self._due[0][0] - horizon if self._due else 1.0
                    self.lock.wait(timeout=min(max(wait, 0.0), 1.0))
            for worker in due:
                self.pool.submit(self._attempt, worker)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _attempt(self, worker: Worker) -> None:
        try:
            self._probe_once(worker)
        except Exception:
            log.exception("probe of %s failed unexpectedly", worker.key)
        finally:
            with self.lock:
                worker.due = time.monotonic() + float(worker.probe.get("periodSeconds", 10))
                if self.workers.get(worker.key) is worker:
                    self._schedule(worker)

    def _probe_once(self, worker: Worker) -> None:
        if worker.kind == "startup" and worker.container_id in self.started:
            return  # a startup probe ends with its first success, as the kubelet's
        has_startup = bool(worker.container.get("startupProbe"))
        if worker.kind != "startup" and has_startup and worker.container_id not in self.started:
            return  # liveness and readiness wait for the startup probe
        with engines.using(worker.engine):
            outcome = self.probe(worker.probe, worker.pod_ip, worker.container,
                                 worker.container_id)
        if outcome.result == UNKNOWN:
            return  # probe errors are discarded, as the kubelet does
        ok = outcome.result in (SUCCESS, WARNING)
        name = worker.container["name"]
        title = TITLES[worker.kind]
        if outcome.result == WARNING:
            self._event(worker, "Warning", "ProbeWarning", f"{title} probe warning: "
                        f"{outcome.output}")
        if outcome.result == FAILURE:
            self._event(worker, "Warning", "Unhealthy", f"{title} probe failed: "
                        f"{outcome.output.strip()}")
        if ok:
            worker.successes, worker.failures = worker.successes + 1, 0
        else:
            worker.failures, worker.successes = worker.failures + 1, 0
        new = worker.result
        if ok and worker.successes >= int(worker.probe.get("successThreshold", 1)):
            new = True
        elif not ok and worker.failures >= int(worker.probe.get("failureThreshold", 3)):
            new = False
        if new == worker.result:
            return
        worker.result = new
        uid = meta.uid_of(worker.pod)
        log.info("%s probe of %s/%s container %s: %s", worker.kind,
                 meta.namespace_of(worker.pod), meta.name_of(worker.pod), name,
                 "success" if new else "failure")
        if worker.kind == "readiness":
            self.store.set_probe_result(uid, worker.container_id, "readiness", bool(new))
            if self.on_change is not None:
                self.on_change(worker.pod)
        elif worker.kind == "startup" and new:
            self.started.add(worker.container_id)
            self.store.set_probe_result(uid, worker.container_id, "startup", True)
            if self.on_change is not None:  # started (and maybe ready) now
                self.on_change(worker.pod)
        elif new is False:
            self._fail_container(worker)

    def _fail_container(self, worker: Worker) -> None:
        """Liveness or startup failed: kill the container; sync_pod starts a new one."""
        name = worker.container["name"]
        restarts = worker.pod["spec"].get("restartPolicy", "Always") != "Never"
        suffix = ", will be restarted" if restarts else ""
        self._event(worker, "Normal", "Killing",
                    f"Container {name} failed {worker.kind} probe{suffix}")
        grace = worker.probe.get("terminationGracePeriodSeconds")
        if grace is None:
            grace = worker.pod["spec"].get("terminationGracePeriodSeconds", 30)
        grace = max(MINIMUM_GRACE_SECONDS, int(grace))
        with self.lock:
            for key in [k for k in self.workers if k[0] == worker.container_id]:
                del self.workers[key]
        self.kill(worker.pod, name, worker.container_id, int(grace))

    def _event(self, worker: Worker, type_: str, reason: str, message: str) -> None:
        emit(self.store, worker.pod, type_, reason, message, worker.container["name"])


def _first_due(record: ContainerRecord, probe: Obj) -> float:
    """No probe until initialDelaySeconds after the container started."""
    delay = float(probe.get("initialDelaySeconds", 0))
    if record.started_at:
        since = time.time() - meta.parse_time(record.started_at).timestamp()
        return time.monotonic() + max(0.0, delay - since)
    return time.monotonic() + delay
