"""The network agents' DaemonSet and when a home wants it (controllers/podnetwork), pure."""

from __future__ import annotations

from typing import Any

from podctl.api.labels import selector_from_label_selector
from podctl.controllers import podnetwork
from podctl.runtime import engines


def node(name: str, kind: str | None) -> dict[str, Any]:
    annotations = {engines.ENGINE_ANNOTATION: kind} if kind else {}
    return {"kind": "Node", "metadata": {"name": name, "annotations": annotations}}


def test_one_node_needs_no_agent() -> None:
    assert not podnetwork.wanted([node("host", engines.HOST)])
    # Nodes registered through the API (no kubelet here) need no routes either.
    assert not podnetwork.wanted([node("host", engines.HOST), node("fake", None)])


def test_a_node_container_asks_for_agents_on_every_node() -> None:
    assert podnetwork.wanted([node("host", engines.HOST), node("n2", engines.CONTAINER)])


def test_the_agents_daemonset() -> None:
    ds = podnetwork.agent_daemonset()
    assert (ds["kind"], ds["metadata"]["namespace"], ds["metadata"]["name"]) == \
        ("DaemonSet", "kube-system", "kindnet")
    template = ds["spec"]["template"]
    assert selector_from_label_selector(ds["spec"]["selector"]).matches(
        template["metadata"]["labels"])
    spec = template["spec"]
    assert spec["hostNetwork"] is True
    assert spec["tolerations"] == [{"operator": "Exists"}]
    container = spec["containers"][0]
    assert container["image"] == "podctl/kindnet:1"
    assert "NET_ADMIN" in container["securityContext"]["capabilities"]["add"]
    assert podnetwork.is_agent({"metadata": {"namespace": "kube-system",
                                             "labels": template["metadata"]["labels"]}})
    assert not podnetwork.is_agent({"metadata": {"namespace": "default",
                                                 "labels": template["metadata"]["labels"]}})


def test_describe_node_shows_its_pod_cidr_as_kubectl() -> None:
    from datetime import UTC, datetime

    from podctl.printers.describe import describe_node

    node = {"kind": "Node", "metadata": {"name": "n2", "creationTimestamp":
                                         "2026-12-06T10:00:00Z"},
            "spec": {"podCIDR": "10.244.7.0/24", "podCIDRs": ["10.244.7.0/24"]},
            "status": {}}
    lines = describe_node(node, [], [], datetime(2026, 12, 6, 11, tzinfo=UTC)).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("PodCIDR:"))
    assert lines[at].split() == ["PodCIDR:", "10.244.7.0/24"]
    assert lines[at + 1].split() == ["PodCIDRs:", "10.244.7.0/24"]
    assert lines[at + 2].startswith("Non-terminated Pods:")
    without = describe_node({**node, "spec": {}}, [], [], datetime(2026, 12, 6, tzinfo=UTC))
    assert "PodCIDR" not in without
