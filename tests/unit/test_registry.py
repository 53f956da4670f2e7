"""registry: the one write path, against a real store (the doors' equivalence over real
processes is tests/integration/test_write_doors.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from podctl import registry
from podctl.api import meta
from podctl.controllers.deletion import FOREGROUND, ORPHAN, delete_object, mark_pod_deleting
from podctl.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound, Precondition
from podctl.registry import strategy
from podctl.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    # apply's follow-ups look for this home's controller: never another home's
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    return open_store(tmp_path)


def pod(name: str = "p", **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **metadata},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def test_generate_name_only_gets_a_name(store: Store) -> None:
    created = registry.create(store, pod("", generateName="web-"))
    name = meta.name_of(created)
    assert name.startswith("web-") and len(name) == 9
    assert set(name[4:]) <= set(meta.NAME_ALPHABET)
    assert created["metadata"]["generateName"] == "web-"
    assert store.get("Pod", "default", name) == created


def test_a_generated_name_that_is_taken_is_drawn_again(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.create(store, pod("web-bbbbb"))
    drawn: list[str] = []

    class FirstDrawsCollide:
        def choice(self, alphabet: str) -> str:
            drawn.append(alphabet[0] if len(drawn) < 5 else alphabet[1])
            return drawn[-1]

    monkeypatch.setattr(strategy.random, "Random", FirstDrawsCollide)
    created = registry.create(store, pod("", generateName="web-"))
    assert meta.name_of(created) == "web-ccccc" and len(drawn) == 10


def test_server_set_fields_from_the_client_are_dropped(store: Store) -> None:
    sent = pod(uid="11111111-2222-3333-4444-555555555555",
               creationTimestamp="2001-01-01T00:00:00Z", resourceVersion="999",
               generation=7, deletionTimestamp="2001-01-01T00:00:00Z", selfLink="/x")
    sent["status"] = {"phase": "Running", "podIP": "10.0.0.9"}
    created = registry.create(store, sent)
    md = created["metadata"]
    assert md["uid"] != sent["metadata"]["uid"]
    assert md["creationTimestamp"] != "2001-01-01T00:00:00Z"
    assert md["resourceVersion"] != "999" and md["generation"] == 1
    assert "deletionTimestamp" not in md and "selfLink" not in md
    assert created["status"] == {"phase": "Pending"}


def test_a_namespace_starts_active_with_its_name_label(store: Store) -> None:
    created = registry.create(store, {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": "team"}})
    assert created["status"] == {"phase": "Active"}
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert created["spec"] == {"finalizers": ["kubernetes"]}


def test_invalid_objects_are_refused_with_their_field_errors(store: Store) -> None:
    bad = pod()
    del bad["spec"]["containers"][0]["image"]
    bad["metadata"]["labels"] = {"a b": "c"}
    with pytest.raises(Invalid) as caught:
        registry.create(store, bad)
    assert caught.value.kind == "Pod" and caught.value.name == "p"
    assert [field for field, _ in caught.value.causes or []] == [
        "metadata.labels", "spec.containers[0].image"]
    assert str(caught.value).startswith('The Pod "p" is invalid: \n* metadata.labels: ')
    assert store.get("Pod", "default", "p") is None


def test_errors_carry_the_files_context(store: Store) -> None:
    registry.create(store, pod())
    with pytest.raises(AlreadyExists) as caught:
        registry.create(store, pod(), context='error when creating "p.yaml": ')
    assert caught.value.render() == ('Error from server (AlreadyExists): error when creating '
                                     '"p.yaml": pods "p" already exists')
    with pytest.raises(NotFound) as missing:
        registry.create(store, pod(namespace="nope"), context='error when creating "p.yaml": ')
    assert str(missing.value) == 'error when creating "p.yaml": namespaces "nope" not found'


def test_a_dry_run_stores_nothing(store: Store) -> None:
    shown = registry.create(store, pod(), dry_run=True)
    assert shown["metadata"]["uid"] and shown["status"] == {"phase": "Pending"}
    assert store.get("Pod", "default", "p") is None


def test_a_job_keeps_its_generated_selector_through_updates(store: Store) -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "uid": "made-up"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "c", "image": "busybox"}]}}}}
    created = registry.create(store, job)
    uid = meta.uid_of(created)
    assert uid != "made-up"
    assert created["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert created["metadata"]["labels"]["controller-uid"] == uid
    relabeled = registry.mutate(store, "Job", "default", "j", lambda j: bool(
        j["metadata"]["labels"].update(team="a") or True))
    assert relabeled is not None and relabeled["metadata"]["labels"]["team"] == "a"
    assert relabeled["spec"] == created["spec"]


def test_an_update_that_changes_nothing_writes_nothing(store: Store) -> None:
    created = registry.create(store, pod())
    again = registry.update(store, copy.deepcopy(created))
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_an_update_takes_labels_and_keeps_status_and_server_fields(store: Store) -> None:
    created = registry.create(store, pod())
    desired = copy.deepcopy(created)
    desired["metadata"]["labels"] = {"tier": "web"}
    desired["metadata"]["creationTimestamp"] = "2001-01-01T00:00:00Z"
    desired["status"] = {"phase": "Succeeded"}
    updated = registry.update(store, desired)
    assert updated["metadata"]["labels"] == {"tier": "web"}
    assert updated["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]
    assert updated["status"] == {"phase": "Pending"}


def test_a_stale_update_is_a_conflict_and_mutate_retries_it(store: Store) -> None:
    created = registry.create(store, pod())
    first = copy.deepcopy(created)
    first["metadata"]["labels"] = {"a": "1"}
    registry.update(store, first)
    stale = copy.deepcopy(created)
    stale["metadata"]["labels"] = {"b": "2"}
    with pytest.raises(Conflict):
        registry.update(store, stale)
    calls = []

    def add(fresh: dict[str, Any]) -> bool:
        calls.append(fresh["metadata"]["resourceVersion"])
        if len(calls) == 1:  # someone else writes between this read and its write
            other = store.require("Pod", "default", "p")
            other["metadata"]["labels"]["c"] = "3"
            store.update(other)
        fresh["metadata"]["labels"]["b"] = "2"
        return True

    done = registry.mutate(store, "Pod", "default", "p", add)
    assert done is not None and done["metadata"]["labels"] == {"a": "1", "b": "2", "c": "3"}
    assert len(calls) == 2


def test_an_update_may_not_change_a_pods_spec(store: Store) -> None:
    created = registry.create(store, pod())
    desired = copy.deepcopy(created)
    desired["spec"]["containers"][0]["name"] = "other"
    with pytest.raises(Invalid, match="pod updates may not change fields"):
        registry.update(store, desired)


def test_a_uid_precondition_that_fails_is_a_conflict(store: Store) -> None:
    created = registry.create(store, pod())
    desired = copy.deepcopy(created)
    desired["metadata"]["uid"] = "someone-else"
    with pytest.raises(Precondition) as caught:
        registry.update(store, desired)
    assert caught.value.reason == "Conflict"


def test_status_writes_take_only_the_status(store: Store) -> None:
    created = registry.create(store, pod())
    desired = copy.deepcopy(created)
    desired["status"] = {"phase": "Running"}
    desired["metadata"]["labels"] = {"ignored": "yes"}
    written = registry.update_status(store, desired)
    assert written["status"] == {"phase": "Running"}
    assert "labels" not in written["metadata"]


def test_a_binding_sets_the_node_once_and_refuses_a_pod_bound_or_being_deleted(
        store: Store) -> None:
    created = registry.create(store, pod())
    bound = registry.bind(store, "default", "p", "node-a", meta.uid_of(created))
    assert bound["spec"]["nodeName"] == "node-a"
    assert bound["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    with pytest.raises(Conflict, match='pods/binding "p": pod p is already assigned to node '
                                       '"node-a"'):
        registry.bind(store, "default", "p", "node-b")
    with pytest.raises(NotFound):
        registry.bind(store, "default", "p", "node-b", "another-uid")
    assert mark_pod_deleting(store, registry.create(store, pod("q"))) is not None
    with pytest.raises(Conflict, match="being deleted, cannot be assigned to a host"):
        registry.bind(store, "default", "q", "node-a")


def test_a_node_keeps_the_status_it_is_created_with(store: Store) -> None:
    status = {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {},
            "status": status}
    assert registry.create(store, node)["status"] == status


def test_an_endpointslice_update_counts_its_generation_and_keeps_its_address_type(
        store: Store) -> None:
    created = registry.create(store, {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "s-x", "labels": {"a": "1"}}, "addressType": "IPv4",
        "endpoints": None, "ports": None})
    assert created["metadata"]["generation"] == 1
    desired = copy.deepcopy(created)
    desired["endpoints"] = [{"addresses": ["10.0.0.2"]}]
    desired["addressType"] = "IPv6"
    updated = registry.update(store, desired)
    assert updated["endpoints"] == [{"addresses": ["10.0.0.2"]}]
    assert updated["addressType"] == "IPv4" and updated["metadata"]["generation"] == 2
    relabeled = copy.deepcopy(updated)
    relabeled["metadata"]["labels"] = {"a": "2"}
    again = registry.update(store, relabeled)
    assert again["metadata"]["generation"] == 3
    assert registry.update(store, copy.deepcopy(again))["metadata"]["generation"] == 3


def test_an_endpoints_update_leaves_out_what_it_does_not_send(store: Store) -> None:
    created = registry.create(store, {
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "e"},
        "subsets": [{"addresses": [{"ip": "10.0.0.3"}], "ports": [{"port": 80}]}]})
    desired = copy.deepcopy(created)
    del desired["subsets"]
    assert "subsets" not in registry.update(store, desired)


def test_a_deployments_replicaset_scale_counts_one_generation(store: Store) -> None:
    from podctl.controllers.deployment_sync import _scale

    template = {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    rs = registry.create(store, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                 "template": template}})
    assert _scale(store, rs, 3, {"deployment.kubernetes.io/desired-replicas": "3"})
    scaled = store.require("ReplicaSet", "default", "rs")
    assert scaled["spec"]["replicas"] == 3 and scaled["metadata"]["generation"] == 2
    assert not _scale(store, scaled, 3, {"deployment.kubernetes.io/desired-replicas": "3"})
    assert store.require("ReplicaSet", "default", "rs")["metadata"]["generation"] == 2


def test_only_the_registry_writes_objects_but_for_the_named_exceptions() -> None:
    """Every object write outside the registry and the store is one of those that say
    why: the deletion model's (the registry's delete), the bootstrap `kubernetes`
    Service's (the allocator's own range), and a namespace's default ServiceAccount and
    root CA ConfigMap made ahead of their controller by the ServiceAccount admission."""
    import re

    src = Path(registry.__file__).parents[1]
    writes = re.compile(r"store\.(mutate|create|update)\(")
    writers = {str(p.relative_to(src)) for p in src.rglob("*.py")
               if p.parts[len(src.parts)] not in ("registry", "store")
               and writes.search(p.read_text())}
    assert writers == {"controllers/deletion.py", "admission/serviceips.py",
                       "admission/serviceaccount.py"}


def test_a_service_update_keeps_its_cluster_ip_and_changes_nothing_when_equal(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import ipaddress

    from podctl.admission import Chain
    from podctl.admission.serviceips import ServiceIPAllocator, service_network

    net = ipaddress.IPv4Network("10.96.9.0/24")
    chain = Chain([ServiceIPAllocator(lambda: service_network(store, lambda: net),
                                      lambda port, protocol: True)])
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    created = registry.create(store, svc, chain=chain)
    assert created["spec"]["clusterIP"].startswith("10.96.9.")
    again = registry.update(store, copy.deepcopy(svc), chain=chain)
    assert again == created


# -- the one delete ---------------------------------------------------------------------


def owner(kind: str = "ReplicaSet") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "rs"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def test_delete_dispatch_by_the_kinds_traits(store: Store) -> None:
    registry.create(store, pod())
    marked = delete_object(store, "Pod", "default", "p", grace=5)
    assert marked.marked is not None
    assert marked.marked["metadata"]["deletionGracePeriodSeconds"] == 5
    registry.create(store, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert delete_object(store, "ConfigMap", "default", "c").marked is None
    assert store.get("ConfigMap", "default", "c") is None
    registry.create(store, owner())
    foreground = delete_object(store, "ReplicaSet", "default", "rs", propagation="Foreground")
    assert foreground.marked is not None
    assert foreground.marked["metadata"]["finalizers"] == [FOREGROUND]
    registry.create(store, owner("Deployment") | {"metadata": {"name": "d"}})
    orphan = delete_object(store, "Deployment", "default", "d", propagation="Orphan")
    assert orphan.marked is not None and orphan.marked["metadata"]["finalizers"] == [ORPHAN]


def test_a_background_delete_of_an_owner_marks_its_pods(store: Store) -> None:
    rs = registry.create(store, owner())
    child = pod("rs-x", labels={"app": "a"}, ownerReferences=[{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": meta.uid_of(rs),
        "controller": True}])
    registry.create(store, child)
    done = delete_object(store, "ReplicaSet", "default", "rs")
    assert done.marked is None and store.get("ReplicaSet", "default", "rs") is None
    assert [meta.name_of(p) for p in done.pods] == ["rs-x"]
    assert store.require("Pod", "default", "rs-x")["metadata"]["deletionTimestamp"]


def test_delete_preconditions_admission_and_dry_run(store: Store) -> None:
    created = registry.create(store, pod())
    with pytest.raises(Precondition, match="UID in precondition: nope"):
        delete_object(store, "Pod", "default", "p", uid="nope")
    with pytest.raises(Precondition, match="ResourceVersion in precondition: 1,"):
        delete_object(store, "Pod", "default", "p", resource_version="1")
    assert delete_object(store, "Pod", "default", "p", dry_run=True).marked == created
    assert "deletionTimestamp" not in store.require("Pod", "default", "p")["metadata"]
    with pytest.raises(Forbidden, match='namespaces "default" is forbidden'):
        delete_object(store, "Namespace", "", "default")
    with pytest.raises(NotFound, match='pods "gone" not found'):
        delete_object(store, "Pod", "default", "gone")


# -- apply's update, through the registry -------------------------------------------------


def no_follow_ups() -> Any:
    """apply's in-process follow-ups (a reconcile when no controller runs) are not the
    registry's: they start containers, so here they are only counted."""
    from podctl.ops.deferred import DockerWork

    class Counted(DockerWork):
        skipped = 0

        def run(self, work: Any, waits: str = "") -> None:
            Counted.skipped += 1

    return Counted()


