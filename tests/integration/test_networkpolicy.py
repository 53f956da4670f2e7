"""NetworkPolicies enforced by the data plane's system pods: a default deny blocks pod-to-pod
traffic and a label-selected allow lets it through (by pod IP and through a Service), a
namespaceSelector admits another namespace's pods, an egress deny blocks DNS until a policy
allows it, and the same across nodes (ingress judged on the server's node, egress on the
client's); deleting the policies opens everything again."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.conftest import KUBIA_IMAGE, Podctl
from tests.integration.test_podnetwork import fetch, images, ip_of, pod_on, running

__all__ = ["images"]  # the image check of the pod network's tests, reused


def in_namespace(manifest: str, namespace: str) -> str:
    obj = json.loads(manifest)
    obj["metadata"]["namespace"] = namespace
    return json.dumps(obj)


def policy(name: str, spec: dict[str, Any]) -> str:
    return json.dumps({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": name}, "spec": spec})


FQDN = "web.default.svc.cluster.local"
DENY_INGRESS = policy("deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
ALLOW_CLIENTS = policy("allow-clients", {
    "podSelector": {"matchLabels": {"app": "web"}},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}},
                          {"namespaceSelector": {"matchLabels": {"team": "a"}}}],
                 "ports": [{"port": 8080, "protocol": "TCP"}]}]})


# How long a denied connection or lookup is given: policies drop, so a denied one only ever
# times out, while an allowed one answers from a pod on this machine in milliseconds.
DENIED_WITHIN = 2


def reaches(podctl: Podctl, client: str, target: str, namespace: str = "default",
            seconds: int = 5) -> bool:
    if namespace != "default":
        result = podctl.run("exec", "-n", namespace, client, "--", "timeout", str(seconds),
                            "wget", "-qO-", f"http://{target}/", timeout=30)
        return result.code == 0 and "You've hit" in result.out
    return "You've hit" in fetch(podctl, client, target, seconds)


def blocked(podctl: Podctl, client: str, target: str, namespace: str = "default") -> bool:
    return not reaches(podctl, client, target, namespace, DENIED_WITHIN)


def resolves(podctl: Podctl, client: str, name: str, address: str, seconds: int = 5) -> bool:
    """busybox's nslookup applies no search domains: `name` is a full one."""
    result = podctl.run("exec", client, "--", "timeout", str(seconds), "nslookup", name,
                        timeout=30)
    return address in result.out.split("Name:", 1)[-1]


def host_of(podctl: Podctl) -> str:
    """The host's node, once the controller's kubelet registered it."""
    podctl.wait_for(lambda: bool(json.loads(podctl("get", "nodes", "-o", "json"))["items"]),
                    timeout=30, message="the host's node")
    return str(json.loads(podctl("get", "nodes", "-o", "json"))["items"][0]["metadata"]["name"])


