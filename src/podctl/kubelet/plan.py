"""What sync_pod must do: a pure function of a pod's spec, its Docker containers, the
kubelet's memory of it (back-off counters) and the time — the whole decision, back-off
included, so that sync_pod only carries it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.kubelet import backoff
from podctl.kubelet.status import current_sandbox, is_stopped, latest_by_container
from podctl.runtime import naming
from podctl.runtime.records import ContainerRecord


@dataclass(frozen=True)
class BackOff:
    """A dead container whose restart must wait: CrashLoopBackOff for `remaining` seconds."""

    delay: float
    remaining: float


@dataclass
class PodActions:
    """Steps to bring a pod's containers in line with its spec."""

    create_sandbox: bool = False
    sandbox_attempt: int = 0
    sandbox_changed: bool = False
    kill: list[ContainerRecord] = field(default_factory=list)
    start: dict[str, int] = field(default_factory=dict)  # container name -> attempt
    # Dead containers the restart policy restarts: now (in start, with the back-off counter
    # they restart with in quick_restarts) or later (in backoff).
    restart_wanted: dict[str, ContainerRecord] = field(default_factory=dict)
    quick_restarts: dict[str, int] = field(default_factory=dict)
    backoff: dict[str, BackOff] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)  # running, but its spec changed
    remove: list[ContainerRecord] = field(default_factory=list)
    pod_finished: bool = False

    def is_noop(self) -> bool:
        return not (self.create_sandbox or self.kill or self.start or self.remove)

    @property
    def retry_in(self) -> float | None:
        """Seconds until the first back-off ends (the pod wants a sync then), if any."""
        return min((b.remaining for b in self.backoff.values()), default=None)


def should_restart(restart_policy: str, exit_code: int | None) -> bool:
    if restart_policy == "Always":
        return True
    if restart_policy == "OnFailure":
        return exit_code != 0
    return False


def compute_pod_actions(pod: Obj, records: list[ContainerRecord], state: dict[str, Any],
                        now: datetime, started: frozenset[str] = frozenset()) -> PodActions:
    """Decide sandbox creation, starts, restarts (back-off included) and garbage collection
    for one pod; `started` holds the ids of containers whose startup probe passed."""
    actions = _compare(pod, records, started)
    _apply_backoff(actions, state, now)
    return actions


def _apply_backoff(actions: PodActions, state: dict[str, Any], now: datetime) -> None:
    """Restart at once the dead containers whose back-off has passed; the others wait.

    The counter of quick restarts resets when the dead container had run long enough."""
    cstates = state.get("containers") or {}
    for name, dead in actions.restart_wanted.items():
        # A container that could not start (ContainerCannotRun) never finished: its
        # failure is as old as its creation, or its back-off would never run out.
        finished = meta.parse_time(dead.finished_at) if dead.finished_at else \
            datetime.fromtimestamp(dead.created, UTC)
        started = meta.parse_time(dead.started_at) if dead.started_at else finished
        count = int((cstates.get(name) or {}).get("quickRestarts", 0))
        if (finished - started).total_seconds() >= backoff.RESET_SECONDS:
            count = 0
        delay = backoff.backoff_delay(count)
        remaining = delay - (now - finished).total_seconds()
        if remaining <= 0:
            actions.start[name] = dead.attempt + 1
            actions.quick_restarts[name] = count + 1
        else:
            actions.backoff[name] = BackOff(delay, remaining)


def _compare(pod: Obj, records: list[ContainerRecord], started: frozenset[str]) -> PodActions:
    """The pod's spec against its containers, before any clock is looked at."""
    actions = PodActions()
    spec = pod["spec"]
    policy = spec.get("restartPolicy", "Always")
    names = [c["name"] for c in spec.get("containers", [])]
    by_name = latest_by_container(records)
    sandbox = current_sandbox(records)
    actions.remove = _garbage(records, sandbox, by_name)
    init_names = [c["name"] for c in spec.get("initContainers") or []]
    ever_ran = any(by_name.get(n) for n in names)

    if sandbox is None or not sandbox.running or _restarted_under(sandbox, records, spec):
        if sandbox is not None and policy == "Never" and ever_ran:
            actions.pod_finished = True
            actions.kill = [r for r in records if r.running]
            return actions
        actions.create_sandbox = True
        actions.sandbox_attempt = sandbox.attempt + 1 if sandbox is not None else 0
        actions.sandbox_changed = sandbox is not None
        actions.kill = [r for r in records if r.running]
        if init_names:  # a new sandbox runs its init containers again, first things first
            attempts = by_name.get(init_names[0], [])
            actions.start[init_names[0]] = attempts[0].attempt + 1 if attempts else 0
            return actions
        for name in names:
            attempts = by_name.get(name, [])
            latest = attempts[0] if attempts else None
            if latest is None:
                actions.start[name] = 0
            elif not (is_stopped(latest) and latest.exit_code == 0 and policy == "OnFailure"):
                actions.start[name] = latest.attempt + 1
        return actions

    actions.kill = _stale(records, sandbox, by_name)
    inits = spec.get("initContainers") or []
    initialized = any(r.labels.get(naming.SANDBOX_ID) == sandbox.id
                      for n in names for r in by_name.get(n, []))
    if inits and _init_step(actions, inits, by_name, sandbox.id, policy, initialized, started):
        if actions.pod_finished:  # an init container failed a Never pod: the sidecars go too
            _stop_sidecars(actions, inits, by_name)
        return actions
    finished = 0
    specs = {c["name"]: c for c in spec.get("containers", [])}
    for name in names:
        attempts = by_name.get(name, [])
        latest = attempts[0] if attempts else None
        if latest is None:
            actions.start[name] = 0
        elif latest.running:
            if _changed(latest, specs[name]):
                actions.changed.append(name)  # e.g. a new image: replace the container
                actions.kill.append(latest)
                actions.start[name] = latest.attempt + 1
        elif is_stopped(latest):
            if should_restart(policy, latest.exit_code):
                actions.restart_wanted[name] = latest
            else:
                finished += 1
        elif latest.state == "created":
            actions.start[name] = latest.attempt  # created but never started: start it
    actions.pod_finished = bool(names) and finished == len(names)
    if actions.pod_finished:
        _stop_sidecars(actions, inits, by_name)
    return actions


