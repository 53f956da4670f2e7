"""ResourceQuota and LimitRange: the admission plugins against a real store, the quota
controller's status, quantities as the API server writes them, kubectl's layouts."""

from __future__ import annotations

import ipaddress
import threading
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from podctl import registry
from podctl.api.resourcequota import canonical
from podctl.controllers.resourcequota import sync_quota
from podctl.errors import Forbidden, PodctlError
from podctl.ops.quota import build_quota
from podctl.printers.describe import describe_namespace
from podctl.printers.quota import describe_limitrange, describe_quota, quota_row
from podctl.runtime import servicenet
from podctl.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    # A Service's cluster IP comes from the home's range, reserved on the Docker engine as a
    # network: a fake range here, so a unit test leaves nothing on the engine.
    monkeypatch.setattr(servicenet, "reserve_service_range",
                        lambda home: ipaddress.IPv4Network("10.96.7.0/24"))
    return open_store(tmp_path)


def pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    ctrs = list(containers) or [{"name": "c", "image": "busybox"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": ctrs, **spec}}


def ctr(name: str, **resources: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "resources": resources}


def limit_range(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
            "spec": {"limits": list(items)}}


@pytest.mark.parametrize("value,binary,text", [
    (Fraction(0), False, "0"), (Fraction(1, 2), False, "500m"), (Fraction(2000), False, "2k"),
    (Fraction(1500), False, "1500"), (Fraction(2**30), True, "1Gi"),
    (Fraction(3 * 2**29), True, "1536Mi"), (Fraction(100), True, "100"),
    (Fraction(1, 10**10), False, "1n"), (Fraction(128 * 10**6), False, "128M")])
def test_quantities_are_written_as_the_api_server_writes_them(
        value: Fraction, binary: bool, text: str) -> None:
    assert canonical(value, binary) == text


def test_a_quota_of_two_pods_refuses_the_third_in_upstreams_words(store: Store) -> None:
    registry.create(store, build_quota("q", "pods=2,count/configmaps=1", ""))
    registry.create(store, pod("a"))
    registry.create(store, pod("b"))
    with pytest.raises(Forbidden) as refused:
        registry.create(store, pod("c"))
    assert str(refused.value) == ('pods "c" is forbidden: exceeded quota: q, requested: '
                                  'pods=1, used: pods=2, limited: pods=2')
    sync_quota(store, "default", "q")
    status = store.get("ResourceQuota", "default", "q")["status"]  # type: ignore[index]
    # The namespace's kube-root-ca.crt (made with its first pod) counts, as upstream's does.
    assert status == {"hard": {"count/configmaps": "1", "pods": "2"},
                      "used": {"count/configmaps": "1", "pods": "2"}}
    finished = store.get("Pod", "default", "a")
    assert finished is not None
    finished["status"]["phase"] = "Succeeded"  # a finished pod frees what it used
    registry.update_status(store, finished)
    registry.create(store, pod("c"))
    sync_quota(store, "default", "q")
    assert store.get("ResourceQuota", "default", "q")["status"]["used"]["pods"] == "2"  # type: ignore[index]


def test_concurrent_creates_never_overshoot(store: Store, tmp_path: Path) -> None:
    registry.create(store, build_quota("q", "pods=3", ""))
    outcomes: list[str] = []

    def make(i: int) -> None:
        mine = open_store(tmp_path)  # one connection each, as separate writers
        try:
            registry.create(mine, pod(f"p{i}"))
            outcomes.append("ok")
        except Forbidden:
            outcomes.append("refused")

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    assert len(store.list("Pod", "default")) == 3


def test_compute_quota_wants_every_container_to_name_its_resources(store: Store) -> None:
    registry.create(store, build_quota("q", "limits.cpu=1,limits.memory=1Gi,requests.cpu=1",
                                       ""))
    with pytest.raises(Forbidden) as refused:
        registry.create(store, pod("x", ctr("c"), ctr("d", limits={"cpu": "100m"})))
    assert str(refused.value) == ('pods "x" is forbidden: failed quota: q: must specify '
                                  'limits.cpu for: c; limits.memory for: c,d; '
                                  'requests.cpu for: c')
    fits = {"limits": {"cpu": "600m", "memory": "512Mi"}}
    registry.create(store, pod("a", ctr("c", **fits)))
    with pytest.raises(Forbidden) as refused:
        registry.create(store, pod("b", ctr("c", **fits)))
    assert str(refused.value) == (
        'pods "b" is forbidden: exceeded quota: q, requested: limits.cpu=600m,'
        'requests.cpu=600m, used: limits.cpu=600m,requests.cpu=600m, limited: '
        'limits.cpu=1,requests.cpu=1')


def test_scoped_quotas_count_only_their_pods(store: Store) -> None:
    registry.create(store, build_quota("be", "pods=1", "BestEffort"))
    registry.create(store, pod("a"))
    registry.create(store, pod("b", ctr("c", requests={"cpu": "10m"})))
    with pytest.raises(Forbidden, match="exceeded quota: be"):
        registry.create(store, pod("c"))


def test_claims_and_services_are_counted(store: Store) -> None:
    registry.create(store, build_quota("q", "requests.storage=2Gi,services.nodeports=1", ""))
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "a"},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                      "resources": {"requests": {"storage": "1536Mi"}}}}
    registry.create(store, claim)
    claim["metadata"]["name"] = "b"
    with pytest.raises(Forbidden) as refused:
        registry.create(store, claim)
    assert "requested: requests.storage=1536Mi, used: requests.storage=1536Mi, limited: " \
           "requests.storage=2Gi" in str(refused.value)
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"type": "NodePort", "selector": {"a": "b"},
                        "ports": [{"port": 80}, {"port": 81, "name": "b"}]}}
    service["spec"]["ports"][0]["name"] = "a"
    with pytest.raises(Forbidden, match=r"requested: services\.nodeports=2"):
        registry.create(store, service)