def test_default_deny_allow_by_label_namespace_and_egress_dns(podctl: Podctl,
                                                              controller: Any) -> None:
    controller()
    host = host_of(podctl)
    # A Service first: the cluster DNS exists before the clients, which get it.
    podctl.apply_yaml(json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}))
    podctl("create", "namespace", "other")
    podctl("label", "namespace", "other", "team=a")
    podctl.apply_yaml(pod_on(host, "web", KUBIA_IMAGE, {"app": "web"}))
    podctl.apply_yaml(pod_on(host, "ok", labels={"role": "client"}))
    podctl.apply_yaml(pod_on(host, "no", labels={"role": "other"}))
    podctl.apply_yaml(in_namespace(pod_on(host, "far", labels={"role": "x"}), "other"))
    running(podctl, "web", "ok", "no")
    podctl.wait_for(lambda: podctl.pod_json("far", "other")["status"].get("podIP"),
                    timeout=60, message="far Running")
    target = ip_of(podctl, "web") + ":8080"
    vip = json.loads(podctl("get", "svc", "web", "-o", "json"))["spec"]["clusterIP"]
    podctl.wait_for(lambda: reaches(podctl, "ok", target), timeout=30, message="ok -> web")
    assert reaches(podctl, "no", target) and reaches(podctl, "far", target, "other")

    podctl.apply_yaml(DENY_INGRESS)
    podctl.wait_for(lambda: blocked(podctl, "ok", target), timeout=30,
                    message="the default deny")
    assert blocked(podctl, "no", target) and blocked(podctl, "far", target, "other")
    podctl.apply_yaml(ALLOW_CLIENTS)
    podctl.wait_for(lambda: reaches(podctl, "ok", target), timeout=30,
                    message="the allow rule")
    assert reaches(podctl, "ok", vip), "through the Service: judged after its DNAT"
    assert reaches(podctl, "far", target, "other"), "the namespaceSelector"
    assert blocked(podctl, "no", target) and blocked(podctl, "no", vip)
    # A label is all it takes: the rules follow the pod's labels.
    podctl("label", "pod", "no", "role=client", "--overwrite")
    podctl.wait_for(lambda: reaches(podctl, "no", target), timeout=30,
                    message="no, relabelled, let in")

    # Egress: denied for the clients, DNS included, until a policy allows DNS.
    assert resolves(podctl, "ok", FQDN, vip)
    podctl.apply_yaml(policy("no-out", {"podSelector": {"matchLabels": {"role": "client"}},
                                        "policyTypes": ["Egress"]}))
    podctl.wait_for(lambda: not resolves(podctl, "ok", FQDN, vip, DENIED_WITHIN), timeout=30,
                    message="DNS denied")
    assert blocked(podctl, "ok", target)
    podctl.apply_yaml(policy("dns-out", {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}))
    podctl.wait_for(lambda: resolves(podctl, "ok", FQDN, vip), timeout=30, message="DNS allowed")
    assert blocked(podctl, "ok", target), "only DNS is allowed out"

    podctl("delete", "networkpolicy", "--all")
    podctl.wait_for(lambda: reaches(podctl, "ok", target), timeout=30,
                    message="open again once the policies are gone")
    assert reaches(podctl, "far", target, "other")
    assert podctl.run("get", "netpol").err.strip() == "No resources found in default namespace."


def test_policies_across_nodes(podctl: Podctl, controller: Any) -> None:
    controller()
    host = host_of(podctl)
    podctl("node", "add", "n2")
    podctl.apply_yaml(pod_on("n2", "web2", KUBIA_IMAGE, {"app": "web"}))
    podctl.apply_yaml(pod_on(host, "web1", KUBIA_IMAGE, {"app": "web"}))
    podctl.apply_yaml(pod_on(host, "ok1", labels={"role": "client"}))
    podctl.apply_yaml(pod_on(host, "no1", labels={"role": "other"}))
    podctl.apply_yaml(pod_on("n2", "ok2", labels={"role": "client"}))
    running(podctl, "web1", "web2", "ok1", "no1", "ok2")
    on_n2, on_host = ip_of(podctl, "web2") + ":8080", ip_of(podctl, "web1") + ":8080"
    podctl.wait_for(lambda: reaches(podctl, "no1", on_n2), timeout=30, message="no1 -> web2")
    podctl.wait_for(lambda: reaches(podctl, "ok2", on_host), timeout=30, message="ok2 -> web1")

    podctl.apply_yaml(DENY_INGRESS)
    podctl.wait_for(lambda: blocked(podctl, "no1", on_n2), timeout=30,
                    message="the deny on n2")
    assert blocked(podctl, "ok2", on_host), "the deny on the host"
    podctl.apply_yaml(ALLOW_CLIENTS)
    podctl.wait_for(lambda: reaches(podctl, "ok1", on_n2), timeout=30,
                    message="host -> n2 allowed")
    podctl.wait_for(lambda: reaches(podctl, "ok2", on_host), timeout=30,
                    message="n2 -> host allowed")
    assert blocked(podctl, "no1", on_n2)
    # Egress is judged on the client's node: n2's client is held there.
    podctl.apply_yaml(policy("no-out", {"podSelector": {"matchLabels": {"role": "client"}},
                                        "policyTypes": ["Egress"]}))
    podctl.wait_for(lambda: blocked(podctl, "ok2", on_host), timeout=30,
                    message="ok2's egress denied on n2")
    assert blocked(podctl, "ok1", on_n2)
