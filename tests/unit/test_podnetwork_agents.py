"""Which nodes get a network agent (controllers/podnetwork.plan_agents), pure."""

from __future__ import annotations

from typing import Any

from podctl.controllers import podnetwork
from podctl.runtime import engines


def node(name: str, kind: str | None) -> dict[str, Any]:
    annotations = {engines.ENGINE_ANNOTATION: kind} if kind else {}
    return {"kind": "Node", "metadata": {"name": name, "annotations": annotations}}


def agent(on: str, deleting: bool = False) -> dict[str, Any]:
    pod = podnetwork.agent_pod(on)
    if deleting:
        pod["metadata"]["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    return pod


def test_one_node_needs_no_agent() -> None:
    assert podnetwork.plan_agents([node("host", engines.HOST)], []) == ([], [])


def test_every_kubelet_node_gets_one_once_a_node_container_exists() -> None:
    nodes = [node("host", engines.HOST), node("n2", engines.CONTAINER),
             node("fake", None)]  # registered through the API: no kubelet runs it
    assert podnetwork.plan_agents(nodes, []) == (["host", "n2"], [])
    assert podnetwork.plan_agents(nodes, [agent("host"), agent("n2")]) == ([], [])


def test_agents_go_with_their_node_and_all_with_the_last_node_container() -> None:
    host, n2, n3 = agent("host"), agent("n2"), agent("n3")
    nodes = [node("host", engines.HOST), node("n2", engines.CONTAINER)]
    assert podnetwork.plan_agents(nodes, [host, n2, n3]) == ([], [n3])
    assert podnetwork.plan_agents(nodes[:1], [host, n2]) == ([], [host, n2])


def test_an_agent_being_deleted_is_replaced_not_deleted_again() -> None:
    nodes = [node("host", engines.HOST), node("n2", engines.CONTAINER)]
    assert podnetwork.plan_agents(nodes, [agent("host"), agent("n2", deleting=True)]) == \
        (["n2"], [])


def test_the_agent_pod() -> None:
    pod = podnetwork.agent_pod("n2")
    assert pod["metadata"]["name"] == "kindnet-n2"
    assert pod["metadata"]["namespace"] == "kube-system"
    spec = pod["spec"]
    assert spec["nodeName"] == "n2" and spec["hostNetwork"] is True
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert "NET_ADMIN" in spec["containers"][0]["securityContext"]["capabilities"]["add"]
    assert podnetwork.is_agent(pod)
    long = podnetwork.agent_name("n" * 250)
    assert len(long) <= 253 and long.startswith("kindnet-")
