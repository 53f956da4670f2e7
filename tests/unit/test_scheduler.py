"""The scheduler as a pure function: filters, their messages as upstream words and
counts them, preemption's verdict, and the scores that pick among feasible nodes."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.api import labels as lbl
from podctl.api.meta import Obj
from podctl.controllers.scheduler import Cluster, Decision, schedule
from podctl.controllers.scheduler.resources import pod_requests
from podctl.controllers.scheduler.spread import default_selector

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def node(name: str, labels: dict[str, str] | None = None, *, taints: list[Obj] | None = None,
         cpu: str = "4", memory: str = "8Gi", pods: str = "110",
         unschedulable: bool = False, zone: str | None = None) -> Obj:
    all_labels = {"kubernetes.io/hostname": name, **(labels or {})}
    if zone is not None:
        all_labels["topology.kubernetes.io/zone"] = zone
    spec: Obj = {"taints": taints} if taints else {}
    if unschedulable:
        spec["unschedulable"] = True
    return {"kind": "Node", "metadata": {"name": name, "labels": all_labels}, "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def pod(name: str = "p", *, namespace: str = "default", labels: dict[str, str] | None = None,
        node_name: str | None = None, requests: dict[str, str] | None = None,
        **spec: Any) -> Obj:
    container: Obj = {"name": "c", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": requests}
    full: Obj = {"containers": [container], **spec}
    if node_name:
        full["nodeName"] = node_name
    return {"kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                        "uid": f"uid-{namespace}-{name}",
                                        "labels": labels or {}},
            "spec": full, "status": {"phase": "Running" if node_name else "Pending"}}


def decide(incoming: Obj, nodes: list[Obj], pods: list[Obj] | None = None, **kw: Any) -> Decision:
    return schedule(incoming, Cluster(nodes=nodes, pods=pods or [], **kw))


def message(counts: str, preemption: str) -> str:
    return f"0/3 nodes are available: {counts}. preemption: 0/3 nodes are available: {preemption}."


THREE = [node("a"), node("b"), node("c")]


# --- filters and their messages --------------------------------------------------------


def test_no_nodes() -> None:
    assert decide(pod(), []) == Decision(None, "no nodes available to schedule pods")


def test_node_selector_and_the_upstream_message() -> None:
    nodes = [node("a"), node("b", {"disk": "ssd"}), node("c")]
    assert decide(pod(nodeSelector={"disk": "ssd"}), nodes).node == "b"
    assert decide(pod(nodeSelector={"gpu": "true"}), nodes).message == message(
        "3 node(s) didn't match Pod's node affinity/selector", f"3 {NOT_HELPFUL}")


def test_reasons_are_counted_and_sorted_as_strings() -> None:
    nodes = [node("a", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]),
             node("b"), node("c")]
    assert decide(pod(nodeSelector={"x": "y"}), nodes).message == message(
        "1 node(s) had untolerated taint(s), 2 node(s) didn't match Pod's node "
        "affinity/selector", f"3 {NOT_HELPFUL}")
    many = [node(f"n{i:02}", {"ok": "yes"} if i >= 10 else {}) for i in range(12)]
    text = decide(pod(nodeSelector={"ok": "yes"}, requests={"cpu": "5"}), many).message
    # Go's sort.Strings: "10 ..." sorts before "2 ...".
    assert text == ("0/12 nodes are available: 10 node(s) didn't match Pod's node "
                    "affinity/selector, 2 Insufficient cpu. preemption: 0/12 nodes are "
                    f"available: 12 {NOT_HELPFUL}.")


@pytest.mark.parametrize(("operator", "values", "fits"), [
    ("In", ["b", "c"], {"b", "c"}), ("NotIn", ["b"], {"a", "c"}),
    ("Exists", None, {"a", "b", "c"}), ("DoesNotExist", None, set()),
    ("Gt", ["1"], {"b", "c"}), ("Lt", ["3"], {"a", "b"})])
def test_required_node_affinity_operators(operator: str, values: list[str] | None,
                                          fits: set[str]) -> None:
    key = "rank" if operator in ("Gt", "Lt", "Exists", "DoesNotExist") else "name"
    nodes = [node(n, {"name": n, "rank": str(i + 1)}) for i, n in enumerate("abc")]
    expression: Obj = {"key": key, "operator": operator}
    if values is not None:
        expression["values"] = values
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expression]}]}}}
    found = set()
    for candidate in nodes:  # every node that fits alone
        if decide(pod(affinity=affinity), [candidate]).node:
            found.add(candidate["metadata"]["name"])
    assert found == fits


def test_terms_are_ored_and_expressions_anded() -> None:
    nodes = [node("a", {"x": "1"}), node("b", {"x": "1", "y": "1"}), node("c", {"y": "1"})]
    terms = [{"matchExpressions": [{"key": "x", "operator": "Exists"},
                                   {"key": "y", "operator": "Exists"}]},
             {"matchExpressions": [{"key": "nope", "operator": "Exists"}]}]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": terms}}}
    assert decide(pod(affinity=affinity), nodes).node == "b"


def test_match_fields_pin_nodes_by_name() -> None:
    def pinned(*names: str) -> Obj:
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": list(names)}]}]}}}

    assert decide(pod(affinity=pinned("c")), THREE).node == "c"
    tainted = [node("a"), node("b"), node("c", taints=[{"key": "k", "effect": "NoSchedule"}])]
    assert decide(pod(affinity=pinned("c")), tainted).message == message(
        "1 node(s) had untolerated taint(s), 2 node(s) didn't satisfy plugin(s) [NodeAffinity]",
        f"3 {NOT_HELPFUL}")
    conflict = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["a"]},
            {"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}}
    assert decide(pod(affinity=conflict), THREE).message == (
        "0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 nodes are "
        f"available: 3 {NOT_HELPFUL}.")


def test_taints_and_tolerations() -> None:
    nodes = [node("a", taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]),
             node("b", taints=[{"key": "dedicated", "effect": "NoExecute"}])]
    assert decide(pod(), nodes).node is None
    equal = [{"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}]
    assert decide(pod(tolerations=equal), nodes).node == "a"
    wrong_value = [{"key": "gpu", "operator": "Equal", "value": "no"}]
    assert decide(pod(tolerations=wrong_value), nodes).node is None
    assert decide(pod(tolerations=[{"key": "dedicated", "operator": "Exists"}]),
                  nodes).node == "b"
    assert decide(pod(tolerations=[{"operator": "Exists"}]), nodes).node in ("a", "b")
    wrong_effect = [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]
    assert decide(pod(tolerations=wrong_effect), nodes).node is None


def test_prefer_no_schedule_is_avoided_not_forbidden() -> None:
    soft = {"key": "spot", "effect": "PreferNoSchedule"}
    nodes = [node("a", taints=[soft]), node("b")]
    assert decide(pod(), nodes).node == "b"
    assert decide(pod(), [node("a", taints=[soft])]).node == "a"
    tolerating = [{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}]
    assert decide(pod(tolerations=tolerating), nodes).node == "a"  # a tie: the first name


def test_cordoned_nodes_take_only_pods_tolerating_it() -> None:
    nodes = [node("a", unschedulable=True), node("b", {"x": "1"}), node("c", {"x": "1"})]
    assert decide(pod(nodeSelector={"y": "1"}), nodes).message == message(
        "1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector",
        f"3 {NOT_HELPFUL}")
    tolerating = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                   "effect": "NoSchedule"}]
    assert decide(pod(tolerations=tolerating), [nodes[0]]).node == "a"


def test_resources_against_allocatable_minus_bound_requests() -> None:
    nodes = [node("a", cpu="2"), node("b", cpu="2"), node("c", cpu="2", memory="1Gi")]
    bound = [pod("x", node_name="a", requests={"cpu": "1500m"}),
             pod("y", node_name="b", requests={"cpu": "1500m"})]
    wanted = pod(requests={"cpu": "1", "memory": "2Gi"})
    # c could never hold 2Gi (unresolvable); a and b could, were their pods evicted.
    assert decide(wanted, nodes, bound).message == message(
        "1 Insufficient memory, 2 Insufficient cpu", f"1 {NOT_HELPFUL}, 2 {NO_VICTIMS}")
    assert decide(pod(requests={"cpu": "1"}), nodes, bound).node == "c"
    assert decide(pod(requests={"cpu": "500m"}), nodes, bound).node == "c"  # emptiest
    finished = [{**bound[0], "status": {"phase": "Succeeded"}}]
    assert decide(pod(requests={"cpu": "2"}), nodes[:1], finished).node == "a"


def test_too_many_pods_and_ephemeral_storage_ignored() -> None:
    full = [node("a", pods="1")]
    assert decide(pod(), full, [pod("x", node_name="a")]).message == (
        "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: "
        f"1 {NO_VICTIMS}.")
    assert decide(pod(requests={"ephemeral-storage": "1Pi"}), full).node == "a"


def test_extended_resources() -> None:
    nodes = [node("a"), {**node("b"), "status": {"allocatable": {
        "cpu": "4", "memory": "8Gi", "pods": "110", "example.com/gpu": "1"}}}]
    assert decide(pod(requests={"example.com/gpu": "1"}), nodes).node == "b"
    assert "2 Insufficient example.com/gpu" in str(decide(
        pod(requests={"example.com/gpu": "2"}), nodes).message)


def test_pod_requests_follow_the_init_container_and_overhead_rules() -> None:
    spec: Obj = {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}},
                       {"name": "b", "resources": {"limits": {"cpu": "200m", "memory": "1Mi"}}}],
        "initContainers": [
            {"name": "sidecar", "restartPolicy": "Always",
             "resources": {"requests": {"cpu": "50m"}}},
            {"name": "setup", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}],
        "overhead": {"cpu": "10m"}}
    requests = pod_requests({"spec": spec})
    # max(app 300m + sidecar 50m, setup 1000m + sidecar 50m) + overhead 10m
    assert requests["cpu"] == 1060
    assert requests["memory"] == 64 * 2**20
    level = pod_requests({"spec": {**spec, "resources": {"requests": {"cpu": "2"}}}})
    assert level["cpu"] == 2010


def test_host_ports() -> None:
    wants = {"ports": [{"containerPort": 80, "hostPort": 8080}]}
    holder = pod("x", node_name="a")
    holder["spec"]["containers"][0].update(wants)
    incoming = pod()
    incoming["spec"]["containers"][0].update(wants)
    assert decide(incoming, [node("a"), node("b")], [holder]).node == "b"
    assert decide(incoming, [node("a")], [holder]).message == (
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod "
        f"ports. preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.")
    other_ip = pod()
    other_ip["spec"]["containers"][0]["ports"] = [
        {"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.1", "protocol": "UDP"}]
    assert decide(other_ip, [node("a")], [holder]).node == "a"


def test_preemption_policy_never() -> None:
    assert decide(pod(nodeSelector={"x": "y"}, preemptionPolicy="Never"),
                  [node("a")]).message == (
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
        "preemption: not eligible due to preemptionPolicy=Never.")


# --- scores ----------------------------------------------------------------------------


def test_least_allocated_prefers_the_emptier_node() -> None:
    bound = [pod("x", node_name="a", requests={"cpu": "2"})]
    assert decide(pod(requests={"cpu": "500m"}), [node("a"), node("b")], bound).node == "b"


def test_preferred_node_affinity() -> None:
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 80, "preference": {"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["z2"]}]}}]}}
    nodes = [node("a", {"disk": "ssd"}), node("b", {"zone": "z2"}), node("c")]
    assert decide(pod(affinity=preferred), nodes).node == "b"


def place(pods: list[Obj], nodes: list[Obj], bound: list[Obj] | None = None,
          **kw: Any) -> dict[str, str | None]:
    """Schedule pods one after another, each seeing the ones bound before it."""
    placed: dict[str, str | None] = {}
    bound = list(bound or [])
    for incoming in pods:
        chosen = decide(incoming, nodes, bound, **kw).node
        placed[incoming["metadata"]["name"]] = chosen
        if chosen:
            bound.append({**incoming, "spec": {**incoming["spec"], "nodeName": chosen},
                          "status": {"phase": "Running"}})
    return placed


def test_default_spreading_of_one_owners_pods() -> None:
    rc = {"kind": "ReplicationController", "spec": {"selector": {"app": "web"}}}
    web = [pod(f"web-{i}", labels={"app": "web"}) for i in range(3)]
    # The big node wins on free room alone: bare pods all land there.
    nodes = [node("a", cpu="64", memory="256Gi"), node("b"), node("c")]
    assert set(place(web, nodes).values()) == {"a"}
    # One owner's pods are spread (the system default constraints) despite that.
    placed = place(web, nodes, default_selector=default_selector(web[0], [], rc))
    assert sorted(v or "" for v in placed.values()) == ["a", "b", "c"]


def test_default_selector_merges_services_and_the_owner() -> None:
    web = pod(labels={"app": "web", "tier": "fe"})
    services = [{"spec": {"selector": {"tier": "fe"}}}, {"spec": {"selector": {"x": "y"}}}]
    rs = {"kind": "ReplicaSet", "spec": {"selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web"]}]}}}
    assert str(default_selector(web, services, rs)) == "tier=fe,app in (web)"
    assert default_selector(pod(), [], None).is_empty()


def spread_constraint(key: str, max_skew: int = 1, **extra: Any) -> Obj:
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}}, **extra}


ZONED = [node("a", zone="z1"), node("b", zone="z1"), node("c", zone="z2")]


def test_topology_spread_do_not_schedule() -> None:
    bound = [pod("w1", labels={"app": "web"}, node_name="a")]
    incoming = pod(labels={"app": "web"},
                   topologySpreadConstraints=[spread_constraint("topology.kubernetes.io/zone")])
    assert decide(incoming, ZONED, bound).node == "c"
    # The tainted z2 node still counts as an empty domain (nodeTaintsPolicy Ignore).
    tainted = [*ZONED[:2], node("c", zone="z2", taints=[{"key": "k", "effect": "NoSchedule"}])]
    assert decide(incoming, tainted, bound).message == message(
        "1 node(s) had untolerated taint(s), 2 node(s) didn't match pod topology spread "
        "constraints", f"1 {NOT_HELPFUL}, 2 {NO_VICTIMS}")
    # With a node selector honoured, only z1's nodes form a domain: skew 1 is allowed.
    in_z1 = pod(labels={"app": "web"}, nodeSelector={"topology.kubernetes.io/zone": "z1"},
                topologySpreadConstraints=[spread_constraint("topology.kubernetes.io/zone")])
    assert decide(in_z1, ZONED, bound).node in ("a", "b")


def test_topology_spread_missing_label_and_min_domains() -> None:
    nodes = [node("a", zone="z1"), node("b")]
    incoming = pod(labels={"app": "web"},
                   topologySpreadConstraints=[spread_constraint("topology.kubernetes.io/zone")])
    assert decide(incoming, nodes).node == "a"
    decided = decide(incoming, [node("b")])
    assert decided.message is not None and decided.message.startswith(
        "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints "
        "(missing required label).")
    bound = [pod("w1", labels={"app": "web"}, node_name="a")]
    with_min = pod(labels={"app": "web"}, topologySpreadConstraints=[
        spread_constraint("topology.kubernetes.io/zone", minDomains=2)])
    # One domain of the two required: the global minimum counts as 0, so z1 is full.
    assert decide(with_min, nodes[:1], bound).node is None
    assert decide(incoming, nodes[:1], bound).node == "a"  # minDomains 1: skew 0


def test_topology_spread_node_policies() -> None:
    zone = "topology.kubernetes.io/zone"
    bound = [pod("w1", labels={"app": "web"}, node_name="a")]
    tainted = [*ZONED[:2], node("c", zone="z2", taints=[{"key": "k", "effect": "NoSchedule"}])]
    ignore = pod(labels={"app": "web"}, topologySpreadConstraints=[spread_constraint(zone)])
    honour = pod(labels={"app": "web"}, topologySpreadConstraints=[
        spread_constraint(zone, nodeTaintsPolicy="Honor")])
    # Ignore (the default): the tainted z2 is an empty domain, so z1 is full.
    assert decide(ignore, tainted, bound).node is None
    # Honor: z2 is no domain; z1 alone is its own minimum.
    assert decide(honour, tainted, bound).node in ("a", "b")
    # nodeAffinityPolicy Ignore: z2 counts though the selector excludes it.
    in_z1 = {"topology.kubernetes.io/zone": "z1"}
    affinity_ignored = pod(labels={"app": "web"}, nodeSelector=in_z1,
                           topologySpreadConstraints=[spread_constraint(
                               zone, nodeAffinityPolicy="Ignore")])
    assert decide(affinity_ignored, ZONED, bound).node is None
    honoured = pod(labels={"app": "web"}, nodeSelector=in_z1,
                   topologySpreadConstraints=[spread_constraint(zone)])
    assert decide(honoured, ZONED, bound).node in ("a", "b")


def test_topology_spread_match_label_keys() -> None:
    old = [pod(f"old{i}", labels={"app": "web", "rev": "1"}, node_name="a") for i in range(3)]
    constraint = spread_constraint("kubernetes.io/hostname", matchLabelKeys=["rev"])
    new = pod(labels={"app": "web", "rev": "2"}, topologySpreadConstraints=[constraint])
    assert decide(new, [node("a"), node("b")], old).node in ("a", "b")
    plain = pod(labels={"app": "web", "rev": "2"},
                topologySpreadConstraints=[spread_constraint("kubernetes.io/hostname")])
    assert decide(plain, [node("a"), node("b")], old).node == "b"
    tainted = node("b", taints=[{"key": "k", "effect": "NoSchedule"}])
    assert decide(plain, [node("a"), tainted], old).message == (
        "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 "
        "node(s) had untolerated taint(s). preemption: 0/2 nodes are available: "
        f"1 {NO_VICTIMS}, 1 {NOT_HELPFUL}.")


def test_schedule_anyway_scores_the_less_crowded_domain() -> None:
    bound = [pod(f"w{i}", labels={"app": "web"}, node_name=n) for i, n in enumerate("aab")]
    soft = {**spread_constraint("kubernetes.io/hostname"), "whenUnsatisfiable": "ScheduleAnyway"}
    assert decide(pod(labels={"app": "web"}, topologySpreadConstraints=[soft]),
                  THREE, bound).node == "c"


# --- inter-pod affinity ----------------------------------------------------------------


def anti(key: str = "kubernetes.io/hostname", **term: Any) -> Obj:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": key, **term}]}}


def near(key: str = "kubernetes.io/hostname", **term: Any) -> Obj:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": key, **term}]}}


def test_required_anti_affinity_by_hostname() -> None:
    web = [pod(f"web-{i}", labels={"app": "web"}, affinity=anti()) for i in range(4)]
    placed = place(web, THREE)
    assert sorted(v for v in placed.values() if v) == ["a", "b", "c"]
    assert placed["web-3"] is None
    bound = [pod(f"w{n}", labels={"app": "web"}, node_name=n, affinity=anti()) for n in "abc"]
    assert decide(web[3], THREE, bound).message == message(
        "3 node(s) didn't match pod anti-affinity rules", f"3 {NO_VICTIMS}")


def test_existing_pods_anti_affinity_keeps_newcomers_out() -> None:
    guard = pod("guard", labels={"app": "db"}, node_name="a", affinity=anti())
    newcomer = pod(labels={"app": "web"})
    assert decide(newcomer, [node("a")], [guard]).message == (
        "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules. "
        f"preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.")
    assert decide(newcomer, [node("a"), node("b")], [guard]).node == "b"


def test_required_affinity_by_any_node_label() -> None:
    db = pod("db", labels={"app": "db"}, node_name="b")
    assert decide(pod(affinity=near()), THREE, [db]).node == "b"
    assert decide(pod(affinity=near("topology.kubernetes.io/zone")), ZONED, [db]).node in (
        "a", "b")
    assert decide(pod(affinity=near()), THREE).message == message(
        "3 node(s) didn't match pod affinity rules", f"3 {NOT_HELPFUL}")
    # The first of a group with affinity to itself is not left pending forever.
    first = pod(labels={"app": "db"}, affinity=near())
    assert decide(first, THREE).node == "a"


def test_affinity_namespaces_and_namespace_selector() -> None:
    db = pod("db", namespace="data", labels={"app": "db"}, node_name="c")
    assert decide(pod(affinity=near()), THREE, [db]).node is None  # own namespace only
    assert decide(pod(affinity=near(namespaces=["data"])), THREE, [db]).node == "c"
    by_label = near(namespaceSelector={"matchLabels": {"team": "data"}})
    assert decide(pod(affinity=by_label), THREE, [db],
                  namespace_labels={"data": {"team": "data"}}).node == "c"
    assert decide(pod(affinity=near(namespaceSelector={})), THREE, [db]).node == "c"


def test_preferred_pod_affinity_and_anti_affinity() -> None:
    db = pod("db", labels={"app": "db"}, node_name="c")
    term = {"labelSelector": {"matchLabels": {"app": "db"}},
            "topologyKey": "kubernetes.io/hostname"}
    close = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}}
    apart = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}}
    assert decide(pod(affinity=close), THREE, [db]).node == "c"
    assert decide(pod(affinity=apart), THREE, [db]).node in ("a", "b")


def test_terminating_pods_hold_resources_but_do_not_count_for_spreading() -> None:
    leaving = pod("old", labels={"app": "web"}, node_name="a", requests={"cpu": "4"})
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert decide(pod(requests={"cpu": "1"}), [node("a")], [leaving]).node is None
    spread = pod(labels={"app": "web"},
                 topologySpreadConstraints=[spread_constraint("kubernetes.io/hostname")])
    assert decide(spread, [node("a"), node("b")], [leaving]).node in ("a", "b")


def test_invalid_selectors_match_nothing() -> None:
    broken = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Bogus"}]},
         "topologyKey": "kubernetes.io/hostname"}]}}
    assert decide(pod(affinity=broken), THREE).node is None
    assert lbl.Selector().matches({})


def test_balanced_allocation_breaks_an_even_least_allocated_score() -> None:
    bound = [pod("cpu-heavy", node_name="a", requests={"cpu": "2"}),
             pod("mem-heavy", node_name="b", requests={"memory": "4Gi"})]
    # Both nodes are left as free on average; on b CPU and memory end up equally used.
    assert decide(pod(requests={"cpu": "2"}), [node("a"), node("b")], bound).node == "b"


@pytest.mark.parametrize("spec", [
    {"affinity": "x"}, {"affinity": {"nodeAffinity": "x", "podAffinity": "y"}},
    {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": ["x", {"matchFields": ["y"], "matchExpressions": [1]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": ["x", {"weight": "w"}]}}},
    {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        "x", {"labelSelector": "y", "namespaceSelector": 3}],
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": None, "podAffinityTerm": "z"}]}}},
    {"tolerations": ["x", {"key": 1, "operator": None}]},
    {"topologySpreadConstraints": ["x", {"whenUnsatisfiable": "DoNotSchedule",
                                         "maxSkew": "a", "minDomains": -1,
                                         "labelSelector": {"matchLabels": "x"}}]},
    {"overhead": {"cpu": "lots"}, "resources": {"requests": {"cpu": []}}},
])
def test_malformed_scheduling_fields_never_raise(spec: Obj) -> None:
    incoming = pod(**spec)
    incoming["spec"]["containers"][0]["ports"] = [{"hostPort": "80"}, "x"]
    incoming["spec"]["containers"][0]["resources"] = {"requests": {"cpu": {"a": 1}}}
    decided = decide(incoming, THREE, [pod("x", node_name="a", **spec)])
    assert decided.node is not None or decided.message
