"""Read side: which stored objects a command names (names, label selectors), and pods'
status as stored (refreshed from the engine once when no kubelet keeps it)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.labels import Selector, SelectorError, parse_selector
from podctl.api.meta import Obj
from podctl.errors import DockerUnavailable, NotFound, PodctlError
from podctl.leader import controller_running
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


def engine_down_warning(detail: str) -> str:
    """What `get` and `describe` say when pod status came from the store alone."""
    return (f"the Docker engine is unreachable ({detail}): pod status is what the store "
            "knows (Unknown for pods that had started)")


def nodes_with_status(store: Store, nodes: list[Obj]) -> list[Obj]:
    """Nodes with their status as the store has it: their kubelets post it. With no
    controller running, the host's kubelet posts it here once (the engine's facts and
    Ready while it answers), as pods' status is refreshed."""
    if controller_running(store.path.parent):
        return nodes
    # Loaded here: only `get nodes` needs the kubelet's heartbeat.
    from podctl.kubelet.heartbeat import refresh_host

    refresh_host(store)
    fresh = {meta.name_of(n): n for n in store.list("Node")}
    return [fresh.get(meta.name_of(n), n) for n in nodes]


def pods_with_status(store: Store, pods: list[Obj],
                     unreachable: list[str] | None = None) -> list[Obj]:
    """Pods with their status as the store has it: the kubelet of a running controller
    writes it. With none running, it is refreshed from the engine here, once, through the
    kubelet's own status write; when the engine does not answer, pods that had started
    are written Unknown (as pods of an unreachable node) and why lands in `unreachable`
    (raised when that is None)."""
    if not pods or controller_running(store.path.parent):
        return pods
    from podctl.kubelet import statusmanager

    try:
        return statusmanager.refresh(store, pods)
    except DockerUnavailable as exc:
        if unreachable is None:
            raise
        unreachable.append(exc.detail)
        return statusmanager.mark_unknown(store, pods)
