"""`top pod` and `top node` as kubectl prints them (pkg/metricsutil): CPU in millicores
rounded up, memory in whole MiB, a node's share of its allocatable in whole percent, every
cell tab-terminated (so the last column is padded too), sorted by name or by usage."""

from __future__ import annotations

import math
from collections.abc import Sequence

from podctl.api.meta import Obj
from podctl.api.quantity import parse_quantity
from podctl.printers.table import format_columns

UNKNOWN = "<unknown>"
POD_COLUMNS = ("NAME", "CPU(cores)", "MEMORY(bytes)")
NODE_COLUMNS = ("NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)")


def milli(quantity: object) -> int:
    """resource.Quantity.MilliValue: thousandths, rounded up."""
    value = parse_quantity(quantity) if isinstance(quantity, str | int | float) else None
    return 0 if value is None else math.ceil(value * 1000)


def whole(quantity: object) -> int:
    """resource.Quantity.Value: rounded up."""
    value = parse_quantity(quantity) if isinstance(quantity, str | int | float) else None
    return 0 if value is None else math.ceil(value)


def _usage_cells(cpu_milli: int, memory: int) -> list[str]:
    return [f"{cpu_milli}m", f"{memory // (1024 * 1024)}Mi"]


def _pod_totals(pod: Obj) -> tuple[int, int]:
    containers = pod.get("containers") or []
    return (sum(milli(c["usage"].get("cpu", "0")) for c in containers),
            sum(whole(c["usage"].get("memory", "0")) for c in containers))


def _lines(rows: Sequence[Sequence[str]]) -> str:
    text = "".join("".join(f"{cell}\t" for cell in row) + "\n" for row in rows)
    return format_columns(text)[0]


def top_pods(pods: list[Obj], *, containers: bool = False, namespaces: bool = False,
             headers: bool = True, sort_by: str = "", total: bool = False) -> str:
    if not pods:
        return ""
    rows: list[list[str]] = []
    width = len(POD_COLUMNS)
    if headers:
        leading = (["NAMESPACE"] if namespaces else []) + (["POD"] if containers else [])
        width += len(leading)  # kubectl counts them only when it prints headers
        rows.append([*leading, *POD_COLUMNS])
    for pod in _sorted_pods(pods, namespaces, sort_by):
        prefix = [pod["metadata"].get("namespace", "")] if namespaces else []
        if containers:
            for c in _sorted_containers(pod.get("containers") or [], sort_by):
                rows.append([*prefix, pod["metadata"]["name"], c["name"], *_usage_cells(
                    milli(c["usage"].get("cpu", "0")), whole(c["usage"].get("memory", "0")))])
        else:
            rows.append([*prefix, pod["metadata"]["name"], *_usage_cells(*_pod_totals(pod))])
    if total:
        cpu = sum(_pod_totals(p)[0] for p in pods)
        memory = sum(_pod_totals(p)[1] for p in pods)
        rows.append([""] * (width - 2) + ["________", "________"])
        rows.append([""] * (width - 3) + ["", *_usage_cells(cpu, memory)])
    return _lines(rows)


def _sorted_pods(pods: list[Obj], namespaces: bool, sort_by: str) -> list[Obj]:
    if sort_by == "cpu":
        return sorted(pods, key=lambda p: -_pod_totals(p)[0])
    if sort_by == "memory":
        return sorted(pods, key=lambda p: -_pod_totals(p)[1])
    if namespaces:
        return sorted(pods, key=lambda p: (p["metadata"].get("namespace", ""),
                                           p["metadata"]["name"]))
    return sorted(pods, key=lambda p: p["metadata"]["name"])


def _sorted_containers(containers: list[Obj], sort_by: str) -> list[Obj]:
    if sort_by == "cpu":
        return sorted(containers, key=lambda c: -milli(c["usage"].get("cpu", "0")))
    if sort_by == "memory":
        return sorted(containers, key=lambda c: -whole(c["usage"].get("memory", "0")))
    return sorted(containers, key=lambda c: str(c["name"]))


def top_nodes(metrics: list[Obj], available: dict[str, Obj], *, headers: bool = True,
              sort_by: str = "") -> str:
    """`available`: each listed node's allocatable (or capacity); a listed node without
    metrics gets a line of <unknown>."""
    if not metrics:
        return ""
    rows: list[list[str]] = [list(NODE_COLUMNS)] if headers else []
    left = dict(available)
    for node in _sorted_nodes(metrics, sort_by):
        name = node["metadata"]["name"]
        usage = node.get("usage") or {}
        cpu, memory = milli(usage.get("cpu", "0")), whole(usage.get("memory", "0"))
        row = [name, f"{cpu}m"]
        room = left.pop(name, None)
        if room is not None and "cpu" in room:
            row.append(_percent(cpu, milli(room["cpu"])))
        row.append(f"{memory // (1024 * 1024)}Mi")
        if room is not None and "memory" in room:
            row.append(_percent(memory * 1000, milli(room["memory"])))
        rows.append(row)
    for name in left:
        rows.append([name, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN])
    return _lines(rows)


def _percent(used_milli: int, available_milli: int) -> str:
    return f"{int(used_milli / available_milli * 100) if available_milli else 0}%"


def _sorted_nodes(metrics: list[Obj], sort_by: str) -> list[Obj]:
    if sort_by == "cpu":
        return sorted(metrics, key=lambda n: -milli((n.get("usage") or {}).get("cpu", "0")))
    if sort_by == "memory":
        return sorted(metrics, key=lambda n: -whole((n.get("usage") or {}).get("memory", "0")))
    return sorted(metrics, key=lambda n: str(n["metadata"]["name"]))
