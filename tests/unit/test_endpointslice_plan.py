"""The EndpointSlice controller's plan and reconcile: conditions, ports, labels, owners,
the placeholder, and which stored slices are kept, reused or deleted."""

from __future__ import annotations

import copy
from typing import Any

from podctl.controllers.endpointslices import plan_endpoint_slices, reconcile
from tests.unit.test_endpoints_plan import pod, svc


def service(**spec: Any) -> dict[str, Any]:
    out = svc(**spec)
    out["metadata"]["uid"] = "uid-svc"
    return out


def conditions(slice_: dict[str, Any]) -> dict[str, tuple[bool, bool, bool]]:
    return {e["targetRef"]["name"]: (e["conditions"]["ready"], e["conditions"]["serving"],
                                     e["conditions"]["terminating"])
            for e in slice_["endpoints"]}


def test_one_slice_with_every_pod_and_its_conditions() -> None:
    [eps] = plan_endpoint_slices(service(), [
        pod("a", "172.18.0.9"), pod("b", "172.18.0.10", ready=False),
        pod("c", "172.18.0.11", terminating=True), pod("d", "172.18.0.12", phase="Failed"),
        pod("e", "")])
    assert eps["addressType"] == "IPv4"
    assert eps["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    assert conditions(eps) == {"a": (True, True, False), "b": (False, False, False),
                               "c": (False, True, True)}
    assert [e["addresses"] for e in eps["endpoints"]] == [
        ["172.18.0.10"], ["172.18.0.11"], ["172.18.0.9"]]
    first = eps["endpoints"][0]
    assert first["targetRef"] == {"kind": "Pod", "namespace": "default", "name": "b",
                                  "uid": "uid-b"}
    assert first["nodeName"] == "node-1"
    md = eps["metadata"]
    assert md["generateName"] == "kubia-" and "name" not in md
    assert md["labels"] == {"app": "kubia", "kubernetes.io/service-name": "kubia",
                            "endpointslice.kubernetes.io/managed-by":
                                "endpointslice-controller.k8s.io"}
    assert md["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "kubia",
                                      "uid": "uid-svc", "controller": True,
                                      "blockOwnerDeletion": True}]


def test_publish_not_ready_addresses_makes_every_endpoint_ready() -> None:
    [eps] = plan_endpoint_slices(service(publishNotReadyAddresses=True), [
        pod("a", "172.18.0.2", ready=False), pod("b", "172.18.0.3", terminating=True)])
    assert conditions(eps) == {"a": (True, False, False), "b": (True, True, True)}


def test_no_endpoint_leaves_one_placeholder_without_ports() -> None:
    [eps] = plan_endpoint_slices(service(), [pod("a", "172.18.0.2", phase="Succeeded")])
    assert eps["endpoints"] is None and eps["ports"] is None


def test_ports_resolve_per_pod_into_one_slice_per_port_set() -> None:
    named = service(ports=[{"name": "http", "port": 80, "targetPort": "web",
                            "protocol": "TCP", "appProtocol": "http"}])
    slices = plan_endpoint_slices(named, [
        pod("a", "172.18.0.2", ports=[{"name": "web", "containerPort": 8080}]),
        pod("b", "172.18.0.3", ports=[{"name": "web", "containerPort": 9090}]),
        pod("c", "172.18.0.4")])
    assert [(s["ports"], list(conditions(s))) for s in slices] == [
        ([{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}], ["a"]),
        ([{"name": "http", "port": 9090, "protocol": "TCP", "appProtocol": "http"}], ["b"]),
        (None, ["c"]),  # upstream keeps a pod whose port does not resolve, without ports
    ]


def test_headless_services_mark_their_slices_and_reserved_labels_are_not_copied() -> None:
    headless = service(clusterIP="None")
    headless["metadata"]["labels"] = {"app": "kubia", "kubernetes.io/service-name": "other"}
    [eps] = plan_endpoint_slices(headless, [pod("a", "172.18.0.2")])
    assert eps["metadata"]["labels"] == {
        "app": "kubia", "service.kubernetes.io/headless": "",
        "kubernetes.io/service-name": "kubia",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}


