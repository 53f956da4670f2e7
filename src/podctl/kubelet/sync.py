"""sync_pod: the one reconcile path from a pod's spec to Docker containers."""

from __future__ import annotations

import copy
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from podctl.admission.serviceips import KUBERNETES, cluster_dns, ensure_kubernetes_service
from podctl.api import identity, meta
from podctl.api.images import default_pull_policy
from podctl.api.meta import Obj
from podctl.errors import DockerUnavailable, NodeUnavailable
from podctl.home import home_id
from podctl.kubelet import hooks
from podctl.kubelet.claims import ClaimNotReady, claim_sources
from podctl.kubelet.common import emit, parallel
from podctl.kubelet.node import node_facts
from podctl.kubelet.plan import PodActions, compute_pod_actions
from podctl.kubelet.status import NodeFacts, current_sandbox
from podctl.kubelet.statusmanager import kubelet_status, write_status
from podctl.locks import file_lock
from podctl.node import ensure_node, kubelet_engine
from podctl.runtime import (
    configenv,
    configvolumes,
    engines,
    images,
    inventory,
    sandbox,
    specs,
    subpaths,
    volumes,
)
from podctl.runtime import containers as ctr
from podctl.runtime.client import api_error
from podctl.runtime.records import ContainerRecord
from podctl.runtime.servicenet import reserve_service_range
from podctl.store import Store

# After a sandbox the engine refused: upstream's pod worker retries a failed sync after
# 10 s; the first retries come sooner here, for a refusal that a moment cures.
SANDBOX_RETRY_BASE = 1.0
SANDBOX_RETRY_MAX = 10.0
SANDBOX_BACKOFF = "sandboxBackoff"  # in the pod's kubelet state: failures, until (epoch s)


@dataclass
class SyncResult:
    """When the pod wants to be looked at again (back-off), if at all; the containers as
    the sync left them (None when it did not get that far); and the resourceVersion of the
    status it wrote, if it wrote one."""

    retry_in: float | None = None
    records: list[ContainerRecord] | None = None
    status_version: str | None = None


def sync_pod(store: Store, namespace: str, name: str,
             progress: images.ProgressFn | None = None) -> SyncResult:
    """Compare the pod with its containers in Docker and do what is missing."""
    pod = store.get("Pod", namespace, name)
    if pod is None or pod["metadata"].get("deletionTimestamp") or not pod["spec"].get("nodeName"):
        return SyncResult()
    found = kubelet_engine(store, pod["spec"]["nodeName"])
    if found is None:
        ensure_node(store)  # a home whose host node predates its mark gets it now
        found = kubelet_engine(store, pod["spec"]["nodeName"])
    if found is None:
        return SyncResult()  # a node no kubelet of this home runs
    node, engine = found
    # One kubelet per node: this pod's engine calls go to its node's engine.
    with engines.using(engine):
        try:
            return _sync_on_node(store, namespace, name, node, progress)
        except DockerUnavailable as exc:
            if engine is None or isinstance(exc, NodeUnavailable):
                raise
            raise NodeUnavailable(engine.node, exc.detail) from exc


