"""One ingress proxy per node while an Ingress is served (the host's and each node
container's, as kind's recipe listens on every node), and none once the last one goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl import registry
from podctl.controllers.ingress import POD, sync_ingress
from podctl.proxy.ingress import Ports
from podctl.runtime import engines
from podctl.store import Store, open_store

INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "web"},
           "spec": {"rules": [{"host": "h.test", "http": {"paths": [{
               "path": "/", "pathType": "Prefix",
               "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    found = open_store(tmp_path)
    for name, kind in (("host", engines.HOST), ("n1", engines.CONTAINER), ("api", None)):
        annotations = {engines.ENGINE_ANNOTATION: kind} if kind else {}
        registry.create(found, {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": name, "annotations": annotations}})
    return found


def proxies(store: Store) -> dict[str, tuple[str, bool]]:
    """name -> (node, being deleted), of the kube-system pods named like a proxy."""
    return {p["metadata"]["name"]: (p["spec"].get("nodeName"),
                                    bool(p["metadata"].get("deletionTimestamp")))
            for p in store.list("Pod", "kube-system")
            if p["metadata"]["name"].startswith(POD)}


def test_a_proxy_on_every_node_with_a_kubelet_then_none(store: Store) -> None:
    user = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{POD}-mine", "namespace": "kube-system"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    registry.ensure_namespace(store, "kube-system")
    registry.create(store, user)
    ports = Ports(8080, 8443)
    registry.create(store, INGRESS)
    sync_ingress(store, ports)
    assert proxies(store) == {POD: ("host", False), f"{POD}-n1": ("n1", False),
                              f"{POD}-mine": (None, False)}  # a user's pod is not one
    pod = store.require("Pod", "kube-system", f"{POD}-n1")
    (container,) = pod["spec"]["containers"]
    assert [p["hostPort"] for p in container["ports"]] == [8080, 8443]
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "90Mi"}
    store.delete("Ingress", "default", "web")
    sync_ingress(store, ports)
    assert proxies(store) == {POD: ("host", True), f"{POD}-n1": ("n1", True),
                              f"{POD}-mine": (None, False)}


def test_a_proxy_on_a_node_gone_goes(store: Store) -> None:
    registry.create(store, INGRESS)
    sync_ingress(store, Ports())
    store.delete("Node", "", "n1")
    sync_ingress(store, Ports())
    assert proxies(store) == {POD: ("host", False), f"{POD}-n1": ("n1", True)}
