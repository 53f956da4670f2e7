"""cordon, drain's pod filters and its run (kubectl's lines), the eviction, `get nodes`
STATUS: against upstream's kubectl/pkg/drain behaviour, with a store and no engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.eviction import evict
from podctl.errors import Forbidden, NotFound, Precondition
from podctl.ops import drain
from podctl.ops.drain import DrainFlags, DrainRequest, NodeNotDrained, plan_drain
from podctl.printers.controllers import node_status
from podctl.store import Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pod(name: str, *, ns: str = "default", owner: str | None = None, node: str = "node",
        emptydir: bool = False, phase: str = "Running", **md: Any) -> Obj:
    metadata: Obj = {"name": name, "namespace": ns, **md}
    if owner:
        kind, _, owner_name = owner.partition("/")
        metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": kind, "name": owner_name,
                                        "uid": "u", "controller": True}]
    spec: Obj = {"nodeName": node, "containers": [{"name": "c", "image": "i"}]}
    if emptydir:
        spec["volumes"] = [{"name": "v", "emptyDir": {}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
            "status": {"phase": phase}}


def names(pods: list[Obj]) -> list[str]:
    return [meta.name_of(p) for p in pods]


# -- the filters -----------------------------------------------------------------------------


def test_refusals_each_with_kubectl_words_and_nothing_evicted() -> None:
    pods = [pod("rc-1", owner="ReplicationController/web"), pod("bare"),
            pod("ds-1", ns="kube-system", owner="DaemonSet/ds"), pod("data", emptydir=True,
                                                                      owner="ReplicaSet/rs")]
    plan = plan_drain(pods, DrainFlags(), NOW, {("kube-system", "ds")})
    assert plan.errors == [
        "cannot delete Pods that declare no controller (use --force to override): "
        "default/bare",
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): "
        "default/data",
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
        "kube-system/ds-1"]
    assert plan.warnings == ""


def test_flags_turn_refusals_into_warnings_and_daemonset_pods_stay() -> None:
    pods = [pod("rc-1", owner="ReplicationController/web"), pod("bare"), pod("bare-data",
            emptydir=True), pod("ds-1", owner="DaemonSet/ds"),
            pod("data", emptydir=True, owner="ReplicaSet/rs")]
    plan = plan_drain(pods, DrainFlags(force=True, ignore_daemonsets=True,
                                       delete_emptydir_data=True), NOW, {("default", "ds")})
    assert plan.errors == []
    assert names(plan.pods) == ["bare", "bare-data", "data", "rc-1"]
    # The last filter's word stands: the emptyDir warning of a managed pod is lost, and a
    # bare pod with emptyDir is reported as a bare pod (kubectl's TODO in filters.go).
    assert plan.warnings == ("deleting Pods that declare no controller: default/bare, "
                             "default/bare-data; ignoring DaemonSet-managed Pods: default/ds-1")


def test_finished_pods_go_whatever_they_are() -> None:
    pods = [pod("done", phase="Succeeded", emptydir=True),
            pod("failed-ds", phase="Failed", owner="DaemonSet/ds")]
    plan = plan_drain(pods, DrainFlags(), NOW, {("default", "ds")})
    assert plan.errors == [] and names(plan.pods) == ["done", "failed-ds"]


def test_orphaned_daemonset_pod_needs_force() -> None:
    orphan = [pod("ds-1", owner="DaemonSet/gone")]
    assert plan_drain(orphan, DrainFlags(), NOW, set()).errors == [
        'cannot delete daemonsets.apps "gone" not found: default/ds-1']
    forced = plan_drain(orphan, DrainFlags(force=True), NOW, set())
    assert names(forced.pods) == ["ds-1"] and forced.errors == []


def test_mirror_pods_and_long_deleted_pods_are_skipped() -> None:
    mirror = pod("static", annotations={drain.MIRROR_ANNOTATION: "x"})
    old = pod("old", owner="ReplicaSet/rs",
              deletionTimestamp=meta.format_time(NOW - timedelta(seconds=100)))
    plan = plan_drain([mirror, old], DrainFlags(skip_wait_for_delete_timeout=60), NOW, set())
    assert plan.pods == [] and plan.errors == [] and plan.warnings == ""
    assert names(plan_drain([old], DrainFlags(), NOW, set()).pods) == ["old"]


def test_aggregate_is_go_utilerrors_text() -> None:
    assert drain.aggregate(["a"]) == "a"
    assert drain.aggregate(["a", "b", "a"]) == "[a, b]"


# -- cordon and the node's STATUS ------------------------------------------------------------


def cordon(store: Store, desired: bool, dry_run: str = "none") -> str:
    return drain.cordon(store, store.get("Node", "", "node"), desired, dry_run)


def test_cordon_uncordon_lines_and_field(node_store: Store) -> None:
    assert cordon(node_store, True) == "node/node cordoned"
    assert cordon(node_store, True) == "node/node already cordoned"
    assert node_store.get("Node", "", "node")["spec"]["unschedulable"] is True
    assert cordon(node_store, False) == "node/node uncordoned"
    assert "unschedulable" not in node_store.get("Node", "", "node")["spec"]
    assert cordon(node_store, False) == "node/node already uncordoned"
    with pytest.raises(NotFound, match='nodes "nope" not found'):
        drain.nodes_named(node_store, ["node", "nope"], None)
    # Judged from the node as the command read it: the same node named twice is
    # cordoned twice, as kubectl says it.
    twice = drain.nodes_named(node_store, ["node", "node"], None)
    assert [drain.cordon(node_store, n, True) for n in twice] == ["node/node cordoned"] * 2


def test_node_status_column() -> None:
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert node_status(ready) == "Ready"
    assert node_status({**ready, "spec": {"unschedulable": True}}) == \
        "Ready,SchedulingDisabled"
    assert node_status({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]},
                        "spec": {"unschedulable": True}}) == "NotReady,SchedulingDisabled"
    assert node_status({}) == "Unknown"


# -- eviction --------------------------------------------------------------------------------


def stored(store: Store, obj: Obj) -> Obj:
    return store.create(meta.clone(obj))


def test_eviction_marks_the_pod_with_its_grace(node_store: Store) -> None:
    made = stored(node_store, pod("p"))
    done = evict(node_store, "default", "p", grace=3)
    assert done.marked is not None
    marked = node_store.get("Pod", "default", "p")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 3
    with pytest.raises(Precondition):
        evict(node_store, "default", "p", uid="other")
    assert meta.uid_of(marked) == meta.uid_of(made)


def test_eviction_refusals(node_store: Store) -> None:
    with pytest.raises(NotFound, match='pods "nope" not found'):
        evict(node_store, "default", "nope")
    with pytest.raises(NotFound, match='namespaces "ghost" not found'):
        evict(node_store, "ghost", "p")
    node_store.create({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": "going", "deletionTimestamp": NOW.isoformat()}})
    stored(node_store, pod("p", ns="going"))
    with pytest.raises(Forbidden, match="unable to create new content in namespace going "
                       "because it is being terminated"):
        evict(node_store, "going", "p")


def test_eviction_dry_run_changes_nothing(node_store: Store) -> None:
    stored(node_store, pod("p"))
    evict(node_store, "default", "p", dry_run=True)
    assert "deletionTimestamp" not in node_store.get("Pod", "default", "p")["metadata"]


# -- a drain's run ---------------------------------------------------------------------------


def remove_all(store: Store) -> Any:
    """A stand-in kubelet: the marked pods go from the store."""
    def finish(pods: list[Obj]) -> None:
        for p in pods:
            store.delete("Pod", meta.namespace_of(p), meta.name_of(p), meta.uid_of(p))
    return finish


def run(store: Store, request: DrainRequest, finish: Any, *nodes: str) -> tuple[
        list[tuple[str, str]], NodeNotDrained | None]:
    lines: list[tuple[str, str]] = []
    try:
        for line in drain.drain_nodes(store, drain.nodes_named(store, list(nodes), None),
                                      request, finish):
            lines.append(line)
    except NodeNotDrained as exc:
        return lines, exc
    return lines, None


@pytest.fixture
def no_controller(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """follow_up's calls, recorded instead of running the controllers."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(drain, "follow_up", lambda store, *keys: calls.append(keys))
    return calls


