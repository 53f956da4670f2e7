"""The one reconcile driver: every controller is a handler registered for a kind, given a
key (kind, namespace, name) and a queue for the keys its work concerns next (a pod it made,
its owner, the ReplicaSets a Deployment scaled). `run-controller` drains them from its work
queue; a command that needs the controller's follow-up while none runs drains the same
handlers here, in-process (`drain`).

Above both the controllers and the kubelet, as the process that runs them together: its pod
handler runs the scheduler's and the garbage collector's share, then the kubelet's."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from podctl.api import identity, meta
from podctl.api.claims import claim_names
from podctl.api.meta import Obj
from podctl.controllers import customresources, persistentvolume, serviceaccounts
from podctl.controllers.bind import bind_pending
from podctl.controllers.cronjob_sync import CronJobSync
from podctl.controllers.daemonset import DaemonSetSync
from podctl.controllers.deletion import (
    advance_namespace_deletion,
    delete_at_once,
    mark_pod_deleting,
)
from podctl.controllers.deployment_sync import DeploymentSync
from podctl.controllers.disruption import budgets_for, sync_pdb
from podctl.controllers.endpointslices import sync_service_endpoints
from podctl.controllers.ephemeral import ensure_claims
from podctl.controllers.horizontal_sync import AutoscalerSync
from podctl.controllers.job_sync import JobSync
from podctl.controllers.owners import owners_gone
from podctl.controllers.ownersync import Key, OwnerSync
from podctl.controllers.podnetwork import is_agent, sync_pod_network
from podctl.controllers.rbac import sync_cluster_role
from podctl.controllers.rc_sync import ReplicaSync
from podctl.controllers.resourcequota import sync_quota
from podctl.controllers.slowstart import OwnerControl
from podctl.controllers.statefulset_sync import StatefulSetSync
from podctl.errors import DockerUnavailable
from podctl.kubelet import sync as kubelet
from podctl.kubelet.teardown import FINISHING, finish_pod
from podctl.node import pod_engine, ready_status
from podctl.runtime.configenv import references
from podctl.store import Store

log = logging.getLogger("podctl.controller")

OWNER_SYNCS: dict[str, OwnerSync[Any, Any]] = {sync.kind: sync for sync in (
    ReplicaSync("ReplicationController"), ReplicaSync("ReplicaSet"), JobSync(),
    DaemonSetSync(), DeploymentSync(), StatefulSetSync(), CronJobSync())}
# The kinds whose controllers make pods, and those a pod change in their namespace may
# concern (an owner may adopt or release it, a Service's endpoints follow it, a disruption
# budget and a quota count it).
POD_OWNERS = tuple(kind for kind in OWNER_SYNCS if meta.RESOURCES[kind].owns_pods)
POD_WATCHERS = (*POD_OWNERS, "Service", "PodDisruptionBudget", "ResourceQuota",
                "NetworkPolicy")
# One key for the whole data plane: a burst of Service and Endpoints changes is one sync.
DATAPLANE = ("DataPlane", "", "")
# One key for the ingress controller's proxy: a burst of Ingress, Service, Endpoints and
# Secret changes is one render and one reload (the controller registers its handler).
INGRESS = ("IngressPlane", "", "")
# One key for the pod network's agents and routes: nodes coming and going, agents starting.
PODNETWORK = ("PodNetwork", "", "")
NODE_RETRY_SECONDS = 3.0  # a node's agent that failed a sync: the next try
# Passes of one key in one in-process drain, at most (a rollout's steps, status passes).
MAX_PASSES = 50
# Keys handled at once in an in-process drain (pods start in parallel, as on a node).
DRAIN_WORKERS = 8


class Queue(Protocol):
    def add(self, key: Hashable, delay: float = 0.0) -> None: ...


@dataclass
class Context:
    """What a handler works with: the store, the pod owners' shared memory (expectations,
    back-off, stop signal) and where follow-up keys go."""

    store: Store
    control: OwnerControl
    queue: Queue


Handler = Callable[[Context, str, str], None]


def pod_fanout(namespace: str, objects: Iterable[Key]) -> list[Key]:
    """What a pod's change (made, relabelled, its containers' state) wakes besides the pod:
    the owners and Services of its namespace, among `objects`, and the namespace itself
    (a Terminating one waits for its pods)."""
    keys = list(objects)
    policed = any(key[0] == "NetworkPolicy" for key in keys)
    return [*(key for key in keys if key[0] in POD_WATCHERS and key[1] == namespace
              and key[0] != "NetworkPolicy"),
            ("Namespace", "", namespace), *([DATAPLANE] if policed else [])]


def sync_owner(ctx: Context, kind: str, namespace: str, name: str) -> None:
    result = OWNER_SYNCS[kind].run(ctx.store, namespace, name, ctx.control)
    for obj in result.created + result.deleting:
        ctx.queue.add((str(obj["kind"]), namespace, meta.name_of(obj)))
    for key in result.wake:
        ctx.queue.add(key)
    if result.requeue_after is not None:
        ctx.queue.add((kind, namespace, name), delay=result.requeue_after)


class PodHooks:
    """What a pod's pass tells its caller (the controller's prober); nothing by default."""

    def gone(self, namespace: str, name: str) -> None:
        pass

    def seen(self, pod: Obj) -> None:
        pass

    def finishing(self, pod: Obj) -> None:
        pass

    def before_sync(self, namespace: str, name: str) -> None:
        pass

    def synced(self, pod: Obj, result: kubelet.SyncResult) -> None:
        pass


NO_HOOKS = PodHooks()


def sync_pod(ctx: Context, namespace: str, name: str, hooks: PodHooks = NO_HOOKS) -> None:
    """The garbage collector's, the scheduler's and the kubelet's pass over one pod; its
    controller is woken after it (its status counts the pod)."""
    store = ctx.store
    pod = store.get("Pod", namespace, name)
    if pod is None:
        hooks.gone(namespace, name)
        _wake_claims_of(ctx, namespace, name)
        return
    try:
        _sync_pod(ctx, pod, hooks)
    except DockerUnavailable:
        if pod_engine(store, pod) is None:
            raise  # the host's engine: the caller retries
        # A node container that is down: its kubelet is down with it. The node's return
        # (its event stream reconnecting) wakes its pods.
        log.info("pod %s/%s: node %s does not answer; left until it does", namespace, name,
                 pod["spec"].get("nodeName"))


def _sync_pod(ctx: Context, pod: Obj, hooks: PodHooks) -> None:
    store = ctx.store
    namespace, name = meta.namespace_of(pod), meta.name_of(pod)
    hooks.seen(pod)
    if not pod["metadata"].get("deletionTimestamp") and owners_gone(store, pod):
        # The garbage collector's job: its owner was deleted (background cascade).
        pod = mark_pod_deleting(store, pod) or pod
    if pod["metadata"].get("deletionTimestamp"):
        # In this pod's own worker: its graceful stop delays no other pod.
        hooks.finishing(pod)
        if finish_pod(store, pod):
            log.info("pod %s/%s deleted", namespace, name)
            for claim in claim_names(pod):  # a Terminating claim may wait for it
                ctx.queue.add(("PersistentVolumeClaim", namespace, claim))
        _wake_controller(ctx, pod)
        return
    hooks.before_sync(namespace, name)
    if not pod["spec"].get("nodeName"):
        ensure_claims(store, pod)  # the ephemeral volume controller's share
    if not pod["spec"].get("nodeName") and not bind_pending(store, pod):
        return
    result = kubelet.sync_pod(store, namespace, name)
    log.debug("synced pod %s/%s: %s", namespace, name, result)
    if is_agent(pod):
        ctx.queue.add(PODNETWORK)  # a new agent's node (a new network namespace) needs all
    if result.retry_in is not None:
        ctx.queue.add(("Pod", namespace, name), delay=result.retry_in)
    hooks.synced(pod, result)
    _wake_controller(ctx, pod)


def _wake_claims_of(ctx: Context, namespace: str, pod: str) -> None:
    """A pod gone: its ephemeral volumes' claims go after it, and Terminating claims it
    used may go now."""
    for claim in ctx.store.list("PersistentVolumeClaim", namespace):
        owner = meta.controller_of(claim) or {}
        if (owner.get("kind") == "Pod" and owner.get("name") == pod) or \
                claim["metadata"].get("deletionTimestamp"):
            ctx.queue.add(("PersistentVolumeClaim", namespace, meta.name_of(claim)))


def _wake_controller(ctx: Context, pod: Obj) -> None:
    """The pod's controller and the budgets and quotas counting it (a command's in-process
    drain has no pod events to fan out)."""
    owner = meta.controller_of(pod)
    if owner is not None and owner.get("kind") in OWNER_SYNCS:
        ctx.queue.add((str(owner["kind"]), meta.namespace_of(pod), str(owner.get("name"))))
    for pdb in budgets_for(ctx.store, pod):
        ctx.queue.add(("PodDisruptionBudget", meta.namespace_of(pdb), meta.name_of(pdb)))
    for quota in ctx.store.list("ResourceQuota", meta.namespace_of(pod)):
        ctx.queue.add(("ResourceQuota", meta.namespace_of(quota), meta.name_of(quota)))


def sync_node(ctx: Context, _namespace: str, name: str) -> None:
    """A node's labels, taints or readiness changed: every DaemonSet judges it again, pods
    waiting for a node are scheduled again, and its kubelet looks again at the pods the
    node's fall held up: the Terminating ones (they waited for it to be reachable) and,
    once it is Ready, those the lifecycle controller marked not Ready (its status write
    puts back what they are, as upstream's status manager reconciles); the pod network
    follows nodes."""
    ctx.queue.add(PODNETWORK)
    wake_ingress(ctx)  # a proxy per node
    for ds in ctx.store.list("DaemonSet"):
        ctx.queue.add(("DaemonSet", meta.namespace_of(ds), meta.name_of(ds)))
    for namespace, pod in ctx.store.unscheduled_pods():
        ctx.queue.add(("Pod", namespace, pod))
    node = ctx.store.get("Node", "", name)
    ready = node is not None and ready_status(node) == "True"
    for pod_obj in ctx.store.list("Pod"):
        if pod_obj["spec"].get("nodeName") == name and (
                pod_obj["metadata"].get("deletionTimestamp")
                or (ready and _marked_not_ready(pod_obj))):
            ctx.queue.add(("Pod", meta.namespace_of(pod_obj), meta.name_of(pod_obj)))


def _marked_not_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "False"
               for c in (pod.get("status") or {}).get("conditions") or [])


def collect_orphaned_pods(ctx: Context, _namespace: str, node: str) -> None:
    """The pod garbage collector's share for a deleted Node (upstream's gcOrphaned, once
    the node has stayed away for its quarantine): the pods bound to it are deleted at
    once, no kubelet being left to stop them, and their owners replace them."""
    if ctx.store.get("Node", "", node) is not None:
        return  # registered again meanwhile
    for pod in ctx.store.list("Pod"):
        if pod["spec"].get("nodeName") != node:
            continue
        namespace, name = meta.namespace_of(pod), meta.name_of(pod)
        if delete_at_once(ctx.store, "Pod", namespace, name, meta.uid_of(pod)):
            log.info("pod %s/%s deleted: its node %s is gone", namespace, name, node)
            ctx.queue.add(("Pod", namespace, name))
            _wake_controller(ctx, pod)


def sync_namespace(ctx: Context, _namespace: str, name: str) -> None:
    """A live namespace gets its identity objects; a Terminating one (whoever started its
    deletion) is emptied, then removed."""
    if ctx.store.list("NetworkPolicy"):
        ctx.queue.add(DATAPLANE)  # a namespaceSelector may select it now, or no longer
    namespace = ctx.store.get("Namespace", "", name)
    if namespace is None:
        return
    if not namespace["metadata"].get("deletionTimestamp"):
        _identity(ctx, name)
        return
    for pod in advance_namespace_deletion(ctx.store, name):
        ctx.queue.add(("Pod", name, meta.name_of(pod)))


def sync_service(ctx: Context, namespace: str, name: str) -> None:
    done, sliced = sync_service_endpoints(ctx.store, namespace, name)
    if done:
        log.info("endpoints %s/%s %s", namespace, name, done)
    if sliced:
        log.info("endpointslices of %s/%s: %s", namespace, name, sliced)
    ctx.queue.add(DATAPLANE)
    wake_ingress(ctx)


def sync_endpoints(ctx: Context, _namespace: str, _name: str) -> None:
    ctx.queue.add(DATAPLANE)
    wake_ingress(ctx)


def wake_ingress(ctx: Context) -> None:
    """A backend or certificate may have changed: the proxy follows while Ingresses exist."""
    if ctx.store.list("Ingress"):
        ctx.queue.add(INGRESS)


def sync_podnetwork(ctx: Context, _namespace: str, _name: str) -> None:
    synced = sync_pod_network(ctx.store)
    if synced.done:
        log.info("pod network: %s", synced.done)
    for key in synced.wake:
        ctx.queue.add(key)
    if synced.plane:
        ctx.queue.add(DATAPLANE)
    if synced.failed:
        ctx.queue.add(PODNETWORK, delay=NODE_RETRY_SECONDS)


def sync_disruption_budget(ctx: Context, namespace: str, name: str) -> None:
    now = datetime.now(UTC)
    recheck = sync_pdb(ctx.store, namespace, name, now)
    if recheck is not None:
        ctx.queue.add(("PodDisruptionBudget", namespace, name),
                      delay=(recheck - now).total_seconds())


def _identity(ctx: Context, namespace: str) -> None:
    for done in serviceaccounts.ensure_namespace(ctx.store, namespace):
        log.info("%s", done)


def sync_service_account(ctx: Context, namespace: str, name: str) -> None:
    """The `default` ServiceAccount is made again when deleted."""
    if name == identity.DEFAULT_SA:
        _identity(ctx, namespace)


def sync_configmap(ctx: Context, namespace: str, name: str) -> None:
    if name == identity.ROOT_CA_CONFIGMAP:
        _identity(ctx, namespace)
    wake_users("ConfigMap")(ctx, namespace, name)
def sync_resource_quota(ctx: Context, namespace: str, name: str) -> None:
    sync_quota(ctx.store, namespace, name)


def quota_fanout(changed: Iterable[Key], objects: Iterable[Key]) -> list[Key]:
    """The quotas (among `objects`) of the namespaces where something they may count
    changed: each counts again."""
    namespaces = {ns for kind, ns, _ in changed if ns and kind != "ResourceQuota"}
    return [key for key in objects if key[0] == "ResourceQuota" and key[1] in namespaces]


def wake_users(kind: str) -> Handler:
    def handler(ctx: Context, namespace: str, name: str) -> None:
        """A ConfigMap or Secret changed: the pods that use it may be waiting for it
        (CreateContainerConfigError) or have volume files to bring up to date; a Secret
        may be an Ingress's certificate."""
        for pod in ctx.store.list("Pod", namespace):
            if (kind, name) in references(pod):
                ctx.queue.add(("Pod", namespace, meta.name_of(pod)))
        if kind == "Secret":
            wake_ingress(ctx)

    return handler


