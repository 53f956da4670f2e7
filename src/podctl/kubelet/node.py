"""The local node as the kubelet and readers see it: its facts for the pods, and its live
status for `get`/`describe`. Its object and registration are podctl.node's."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import DockerUnavailable
from podctl.home import home_id
from podctl.kubelet.status import NodeFacts
from podctl.node import container_status, node_object
from podctl.runtime import engines
from podctl.runtime.engine import engine_info
from podctl.runtime.network import gateway_ip
from podctl.store import Store


def node_facts(node: Obj | None) -> NodeFacts | None:
    if node is None:
        return None
    ip = next((a["address"] for a in node.get("status", {}).get("addresses", [])
               if a.get("type") == "InternalIP"), "")
    return NodeFacts(name=node["metadata"]["name"], host_ip=ip)


def nodes_with_status(store: Store, nodes: list[Obj]) -> list[Obj]:
    """Nodes as `get`/`describe` show them: the stored Node with live engine facts and a
    Ready condition that is True while its Docker engine answers (a node container's own;
    the host's for the others)."""
    try:
        info: dict[str, object] | None = engine_info()
        host_ip = gateway_ip()
    except DockerUnavailable:
        info, host_ip = None, ""
    now = meta.now_rfc3339()
    homeid = home_id(store.path.parent)
    out = []
    for node in nodes:
        full = dict(node)
        status = dict(node.get("status") or {})
        if info is not None and str(info["name"]) == meta.name_of(node):
            status.update(node_object(info, host_ip)["status"])
        answering = info is not None
        if engines.kind_of(node) == engines.CONTAINER:
            try:
                status.update(container_status(homeid, meta.name_of(node)))
            except DockerUnavailable:
                answering = False
        status["allocatable"] = dict(status.get("capacity") or {})
        status["conditions"] = [_ready(answering, now, node)]
        full["status"] = status
        out.append(full)
    return out


def _ready(answering: bool, now: str, node: Obj) -> Obj:
    since = node["metadata"].get("creationTimestamp")
    if answering:
        return {"lastHeartbeatTime": now, "lastTransitionTime": since,
                "message": "podctl: the Docker engine is answering", "reason": "KubeletReady",
                "status": "True", "type": "Ready"}
    return {"lastHeartbeatTime": now, "lastTransitionTime": now,
            "message": "podctl: the Docker engine does not answer",
            "reason": "KubeletNotReady", "status": "False", "type": "Ready"}