def test_drain_evicts_and_waits_with_kubectl_lines(node_store: Store,
                                                   no_controller: list[Any]) -> None:
    for p in (pod("b", owner="ReplicationController/web"), pod("a", owner="ReplicaSet/rs"),
              pod("elsewhere", node="other", owner="ReplicaSet/rs")):
        stored(node_store, p)
    lines, failed = run(node_store, DrainRequest(DrainFlags()), remove_all(node_store),
                        "node")
    assert failed is None
    assert lines == [("out", "node/node cordoned"), ("out", "evicting pod default/a"),
                     ("out", "evicting pod default/b"), ("out", "pod/a evicted"),
                     ("out", "pod/b evicted"), ("out", "node/node drained")]
    assert names(node_store.list("Pod")) == ["elsewhere"]
    # Each owner is asked for its replacement as its pod goes (a budget may wait for it).
    assert sorted(key for call in no_controller for key in call) == [
        ("ReplicaSet", "default", "rs"), ("ReplicationController", "default", "web")]


def test_drain_refused_leaves_pods_but_cordons(node_store: Store,
                                               no_controller: list[Any]) -> None:
    stored(node_store, pod("bare"))
    lines, failed = run(node_store, DrainRequest(DrainFlags()), remove_all(node_store),
                        "node")
    refusal = ("cannot delete Pods that declare no controller (use --force to override): "
               "default/bare")
    assert lines == [("out", "node/node cordoned"),
                     ("err", f'error: unable to drain node "node" due to error: {refusal}, '
                             "continuing command..."),
                     ("err", "There are pending nodes to be drained:"), ("err", " node")]
    assert failed is not None and failed.errors == [refusal] and not failed.plain
    assert names(node_store.list("Pod")) == ["bare"]
    assert node_store.get("Node", "", "node")["spec"]["unschedulable"] is True