def sync_claim(ctx: Context, namespace: str, name: str) -> None:
    _storage_synced(ctx, ("PersistentVolumeClaim", namespace, name),
                    persistentvolume.sync_claim(ctx.store, namespace, name))


def sync_volume(ctx: Context, _namespace: str, name: str) -> None:
    _storage_synced(ctx, ("PersistentVolume", "", name),
                    persistentvolume.sync_volume(ctx.store, name))


def _storage_synced(ctx: Context, key: Key, synced: persistentvolume.Synced) -> None:
    for woken in synced.wake:
        ctx.queue.add(woken)
    if synced.retry_in is not None:
        ctx.queue.add(key, delay=synced.retry_in)


def sync_definition(ctx: Context, _namespace: str, name: str) -> None:
    """A CustomResourceDefinition being deleted: again shortly while its objects go."""
    if customresources.sync_definition(ctx.store, name):
        ctx.queue.add(("CustomResourceDefinition", "", name), delay=1.0)
    ctx.queue.add(customresources.GARBAGE)


def collect_garbage(ctx: Context, _namespace: str, _name: str) -> None:
    """The garbage collector's pass; again shortly while an owner waits."""
    if customresources.collect(ctx.store, COLLECTED_BY_OWNERS):
        ctx.queue.add(customresources.GARBAGE, delay=1.0)


