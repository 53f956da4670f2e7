"""What one scheduling cycle sees: each node with the pods bound to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from podctl.api import labels as lbl
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.scheduler.resources import Amounts, requested

TERMINAL = ("Succeeded", "Failed")


@dataclass
class NodeInfo:
    node: Obj
    name: str
    labels: dict[str, str]
    pods: list[Obj]

    @cached_property
    def requested(self) -> Amounts:
        """What the node's pods request (the fit filter's and balance's measure)."""
        return requested(self.pods)

    @cached_property
    def non_zero_requested(self) -> Amounts:
        """The same with the scorer's defaults for pods that request nothing."""
        return requested(self.pods, non_zero=True)


@dataclass(frozen=True)
class Cluster:
    """The scheduler's inputs besides the pod: every Node, every Pod (those bound to a
    node and not finished count), namespace labels (for namespaceSelector), and the
    selector of the pod's owner and Services (the default spreading's), and the storage
    objects its claims need."""

    nodes: Sequence[Obj]
    pods: Sequence[Obj]
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    default_selector: lbl.Selector | None = None
    # The claims of the pod's namespace, every PersistentVolume and StorageClass, by name
    # (the volume binding's; left empty for a pod that mounts no claim).
    claims: Mapping[str, Obj] = field(default_factory=dict)
    volumes: Mapping[str, Obj] = field(default_factory=dict)
    classes: Mapping[str, Obj] = field(default_factory=dict)


def node_infos(cluster: Cluster, pod: Obj) -> list[NodeInfo]:
    """The nodes by name (the order ties are broken in), each with its pods other than the
    one being scheduled; finished pods hold nothing, as the scheduler's cache drops them."""
    infos = {meta.name_of(n): NodeInfo(n, meta.name_of(n), meta.labels_of(n), [])
             for n in cluster.nodes}
    uid = meta.uid_of(pod)
    for other in cluster.pods:
        node = infos.get((other.get("spec") or {}).get("nodeName") or "")
        if node is None or meta.uid_of(other) == uid:
            continue
        if (other.get("status") or {}).get("phase") in TERMINAL:
            continue
        node.pods.append(other)
    return [infos[name] for name in sorted(infos)]