def test_drain_timeout_names_the_pods_left(node_store: Store,
                                           no_controller: list[Any]) -> None:
    stored(node_store, pod("stuck", owner="ReplicaSet/rs"))
    request = DrainRequest(DrainFlags(), timeout=0.3)
    lines, failed = run(node_store, request, lambda pods: None, "node")
    error = ('error when waiting for pod "stuck" in namespace "default" to terminate: '
             "context deadline exceeded")
    assert lines[-5:] == [
        ("err", f'There are pending pods in node "node" when an error occurred: {error}'),
        ("err", "pod/stuck"),
        ("err", f'error: unable to drain node "node" due to error: {error}, continuing '
                "command..."),
        ("err", "There are pending nodes to be drained:"), ("err", " node")]
    assert failed is not None and failed.errors == [error]
    # The eviction stands: the pod is marked for whoever finishes it.
    assert node_store.get("Pod", "default", "stuck")["metadata"]["deletionTimestamp"]


def test_drain_without_eviction_deletes(node_store: Store, no_controller: list[Any]) -> None:
    stored(node_store, pod("a", owner="ReplicaSet/rs"))
    lines, failed = run(node_store, DrainRequest(DrainFlags(), disable_eviction=True,
                                                 grace=0), remove_all(node_store), "node")
    assert failed is None
    assert lines == [("out", "node/node cordoned"), ("out", "pod/a deleted"),
                     ("out", "node/node drained")]
    stuck = stored(node_store, pod("b", owner="ReplicaSet/rs"))
    lines, failed = run(node_store, DrainRequest(DrainFlags(), disable_eviction=True,
                                                 timeout=0.3), lambda pods: None, "node")
    assert failed is not None and failed.plain and failed.errors == [drain.DEADLINE]
    assert node_store.get_by_uid(meta.uid_of(stuck)) is not None


def test_two_nodes_failing_end_with_each_aggregate(node_store: Store,
                                                   no_controller: list[Any]) -> None:
    node_store.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "two"}})
    stored(node_store, pod("bare"))
    stored(node_store, pod("bare2", node="two"))
    stored(node_store, pod("bare3", node="two"))
    _, failed = run(node_store, DrainRequest(DrainFlags()), remove_all(node_store),
                    "node", "two")
    assert failed is not None and failed.errors == [
        "cannot delete Pods that declare no controller (use --force to override): "
        "default/bare",
        "cannot delete Pods that declare no controller (use --force to override): "
        "default/bare2, default/bare3"]


def test_dry_runs_change_nothing(node_store: Store, no_controller: list[Any]) -> None:
    stored(node_store, pod("a", owner="ReplicaSet/rs"))
    for mode, suffix in (("client", " (dry run)"), ("server", " (server dry run)")):
        lines, failed = run(node_store, DrainRequest(DrainFlags(), dry_run=mode),
                            remove_all(node_store), "node")
        assert failed is None
        assert lines == [("out", f"node/node cordoned{suffix}"),
                         ("out", f"evicting pod default/a{suffix}"),
                         ("out", f"node/node drained{suffix}")]
        assert cordon(node_store, False, mode) == f"node/node already uncordoned{suffix}"
    assert "unschedulable" not in node_store.get("Node", "", "node").get("spec", {})
    assert "deletionTimestamp" not in node_store.get("Pod", "default", "a")["metadata"]


def test_the_commands_kubelet_share_is_retried_while_the_engine_is_away(
        node_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from podctl.errors import DockerUnavailable
    from podctl.kubelet import teardown

    made = stored(node_store, pod("a", owner="ReplicaSet/rs"))
    tries: list[list[str]] = []

    def finish_pods(store: Store, pods: list[Obj]) -> Any:
        tries.append(names(pods))
        if len(tries) == 1:
            raise DockerUnavailable("no daemon socket")
        for p in pods:
            store.delete("Pod", meta.namespace_of(p), meta.name_of(p), meta.uid_of(p))
            yield p

    monkeypatch.setattr(teardown, "finish_pods", finish_pods)
    monkeypatch.setattr(drain, "FINISH_RETRY_SECONDS", 0)
    drain.finisher(node_store)([made])
    assert tries == [["a"], ["a"]]
    assert node_store.list("Pod") == []