def _sync_on_node(store: Store, namespace: str, name: str, node: Obj,
                  progress: images.ProgressFn | None) -> SyncResult:
    pod = store.get("Pod", namespace, name)
    if pod is None:
        return SyncResult()
    with file_lock(f"pod-{meta.uid_of(pod)}"):
        pod = store.get("Pod", namespace, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return SyncResult()
        records = inventory.list_containers(meta.uid_of(pod))
        # Inspect all: a list right after Docker's `die` event can still say "running".
        inventory.inspect(records)
        state = store.pod_state(meta.uid_of(pod))
        before = copy.deepcopy(state)
        started = frozenset(cid for cid, passed in store.probe_results(meta.uid_of(pod)).items()
                            if passed.get("startup") is True)
        actions = compute_pod_actions(pod, records, state, datetime.now(UTC), started)
        facts = node_facts(node)
        if not actions.is_noop():
            # What the pod is about to go through (ContainerCreating, a restart) is its
            # status while the engine works, as the kubelet writes it before acting.
            _write_status(store, pod, records, state, facts)
        # Files of configMap and secret volumes follow their objects (env does not).
        configvolumes.refresh(store.path.parent, pod, config_objects(store, pod),
                              allocatable(node), projected_tokens(store))
        result = _execute(store, pod, node, records, state, actions, progress)
        if state != before:
            store.put_pod_state(meta.uid_of(pod), state)
        if not actions.is_noop():  # see the containers as they are now
            records = inventory.list_containers(meta.uid_of(pod))
            # A sandbox's address and state are in the list; its containers' times are not.
            inventory.inspect(r for r in records if not r.is_sandbox)
        result.records = records
        result.status_version = _write_status(store, pod, records, state, facts)
        renew = configvolumes.token_renewal_in(store.path.parent, pod, time.time())
        if renew is not None:
            # A steady pod is not synced by the periodic resync: its tokens ask for a pass.
            result.retry_in = renew if result.retry_in is None else min(result.retry_in,
                                                                        renew)
        return result


def _write_status(store: Store, pod: Obj, records: list[ContainerRecord],
                  state: dict[str, Any], node: NodeFacts | None) -> str | None:
    """The status manager's write; the resourceVersion it made, if it wrote."""
    stored, wrote = write_status(store, pod, kubelet_status(
        records, state, store.probe_results(meta.uid_of(pod)), node))
    return str(stored["metadata"]["resourceVersion"]) if wrote and stored is not None else None


def _execute(store: Store, pod: Obj, node: Obj, records: list[ContainerRecord],
             state: dict[str, Any],
             actions: PodActions, progress: images.ProgressFn | None) -> SyncResult:
    grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
    parallel(ctr.remove, [r.id for r in actions.remove])
    if actions.sandbox_changed:
        emit(store, pod, "Normal", "SandboxChanged",
             "Pod sandbox changed, it will be killed and re-created.")
    for name in actions.changed:
        emit(store, pod, "Normal", "Killing",
             f"Container {name} definition changed, will be restarted", name)
    if actions.kill:
        sandbox = current_sandbox(records)
        hooks.kill_in_order(store, pod, [r for r in actions.kill if not r.is_sandbox], grace,
                            sandbox.ip if sandbox is not None and sandbox.running else "")
        parallel(lambda r: ctr.stop(r.id, 0), [r for r in actions.kill if r.is_sandbox])
    _record_backoff(store, pod, state, actions)
    with ThreadPoolExecutor(max_workers=1) as background:
        if actions.create_sandbox:
            wait = _sandbox_wait(state)
            if wait > 0:
                return SyncResult(retry_in=wait)
            sandbox_id = _make_sandbox(store, pod, node, state, actions.sandbox_attempt)
            if sandbox_id is None:
                return SyncResult(retry_in=_sandbox_failed(state))
            # Starting the sandbox is the slowest step (network set-up): app containers are
            # pulled and created meanwhile, and started once it runs.
            pod_ip = background.submit(engines.carry(_start_sandbox), sandbox_id)
        else:
            sandbox_id, pod_ip = _running_sandbox(records)
        try:
            if actions.start and sandbox_id:
                _start_containers(store, pod, node, state, actions.start, sandbox_id, pod_ip,
                                  progress)
            pod_ip.result()
        except Exception:
            failure = pod_ip.exception()
            if failure is None:
                raise
            emit(store, pod, "Warning", "FailedCreatePodSandBox",
                 f"Failed to create pod sandbox: {_api_message(failure)}")
            return SyncResult(retry_in=_sandbox_failed(state))
    if actions.create_sandbox:
        state.pop(SANDBOX_BACKOFF, None)
    return SyncResult(retry_in=actions.retry_in)


def _sandbox_wait(state: dict[str, Any]) -> float:
    """Seconds before the pod's sandbox may be made again after a failure (0: now). The
    failed sandbox's own removal wakes the pod at once: without this wait, a sandbox the
    engine keeps refusing would be made and removed several times a second."""
    until = float((state.get(SANDBOX_BACKOFF) or {}).get("until", 0.0))
    return max(0.0, until - time.time())


def _sandbox_failed(state: dict[str, Any]) -> float:
    """Count a failed sandbox: the wait before the next one (1, 2, 4, 8, then 10 s)."""
    failures = int((state.get(SANDBOX_BACKOFF) or {}).get("failures", 0))
    delay = min(SANDBOX_RETRY_MAX, SANDBOX_RETRY_BASE * 2.0 ** min(failures, 16))
    state[SANDBOX_BACKOFF] = {"failures": failures + 1, "until": time.time() + delay}
    return delay


def _start_sandbox(sandbox_id: str) -> str:
    ctr.start(sandbox_id)
    return sandbox.sandbox_ip(sandbox_id)


def _running_sandbox(records: list[ContainerRecord]) -> tuple[str, Future[str]]:
    known: Future[str] = Future()
    current = current_sandbox(records)
    if current is not None and current.running:
        known.set_result(current.ip)
        return current.id, known
    known.set_result("")
    return "", known


def _make_sandbox(store: Store, pod: Obj, node: Obj, state: dict[str, Any],
                  attempt: int) -> str | None:
    # The home holds its service range before it puts anything on the shared pod network:
    # a reset of another home removes that network only when no home holds a range.
    ensure_kubernetes_service(store, lambda: reserve_service_range(home_id(store.path.parent)))
    with engines.using(None):  # the host's choice; a node gets the image copied
        image = sandbox.pause_image()
    got = images.ensure_image(image, "IfNotPresent")
    if not got.ok:
        hint = ("" if "PODCTL_PAUSE_IMAGE" in os.environ else
                f" (offline? `make images` builds {sandbox.LOCAL_PAUSE_IMAGE}, which podctl "
                "then uses)")
        emit(store, pod, "Warning", "FailedCreatePodSandBox",
             f"Failed to create pod sandbox: {got.message}{hint}")
        return None
    # The cluster DNS, once the home has one (its first Service brings it), as the kubelet's
    # --cluster-dns: a pod made before keeps the node's resolver until its sandbox is new.
    dns = sandbox.pod_dns(pod["spec"], meta.namespace_of(pod), cluster_dns(store))
    volumes.prepare_empty_dirs(pod, allocatable(node).get("memory"))
    sandbox_id = sandbox.create_sandbox(pod, attempt, image, dns=dns,
                                        volumes=volumes.sandbox_mounts(pod))
    state.setdefault("startTime", meta.now_rfc3339())
    return sandbox_id


def _record_backoff(store: Store, pod: Obj, state: dict[str, Any],
                    actions: PodActions) -> None:
    """Carry the plan's restart decisions into the kubelet's memory and events."""
    cstates = state.setdefault("containers", {})
    for name, count in actions.quick_restarts.items():
        cstates.setdefault(name, {})["quickRestarts"] = count
    md = pod["metadata"]
    pod_ref = f"{md['name']}_{md['namespace']}({md['uid']})"
    for name, wait in actions.backoff.items():
        cstates.setdefault(name, {})["waiting"] = {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {int(wait.delay)}s restarting failed container={name} "
                       f"pod={pod_ref}",
        }
        emit(store, pod, "Warning", "BackOff",
             f"Back-off restarting failed container {name} in pod {pod_ref}", name)


def _start_containers(store: Store, pod: Obj, node_obj: Obj, state: dict[str, Any],
                      start: dict[str, int],
                      sandbox_id: str, pod_ip: Future[str],
                      progress: images.ProgressFn | None) -> None:
    node = node_facts(node_obj)
    host_ip = node.host_ip if node else ""
    node_name = pod["spec"].get("nodeName", "")
    config = config_objects(store, pod)
    try:
        claimed = claim_sources(store, pod)
        bound = configvolumes.prepare(store.path.parent, pod, config, allocatable(node_obj),
                                      projected_tokens(store))
        sources = volumes.prepare_volumes(pod, bound, claimed,
                                          allocatable(node_obj).get("memory"))
    except (volumes.HostPathError, configvolumes.MountError, ClaimNotReady) as exc:
        emit(store, pod, "Warning", "FailedMount", str(exc))
        return
    by_name = {c["name"]: c for c in
               pod["spec"].get("containers", []) + (pod["spec"].get("initContainers") or [])}
    cstates = state.setdefault("containers", {})
    links = service_links(store, pod)

    def one(name: str) -> None:
        cstate = cstates.setdefault(name, {})
        cstate.pop("waiting", None)
        spec = by_name[name]
        # The pod IP exists only once the sandbox runs; wait for it only if env needs it.
        ip = pod_ip.result() if specs.needs_pod_ip(spec) else ""
        if pod["spec"].get("hostNetwork"):
            ip = host_ip
        ctx = specs.PodContext(pod_ip=ip, host_ip=host_ip, node_name=node_name,
                               service_env=links, config=config,
                               allocatable=allocatable(node_obj))
        waiting = _start_one(store, pod, spec, start[name], sandbox_id, ctx, sources,
                             pod_ip, progress)
        if waiting:
            cstate["waiting"] = waiting

    if any((by_name[name].get("lifecycle") or {}).get("postStart") for name in start):
        # Containers start one after another, each after its postStart hook returned, as
        # the kubelet's SyncPod does (a sidecar's hook may hold the app back on purpose).
        for name in start:
            one(name)
    else:
        parallel(one, list(start))


def service_links(store: Store, pod: Obj) -> dict[str, str]:
    """The Service variables for containers created now: only Services that exist at this
    moment count, as in Kubernetes (a later Service needs a container restart)."""
    ensure_kubernetes_service(store, lambda: reserve_service_range(home_id(store.path.parent)))
    namespace = meta.namespace_of(pod)
    services = store.list("Service", namespace)
    if namespace != "default":
        services += [s for s in store.list("Service", "default") if meta.name_of(s) ==
                     KUBERNETES]
    enable = pod["spec"].get("enableServiceLinks", True) is not False
    return specs.service_env(specs.link_services(services, namespace, enable))


def projected_tokens(store: Store) -> configvolumes.TokenSource:
    """The kubelet's token manager: a pod's projected token, bound to the pod and its node,
    kept while fresh and made anew after 80% of its life (pod syncs come far more often)."""
    def token(pod: Obj, source: Obj, old: bytes | None) -> bytes:
        now = time.time()
        if old is not None and not identity.needs_refresh(old, now):
            return old
        namespace = meta.namespace_of(pod)
        name = pod["spec"].get("serviceAccountName") or identity.DEFAULT_SA
        account = store.get("ServiceAccount", namespace, name)
        if account is None:
            raise ValueError(f'serviceaccounts "{name}" not found')
        node_name = pod["spec"].get("nodeName") or ""
        node = store.get("Node", "", node_name) if node_name else None
        binding = identity.Binding(meta.name_of(pod), meta.uid_of(pod), node_name,
                                   meta.uid_of(node) if node else "")
        audience = source.get("audience") or identity.ISSUER
        seconds = int(source.get("expirationSeconds") or identity.DEFAULT_SECONDS)
        made, _ = identity.issue(store.path.parent, account, [audience], seconds, binding,
                                 now)
        return made.encode()

    return token


def allocatable(node: Obj) -> dict[str, str]:
    """What the node offers pods: limits a container does not set default to it."""
    status = node.get("status") or {}
    return {k: str(v) for k, v in (status.get("allocatable") or status.get("capacity")
                                   or {}).items()}


def config_objects(store: Store, pod: Obj) -> configenv.ConfigObjects:
    """The ConfigMaps and Secrets the pod refers to that exist now (env is read once, at
    container creation)."""
    namespace = meta.namespace_of(pod)
    found: configenv.ConfigObjects = {}
    for kind, name in configenv.references(pod):
        obj = store.get(kind, namespace, name)
        if obj is not None:
            found[(kind, name)] = obj
    return found


def _start_one(store: Store, pod: Obj, spec: Obj, attempt: int, sandbox_id: str,
               ctx: specs.PodContext, sources: specs.VolumeSources, sandbox_started: Future[str],
               progress: images.ProgressFn | None) -> dict[str, str] | None:
    """Pull per policy, create and start one container; the waiting state on failure."""
    name, image = spec["name"], spec["image"]
    policy = spec.get("imagePullPolicy") or default_pull_policy(image)
    if policy == "Always":
        emit(store, pod, "Normal", "Pulling", f'Pulling image "{image}"', name)
    got = images.ensure_image(image, policy, progress)
    if not got.ok:
        emit(store, pod, "Warning", "Failed", got.message, name)
        emit(store, pod, "Warning", "Failed", f"Error: {got.reason}", name)
        return {"reason": got.reason, "message": got.message}
    if got.pulled:
        emit(store, pod, "Normal", "Pulled",
             f'Successfully pulled image "{image}" in {got.seconds:.3g}s '
             f"({got.seconds:.3g}s including waiting). Image size: {got.size} bytes.", name)
    elif policy != "Always":
        emit(store, pod, "Normal", "Pulled",
             f'Container image "{image}" already present on machine', name)
    try:
        for warning in configenv.env_from(meta.namespace_of(pod), spec, ctx.config).warnings:
            emit(store, pod, "Warning", "InvalidEnvironmentVariableNames", warning)
        mounts = _mounts(pod, spec, ctx, sources, sandbox_id, sandbox_started)
        container_id = ctr.create_container(pod, spec, attempt, sandbox_id, ctx, mounts)
    except (configenv.ConfigError, specs.SubPathError) as exc:
        emit(store, pod, "Warning", "Failed", f"Error: {exc}", name)
        return {"reason": "CreateContainerConfigError", "message": str(exc)}
    except (api_error(), ValueError) as exc:
        message = _api_message(exc)
        emit(store, pod, "Warning", "Failed", f"Error: {message}", name)
        return {"reason": "CreateContainerError", "message": message}
    emit(store, pod, "Normal", "Created", f"Created container: {name}", name)
    sandbox_started.result()
    try:
        ctr.start(container_id)
    except api_error() as exc:
        message = _api_message(exc)
        emit(store, pod, "Warning", "Failed",
             f'Error: failed to start container "{name}": {message}', name)
        return None  # Docker keeps the error on the container: status says ContainerCannotRun
    emit(store, pod, "Normal", "Started", f"Started container {name}", name)
    return _post_start(store, pod, spec, container_id, ctx, sandbox_started)


def _post_start(store: Store, pod: Obj, spec: Obj, container_id: str, ctx: specs.PodContext,
                sandbox_started: Future[str]) -> dict[str, str] | None:
    """Run the container's postStart hook; on failure kill the container (its restart is
    the restart policy's) and return its waiting state, as startContainer does."""
    if not (spec.get("lifecycle") or {}).get("postStart"):
        return None
    ip = ctx.host_ip if pod["spec"].get("hostNetwork") else sandbox_started.result()
    message = hooks.run_post_start(store, pod, spec, container_id, ip)
    if message is None:
        return None
    name = spec["name"]
    # Upstream keeps the hook's message out of the event: it may carry secrets.
    emit(store, pod, "Warning", "FailedPostStartHook", "PostStartHook failed", name)
    emit(store, pod, "Normal", "Killing", "FailedPostStartHook", name)
    grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
    hooks.kill_container(store, pod, spec, container_id, grace, ip)
    return {"reason": "PostStartHookError", "message": message}


def _mounts(pod: Obj, spec: Obj, ctx: specs.PodContext, sources: specs.VolumeSources,
            sandbox_id: str, sandbox_started: Future[str]) -> list[specs.Mount]:
    """The container's mounts with their sub-paths ready. A Docker volume's sub-path is
    looked at once the sandbox runs: it holds a Memory volume's tmpfs (runtime.volumes)."""
    needs_env = any(m.get("subPathExpr") for m in spec.get("volumeMounts") or [])
    env = specs.container_env(pod, spec, ctx) if needs_env else {}
    mounts = specs.container_mounts(pod, spec, sources, env)
    if any(m.engine_creates for m in mounts):
        sandbox_started.result()
    for mount in mounts:
        subpaths.prepare(mount, spec["name"], sandbox_id)
    return mounts


def _api_message(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return " ".join(str(explanation or exc).split())


