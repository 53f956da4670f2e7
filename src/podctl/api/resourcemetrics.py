"""metrics.k8s.io as metrics-server makes it, from the kubelets' cumulative readings: a
CPU rate from the last two readings of a container (its window), the working set of the
last; a pod is reported once every container of it has two readings. Pure: the
controller's scraper feeds it readings, readers get PodMetrics and NodeMetrics objects."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl.api.meta import Obj, format_time
from podctl.api.quantity import parse_quantity

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
# metrics-server's: a container younger than the resolution but at least this old is
# measured from its start, so a new pod has metrics after one scrape.
FRESH_CONTAINER_MIN = 10.0


@dataclass(frozen=True)
class Point:
    """One cumulative reading: the container's (or node's) start, the reading's time
    (epoch seconds), CPU time used since start (ns) and memory working set (bytes)."""

    start: float
    timestamp: float
    cpu_ns: int
    memory: int


@dataclass(frozen=True)
class Sample:
    """A container's reading with whose it is: its node, pod and id."""

    node: str
    namespace: str
    pod: str
    container: str
    container_id: str
    sandbox: bool
    point: Point


@dataclass
class Batch:
    """One scrape: every running container's reading, and the node containers' own
    (a node container's cgroup holds its pods'). A node without its own reading (the
    host's engine) is measured as the sum of its containers."""

    samples: list[Sample] = field(default_factory=list)
    nodes: dict[str, Point] = field(default_factory=dict)
    scraped_nodes: set[str] = field(default_factory=set)
    # (namespace, pod) of pods a container of which could not be read this time: not
    # reported rather than reported with part of its containers.
    unread: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True)
class Usage:
    """A rate over a window: nanocores, bytes, when and over how long (seconds)."""

    cpu_nanocores: int
    memory: int
    timestamp: float
    window: float


class MetricsStorage:
    """metrics-server's storage: the last and previous reading of every container and
    node. `store` takes one scrape; `pods` and `nodes` give what the API serves."""

    def __init__(self, resolution: float) -> None:
        self.resolution = resolution
        self._last: dict[str, tuple[Sample, Point | None]] = {}  # container id -> last, prev
        self._nodes: dict[str, tuple[Point, Point | None]] = {}
        self._scraped: set[str] = set()
        self._unread: set[tuple[str, str]] = set()
        self._rounds = 0

    def store(self, batch: Batch) -> None:
        last: dict[str, tuple[Sample, Point | None]] = {}
        for sample in batch.samples:
            before = self._last.get(sample.container_id)
            last[sample.container_id] = (sample, self._previous(
                sample.point, None if before is None else before[0].point))
        nodes: dict[str, tuple[Point, Point | None]] = {}
        for name, point in batch.nodes.items():
            before_node = self._nodes.get(name)
            nodes[name] = (point, self._previous(
                point, None if before_node is None else before_node[0]))
        self._last, self._nodes = last, nodes
        self._scraped = set(batch.scraped_nodes)
        self._unread = set(batch.unread)
        self._rounds += 1

    def _previous(self, point: Point, last: Point | None) -> Point | None:
        """The reading a rate is taken from: the last one, or for a fresh container its
        start (CPU zero then), as metrics-server does."""
        age = point.timestamp - point.start
        if last is None and FRESH_CONTAINER_MIN <= age < self.resolution:
            return Point(point.start, point.start, 0, 0)
        if last is not None and last.start <= point.start < point.timestamp \
                and last.timestamp < point.timestamp and last.cpu_ns <= point.cpu_ns:
            return last
        return None

    def pods(self) -> dict[tuple[str, str], dict[str, Usage]]:
        """(namespace, pod) -> container -> usage, for pods all of whose containers have a
        rate (the sandbox is not a container of the pod)."""
        grouped: dict[tuple[str, str], dict[str, Usage | None]] = {}
        for sample, prev in self._last.values():
            if sample.sandbox:
                continue
            usage = None if prev is None else rate(sample.point, prev)
            grouped.setdefault((sample.namespace, sample.pod), {})[sample.container] = usage
        return {pod: {name: usage for name, usage in containers.items() if usage}
                for pod, containers in grouped.items()
                if pod not in self._unread
                and all(usage is not None for usage in containers.values())}

    def nodes(self) -> dict[str, Usage]:
        """node -> usage: a node container's own rate; a node measured by its containers
        (the host's) the sum of theirs, once it was scraped twice."""
        out = {name: rate(last, prev) for name, (last, prev) in self._nodes.items()
               if prev is not None}
        if self._rounds < 2:
            return out
        for name in self._scraped - self._nodes.keys():
            rates = [rate(sample.point, prev) for sample, prev in self._last.values()
                     if sample.node == name and prev is not None]
            memory = sum(sample.point.memory for sample, _ in self._last.values()
                         if sample.node == name)
            newest = max((u.timestamp for u in rates), default=0.0)
            out[name] = Usage(sum(u.cpu_nanocores for u in rates), memory, newest,
                              max((u.window for u in rates), default=self.resolution))
        return out


