"""Resource requests against a node's allocatable (upstream's NodeResourcesFit filter and
its LeastAllocated score, and NodeResourcesBalancedAllocation), and host ports (NodePorts).

Amounts are integers: CPU in millicores, everything else in units (bytes, counts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from podctl.api.meta import Obj
from podctl.api.quantity import parse_quantity

CPU, MEMORY, PODS, EPHEMERAL = "cpu", "memory", "pods", "ephemeral-storage"
# What the scorer counts for a container that requests no CPU or memory, so that many
# request-less pods are not all put on one node (schedutil's defaults).
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024
TOO_MANY_PODS = "Too many pods"
PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports"
MAX_SCORE = 100

Amounts = dict[str, int]


def amount(name: str, value: object) -> int:
    """A quantity as an integer (CPU in millicores, rounded up); 0 when it is none."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _amount(name, value)
    return 0


@lru_cache(maxsize=4096)
def _amount(name: str, value: str | int | float) -> int:
    # Cached: every cycle reads every bound pod's requests, written with few distinct
    # quantities, and exact parsing is most of a cycle's cost.
    parsed = parse_quantity(value)
    if parsed is None or parsed < 0:
        return 0
    scaled = parsed * 1000 if name == CPU else parsed
    return int(-(-scaled // 1))


def _add(total: Amounts, more: Mapping[str, int]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


def _max(total: Amounts, other: Mapping[str, int]) -> None:
    for name, value in other.items():
        total[name] = max(total.get(name, 0), value)


def _container_requests(container: Obj, non_zero: bool) -> Amounts:
    """Requests, defaulted from limits as the API server defaults them; with non_zero, the
    scorer's defaults for missing CPU and memory."""
    resources = container.get("resources") or {}
    wanted = dict(resources.get("limits") or {})
    wanted.update(resources.get("requests") or {})
    requests = {str(name): amount(str(name), value) for name, value in wanted.items()}
    if non_zero:
        requests.setdefault(CPU, DEFAULT_MILLI_CPU)
        requests.setdefault(MEMORY, DEFAULT_MEMORY)
    return requests


def pod_requests(pod: Obj, *, non_zero: bool = False) -> Amounts:
    """resourcehelper.PodRequests: the app containers' sum, sidecars (restartable init
    containers) added, at least each init container's need (with the sidecars started
    before it), pod-level requests where set, plus the pod's overhead."""
    spec = pod["spec"]
    total: Amounts = {}
    for container in _containers(spec.get("containers")):
        _add(total, _container_requests(container, non_zero))
    sidecars: Amounts = {}
    init_max: Amounts = {}
    for container in _containers(spec.get("initContainers")):
        requests = _container_requests(container, non_zero)
        if container.get("restartPolicy") == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            _max(init_max, sidecars)
        else:
            with_sidecars = dict(requests)
            _add(with_sidecars, sidecars)
            _max(init_max, with_sidecars)
    _max(total, init_max)
    pod_resources = spec.get("resources") or {}
    pod_level = {**(pod_resources.get("limits") or {}), **(pod_resources.get("requests") or {})}
    for name in (CPU, MEMORY):
        if name in pod_level:
            total[name] = amount(name, pod_level[name])
    _add(total, {str(k): amount(str(k), v) for k, v in (spec.get("overhead") or {}).items()})
    return total


def _containers(items: object) -> list[Obj]:
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def allocatable(node: Obj) -> Amounts:
    """status.allocatable (the capacity while a kubelet has reported only that)."""
    status = node.get("status") or {}
    source = status.get("allocatable") or status.get("capacity") or {}
    return {str(name): amount(str(name), value) for name, value in source.items()}


def requested(pods: Iterable[Obj], *, non_zero: bool = False) -> Amounts:
    total: Amounts = {}
    for pod in pods:
        _add(total, pod_requests(pod, non_zero=non_zero))
    return total


def _scalar(name: str) -> bool:
    """Extended resources (domain/name) and huge pages: checked like CPU and memory."""
    return name.startswith("hugepages-") or ("/" in name and not name.startswith(
        "kubernetes.io/"))


def insufficient(pod: Obj, node: Obj, pod_count: int, used: Amounts) -> tuple[list[str], bool]:
    """The fit filter's reasons, in upstream's order (pods, cpu, memory, then extended
    resources), and whether none of them could be solved by preemption (the pod asks for
    more than the node has at all). Ephemeral storage is not tracked by podctl."""
    have, want = allocatable(node), pod_requests(pod)
    reasons: list[str] = []
    unresolvable = False
    if pod_count + 1 > have.get(PODS, 0):
        reasons.append(TOO_MANY_PODS)
    names = [CPU, MEMORY, *sorted(n for n in want if _scalar(n))]
    for name in names:
        need = want.get(name, 0)
        if need > 0 and need > have.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
            unresolvable = unresolvable or need > have.get(name, 0)
    return reasons, unresolvable


def least_allocated(pod: Obj, node: Obj, non_zero_used: Amounts) -> int:
    """LeastAllocated: the mean over CPU and memory of the share left free, 0-100."""
    have = allocatable(node)
    used = dict(non_zero_used)
    _add(used, pod_requests(pod, non_zero=True))
    scores = [(have[n] - used.get(n, 0)) * MAX_SCORE // have[n] if used.get(n, 0) <= have[n]
              else 0 for n in (CPU, MEMORY) if have.get(n)]
    return sum(scores) // len(scores) if scores else 0


def balanced(pod: Obj, node: Obj, used_before: Amounts) -> int:
    """BalancedAllocation: 100 when CPU and memory are equally used, less as they differ."""
    have = allocatable(node)
    used = dict(used_before)
    _add(used, pod_requests(pod))
    fractions = [min(used.get(n, 0) / have[n], 1.0) for n in (CPU, MEMORY) if have.get(n)]
    spread = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
    return int((1 - spread) * MAX_SCORE)


def host_ports(pod: Obj) -> set[tuple[str, str, int]]:
    """(protocol, hostIP, hostPort) the pod asks for: its containers' and sidecars'."""
    spec = pod["spec"]
    containers = _containers(spec.get("containers")) + [
        c for c in _containers(spec.get("initContainers")) if c.get("restartPolicy") == "Always"]
    wanted = set()
    for container in containers:
        for port in container.get("ports") or []:
            host_port = port.get("hostPort") if isinstance(port, dict) else None
            if isinstance(host_port, int) and host_port > 0:
                wanted.add((str(port.get("protocol") or "TCP"), str(port.get("hostIP") or
                            "0.0.0.0"), host_port))
    return wanted


def ports_clash(pod: Obj, node_pods: list[Obj]) -> bool:
    """Whether a host port the pod wants is taken on the node: the same protocol and port
    on the same address, or on any address when either side binds 0.0.0.0."""
    wanted = host_ports(pod)
    if not wanted:
        return False
    taken = set().union(*(host_ports(p) for p in node_pods)) if node_pods else set()
    return any(proto == other_proto and port == other_port
               and (ip == other_ip or "0.0.0.0" in (ip, other_ip))
               for proto, ip, port in wanted for other_proto, other_ip, other_port in taken)
