"""Which pod `logs`, `exec`, `attach` and `port-forward` use for TYPE/NAME, as kubectl's
polymorphichelpers pick it: the object's pod selector (SelectorsForObject), the pods it
selects in its namespace, sorted (podutils.ByLogging for logs, the reverse of ActivePods for
the others: the most active pod first), the first one. Pure: the caller lists the pods.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from podctl.api import meta
from podctl.api.labels import Selector, selector_from_label_selector, selector_from_map
from podctl.api.meta import Obj
from podctl.errors import PodctlError

# Kinds whose pods a selector names: spec.selector as a map, or as a LabelSelector.
MAP_SELECTOR = frozenset({"ReplicationController", "Service"})
LABEL_SELECTOR = frozenset({"ReplicaSet", "Deployment", "DaemonSet", "StatefulSet", "Job"})

LOGS = "logs"
ATTACH = "attach"


class SelectorError(Exception):
    """The object names no pods (its kind has no selector, or a Service has none)."""


def split_argument(arg: str) -> tuple[str, str]:
    """(kind, name) of POD or TYPE/NAME, refused in the words of kubectl's builder."""
    word, slash, name = arg.partition("/")
    if not slash:
        return "Pod", arg
    if not word or not name or "/" in name:
        raise PodctlError("arguments in resource/name form must have a single resource "
                          "and name")
    kind = meta.kind_for(word) or _qualified(word)
    if kind is None:
        raise PodctlError(f'the server doesn\'t have a resource type "{word}"')
    return kind, name


def _qualified(word: str) -> str | None:
    """The kind of a group-qualified word (`deployments.apps`, `jobs.batch`)."""
    base, _, group = word.partition(".")
    kind = meta.kind_for(base)
    if kind is None or not group:
        return None
    return kind if meta.api_version(kind).partition("/")[0] == group.lower() else None


def go_type(kind: str) -> str:
    """How kubectl's %T names an object of the kind: every group's Go package is `v1`."""
    return f"*v1.{kind}"


def selector_for(obj: Obj) -> Selector:
    """SelectorsForObject: the selector of the pods the object stands for."""
    kind = str(obj.get("kind"))
    spec = obj.get("spec") or {}
    if kind == "Service" and not spec.get("selector"):
        raise SelectorError(f"invalid service '{meta.name_of(obj)}': Service is defined "
                            "without a selector")
    if kind in MAP_SELECTOR:
        return selector_from_map(spec.get("selector") or {})
    if kind in LABEL_SELECTOR:
        return selector_from_label_selector(spec.get("selector"))
    raise SelectorError(f"selector for {go_type(kind)} not implemented")


def failure_prefix(purpose: str, kind: str) -> str:
    """How kubectl introduces a SelectorError: logs and attach word it differently."""
    verb = "cannot get the logs from" if purpose == LOGS else "cannot attach to"
    return f"{verb} {go_type(kind)}"


def sort_pods(pods: list[Obj], purpose: str) -> list[Obj]:
    """The pods (with status) in the order kubectl takes the first of."""
    less = _by_logging if purpose == LOGS else _most_active_first
    return sorted(pods, key=functools.cmp_to_key(_compare(less)))


def _compare(less: Callable[[Obj, Obj], bool]) -> Callable[[Obj, Obj], int]:
    def compare(a: Obj, b: Obj) -> int:
        return -1 if less(a, b) else 1 if less(b, a) else 0
    return compare


def _assigned(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _ready_time(pod: Obj) -> datetime | None:
    """When it became ready; None when it is not (podReadyTime's zero time)."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return _time(condition.get("lastTransitionTime"))
    return None


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _restarts(pod: Obj) -> int:
    return max((int(c.get("restartCount") or 0)
                for c in (pod.get("status") or {}).get("containerStatuses") or []), default=0)


def _created(pod: Obj) -> datetime | None:
    return _time(pod["metadata"].get("creationTimestamp"))


def _time(text: object) -> datetime | None:
    return meta.parse_time(str(text)) if text else None


def _after_or_zero(t1: datetime | None, t2: datetime | None) -> bool:
    """t1 after t2, a missing time counting as after any other."""
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


_LOGGING_PHASE = {"Running": 0, "Unknown": 1, "Pending": 2}
_ACTIVE_PHASE = {"Pending": 0, "Unknown": 1, "Running": 2}


def _by_logging(a: Obj, b: Obj) -> bool:
    """podutils.ByLogging: assigned, running, ready, ready longest, most restarted,
    oldest first."""
    if _assigned(a) != _assigned(b):
        return _assigned(a)
    pa, pb = _LOGGING_PHASE.get(_phase(a), 0), _LOGGING_PHASE.get(_phase(b), 0)
    if pa != pb:
        return pa < pb
    if _ready(a) != _ready(b):
        return _ready(a)
    if _ready(a) and _ready(b) and _ready_time(a) != _ready_time(b):
        return _after_or_zero(_ready_time(b), _ready_time(a))
    if _restarts(a) != _restarts(b):
        return _restarts(a) > _restarts(b)
    if _created(a) != _created(b):
        return _after_or_zero(_created(b), _created(a))
    return False


def _active(a: Obj, b: Obj) -> bool:
    """podutils.ActivePods' Less: the pod a controller would delete first is smaller."""
    if _assigned(a) != _assigned(b):
        return not _assigned(a)
    pa, pb = _ACTIVE_PHASE.get(_phase(a), 0), _ACTIVE_PHASE.get(_phase(b), 0)
    if pa != pb:
        return pa < pb
    if _ready(a) != _ready(b):
        return not _ready(a)
    if _ready(a) and _ready(b) and _ready_time(a) != _ready_time(b):
        return _after_or_zero(_ready_time(a), _ready_time(b))
    if _restarts(a) != _restarts(b):
        return _restarts(a) > _restarts(b)
    if _created(a) != _created(b):
        return _after_or_zero(_created(a), _created(b))
    return False


def _most_active_first(a: Obj, b: Obj) -> bool:
    """sort.Reverse(ActivePods), as attach, exec and port-forward sort."""
    return _active(b, a)