# Kinds whose own pass deletes them once their owners are gone (owners_gone).
COLLECTED_BY_OWNERS = frozenset({"Pod", *OWNER_SYNCS})


# The autoscalers' memory lives as long as the process that runs them.
AUTOSCALERS = AutoscalerSync()


def sync_autoscaler(ctx: Context, namespace: str, name: str) -> None:
    AUTOSCALERS.run(ctx.store, namespace, name)


def _owner_handler(kind: str) -> Handler:
    return lambda ctx, namespace, name: sync_owner(ctx, kind, namespace, name)


HANDLERS: dict[str, Handler] = {
    **{kind: _owner_handler(kind) for kind in OWNER_SYNCS},
    "Pod": sync_pod, "Node": sync_node, "Namespace": sync_namespace,
    "Service": sync_service, "Endpoints": sync_endpoints,
    "ConfigMap": sync_configmap, "Secret": wake_users("Secret"),
    "ServiceAccount": sync_service_account,
    "PodNetwork": sync_podnetwork, "PodDisruptionBudget": sync_disruption_budget,
    "PersistentVolumeClaim": sync_claim, "PersistentVolume": sync_volume,
    "ClusterRole": lambda ctx, namespace, name: sync_cluster_role(ctx.store, namespace, name),
    "ResourceQuota": sync_resource_quota,
    "HorizontalPodAutoscaler": sync_autoscaler,
    # A policy's change is a change of every node's rules.
    "NetworkPolicy": lambda ctx, _ns, _name: ctx.queue.add(DATAPLANE),
    "CustomResourceDefinition": sync_definition,
    "GarbageCollector": collect_garbage,
    # Any Ingress or class change is a new render of the one proxy.
    "Ingress": lambda ctx, _ns, _name: ctx.queue.add(INGRESS),
    "IngressClass": lambda ctx, _ns, _name: ctx.queue.add(INGRESS),
}


