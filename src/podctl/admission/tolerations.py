"""DefaultTolerationSeconds: every new pod that does not tolerate them already tolerates
`node.kubernetes.io/not-ready:NoExecute` and `node.kubernetes.io/unreachable:NoExecute`
for a while (300 s unless configured), so a node's short hiccup does not evict it at once
(upstream's admission plugin of that name).

The seconds are kube-apiserver flags upstream. podctl's API server is every process that
writes the store (the CLI's commands and `run-controller --api` alike), so the flags of
`run-controller` are kept in the home (`SETTINGS_FILE`), where every writer's chain reads
them: a `create -f` with no controller running adds the same tolerations as the API. The
last controller started sets them, as the API server restarted with new flags would."""

from __future__ import annotations

import json
from pathlib import Path

from podctl.admission import CREATE, Attributes, Plugin
from podctl.api.meta import Obj
from podctl.store import Snapshot, Store

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_SECONDS = 300
MAX_SECONDS = 2**63 // 10**9  # a Go duration in seconds must fit in int64 nanoseconds
SETTINGS_FILE = "default-tolerations.json"
SETTINGS_PARTIAL = "default-tolerations.tmp"  # written whole, then renamed


def save_settings(home: Path, not_ready: int, unreachable: int) -> None:
    """Keep `run-controller`'s flags where every writer's admission chain reads them;
    written whole and renamed, so no reader sees half of it."""
    partial = home / SETTINGS_PARTIAL
    partial.write_text(json.dumps({"notReady": not_ready, "unreachable": unreachable}))
    partial.replace(home / SETTINGS_FILE)


def load_settings(home: Path) -> tuple[int, int]:
    """(not-ready seconds, unreachable seconds): as saved, else the defaults."""
    try:
        saved = json.loads((home / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return DEFAULT_SECONDS, DEFAULT_SECONDS
    if not isinstance(saved, dict):
        return DEFAULT_SECONDS, DEFAULT_SECONDS
    return _seconds(saved.get("notReady")), _seconds(saved.get("unreachable"))


def _seconds(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SECONDS:
        return value
    return DEFAULT_SECONDS


def with_default_tolerations(tolerations: list[Obj], not_ready: int,
                             unreachable: int) -> list[Obj]:
    """The pod's tolerations plus each default one it lacks. A toleration with no key
    (or this key) and no effect (or NoExecute) counts as having it, as upstream's."""
    out = list(tolerations)
    for key, seconds in ((NOT_READY, not_ready), (UNREACHABLE, unreachable)):
        if not any(_covers(t, key) for t in tolerations):
            out.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                        "tolerationSeconds": seconds})
    return out


def _covers(toleration: Obj, key: str) -> bool:
    return toleration.get("key") in (None, "", key) and \
        toleration.get("effect") in (None, "", "NoExecute")


class DefaultTolerationSeconds(Plugin):
    name = "DefaultTolerationSeconds"

    def __init__(self, home: Path) -> None:
        self.home = home

    @classmethod
    def for_store(cls, store: Store) -> DefaultTolerationSeconds:
        return cls(store.path.parent)

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == CREATE and attrs.kind == "Pod"

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        # Read here, not when the chain is made: only a pod's creation pays for it.
        not_ready, unreachable = load_settings(self.home)
        spec = attrs.obj.setdefault("spec", {})
        spec["tolerations"] = with_default_tolerations(
            list(spec.get("tolerations") or []), not_ready, unreachable)
