"""kubectl's columns for replication controllers, ReplicaSets, nodes and events."""

from __future__ import annotations

from datetime import datetime

from podctl.api.labels import format_label_selector, format_selector_map
from podctl.api.meta import Obj
from podctl.printers.age import age

RC_HEADERS = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
RC_WIDE_HEADERS = ["CONTAINERS", "IMAGES", "SELECTOR"]
NODE_HEADERS = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
NODE_WIDE_HEADERS = ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                     "CONTAINER-RUNTIME"]


def rc_row(rc: Obj, now: datetime, wide: bool) -> list[str]:
    status = rc.get("status") or {}
    row = [rc["metadata"]["name"], str(rc["spec"].get("replicas", 1)),
           str(status.get("replicas", 0)), str(status.get("readyReplicas", 0)),
           age(rc["metadata"].get("creationTimestamp"), now)]
    if wide:
        containers = rc["spec"].get("template", {}).get("spec", {}).get("containers", [])
        row += [",".join(c["name"] for c in containers),
                ",".join(c["image"] for c in containers),
                format_label_selector(rc["spec"].get("selector"))
                if rc["kind"] == "ReplicaSet"
                else format_selector_map(rc["spec"].get("selector") or {})]
    return row


def node_status(node: Obj) -> str:
    """kubectl's STATUS of a node: its Ready condition (`Unknown` when it has none yet),
    then `SchedulingDisabled` when it is cordoned."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    state = "Unknown" if ready is None else "Ready" if ready.get("status") == "True" \
        else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    return state


def node_row(node: Obj, now: datetime, wide: bool) -> list[str]:
    status = node.get("status") or {}
    state = node_status(node)
    roles = sorted(k.split("/", 1)[1] for k in node["metadata"].get("labels") or {}
                   if k.startswith("node-role.kubernetes.io/"))
    info = status.get("nodeInfo") or {}
    row = [node["metadata"]["name"], state, ",".join(roles) or "<none>",
           age(node["metadata"].get("creationTimestamp"), now), info.get("kubeletVersion", "")]
    if wide:
        addresses = {a["type"]: a["address"] for a in status.get("addresses") or []}
        row += [addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"),
                info.get("osImage", ""), info.get("kernelVersion", ""),
                info.get("containerRuntimeVersion", "")]
    return row


LEASE_HEADERS = ["NAME", "HOLDER", "AGE"]


def lease_row(lease: Obj, now: datetime, wide: bool) -> list[str]:
    holder = (lease.get("spec") or {}).get("holderIdentity") or ""
    return [lease["metadata"]["name"], str(holder),
            age(lease["metadata"].get("creationTimestamp"), now)]


EVENT_HEADERS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def event_row(event: Obj, now: datetime, wide: bool) -> list[str]:
    involved = event.get("involvedObject") or {}
    return [age(event.get("lastTimestamp"), now), str(event.get("type", "")),
            str(event.get("reason", "")),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
            str(event.get("message", ""))]


DEPLOY_HEADERS = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]


def deployment_row(deployment: Obj, now: datetime, wide: bool) -> list[str]:
    spec, status = deployment["spec"], deployment.get("status") or {}
    row = [deployment["metadata"]["name"],
           f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
           str(status.get("updatedReplicas", 0)), str(status.get("availableReplicas", 0)),
           age(deployment["metadata"].get("creationTimestamp"), now)]
    if wide:
        containers = spec.get("template", {}).get("spec", {}).get("containers", [])
        row += [",".join(c["name"] for c in containers),
                ",".join(c["image"] for c in containers),
                format_label_selector(spec.get("selector"))]
    return row
