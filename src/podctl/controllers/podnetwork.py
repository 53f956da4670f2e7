"""The flat pod network's control side: a network agent per node (kind's kindnet: a
DaemonSet of hostNetwork pods with NET_ADMIN in kube-system, the first node included) and
each node's routes and rules kept in line with the Nodes, as nodes come, go and come back.

The DaemonSet exists while the home has a node container (one node needs no routes); the
last node container deleted, the host's routes of this home go, then the agents. The
routes stay when the controller stops (pods keep talking); `podctl reset` removes them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import delete_object
from podctl.controllers.services import SYSTEM_NAMESPACE
from podctl.errors import AlreadyExists, DockerUnavailable
from podctl.home import home_id
from podctl.manifest.defaults import default_object
from podctl.proxy import podnet, podnetapply
from podctl.proxy.apply import ProxyError, find_container
from podctl.runtime import engines, nodecontainers, podcidrs
from podctl.runtime.client import api_error
from podctl.runtime.network import pod_subnet
from podctl.runtime.servicenet import SERVICE_CIDR
from podctl.store import Store

log = logging.getLogger("podctl.podnetwork")

AGENT = "kindnet"
AGENT_CONTAINER = "kindnet-cni"
AGENT_IMAGE = "podctl/kindnet:1"
AGENT_LABELS = {"app": "kindnet", "k8s-app": "kindnet", "tier": "node"}
# Agent container id -> the rules last written there: a sync with nothing new for a node
# reads its routes and writes nothing (a new agent, in a new namespace, gets everything).
_applied: dict[str, str] = {}


def agent_daemonset() -> Obj:
    """kind's kindnet DaemonSet: one agent per node, tolerating every taint, so that
    `drain --ignore-daemonsets` leaves it as it leaves kind's. On a node container it also
    holds kube-proxy's rules (controllers/dataplane.py), whose host settings need
    SYS_ADMIN (remounting /proc/sys and /sys writable, as the host's kube-proxy does)."""
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": AGENT, "namespace": SYSTEM_NAMESPACE,
                       "labels": dict(AGENT_LABELS)},
          "spec": {"selector": {"matchLabels": {"app": AGENT}},
                   "template": {
                       "metadata": {"labels": dict(AGENT_LABELS)},
                       "spec": {"hostNetwork": True, "terminationGracePeriodSeconds": 1,
                                "tolerations": [{"operator": "Exists"}],
                                "containers": [{
                                    "name": AGENT_CONTAINER, "image": AGENT_IMAGE,
                                    "imagePullPolicy": "Never",
                                    "securityContext": {"capabilities": {
                                        "add": ["NET_ADMIN", "NET_RAW",
                                                "SYS_ADMIN"]}}}]}}}}
    return default_object("DaemonSet", ds, SYSTEM_NAMESPACE)


def is_agent(pod: Obj) -> bool:
    return meta.namespace_of(pod) == SYSTEM_NAMESPACE and \
        meta.labels_of(pod).get("k8s-app") == AGENT


def wanted(nodes: list[Obj]) -> bool:
    """The home has a node container: its nodes need routes to each other."""
    return any(engines.kind_of(n) == engines.CONTAINER for n in nodes)


@dataclasses.dataclass
class Synced:
    """What a sync did (for the log), the keys it wakes (the DaemonSet it made, the agents
    its deletion marked), whether kube-proxy's rules are wanted on a new agent, and
    whether a node's agent failed (no event may come to ask for the next try)."""

    done: dict[str, Any]
    wake: list[tuple[str, str, str]]
    plane: bool = False
    failed: bool = False


def sync_pod_network(store: Store) -> Synced:
    """The agents' DaemonSet while the home has a node container, then each running
    agent's routes and rules; with none left, the host's routes of the home, then the
    DaemonSet and its agents."""
    homeid = home_id(store.path.parent)
    nodes = store.list("Node")
    agents = [p for p in store.list("Pod", SYSTEM_NAMESPACE) if is_agent(p)]
    ds = store.get("DaemonSet", SYSTEM_NAMESPACE, AGENT)
    synced = Synced({}, [])
    if not wanted(nodes):
        if ds is not None:
            synced.done["routes removed"] = _remove_host_routes(store, homeid, agents)
            marked = delete_object(store, "DaemonSet", SYSTEM_NAMESPACE, AGENT).pods
            synced.done["agents deleted"] = len(marked)
            synced.wake += [("Pod", SYSTEM_NAMESPACE, meta.name_of(p)) for p in marked]
        return synced
    if ds is None:
        _ensure_namespace(store)
        with contextlib.suppress(AlreadyExists):
            registry.create(store, agent_daemonset())
            synced.done["agents"] = "daemonset made"
        synced.wake.append(("DaemonSet", SYSTEM_NAMESPACE, AGENT))
    running = [a for a in agents if not a["metadata"].get("deletionTimestamp")
               and a["spec"].get("nodeName")]
    if running:
        changed, fresh, failed = _sync_nodes(store, homeid, nodes, running)
        synced.failed = bool(failed)
        if changed:
            synced.done["routes changed on"] = changed
        if fresh:
            # A node container's new agent (a new node, or its namespace after a
            # restart) needs kube-proxy's rules too.
            synced.done["new agents on"] = fresh
            synced.plane = True
    return synced