def handle(ctx: Context, key: Key, handlers: dict[str, Handler] = HANDLERS) -> None:
    kind, namespace, name = key
    handler = handlers.get(kind)
    if handler is not None:
        handler(ctx, namespace, name)
    elif kind in meta.RESOURCES and meta.RESOURCES[kind].custom:
        # A custom resource changed or went: its dependents, or itself, may be garbage.
        ctx.queue.add(customresources.GARBAGE)


def watched_kinds() -> tuple[str, ...]:
    """The kinds a handler is registered for, and the custom kinds served now."""
    return (*HANDLERS, *(k for k, r in list(meta.RESOURCES.items()) if r.custom))


class _Waves:
    """The in-process queue: keys ready now, handled in waves; work asked for later (a
    back-off, a deadline) is a running controller's."""

    def __init__(self, keys: Iterable[Key]) -> None:
        self._lock = threading.Lock()
        self._ready: dict[Key, None] = dict.fromkeys(keys)

    def add(self, key: Hashable, delay: float = 0.0) -> None:
        if delay <= 0:
            assert isinstance(key, tuple)
            with self._lock:
                self._ready[key] = None

    def take(self) -> list[Key]:
        with self._lock:
            wave, self._ready = list(self._ready), {}
        return wave


def drain(store: Store, keys: Iterable[Key], handlers: dict[str, Handler] = HANDLERS) -> None:
    """Run the controllers here, once, from `keys` until no key has work left now: what a
    controller would do after a command's write, for a command run while none runs. Each
    wave's writes are seen by the next (the store is read directly), so the owners'
    expectations are met before each wave; a key is handled MAX_PASSES times at most."""
    waves = _Waves(keys)
    ctx = Context(store, OwnerControl(), waves)
    passes: Counter[Key] = Counter()
    with ThreadPoolExecutor(max_workers=DRAIN_WORKERS, thread_name_prefix="drain") as pool, \
            ThreadPoolExecutor(max_workers=FINISHING, thread_name_prefix="stop") as stops:
        while wave := [key for key in waves.take() if passes[key] < MAX_PASSES]:
            passes.update(wave)
            ctx.control.expectations.observed(store.revision())
            # Every graceful stop starts at once, as on a node (see finish_pods); other
            # work (starting pods) on a bounded pool.
            done = [(stops if _stopping(store, key) else pool).submit(handle, ctx, key,
                                                                       handlers)
                    for key in wave]
            for future in done:
                future.result()


def _stopping(store: Store, key: Key) -> bool:
    if key[0] != "Pod":
        return False
    pod = store.get("Pod", key[1], key[2])
    return pod is not None and bool(pod["metadata"].get("deletionTimestamp"))