def test_apply_updates_through_the_registry(store: Store) -> None:
    from podctl.ops.apply import update_object, with_last_applied

    written = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"},
               "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]}
    created = registry.create(store, with_last_applied(written, written))
    assert not update_object(store, created, with_last_applied(written, written), no_follow_ups())
    assert store.require("Endpoints", "default", "manual") == created
    moved = copy.deepcopy(written)
    moved["subsets"][0]["addresses"] = [{"ip": "10.1.2.4"}]
    assert update_object(store, created, with_last_applied(moved, moved), no_follow_ups())
    assert store.require("Endpoints", "default", "manual")["subsets"] == [
        {"addresses": [{"ip": "10.1.2.4"}], "ports": [{"port": 80, "protocol": "TCP"}]}]


def test_apply_keeps_a_paused_rollout_and_owner_references(store: Store) -> None:
    from podctl.ops.apply import update_object, with_last_applied

    written = owner("Deployment") | {"metadata": {"name": "d"}}
    created = registry.create(store, with_last_applied(written, written))

    def pause(deployment: dict[str, Any]) -> bool:
        deployment["spec"]["paused"] = True
        deployment["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "X",
                                                      "name": "x", "uid": "u"}]
        return True

    paused = registry.mutate(store, "Deployment", "default", "d", pause)
    assert paused is not None and paused["metadata"]["generation"] == 2
    changed = copy.deepcopy(written)
    changed["spec"]["replicas"] = 3
    assert update_object(store, created, with_last_applied(changed, changed), no_follow_ups())
    applied = store.require("Deployment", "default", "d")
    assert applied["spec"]["paused"] is True and applied["spec"]["replicas"] == 3
    assert applied["metadata"]["ownerReferences"][0]["name"] == "x"
    resumed = registry.mutate(store, "Deployment", "default", "d",
                              lambda d: d["spec"].pop("paused") is True)
    assert resumed is not None and "paused" not in resumed["spec"]
