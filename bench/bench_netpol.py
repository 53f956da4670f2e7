"""Issue 23 benchmark: pod-to-pod TCP throughput with 20 NetworkPolicies in the namespace
against none, in the same run. The goal: policed >= 0.9x plain.

One home, two namespaces: `plain` has no policy; `policed` has 20, all selecting its pods
(10 for ingress, selecting the server; 10 for egress, selecting the client), each with
allow rules of its own, one of each admitting the transfer, so that a new connection walks
every rule. Each namespace has a server and a client on the host's node, and a server on
node n2 (cross-node: egress judged on the host, ingress on n2). The transfers are
bench_podnet's (MIB mebibytes of zeros through busybox nc and dd), interleaved: every round
runs each path once, in an order rotated from round to round; the ratios are taken within
each round and their median reported."""

from __future__ import annotations

import json
import statistics
import subprocess
import time

from bench.bench_podnet import SERVE, _client, _transfer
from bench.common import PODCTL, print_results, run, scratch_env

ROUNDS = 10
POLICIES = 20
NAMESPACES = ("plain", "policed")
# path -> (client, server)
PATHS = {"same_node": ("client", "server"), "cross_node": ("client", "server-n2")}


def _pod(name: str, namespace: str, node: str, command: str, labels: dict[str, str]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": namespace, "labels": labels},
                       "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                                "containers": [{"name": "c", "image": "podctl/busybox:1",
                                                "command": ["sh", "-c", command]}]}})


def policies(namespace: str) -> str:
    """Ten ingress policies on the servers and ten egress ones on the client; the last of
    each lets the transfer through, the others allow other peers and ports."""
    out = []
    for i in range(POLICIES // 2):
        last = i == POLICIES // 2 - 1
        peer = {"podSelector": {"matchLabels": {"role": "client" if last else f"peer-{i}"}}}
        port = [{"port": 5001 if last else 6000 + i, "protocol": "TCP"}]
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"in-{i:02d}", "namespace": namespace},
                    "spec": {"podSelector": {"matchLabels": {"role": "server"}},
                             "policyTypes": ["Ingress"],
                             "ingress": [{"from": [peer], "ports": port}]}})
        target = {"podSelector": {"matchLabels": {"role": "server" if last else f"peer-{i}"}}}
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"out-{i:02d}", "namespace": namespace},
                    "spec": {"podSelector": {"matchLabels": {"role": "client"}},
                             "policyTypes": ["Egress"],
                             "egress": [{"to": [target], "ports": port}]}})
    return "".join(json.dumps(p) for p in out)


def _ips(env: dict[str, str], namespace: str, names: list[str],
         timeout: float = 90) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = json.loads(subprocess.run([PODCTL, "get", "pods", "-n", namespace, "-o",
                                          "json"], env=env, capture_output=True,
                                         check=True).stdout)["items"]
        ips = {p["metadata"]["name"]: (p.get("status") or {}).get("podIP") for p in pods
               if (p.get("status") or {}).get("phase") == "Running"}
        if all(ips.get(n) for n in names):
            return {n: str(ips[n]) for n in names}
        time.sleep(0.2)
    raise RuntimeError(f"pods {names} of {namespace} not Running")


def _reachable(env: dict[str, str], namespace: str, ip: str, timeout: float = 60) -> None:
    """The policies' rules are in (the data plane syncs after the pods' events)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _transfer([PODCTL, "exec", "-n", namespace, "client", "--", *_client(ip)], env)
            return
        except (RuntimeError, subprocess.TimeoutExpired):
            time.sleep(0.5)
    raise RuntimeError(f"{namespace}: {ip} never answered")


def bench_policies() -> dict[str, float | int]:
    env = scratch_env()
    controller = subprocess.Popen([PODCTL, "run-controller"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(env, "node", "add", "n2")
        host = next(n["metadata"]["name"] for n in json.loads(subprocess.run(
            [PODCTL, "get", "nodes", "-o", "json"], env=env, capture_output=True,
            check=True).stdout)["items"] if n["metadata"]["name"] != "n2")
        ips: dict[str, dict[str, str]] = {}
        for ns in NAMESPACES:
            run(env, "create", "namespace", ns)
            run(env, "create", "-f", "-", stdin="".join((
                _pod("server", ns, host, SERVE, {"role": "server"}),
                _pod("server-n2", ns, "n2", SERVE, {"role": "server"}),
                _pod("client", ns, host, "sleep 3600", {"role": "client"}))))
        run(env, "create", "-f", "-", stdin=policies("policed"))
        for ns in NAMESPACES:
            ips[ns] = _ips(env, ns, ["server", "server-n2", "client"])
            for server in ("server", "server-n2"):
                _reachable(env, ns, ips[ns][server])
        rates: dict[tuple[str, str], list[float]] = {(ns, p): [] for ns in NAMESPACES
                                                     for p in PATHS}
        order = list(rates)
        for round_no in range(ROUNDS):
            shift = round_no % len(order)
            for ns, path in order[shift:] + order[:shift]:
                client, server = PATHS[path]
                rates[(ns, path)].append(_transfer(
                    [PODCTL, "exec", "-n", ns, client, "--", *_client(ips[ns][server])], env))
        results: dict[str, float | int] = {}
        for (ns, path), samples in rates.items():
            results[f"{path}_{ns}_mib_s"] = round(statistics.median(samples), 1)
        for path in PATHS:
            ratios = [p / q for p, q in zip(rates[("policed", path)], rates[("plain", path)],
                                            strict=True)]
            results[f"{path}_policed_over_plain"] = round(statistics.median(ratios), 2)
        results["policies"] = POLICIES
        results["rounds"] = ROUNDS
    finally:
        controller.terminate()
        controller.wait()
        subprocess.run([PODCTL, "reset"], env=env, capture_output=True, check=False)
    return results


def main() -> None:
    print_results({"network_policies": bench_policies()})


if __name__ == "__main__":
    main()