def stored(desired: dict[str, Any], name: str, uid: str = "uid-svc") -> dict[str, Any]:
    out = copy.deepcopy(desired)
    out["metadata"].update(name=name, uid=f"uid-{name}", resourceVersion="7")
    out["metadata"]["ownerReferences"][0]["uid"] = uid
    return out


def test_reconcile_keeps_unchanged_slices_and_updates_changed_ones_in_place() -> None:
    svc_ = service()
    [before] = plan_endpoint_slices(svc_, [pod("a", "172.18.0.2")])
    current = stored(before, "kubia-abcde")
    assert vars(reconcile(svc_, [current], [copy.deepcopy(before)])) == \
        {"update": [], "create": [], "delete": []}
    [after] = plan_endpoint_slices(svc_, [pod("a", "172.18.0.2"), pod("b", "172.18.0.3")])
    changes = reconcile(svc_, [current], [after])
    assert changes.update == [(current, after)] and not changes.create and not changes.delete


def test_reconcile_reuses_a_slice_for_new_ports_and_drops_foreign_ones() -> None:
    svc_ = service()
    [placeholder] = plan_endpoint_slices(svc_, [])
    mine = stored(placeholder, "kubia-aaaaa")
    old_service = stored(placeholder, "kubia-bbbbb", uid="uid-old")
    [filled] = plan_endpoint_slices(svc_, [pod("a", "172.18.0.2")])
    changes = reconcile(svc_, [mine, old_service], [filled])
    assert changes.update == [(mine, filled)]
    assert changes.create == [] and changes.delete == [old_service]
    # Scaled to zero: the slice goes back to the placeholder, under the same name.
    back = reconcile(svc_, [stored(filled, "kubia-aaaaa")], [placeholder])
    assert [(meta["metadata"]["name"], new["ports"]) for meta, new in back.update] == \
        [("kubia-aaaaa", None)]
    assert not back.create and not back.delete


def test_reconcile_creates_what_no_spare_slice_can_hold_and_deletes_extra_ones() -> None:
    svc_ = service()
    [filled] = plan_endpoint_slices(svc_, [pod("a", "172.18.0.2")])
    assert reconcile(svc_, [], [filled]).create == [filled]
    twin = stored(filled, "kubia-twin1"), stored(filled, "kubia-twin2")
    changes = reconcile(svc_, list(twin), [filled])
    assert changes.delete == [twin[1]] and not changes.update and not changes.create


def test_sync_writes_the_placeholder_once_remakes_it_and_deletes_with_the_service(
        tmp_path: Any) -> None:
    from podctl.api import meta
    from podctl.controllers.endpointslices import sync_service_endpoints
    from podctl.store import open_store

    store = open_store(tmp_path)
    store.create(svc())
    done = sync_service_endpoints(store, "default", "kubia")[1]
    [made] = store.list("EndpointSlice", "default")
    assert done == f"created {meta.name_of(made)}"
    assert made["metadata"]["ownerReferences"][0]["uid"] == \
        meta.uid_of(store.require("Service", "default", "kubia"))
    assert sync_service_endpoints(store, "default", "kubia")[1] is None  # nothing changed
    # A slice left by an older Service of that name goes; a deleted one is made again.
    foreign = copy.deepcopy(made)
    foreign["metadata"] = {**made["metadata"], "name": "kubia-zzzzz", "uid": "other"}
    foreign["metadata"]["ownerReferences"] = [{**made["metadata"]["ownerReferences"][0],
                                               "uid": "uid-gone"}]
    store.create(foreign)
    store.delete("EndpointSlice", "default", meta.name_of(made))
    done = sync_service_endpoints(store, "default", "kubia")[1]
    [again] = store.list("EndpointSlice", "default")
    assert meta.name_of(again) not in (meta.name_of(made), "kubia-zzzzz")
    assert done == f"created {meta.name_of(again)}, deleted kubia-zzzzz"
    store.delete("Service", "default", "kubia")
    assert sync_service_endpoints(store, "default", "kubia")[1] == "deleted"
    assert store.list("EndpointSlice", "default") == []
