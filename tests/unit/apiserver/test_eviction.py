"""POST .../pods/NAME/eviction through the API's router (aiohttp's test server over a store):
upstream's answers for policy/v1 and v1beta1 bodies, its refusals, and dryRun."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from podctl.store import Store, open_store
from tests.unit.apiserver.test_hostile_dispatch import Call, serve

PODS = "/api/v1/namespaces/default/pods"
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"nodeName": "node", "containers": [{"name": "c", "image": "i"}]}}


def eviction(name: str = "p", version: str = "policy/v1", **extra: object) -> dict[str, object]:
    return {"apiVersion": version, "kind": "Eviction", "metadata": {"name": name}, **extra}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = open_store(tmp_path)
    made.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node"}})
    yield made
    made.close()


def test_discovery_lists_eviction_as_kubectl_drain_looks_for_it(store: Store,
                                                                tmp_path: Path) -> None:
    async def scenario(call: Call) -> None:
        _, body, _ = await call("GET", "/api/v1")
        entry = next(r for r in body["resources"] if r["name"] == "pods/eviction")
        assert entry == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                         "kind": "Eviction", "verbs": ["create"], "group": "policy",
                         "version": "v1"}

    serve(store, tmp_path, scenario)


@pytest.mark.parametrize("version", ["policy/v1", "policy/v1beta1"])
def test_eviction_deletes_the_pod_with_its_options(store: Store, tmp_path: Path,
                                                   version: str) -> None:
    async def scenario(call: Call) -> None:
        assert (await call("POST", PODS, POD))[0] == 201
        status, body, _ = await call("POST", f"{PODS}/p/eviction", eviction(
            version=version, deleteOptions={"gracePeriodSeconds": 4}))
        assert (status, body) == (201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                        "status": "Success", "code": 201})
        marked = store.get("Pod", "default", "p")
        assert marked["metadata"]["deletionGracePeriodSeconds"] == 4

    serve(store, tmp_path, scenario)


def test_eviction_refusals_and_dry_run(store: Store, tmp_path: Path) -> None:
    async def scenario(call: Call) -> None:
        assert (await call("POST", PODS, POD))[0] == 201
        status, body, _ = await call("POST", f"{PODS}/p/eviction", eviction("other"))
        assert (status, body["message"]) == (
            400, "name in URL does not match name in Eviction object")
        status, body, _ = await call("POST", f"{PODS}/gone/eviction", eviction("gone"))
        assert (status, body["reason"], body["message"]) == (404, "NotFound",
                                                             'pods "gone" not found')
        status, body, _ = await call("POST", f"{PODS}/p/eviction",
                                     {**eviction(), "apiVersion": "v1"})
        assert status == 400
        bad = eviction(metadata={"name": "p", "namespace": "kube-system"})
        status, body, _ = await call("POST", f"{PODS}/p/eviction", bad)
        assert (status, body["message"]) == (400, "the namespace of the provided object "
                                             "does not match the namespace sent on the request")
        status, _, _ = await call("GET", f"{PODS}/p/eviction")
        assert status == 405
        hostiles = (eviction(deleteOptions=5),
                    eviction(deleteOptions={"gracePeriodSeconds": "soon"}),
                    eviction(metadata="p"), json.dumps([eviction()]).encode(),
                    eviction(kind="Pod"))
        for hostile in hostiles:
            status, body, _ = await call("POST", f"{PODS}/p/eviction", hostile)
            assert (status, body["reason"]) == (400, "BadRequest"), body
        status, body, _ = await call("POST", f"{PODS}/p/eviction", b"{not json")
        assert status == 400
        for query, options in (("?dryRun=All", {}), ("", {"dryRun": ["All"]})):
            status, _, _ = await call("POST", f"{PODS}/p/eviction{query}",
                                      eviction(deleteOptions=options))
            assert status == 201
            assert "deletionTimestamp" not in store.get("Pod", "default", "p")["metadata"]

    serve(store, tmp_path, scenario)


def test_eviction_in_a_namespace_being_deleted_names_the_cause(store: Store,
                                                                tmp_path: Path) -> None:
    """kubectl drain waits for a pod already being deleted when its eviction is refused
    with the NamespaceTerminating cause (and only then)."""
    store.create({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "going", "deletionTimestamp": "2026-01-01T00:00:00Z"}})
    store.create({**POD, "metadata": {"name": "p", "namespace": "going"}})

    async def scenario(call: Call) -> None:
        status, body, _ = await call("POST", "/api/v1/namespaces/going/pods/p/eviction",
                                     eviction())
        assert (status, body["reason"], body["message"]) == (
            403, "Forbidden", 'pods "p" is forbidden: unable to create new content in '
            "namespace going because it is being terminated")
        assert body["details"] == {"name": "p", "kind": "pods", "causes": [
            {"reason": "NamespaceTerminating", "message": "namespace going is being terminated",
             "field": "metadata.namespace"}]}

    serve(store, tmp_path, scenario)
