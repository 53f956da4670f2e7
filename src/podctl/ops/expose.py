"""`expose`: the Service kubectl derives from a pod, replication controller, ReplicaSet or
Service."""

from __future__ import annotations

from dataclasses import dataclass

from podctl.api.meta import Obj
from podctl.errors import PodctlError
from podctl.ops.run import parse_labels

EXPOSABLE = ("Pod", "ReplicationController", "ReplicaSet", "Service")


@dataclass
class ExposeRequest:
    name: str | None = None
    port: str | None = None
    target_port: str | None = None
    protocol: str | None = None
    service_type: str | None = None
    selector: str | None = None
    labels: str | None = None
    session_affinity: str | None = None
    cluster_ip: str | None = None
    external_ips: str | None = None


def _selector(obj: Obj, request: ExposeRequest) -> dict[str, str]:
    if request.selector:
        return parse_labels(request.selector)
    kind = obj["kind"]
    if kind == "Pod":
        labels = obj["metadata"].get("labels") or {}
        if not labels:
            raise PodctlError("couldn't retrieve selectors via --selector flag or "
                              "introspection: the pod has no labels and cannot be exposed")
        return dict(labels)
    selector = obj["spec"].get("selector") or {}
    if kind == "ReplicaSet":
        selector = _map_selector(selector)
    if not selector:
        raise PodctlError("couldn't retrieve selectors via --selector flag or introspection: "
                          "the service has no pod selector set")
    return dict(selector)


def _map_selector(selector: Obj) -> dict[str, str]:
    """A Service selects by equality only: kubectl refuses a set-based selector, naming the
    expressions as Go's %+v prints them."""
    expressions = selector.get("matchExpressions") or []
    if expressions:
        shown = " ".join(
            f"{{Key:{e.get('key', '')} Operator:{e.get('operator', '')} "
            f"Values:[{' '.join(e.get('values') or [])}]}}" for e in expressions)
        raise PodctlError("couldn't retrieve selectors via --selector flag or introspection: "
                          f'couldn\'t convert expressions - "[{shown}]" to map-based selector '
                          "format")
    return dict(selector.get("matchLabels") or {})


def _source_ports(obj: Obj) -> list[tuple[int, str]]:
    """(port, protocol) pairs the object declares, first seen first."""
    if obj["kind"] == "Service":
        pairs = [(p["port"], p.get("protocol", "TCP")) for p in obj["spec"].get("ports") or []]
    else:
        spec = obj["spec"] if obj["kind"] == "Pod" else (
            (obj["spec"].get("template") or {}).get("spec") or {})
        pairs = [(p["containerPort"], p.get("protocol", "TCP"))
                 for c in spec.get("containers") or [] for p in c.get("ports") or []]
    return list(dict.fromkeys(pairs))


def _ports(obj: Obj, request: ExposeRequest) -> list[Obj]:
    if request.port:
        try:
            number = int(request.port)
        except ValueError:
            raise PodctlError(f'invalid argument "{request.port}" for "--port" flag: '
                              "strconv.ParseInt: parsing "
                              f'"{request.port}": invalid syntax') from None
        pairs = [(number, request.protocol or "TCP")]
    else:
        pairs = [(port, request.protocol or protocol) for port, protocol in _source_ports(obj)]
        pairs = list(dict.fromkeys(pairs))
    if not pairs:
        if request.cluster_ip == "None":
            return []
        raise PodctlError("couldn't find port via --port flag or introspection")
    target: int | str | None = None
    if request.target_port:
        target = int(request.target_port) if request.target_port.isdigit() \
            else request.target_port
    numbers = [port for port, _ in pairs]
    ports = []
    for index, (port, protocol) in enumerate(pairs, start=1):
        entry: Obj = {"port": port, "protocol": protocol,
                      "targetPort": target if target is not None else port}
        if len(pairs) > 1:
            entry["name"] = f"port-{index}"
            if numbers.count(port) > 1:
                entry["name"] += f"-{protocol.lower()}"
        ports.append(entry)
    return ports


def service_manifest(obj: Obj, request: ExposeRequest) -> Obj:
    """The Service `kubectl expose` generates for `obj`; PodctlError in kubectl's words."""
    if obj["kind"] not in EXPOSABLE:
        raise PodctlError(f"cannot expose a {obj['kind']}")
    name = request.name or obj["metadata"]["name"][:63]
    labels = (parse_labels(request.labels) if request.labels
              else dict(obj["metadata"].get("labels") or {}))
    spec: Obj = {"selector": _selector(obj, request), "ports": _ports(obj, request)}
    if not spec["ports"]:
        del spec["ports"]
    if request.service_type:
        spec["type"] = request.service_type
    if request.session_affinity:
        spec["sessionAffinity"] = request.session_affinity
    if request.cluster_ip:
        spec["clusterIP"] = request.cluster_ip
    if request.external_ips:
        spec["externalIPs"] = request.external_ips.split(",")
    metadata: Obj = {"name": name, "namespace": obj["metadata"]["namespace"]}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
