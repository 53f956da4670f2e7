"""Read side: which stored objects a command names (names, label selectors), and pod
status when the engine does not answer."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.labels import Selector, SelectorError, parse_selector
from podctl.api.meta import Obj
from podctl.errors import NotFound, PodctlError
from podctl.kubelet.status import compute_status
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