def test_limit_range_defaults_a_pod_and_notes_it(store: Store) -> None:
    registry.create(store, limit_range({"type": "Container",
                                        "default": {"cpu": "500m", "memory": "128Mi"},
                                        "defaultRequest": {"cpu": "100m"}}))
    stored = registry.create(store, pod("a", ctr("c"), ctr("d", requests={"cpu": "50m"})))
    c, d = (x["resources"] for x in stored["spec"]["containers"])
    assert c == {"limits": {"cpu": "500m", "memory": "128Mi"},
                 "requests": {"cpu": "100m", "memory": "128Mi"}}
    assert d == {"limits": {"cpu": "500m", "memory": "128Mi"},
                 "requests": {"cpu": "50m", "memory": "128Mi"}}
    assert stored["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for "
        "container c; memory request for container d; cpu, memory limit for container d")


def test_limit_range_bounds_in_upstreams_words(store: Store) -> None:
    registry.create(store, limit_range(
        {"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "10Mi"},
         "maxLimitRequestRatio": {"cpu": "2"}},
        {"type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}}))
    with pytest.raises(Forbidden) as refused:
        registry.create(store, pod("x", ctr("c", limits={"cpu": "2"},
                                            requests={"cpu": "500m", "memory": "5Mi"})))
    assert str(refused.value) == (
        'pods "x" is forbidden: [minimum memory usage per Container is 10Mi, but request is '
        '5Mi, maximum cpu usage per Container is 1, but limit is 2, cpu max limit to request '
        'ratio per Container is 2, but provided ratio is 4.000000]')
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "a"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "2Gi"}}}}
    with pytest.raises(Forbidden) as refused:
        registry.create(store, claim)
    assert str(refused.value) == ('persistentvolumeclaims "a" is forbidden: maximum storage '
                                  'usage per PersistentVolumeClaim is 1Gi, but request is 2Gi')


def test_create_quota_generator() -> None:
    assert build_quota("q", "pods=2,requests.cpu=1", "BestEffort") == {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"pods": "2", "requests.cpu": "1"}, "scopes": ["BestEffort"]}}
    with pytest.raises(PodctlError, match=r"^Invalid argument syntax pods, expected "):
        build_quota("q", "pods", "")
    with pytest.raises(PodctlError, match="quantities must match the regular expression"):
        build_quota("q", "pods=two", "")


