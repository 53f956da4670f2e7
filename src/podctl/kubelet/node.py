"""The node's facts a kubelet gives its pods (its name and IP). Its object and
registration are podctl.node's, its heartbeats kubelet.heartbeat's."""

from __future__ import annotations

from podctl.api.meta import Obj
from podctl.kubelet.status import NodeFacts


def node_facts(node: Obj | None) -> NodeFacts | None:
    if node is None:
        return None
    ip = next((a["address"] for a in node.get("status", {}).get("addresses", [])
               if a.get("type") == "InternalIP"), "")
    return NodeFacts(name=node["metadata"]["name"], host_ip=ip)