def rate(last: Point, prev: Point) -> Usage:
    window = last.timestamp - prev.timestamp
    cpu = int((last.cpu_ns - prev.cpu_ns) / window) if window > 0 else 0
    return Usage(cpu, last.memory, last.timestamp, window)


# -- the objects served ----------------------------------------------------------------

def decimal_si(value: int, exponent: int) -> str:
    """An integer times 10**exponent as a canonical DecimalSI quantity (`12345n`, `5m`,
    `2`), as resource.Quantity prints one."""
    suffixes = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P"}
    if value == 0:
        return "0"
    while value % 1000 == 0 and exponent + 3 in suffixes:
        value //= 1000
        exponent += 3
    return f"{value}{suffixes[exponent]}"


def binary_si(value: int) -> str:
    """Bytes as a canonical BinarySI quantity (`1300Ki`, `2Mi`, `1331201`)."""
    suffixes = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
    step = 0
    while value and value % 1024 == 0 and step < len(suffixes) - 1:
        value //= 1024
        step += 1
    return f"{value}{suffixes[step]}"


def go_duration(seconds: float) -> str:
    """A window as Go's time.Duration prints it: `15.002s`, `1m0.5s`, `0s`."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    minutes, rest = divmod(nanos, 60 * 10**9)
    hours, minutes = divmod(minutes, 60)
    whole, frac = divmod(rest, 10**9)
    text = f"{whole}" + (f".{frac:09d}".rstrip("0") if frac else "") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def nanocores(cpu: str) -> int:
    """A CPU quantity in nanocores (rounded up); 0 when it is none."""
    value = parse_quantity(cpu)
    return 0 if value is None else math.ceil(value * 10**9)


def byte_count(memory: str) -> int:
    value = parse_quantity(memory)
    return 0 if value is None else math.ceil(value)


def usage_of(usage: Usage) -> Obj:
    return {"cpu": decimal_si(usage.cpu_nanocores, -9), "memory": binary_si(usage.memory)}


def _stamp(epoch: float) -> str:
    return format_time(datetime.fromtimestamp(epoch, UTC))


def pod_entry(namespace: str, name: str, containers: dict[str, Usage]) -> Obj:
    """A pod's metrics as the scraper keeps them (the earliest reading's time and window,
    as metrics-server takes)."""
    earliest = min(containers.values(), key=lambda u: u.timestamp)
    return {"namespace": namespace, "name": name, "timestamp": _stamp(earliest.timestamp),
            "window": go_duration(earliest.window),
            "containers": [{"name": c, "usage": usage_of(u)}
                           for c, u in sorted(containers.items())]}


def node_entry(name: str, usage: Usage) -> Obj:
    return {"name": name, "timestamp": _stamp(usage.timestamp),
            "window": go_duration(usage.window), "usage": usage_of(usage)}


def pod_metrics(entry: Obj, labels: dict[str, str], now: str) -> Obj:
    """The PodMetrics object of a kept entry, with the pod's labels now."""
    metadata: Obj = {"name": entry["name"], "namespace": entry["namespace"],
                     "creationTimestamp": now}
    if labels:
        metadata["labels"] = labels
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": metadata,
            "timestamp": entry["timestamp"], "window": entry["window"],
            "containers": entry["containers"]}


def node_metrics(entry: Obj, labels: dict[str, str], now: str) -> Obj:
    metadata: Obj = {"name": entry["name"], "creationTimestamp": now}
    if labels:
        metadata["labels"] = labels
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": metadata,
            "timestamp": entry["timestamp"], "window": entry["window"],
            "usage": entry["usage"]}
