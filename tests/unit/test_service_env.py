"""Service variables in a container's environment (kubelet envvars.FromServices)."""

from __future__ import annotations

from typing import Any

from podctl.runtime import specs


def svc(name: str, ip: str, ports: list[dict[str, Any]], namespace: str = "default"
        ) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": ip, "ports": ports}}


KUBERNETES = svc("kubernetes", "10.96.0.1", [{"name": "https", "port": 443,
                                              "protocol": "TCP"}])
KUBIA = svc("kubia", "10.96.45.3", [{"name": "http", "port": 80, "protocol": "TCP"},
                                    {"name": "https", "port": 443, "protocol": "TCP"}])


def test_variables_of_a_service_with_two_named_ports() -> None:
    assert specs.service_env([KUBIA]) == {
        "KUBIA_SERVICE_HOST": "10.96.45.3",
        "KUBIA_SERVICE_PORT": "80",
        "KUBIA_SERVICE_PORT_HTTP": "80",
        "KUBIA_SERVICE_PORT_HTTPS": "443",
        "KUBIA_PORT": "tcp://10.96.45.3:80",
        "KUBIA_PORT_80_TCP": "tcp://10.96.45.3:80",
        "KUBIA_PORT_80_TCP_PROTO": "tcp",
        "KUBIA_PORT_80_TCP_PORT": "80",
        "KUBIA_PORT_80_TCP_ADDR": "10.96.45.3",
        "KUBIA_PORT_443_TCP": "tcp://10.96.45.3:443",
        "KUBIA_PORT_443_TCP_PROTO": "tcp",
        "KUBIA_PORT_443_TCP_PORT": "443",
        "KUBIA_PORT_443_TCP_ADDR": "10.96.45.3",
    }


def test_dashes_become_underscores() -> None:
    env = specs.service_env([svc("my-svc", "10.96.0.30", [{"port": 80, "protocol": "UDP"}])])
    assert env["MY_SVC_SERVICE_HOST"] == "10.96.0.30"
    assert env["MY_SVC_PORT_80_UDP_PROTO"] == "udp"
    assert not any(k.startswith("MY_SVC_SERVICE_PORT_") for k in env)


def test_kubernetes_is_always_linked_and_headless_never() -> None:
    headless = svc("h", "None", [{"port": 80, "protocol": "TCP"}], "team")
    other = svc("kubia", "10.96.0.40", [{"port": 80, "protocol": "TCP"}], "team")
    chosen = specs.link_services([KUBERNETES, KUBIA, headless, other], "team", False)
    assert chosen == [KUBERNETES]
    chosen = specs.link_services([KUBERNETES, KUBIA, headless, other], "team", True)
    assert chosen == [KUBERNETES, other]


def test_a_same_named_service_of_the_pod_namespace_wins() -> None:
    mine = svc("kubernetes", "10.96.0.50", [{"port": 443, "protocol": "TCP"}], "team")
    assert specs.link_services([KUBERNETES, mine], "team", True) == [mine]


def test_the_container_env_wins_and_may_refer_to_service_variables() -> None:
    ctx = specs.PodContext("172.18.0.2", "172.18.0.1", "node-1",
                           service_env=specs.service_env([KUBIA]))
    container = {"env": [{"name": "KUBIA_SERVICE_PORT", "value": "8080"},
                         {"name": "URL", "value": "http://$(KUBIA_SERVICE_HOST)/"}]}
    env = specs.container_env({}, container, ctx)
    assert list(env)[:2] == ["KUBIA_SERVICE_PORT", "URL"]
    assert env["KUBIA_SERVICE_PORT"] == "8080"
    assert env["URL"] == "http://10.96.45.3/"
    assert env["KUBIA_PORT"] == "tcp://10.96.45.3:80"