def _stop_sidecars(actions: PodActions, inits: list[Obj],
                   by_name: dict[str, list[ContainerRecord]]) -> None:
    """The regular containers are done for good: the sidecars are stopped and no longer
    restarted, so that the pod (a Job's, say) can complete."""
    for container in inits:
        if container.get("restartPolicy") != "Always":
            continue
        name = container["name"]
        actions.start.pop(name, None)
        actions.restart_wanted.pop(name, None)
        attempts = by_name.get(name, [])
        if attempts and attempts[0].running and attempts[0] not in actions.kill:
            actions.kill.append(attempts[0])


def _changed(record: ContainerRecord, spec: Obj) -> bool:
    """Whether a running container was made from another definition (a new image)."""
    wanted = naming.spec_hash(spec)
    return record.labels.get(naming.CONTAINER_HASH, wanted) != wanted


def _restarted_under(sandbox: ContainerRecord, records: list[ContainerRecord],
                     spec: Obj) -> bool:
    """A running app container that started before its running sandbox did joined the
    namespaces of the sandbox's previous run (someone restarted the sandbox under it):
    it is cut off from the pod's network, so the pod gets a new sandbox, as the kubelet
    does when a sandbox changed."""
    if spec.get("hostNetwork") or sandbox.started is None:
        return False
    since = sandbox.started
    return any(r.running and not r.is_sandbox and r.started is not None and r.started < since
               for r in records)


def _stale(records: list[ContainerRecord], sandbox: ContainerRecord,
           by_name: dict[str, list[ContainerRecord]]) -> list[ContainerRecord]:
    """Running containers that are not their name's newest attempt, and running sandboxes
    that are not the current one: `docker restart` brought them back. An old app attempt
    would hold the pod's ports against the newest one, so they are stopped."""
    stale = [r for r in records if r.is_sandbox and r.running and r is not sandbox]
    for attempts in by_name.values():
        stale.extend(r for r in attempts[1:] if r.running)
    return stale


def _init_step(actions: PodActions, inits: list[Obj],
               by_name: dict[str, list[ContainerRecord]], sandbox_id: str, policy: str,
               initialized: bool, started: frozenset[str]) -> bool:
    """Advance init containers one at a time, in order; True while the pod is not
    initialized (its app containers wait).

    Sidecars (restartPolicy Always) count as done once running and past their startup
    probe; they are restarted whenever they exit, before and after initialization. Only
    runs in the current sandbox count: a recreated sandbox runs them all again.
    """
    for container in inits:
        name = container["name"]
        sidecar = container.get("restartPolicy") == "Always"
        attempts = by_name.get(name, [])
        here = [r for r in attempts if r.labels.get(naming.SANDBOX_ID) == sandbox_id]
        latest = here[0] if here else None
        if initialized and not sidecar:
            continue  # it ran to success before the app containers started
        if latest is None:
            actions.start[name] = attempts[0].attempt + 1 if attempts else 0
        elif latest.running:
            if not sidecar:
                return True
            if _changed(latest, container):
                actions.changed.append(name)  # e.g. a new image: replace the sidecar
                actions.kill.append(latest)
                actions.start[name] = latest.attempt + 1
            elif not container.get("startupProbe") or latest.id in started or initialized:
                continue
        elif is_stopped(latest):
            if sidecar:
                actions.restart_wanted[name] = latest
            elif latest.exit_code == 0:
                continue
            elif policy == "Never":
                actions.pod_finished = True
            else:
                actions.restart_wanted[name] = latest
        else:
            actions.start[name] = latest.attempt  # created but never started
        if not initialized:
            return True
    return False


def _garbage(records: list[ContainerRecord], sandbox: ContainerRecord | None,
             by_name: dict[str, list[ContainerRecord]]) -> list[ContainerRecord]:
    """Dead containers beyond the newest and the one before (kept for logs --previous)."""
    garbage = [r for r in records if r.is_sandbox and r is not sandbox and not r.running]
    for attempts in by_name.values():
        garbage.extend(r for r in attempts[2:] if not r.running)
    return garbage