def node_agents(store: Store) -> list[tuple[str, engines.Engine, str]]:
    """(node, its engine, its running agent's container) for each node container: where
    kube-proxy's rules go on that node (the agent is in the node's network namespace)."""
    homeid = home_id(store.path.parent)
    by_node = {a["spec"].get("nodeName"): a for a in store.list("Pod", SYSTEM_NAMESPACE)
               if is_agent(a) and not a["metadata"].get("deletionTimestamp")}
    found = []
    for node in store.list("Node"):
        engine = engines.engine_of(homeid, node)
        agent = by_node.get(meta.name_of(node))
        if engine is None or agent is None:
            continue
        try:
            with engines.using(engine):
                container = find_container(meta.uid_of(agent), AGENT_CONTAINER)
        except DockerUnavailable:
            continue
        if container is not None:
            found.append((meta.name_of(node), engine, container))
    return found


def _ensure_namespace(store: Store) -> None:
    if store.get("Namespace", "", SYSTEM_NAMESPACE) is None:
        with contextlib.suppress(AlreadyExists):
            registry.create(store, {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": SYSTEM_NAMESPACE}})


def _sync_nodes(store: Store, homeid: str, nodes: list[Obj],
                agents: list[Obj]) -> tuple[list[str], list[str], list[str]]:
    """Each node whose agent runs gets its plan; a node that is down is left for its
    return (its agent's restart wakes this sync). The nodes whose routes changed, the
    node containers whose agent is new, and the nodes whose agent failed the plan."""
    _host_node_cidr(store, nodes)
    addresses = nodecontainers.addresses(homeid)
    net = [podnet.NodeNet(meta.name_of(n), _address(n, addresses),
                          str((n.get("spec") or {}).get("podCIDR") or ""))
           for n in nodes if engines.kind_of(n) is not None]
    with engines.using(None):
        owners = {cidr: podnet.home_metric(owner)
                  for cidr, owner in podcidrs.owners().items()}
    by_node = {a["spec"].get("nodeName"): a for a in agents}
    changed: list[str] = []
    fresh: list[str] = []
    failed: list[str] = []
    seen: set[str] = set()
    for node in nodes:
        container: str | None = None
        agent = by_node.get(meta.name_of(node))
        me = next((n for n in net if n.name == meta.name_of(node)), None)
        if agent is None or me is None:
            continue
        engine = engines.engine_of(homeid, node)
        try:
            with engines.using(engine):
                container = find_container(meta.uid_of(agent), AGENT_CONTAINER)
                if container is None:
                    continue
                seen.add(container)
                if engine is not None and container not in _applied:
                    fresh.append(me.name)
                current = podnetapply.current_routes(container)
                plan = podnet.plan_node(me, net, current, homeid, owners,
                                        host=engine is None,
                                        service_cidr=str(SERVICE_CIDR))
                if _applied.get(container) == plan.rules:
                    # This agent holds these rules already: routes only.
                    plan = dataclasses.replace(plan, rules="")
                podnetapply.apply(container, plan, me.pod_cidr)
        except (DockerUnavailable, podnetapply.AgentError, ProxyError, api_error()) as exc:
            # That node's agent went or its engine stopped answering: the others go on.
            log.warning("pod network on node %s: %s", me.name, exc)
            _applied.pop(container or "", None)
            if not isinstance(exc, DockerUnavailable):  # a node that is down: its return wakes
                failed.append(me.name)
            continue
        if plan.rules:
            _applied[container] = plan.rules
        if plan.replace or plan.delete:
            changed.append(me.name)
    for gone in set(_applied) - seen:
        del _applied[gone]
    return changed, fresh, failed


def _address(node: Obj, containers: dict[str, str]) -> str:
    """A node container's address as its running container has it now (a restarted node
    may have another; one that is down has none); the host's node's InternalIP."""
    if engines.kind_of(node) == engines.CONTAINER:
        return containers.get(meta.name_of(node), "")
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address") or "")
    return ""


def _host_node_cidr(store: Store, nodes: list[Obj]) -> None:
    """The host's node gets its pod CIDR (the host's pod network, Docker's choice) when a
    podctl that did not set it registered it."""
    host = next((n for n in nodes if engines.kind_of(n) == engines.HOST), None)
    if host is None or (host.get("spec") or {}).get("podCIDR"):
        return
    with engines.using(None):
        cidr = pod_subnet()
    if not cidr:
        return

    def change(fresh: Obj) -> bool:
        spec = fresh.setdefault("spec", {})
        if spec.get("podCIDR"):
            return False
        spec["podCIDR"], spec["podCIDRs"] = cidr, [cidr]
        return True

    updated = registry.mutate(store, "Node", "", meta.name_of(host), change)
    if updated is not None:
        host["spec"] = updated.get("spec") or {}


def _remove_host_routes(store: Store, homeid: str, agents: list[Obj]) -> int:
    """This home's routes out of the host's table, through the host's agent."""
    host = next((n for n in store.list("Node") if engines.kind_of(n) == engines.HOST), None)
    agent = next((a for a in agents if host is not None
                  and a["spec"].get("nodeName") == meta.name_of(host)), None)
    if agent is None:
        return 0
    with engines.using(None):
        container = find_container(meta.uid_of(agent), AGENT_CONTAINER)
        if container is None:
            return 0
        return podnetapply.remove_routes(container, podnet.home_metric(homeid))


def remove_home_routes(homeid: str) -> int:
    """For `podctl reset`: the home's routes out of the host's table through its running
    host agent, found by labels alone; 0 when none runs (the next agent of any home
    removes routes no reservation backs)."""
    from podctl.runtime import naming
    from podctl.runtime.client import container_list

    with engines.using(None):
        found = container_list({"label": [f"{naming.HOME}={homeid}",
                                          f"{naming.POD_NAMESPACE}={SYSTEM_NAMESPACE}",
                                          f"{naming.CONTAINER_NAME}={AGENT_CONTAINER}"],
                                "status": ["running"]})
        if not found:
            return 0
        return podnetapply.remove_routes(str(found[0]["Id"]), podnet.home_metric(homeid))
