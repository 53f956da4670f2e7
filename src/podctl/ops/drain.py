"""`cordon`, `uncordon` and `drain`: kubectl's drain helper (k8s.io/kubectl/pkg/drain and
cmd/drain) over podctl's store — the node marked unschedulable, its pods judged by
kubectl's filters (in their order: deleted long ago, DaemonSet, mirror, local storage,
unreplicated), then evicted through podctl's one eviction (or deleted) and waited for,
with kubectl's lines and refusals."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl import registry
from podctl.api import meta
from podctl.api.duration import go_duration
from podctl.api.labels import Selector
from podctl.api.meta import Obj
from podctl.controllers.deletion import delete_object
from podctl.controllers.eviction import evict
from podctl.errors import NamespaceTerminating, NotFound, PodctlError, TooManyRequests
from podctl.ops.followup import follow_up
from podctl.store import Store

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
DEADLINE = "context deadline exceeded"  # Go's context error when --timeout runs out
POLL_SECONDS = 0.2  # how often the store is read for the pods still terminating
EVICTION_RETRY_SECONDS = 5.0  # kubectl drain's wait before an eviction a budget refused
FINISH_RETRY_SECONDS = 1.0  # between tries to stop the pods while the engine is away

OKAY, SKIP, WARNING, ERROR = "Okay", "Skip", "Warning", "Error"


# -- cordon ----------------------------------------------------------------------------------


NONE, CLIENT, SERVER = "none", "client", "server"  # --dry-run
DRY_RUN_SUFFIX = {NONE: "", CLIENT: " (dry run)", SERVER: " (server dry run)"}


def cordon(store: Store, node: Obj, desired: bool, dry_run: str = NONE) -> str:
    """Set spec.unschedulable of the node as the command read it (removed when false, as
    kubectl's patch leaves it); kubectl's line, judged from that reading as kubectl judges
    it: `node/x cordoned`, `node/x already uncordoned`... A dry run writes nothing."""
    name = meta.name_of(node)
    word = "cordoned" if desired else "uncordoned"
    if bool((node.get("spec") or {}).get("unschedulable")) == desired:
        return f"node/{name} already {word}{DRY_RUN_SUFFIX[dry_run]}"

    def change(fresh: Obj) -> bool:
        spec = fresh.setdefault("spec", {})
        if bool(spec.get("unschedulable")) == desired:
            return False
        if desired:
            spec["unschedulable"] = True
        else:
            spec.pop("unschedulable", None)
        return dry_run == NONE

    if registry.mutate(store, "Node", "", name, change) is None:
        raise NotFound("nodes", name)
    return f"node/{name} {word}{DRY_RUN_SUFFIX[dry_run]}"


def nodes_named(store: Store, names: list[str], selector: Selector | None) -> list[Obj]:
    """The nodes a command names, or those its -l selects, as read before anything is
    changed; NotFound for a missing one, as kubectl resolves them all first."""
    if selector is not None:
        return sorted((n for n in store.list("Node") if selector.matches(meta.labels_of(n))),
                      key=meta.name_of)
    found = []
    for name in names:
        node = store.get("Node", "", name)
        if node is None:
            raise NotFound("nodes", name)
        found.append(node)
    return found


# -- which pods go: kubectl's filters --------------------------------------------------------


@dataclass(frozen=True)
class DrainFlags:
    force: bool = False
    ignore_daemonsets: bool = False
    delete_emptydir_data: bool = False
    skip_wait_for_delete_timeout: int = 0


@dataclass(frozen=True)
class Verdict:
    delete: bool
    reason: str
    message: str = ""


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _skip_deleted(pod: Obj, flags: DrainFlags, now: datetime, _: set[tuple[str, str]]
                  ) -> Verdict:
    since = pod["metadata"].get("deletionTimestamp")
    if flags.skip_wait_for_delete_timeout > 0 and since and \
            int((now - meta.parse_time(since)).total_seconds()) > \
            flags.skip_wait_for_delete_timeout:
        return Verdict(False, SKIP)
    return Verdict(True, OKAY)


def _daemonset(pod: Obj, flags: DrainFlags, now: datetime,
               daemonsets: set[tuple[str, str]]) -> Verdict:
    ref = meta.controller_of(pod)
    if ref is None or ref.get("kind") != "DaemonSet" or _finished(pod):
        return Verdict(True, OKAY)
    if (meta.namespace_of(pod), ref.get("name")) not in daemonsets:
        missing = f'daemonsets.apps "{ref.get("name")}" not found'
        return Verdict(True, WARNING, missing) if flags.force else \
            Verdict(False, ERROR, missing)
    if not flags.ignore_daemonsets:
        return Verdict(False, ERROR, DAEMONSET_FATAL)
    return Verdict(False, WARNING, DAEMONSET_WARNING)


def _mirror(pod: Obj, flags: DrainFlags, now: datetime, _: set[tuple[str, str]]) -> Verdict:
    if MIRROR_ANNOTATION in (pod["metadata"].get("annotations") or {}):
        return Verdict(False, SKIP)
    return Verdict(True, OKAY)


def _local_storage(pod: Obj, flags: DrainFlags, now: datetime, _: set[tuple[str, str]]
                   ) -> Verdict:
    if not any("emptyDir" in v for v in pod["spec"].get("volumes") or []) or _finished(pod):
        return Verdict(True, OKAY)
    if not flags.delete_emptydir_data:
        return Verdict(False, ERROR, LOCAL_STORAGE_FATAL)
    return Verdict(True, WARNING, LOCAL_STORAGE_WARNING)


def _unreplicated(pod: Obj, flags: DrainFlags, now: datetime, _: set[tuple[str, str]]
                  ) -> Verdict:
    if _finished(pod) or meta.controller_of(pod) is not None:
        return Verdict(True, OKAY)
    if flags.force:
        return Verdict(True, WARNING, UNMANAGED_WARNING)
    return Verdict(False, ERROR, UNMANAGED_FATAL)


Filter = Callable[[Obj, DrainFlags, datetime, set[tuple[str, str]]], Verdict]
FILTERS: tuple[Filter, ...] = (_skip_deleted, _daemonset, _mirror, _local_storage,
                               _unreplicated)


def verdict(pod: Obj, flags: DrainFlags, now: datetime,
            daemonsets: set[tuple[str, str]]) -> Verdict:
    """The filters in kubectl's order; the first that keeps the pod decides, else the last
    one's word stands (a warning an earlier filter gave is lost, as in kubectl)."""
    result = Verdict(True, OKAY)
    for judge in FILTERS:
        result = judge(pod, flags, now, daemonsets)
        if not result.delete:
            break
    return result


@dataclass
class DrainPlan:
    pods: list[Obj] = field(default_factory=list)  # to evict or delete
    warnings: str = ""  # kubectl's one warning line, without its `Warning: `
    errors: list[str] = field(default_factory=list)


def _grouped(judged: list[tuple[Obj, Verdict]], reason: str) -> dict[str, list[str]]:
    """message -> `ns/name` of the pods with that verdict, in the pods' order."""
    out: dict[str, list[str]] = {}
    for pod, judgement in judged:
        if judgement.reason == reason:
            out.setdefault(judgement.message, []).append(
                f"{meta.namespace_of(pod)}/{meta.name_of(pod)}")
    return out


def plan_drain(pods: list[Obj], flags: DrainFlags, now: datetime,
               daemonsets: set[tuple[str, str]]) -> DrainPlan:
    """What drain does with a node's pods (sorted by namespace and name, as the API lists
    them): pods to evict, the warning line, the refusals (kubectl's GetPodsForDeletion)."""
    ordered = sorted(pods, key=lambda p: (meta.namespace_of(p), meta.name_of(p)))
    judged = [(pod, verdict(pod, flags, now, daemonsets)) for pod in ordered]
    plan = DrainPlan(pods=[pod for pod, judgement in judged if judgement.delete])
    plan.warnings = "; ".join(f"{message}: {', '.join(names)}"
                              for message, names in _grouped(judged, WARNING).items())
    for message, names in _grouped(judged, ERROR).items():
        message = message or "unexpected error"
        if not message.lower().startswith("cannot delete"):
            message = f"cannot delete {message}"
        plan.errors.append(f"{message}: {', '.join(names)}")
    return plan


def aggregate(errors: list[str]) -> str:
    """Go's utilerrors aggregate text: one error as it is, more in brackets."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# -- drain -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrainRequest:
    flags: DrainFlags
    pod_selector: Selector | None = None
    grace: int = -1  # -1: each pod's own terminationGracePeriodSeconds
    timeout: float = 0.0  # seconds; 0: no limit
    disable_eviction: bool = False
    dry_run: str = NONE


OUT, ERR = "out", "err"
Line = tuple[str, str]  # (OUT or ERR, text)


class NodeNotDrained(Exception):
    """Why one node's drain failed: the errors of its aggregate, or one plain error
    (kubectl prints that one with `error: `)."""

    def __init__(self, errors: list[str], plain: bool = False) -> None:
        super().__init__(aggregate(errors))
        self.errors = errors
        self.plain = plain


def pods_on(store: Store, node: str, selector: Selector | None) -> list[Obj]:
    return [p for p in store.list("Pod") if p["spec"].get("nodeName") == node
            and (selector is None or selector.matches(meta.labels_of(p)))]


def plan_for(store: Store, node: str, request: DrainRequest) -> DrainPlan:
    daemonsets = {(meta.namespace_of(d), meta.name_of(d)) for d in store.list("DaemonSet")}
    return plan_drain(pods_on(store, node, request.pod_selector), request.flags,
                      datetime.now(UTC), daemonsets)


def drain_node(store: Store, node: str, request: DrainRequest,
               finish: Callable[[list[Obj]], None]) -> Iterator[Line]:
    """One node's pods evicted (or deleted) and waited for; NodeNotDrained when refused,
    or when some are left at the timeout. `finish` stops marked pods on the engine (the
    kubelet's share, done by the command as `delete` does)."""
    plan = plan_for(store, node, request)
    if plan.errors:
        raise NodeNotDrained(plan.errors)
    if plan.warnings:
        yield ERR, f"Warning: {plan.warnings}"
    if request.dry_run != NONE:
        yield from _dry_run(store, plan.pods, request)
        return
    try:
        yield from _evict_and_wait(store, plan.pods, request, finish)
    except NodeNotDrained as failed:
        pending = plan_for(store, node, request).pods
        if pending:
            yield ERR, f'There are pending pods in node "{node}" when an error occurred: ' \
                f"{failed}"
            for pod in pending:
                yield ERR, f"pod/{meta.name_of(pod)}"
        raise


def _dry_run(store: Store, pods: list[Obj], request: DrainRequest) -> Iterator[Line]:
    """What a dry run prints: each pod it would evict; a server dry run asks the eviction
    of each (which may refuse it) and waits for none."""
    errors = []
    for pod in pods:
        ns, name = meta.namespace_of(pod), meta.name_of(pod)
        if not request.disable_eviction:
            yield OUT, f"evicting pod {ns}/{name}{DRY_RUN_SUFFIX[request.dry_run]}"
        if request.dry_run == SERVER:
            try:
                evict(store, ns, name, dry_run=True)
            except NotFound:
                continue
            except PodctlError as exc:
                errors.append(f'error when evicting pods/"{name}" -n "{ns}": {exc}')
    if errors:
        raise NodeNotDrained(errors)


def _evict_and_wait(store: Store, pods: list[Obj], request: DrainRequest,
                    finish: Callable[[list[Obj]], None]) -> Iterator[Line]:
    """kubectl's evictPods: every pod evicted (one a disruption budget holds is tried again
    every 5 s, with kubectl's line), each evicted one waited for until it is gone."""
    deadline = time.monotonic() + request.timeout if request.timeout > 0 else None
    grace = request.grace if request.grace >= 0 else None
    to_evict: list[tuple[float, Obj]] = [(0.0, pod) for pod in pods]
    waiting: list[Obj] = []
    errors: list[str] = []
    while True:
        now = time.monotonic()
        due = [pod for at, pod in to_evict if at <= now]
        to_evict = [(at, pod) for at, pod in to_evict if at > now]
        evicted: list[Obj] = []
        for pod in due:
            outcome = yield from _evict_one(store, pod, request, grace, errors)
            if outcome == _RETRY:
                to_evict.append((now + EVICTION_RETRY_SECONDS, pod))
            elif outcome == _WAIT:
                evicted.append(pod)
        _finish_in_background(store, evicted, finish)
        waiting += evicted
        gone = yield from _gone(store, waiting, request)
        if gone:
            waiting = [pod for pod in waiting if pod not in gone]
            follow_up(store, *_owners(gone))
        if not waiting and not to_evict:
            break
        if deadline is not None and time.monotonic() >= deadline:
            took = go_duration(int(request.timeout * 10**9))
            errors.extend(sorted(
                f'error when evicting pods/"{meta.name_of(pod)}" -n '
                f'"{meta.namespace_of(pod)}": global timeout reached: {took}'
                for _, pod in to_evict))
            errors.extend(_timed_out(waiting, request))
            break
        time.sleep(POLL_SECONDS)
    if errors:
        raise NodeNotDrained(errors, plain=request.disable_eviction)


_WAIT, _RETRY, _DONE = "wait", "retry", "done"


def _evict_one(store: Store, pod: Obj, request: DrainRequest, grace: int | None,
               errors: list[str]) -> Generator[Line, None, str]:
    """One try at a pod's eviction (or delete): whether to wait for it, try it again, or
    leave it (gone already, or its error recorded)."""
    ns, name = meta.namespace_of(pod), meta.name_of(pod)
    now = store.get("Pod", ns, name)
    if now is None or meta.uid_of(now) != meta.uid_of(pod):
        return _DONE  # gone (or replaced) since the last try: nothing to print, as kubectl
    if not request.disable_eviction:
        yield OUT, f"evicting pod {ns}/{name}"
    try:
        if request.disable_eviction:
            delete_object(store, "Pod", ns, name, grace=grace)
        else:
            evict(store, ns, name, grace=grace)
    except NotFound:
        return _DONE
    except NamespaceTerminating:
        return _WAIT  # its namespace is being deleted, which deletes the pod
    except TooManyRequests as exc:
        yield ERR, f'error when evicting pods/"{name}" -n "{ns}" (will retry after ' \
            f"{EVICTION_RETRY_SECONDS:g}s): {exc}"
        return _RETRY
    except PodctlError as exc:
        if request.disable_eviction:
            raise NodeNotDrained([str(exc)], plain=True) from exc
        errors.append(f'error when evicting pods/"{name}" -n "{ns}": {exc}')
        return _DONE
    return _WAIT


def _owners(pods: list[Obj]) -> list[tuple[str, str, str]]:
    """The controllers of evicted pods, which make their replacements."""
    refs = ((meta.namespace_of(p), meta.controller_of(p)) for p in pods)
    return list(dict.fromkeys((str(ref["kind"]), ns, str(ref["name"])) for ns, ref in refs
                              if ref is not None and ref.get("kind") in meta.RESOURCES))


def _finish_in_background(store: Store, pods: list[Obj],
                          finish: Callable[[list[Obj]], None]) -> None:
    """The marked pods stopped beside the wait: a daemon thread, so a timeout does not wait
    for it (the marks stand: a controller finishes what is left)."""
    marked = [p for p in (store.get_by_uid(meta.uid_of(pod)) for pod in pods) if p]
    if marked:
        threading.Thread(target=finish, args=(marked,), daemon=True,
                         name="drain-finish").start()


def _gone(store: Store, pods: list[Obj], request: DrainRequest) -> Generator[Line, None,
                                                                             list[Obj]]:
    """kubectl's waitForDelete, one look: a pod is done when it is gone or its name holds
    another pod; `pod/x evicted` (or deleted) for each, in the order they go."""
    verb = "deleted" if request.disable_eviction else "evicted"
    done = []
    for pod in pods:
        now = store.get("Pod", meta.namespace_of(pod), meta.name_of(pod))
        if now is None or meta.uid_of(now) != meta.uid_of(pod):
            yield OUT, f"pod/{meta.name_of(pod)} {verb}"
            done.append(pod)
        elif not _skip_deleted(now, request.flags, datetime.now(UTC), set()).delete:
            yield OUT, f'pod "{meta.name_of(pod)}" has DeletionTimestamp older than ' \
                f"{request.flags.skip_wait_for_delete_timeout} seconds, skipping"
            done.append(pod)
    return done


def _timed_out(pods: list[Obj], request: DrainRequest) -> list[str]:
    """kubectl's words when --timeout runs out: the context's own error."""
    if request.disable_eviction:
        return [DEADLINE]
    return [f'error when waiting for pod "{meta.name_of(p)}" in namespace '
            f'"{meta.namespace_of(p)}" to terminate: {DEADLINE}' for p in pods]


def drain_nodes(store: Store, nodes: list[Obj], request: DrainRequest,
                finish: Callable[[list[Obj]], None]) -> Iterator[Line]:
    """kubectl drain's whole run: every node cordoned, then each drained in turn; the
    lines it prints. Ends with NodeNotDrained (the fatal errors) when a node was not."""
    for node in nodes:
        yield OUT, cordon(store, node, True, request.dry_run)
    names = [meta.name_of(node) for node in nodes]
    failed: list[tuple[str, NodeNotDrained]] = []
    for name in names:
        try:
            yield from drain_node(store, name, request, finish)
        except NodeNotDrained as exc:
            yield ERR, f'error: unable to drain node "{name}" due to error: {exc}, ' \
                "continuing command..."
            failed.append((name, exc))
            continue
        yield OUT, f"node/{name} drained{DRY_RUN_SUFFIX[request.dry_run]}"
    if failed:
        yield ERR, "There are pending nodes to be drained:"
        for name, _ in failed:
            yield ERR, f" {name}"
        # kubectl's last word: one node's errors each on a line, else each node's aggregate.
        if len(failed) == 1:
            raise failed[0][1]
        raise NodeNotDrained([str(exc) for _, exc in failed])


def finisher(store: Store) -> Callable[[list[Obj]], None]:
    """The kubelet's share of a delete, done by the command as `delete` does: the marked
    pods stopped on the engine and removed; tried again while the engine does not answer,
    as a kubelet keeps trying (the drain's wait, and its --timeout, bound it)."""
    from podctl.kubelet.teardown import finish_pods

    def finish(pods: list[Obj]) -> None:
        while pods:
            try:
                for _ in finish_pods(store, pods):
                    pass
                return
            except PodctlError:
                time.sleep(FINISH_RETRY_SECONDS)
                pods = [p for p in (store.get_by_uid(meta.uid_of(pod)) for pod in pods) if p]

    return finish
