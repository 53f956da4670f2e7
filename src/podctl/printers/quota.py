"""ResourceQuotas and LimitRanges: kubectl's table rows and describe layouts, and the
sections `describe namespace` shows of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines

QUOTA_HEADERS = ["NAME", "AGE", "REQUEST", "LIMIT"]
LIMITRANGE_HEADERS = ["NAME", "CREATED AT"]
SCOPE_HELP = {
    "Terminating": "Matches all pods that have an active deadline. These pods have a limited "
                   "lifespan on a node before being actively terminated by the system.",
    "NotTerminating": "Matches all pods that do not have an active deadline. These pods "
                      "usually include long running pods whose container command is not "
                      "expected to terminate.",
    "BestEffort": "Matches all pods that do not have resource requirements set. These pods "
                  "have a best effort quality of service.",
    "NotBestEffort": "Matches all pods that have at least one resource requirement set. "
                     "These pods have a burstable or guaranteed quality of service.",
}
LIMIT_COLUMNS = "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\t" \
                "Max Limit/Request Ratio"
LIMIT_RULES = "----\t--------\t---\t---\t---------------\t-------------\t" \
              "-----------------------"


def _hard_used(quota: Obj) -> tuple[dict[str, Any], dict[str, Any]]:
    status = quota.get("status") or {}
    return status.get("hard") or {}, status.get("used") or {}


def quota_row(quota: Obj, now: datetime, wide: bool) -> list[str]:
    """kubectl's printResourceQuota: `used/hard` of each resource in status.hard, the
    limits.* ones in LIMIT."""
    hard, used = _hard_used(quota)
    request: list[str] = []
    limit: list[str] = []
    for name in sorted(hard):
        column = limit if name.split(".")[0] == "limits" and "." in name else request
        column.append(f"{name}: {used.get(name, '0')}/{hard[name]}")
    return [quota["metadata"]["name"], age(quota["metadata"].get("creationTimestamp"), now),
            ", ".join(request), ", ".join(limit)]


def limitrange_row(limit_range: Obj, now: datetime, wide: bool) -> list[str]:
    return [limit_range["metadata"]["name"],
            limit_range["metadata"].get("creationTimestamp") or ""]


def _scopes(w: Lines, level: int, quota: Obj, bullet: str) -> None:
    scopes = sorted((quota.get("spec") or {}).get("scopes") or [])
    if not scopes:
        return
    w.add(level, f"Scopes:\t{', '.join(scopes)}")
    for scope in scopes:
        if scope in SCOPE_HELP:
            w.add(level, f"{bullet}{SCOPE_HELP[scope]}")


def describe_quota(quota: Obj) -> str:
    md = quota["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    _scopes(w, 0, quota, " * ")
    w.add(0, "Resource\tUsed\tHard")
    w.add(0, "--------\t----\t----")
    hard, used = _hard_used(quota)
    for name in sorted(hard):
        w.add(0, f"{name}\t{used.get(name, '0')}\t{hard[name]}")
    return w.text()


def _limit_lines(w: Lines, limit_range: Obj, prefix: str) -> None:
    """kubectl's describeLimitRangeSpec: a line per type and resource, '-' where unset."""
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        fields = [item.get(f) or {} for f in ("min", "max", "defaultRequest", "default",
                                               "maxLimitRequestRatio")]
        names = sorted({n for f in fields for n in f})
        for name in names:
            cells = [str(f.get(name, "-")) for f in fields]
            w.add(0, f"{prefix}{item.get('type', '')}\t{name}\t" + "\t".join(cells))


def describe_limitrange(limit_range: Obj) -> str:
    md = limit_range["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    w.add(0, LIMIT_COLUMNS)
    w.add(0, LIMIT_RULES)
    _limit_lines(w, limit_range, "")
    return w.text()


def namespace_sections(w: Lines, quotas: list[Obj], limit_ranges: list[Obj]) -> None:
    """kubectl's DescribeResourceQuotas and DescribeLimitRanges under a namespace."""
    w.add(0, "")
    if not quotas:
        w.add(0, "No resource quota.")
    else:
        w.add(0, "Resource Quotas")
        for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
            w.add(1, f"Name:\t{quota['metadata']['name']}")
            _scopes(w, 1, quota, "* ")
            w.add(1, "Resource\tUsed\tHard")
            w.add(1, "--------\t---\t---")
            hard, used = _hard_used(quota)
            for name in sorted(hard):
                w.add(1, f"{name}\t{used.get(name, '0')}\t{hard[name]}")
    w.add(0, "")
    if not limit_ranges:
        w.add(0, "No LimitRange resource.")
        return
    w.add(0, "Resource Limits")
    w.add(0, " " + LIMIT_COLUMNS)
    w.add(0, " " + LIMIT_RULES)
    for limit_range in limit_ranges:
        _limit_lines(w, limit_range, " ")
