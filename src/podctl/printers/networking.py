"""NetworkPolicies: kubectl's table row and describe layout."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.labels import format_label_selector
from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, annotations_multiline, multiline_map

NETPOL_HEADERS = ["NAME", "POD-SELECTOR", "AGE"]
_INDENT = "    "  # kubectl's initialIndent of the rules


def netpol_row(policy: Obj, now: datetime, wide: bool) -> list[str]:
    spec = policy.get("spec") or {}
    return [policy["metadata"]["name"], format_label_selector(spec.get("podSelector") or {}),
            age(policy["metadata"].get("creationTimestamp"), now)]


def go_time(timestamp: str | None) -> str:
    """A metav1.Time as Go's %s prints it, in the local zone: `2026-01-02 15:04:05 +0000 UTC`."""
    if not timestamp:
        return "0001-01-01 00:00:00 +0000 UTC"
    return meta.parse_time(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %z %Z")


def describe_netpol(policy: Obj) -> str:
    md, spec = policy["metadata"], policy.get("spec") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    w.add(0, f"Created on:\t{go_time(md.get('creationTimestamp'))}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, "Spec:")
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        w.add(1, "PodSelector:     " + format_label_selector(selector))
    else:
        w.add(1, "PodSelector:     <none> (Allowing the specific traffic to all pods in this "
                 "namespace)")
    types = [str(t) for t in spec.get("policyTypes") or []]
    for kind, rules_field, peers_field in (("ingress", "ingress", "from"),
                                           ("egress", "egress", "to")):
        if kind.capitalize() in types:
            w.add(1, f"Allowing {kind} traffic:")
            _rules(w, kind, spec.get(rules_field) or [], peers_field)
        else:
            w.add(1, f"Not affecting {kind} traffic")
    w.add(1, "Policy Types: " + ", ".join(types))
    return w.text()


def _rules(w: Lines, kind: str, rules: list[Obj], peers_field: str) -> None:
    if not rules:
        w.add(0, f"{_INDENT}<none> (Selected pods are isolated for {kind} connectivity)")
        return
    title = "From" if peers_field == "from" else "To"
    for i, rule in enumerate(rules):
        ports = rule.get("ports") or []
        if not ports:
            w.add(0, f"{_INDENT}To Port: <any> (traffic allowed to all ports)")
        for port in ports:
            number, end = port.get("port"), port.get("endPort")
            proto = port.get("protocol") or "TCP"
            if end is not None:
                w.add(0, f"{_INDENT}To Port Range: {number}-{end}/{proto}")
            else:
                shown = "<nil>" if number is None else str(number)
                w.add(0, f"{_INDENT}To Port: {shown}/{proto}")
        peers = rule.get(peers_field) or []
        if not peers:
            unrestricted = "source" if peers_field == "from" else "destination"
            w.add(0, f"{_INDENT}{title}: <any> (traffic not restricted by {unrestricted})")
        for peer in peers:
            w.add(0, f"{_INDENT}{title}:")
            _peer(w, peer)
        if i != len(rules) - 1:
            w.add(0, f"{_INDENT}----------")


def _peer(w: Lines, peer: dict[str, Any]) -> None:
    pods, namespaces = peer.get("podSelector"), peer.get("namespaceSelector")
    if namespaces is not None:
        w.add(1, f"{_INDENT}NamespaceSelector: {format_label_selector(namespaces)}")
    if pods is not None:
        w.add(1, f"{_INDENT}PodSelector: {format_label_selector(pods)}")
    if pods is None and namespaces is None and peer.get("ipBlock") is not None:
        block = peer["ipBlock"]
        w.add(1, f"{_INDENT}IPBlock:")
        w.add(2, f"{_INDENT}CIDR: {block.get('cidr', '')}")
        w.add(2, f"{_INDENT}Except: {', '.join(block.get('except') or [])}")