def test_kubectl_layouts(store: Store) -> None:
    registry.create(store, build_quota("q", "pods=2,requests.cpu=1,limits.memory=1Gi", ""))
    registry.create(store, pod("a", ctr("c", limits={"cpu": "250m", "memory": "64Mi"})))
    sync_quota(store, "default", "q")
    quota = store.get("ResourceQuota", "default", "q")
    assert quota is not None
    now = datetime.now(UTC)
    assert quota_row(quota, now, False)[2:] == ["pods: 1/2, requests.cpu: 250m/1",
                                               "limits.memory: 64Mi/1Gi"]
    assert describe_quota(quota).splitlines() == [
        "Name:          q", "Namespace:     default", "Resource       Used  Hard",
        "--------       ----  ----", "limits.memory  64Mi  1Gi", "pods           1     2",
        "requests.cpu   250m  1"]
    lr = registry.create(store, limit_range({"type": "Container", "max": {"cpu": "1"}}))
    assert describe_limitrange(lr).splitlines()[2:] == [
        "Type        Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio",
        "----        --------  ---  ---  ---------------  -------------  -----------------------",
        "Container   cpu       -    1    1                1              -"]
    namespace = store.get("Namespace", "", "default")
    assert namespace is not None
    text = describe_namespace(namespace, [quota], [lr])
    assert "Resource Quotas\n  Name:          q\n" in text
    assert "\nResource Limits\n Type" in text


def test_count_of_any_resource_by_its_group(store: Store) -> None:
    registry.create(store, build_quota("q", "count/deployments.apps=1", ""))
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}},
                           "template": {"metadata": {"labels": {"a": "b"}},
                                        "spec": {"containers": [{"name": "c",
                                                                 "image": "busybox"}]}}}}
    registry.create(store, deployment)
    deployment["metadata"]["name"] = "b"
    with pytest.raises(Forbidden) as refused:
        registry.create(store, deployment)
    assert str(refused.value) == (
        'deployments.apps "b" is forbidden: exceeded quota: q, requested: '
        'count/deployments.apps=1, used: count/deployments.apps=1, limited: '
        'count/deployments.apps=1')


@pytest.mark.parametrize("obj,message", [
    ({"kind": "ResourceQuota", "spec": {"hard": {"pods": "-1"}}},
     'spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0'),
    ({"kind": "ResourceQuota", "spec": {"hard": {"cpu": "1"}, "scopes": ["BestEffort"]}},
     "unsupported scope applied to resource"),
    ({"kind": "ResourceQuota", "spec": {"hard": {"pods": "1"}, "scopes": ["Sometimes"]}},
     "spec.scopes: Invalid value: "),
    ({"kind": "LimitRange", "spec": {"limits": [{"type": "Pod",
                                                 "default": {"cpu": "1"}}]}},
     "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"),
    ({"kind": "LimitRange", "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"},
                                                 "defaultRequest": {"cpu": "2"}}]}},
     "default request value 2 is greater than max value 1"),
    ({"kind": "LimitRange", "spec": {"limits": [{"type": "Container",
                                                 "maxLimitRequestRatio": {"cpu": "10"},
                                                 "min": {"cpu": "1"}, "max": {"cpu": "2"}}]}},
     "ratio 10 is greater than max/min = 2.000000"),
])
def test_the_api_servers_validation(store: Store, obj: dict[str, Any], message: str) -> None:
    obj = {"apiVersion": "v1", "metadata": {"name": "x"}, **obj}
    with pytest.raises(PodctlError) as refused:
        registry.create(store, obj)
    assert message in str(refused.value)


def test_terminating_scopes_follow_active_deadlines(store: Store) -> None:
    registry.create(store, build_quota("short", "pods=1", "Terminating"))
    registry.create(store, build_quota("long", "pods=1", "NotTerminating"))
    registry.create(store, pod("job", activeDeadlineSeconds=30))
    registry.create(store, pod("server"))
    with pytest.raises(Forbidden, match="exceeded quota: short"):
        registry.create(store, pod("job2", activeDeadlineSeconds=30))
    with pytest.raises(Forbidden, match="exceeded quota: long"):
        registry.create(store, pod("server2"))


def test_a_change_in_a_namespace_wakes_its_quotas() -> None:
    from podctl.driver import quota_fanout

    objects = [("ResourceQuota", "a", "q"), ("ResourceQuota", "b", "q"), ("Pod", "a", "p")]
    assert quota_fanout([("Pod", "a", "p"), ("Node", "", "n")], objects) == [
        ("ResourceQuota", "a", "q")]
    assert quota_fanout([("ResourceQuota", "b", "q")], objects) == []
