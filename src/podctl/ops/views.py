"""Read side: stored pods with their live status computed from one Docker list call."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.labels import Selector, SelectorError, parse_selector
from podctl.api.meta import Obj
from podctl.errors import NotFound, PodctlError
from podctl.kubelet.node import node_facts
from podctl.kubelet.status import compute_status
from podctl.runtime import inventory
from podctl.store import Store


def user_selector(text: str | None) -> Selector | None:
    """Parse a -l value; a bad one is a user error."""
    if not text:
        return None
    try:
        return parse_selector(text)
    except SelectorError as exc:
        raise PodctlError(str(exc)) from exc


def select(objs: list[Obj], names: list[str], selector: Selector | None, kind: str,
           missing: list[NotFound] | None = None) -> list[Obj]:
    """Filter by names (in the order given) and a label selector.

    A missing name is NotFound: raised, or collected in `missing` when one is given (kubectl
    get prints what it found and then an error per missing name).
    """
    if names:
        by_name = {meta.name_of(o): o for o in objs}
        absent = [NotFound(meta.plural(kind), n) for n in names if n not in by_name]
        if absent and missing is None:
            raise absent[0]
        if missing is not None:
            missing.extend(absent)
        objs = [by_name[n] for n in dict.fromkeys(names) if n in by_name]
    if selector is not None:
        objs = [o for o in objs if selector.matches(meta.labels_of(o))]
    return objs


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
    nodes = {n["metadata"]["name"]: n for n in store.list("Node")}
    states = store.pod_states()
    probes = store.probe_results()
    out = []
    for pod in pods:
        uid = meta.uid_of(pod)
        node = node_facts(nodes.get(pod["spec"].get("nodeName", "")))
        full = dict(pod)
        state = {**states.get(uid, {}), "probes": probes}
        full["status"] = compute_status(pod, grouped.get(uid, []), state, node)
        out.append(full)
    return out


def engine_down_warning(detail: str) -> str:
    """What `get` and `describe` say when pod status came from the store alone."""
    return (f"the Docker engine is unreachable ({detail}): pod status is what the store "
            "knows (Unknown for pods that had started)")


def pods_without_engine(store: Store, pods: list[Obj]) -> list[Obj]:
    """Pods with the status the store alone gives, for when the engine does not answer.

    As for pods of an unreachable node: one that had started is Unknown (its state cannot be
    obtained), one that never started is still Pending.
    """
    states = store.pod_states()
    out = []
    for pod in pods:
        state = states.get(meta.uid_of(pod), {})
        status = compute_status(pod, [], state, None)
        if pod["spec"].get("nodeName") and state.get("startTime"):
            status = {**status, "phase": "Unknown", "startTime": state["startTime"]}
        out.append({**pod, "status": status})
    return out
