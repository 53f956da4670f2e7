"""Stored pods with their live status, computed from one Docker list call."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.kubelet.node import node_facts
from podctl.kubelet.status import compute_status
from podctl.runtime import inventory
from podctl.store import Store


def pods_with_status(store: Store, pods: list[Obj], detailed: bool = False) -> list[Obj]:
    """Fill each pod's status; `detailed` inspects running containers too (start times)."""
    if not pods:
        return pods
    if len(pods) == 1:
        records = inventory.list_containers(meta.uid_of(pods[0]))
    else:
        records = inventory.list_containers()
    grouped = inventory.by_pod(records)
    uids = {meta.uid_of(p) for p in pods}
    wanted = [r for r in records if r.pod_uid in uids]
    inventory.inspect(r for r in wanted if detailed or inventory.needs_inspect(r))
    facts = {n["metadata"]["name"]: node_facts(n) for n in store.list("Node")}
    states = store.pod_states()
    probes = store.probe_results()
    out = []
    for pod in pods:
        uid = meta.uid_of(pod)
        node = facts.get(pod["spec"].get("nodeName", ""))
        full = dict(pod)
        state = {**states.get(uid, {}), "probes": probes}
        full["status"] = compute_status(pod, grouped.get(uid, []), state, node)
        out.append(full)
    return out
