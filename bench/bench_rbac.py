"""Issue 23 benchmark: whole-process `kubectl get pods` at 100 pods through
`run-controller --api` as a non-admin user bound to `view` (a client certificate
`podctl kubeconfig --user` issued: RBAC decides each request) against the admin token
(system:masters: no RBAC), in the same run, interleaved. The pods are Pending (a node
selector no node has): no containers, so only the API's work is measured."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import docker

from bench.bench_api import KUBECTL, _start, _wall
from bench.common import PODCTL, median_ms, p90_ms, print_results, remove_home, scratch_env

POD = """---
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeSelector: {{bench.podctl.io/nowhere: "true"}}
  containers: [{{name: web, image: podctl/busybox:1}}]
"""


def bench_rbac_get(client: docker.DockerClient, pods: int, rounds: int) -> dict[str, float]:
    env = scratch_env()
    proc, admin = _start(env)
    home = Path(env["PODCTL_HOME"])
    try:
        manifest = "".join(POD.format(name=f"many-{i}") for i in range(pods))
        subprocess.run([KUBECTL, "create", "-f", "-"], input=manifest.encode(), env=admin,
                       capture_output=True, check=True)
        viewer_config = home / "kubeconfig-viewer"
        viewer_config.write_text(subprocess.run(
            [PODCTL, "kubeconfig", "--user", "viewer"], env=env, capture_output=True,
            text=True, check=True).stdout)
        viewer = {**admin, "KUBECONFIG": str(viewer_config)}
        subprocess.run([KUBECTL, "create", "rolebinding", "viewer", "--clusterrole=view",
                        "--user=viewer"], env=admin, capture_output=True, check=True)
        deadline = time.monotonic() + 60
        while len(subprocess.run([KUBECTL, "get", "pods", "--no-headers"], env=viewer,
                                 capture_output=True, text=True).stdout.splitlines()) < pods:
            if time.monotonic() > deadline:
                raise RuntimeError("the viewer never saw the pods")
            time.sleep(0.2)
        _wall([KUBECTL, "get", "pods"], admin)  # discovery cached, as in daily use
        as_admin, as_viewer = [], []
        for i in range(rounds):  # interleaved, each first half of the time
            order = [(as_admin, admin), (as_viewer, viewer)]
            for samples, kenv in order if i % 2 == 0 else reversed(order):
                samples.append(_wall([KUBECTL, "get", "pods"], kenv))
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return {"pods": pods, "rounds": rounds,
            "admin_token_ms": median_ms(as_admin), "admin_token_p90_ms": p90_ms(as_admin),
            "view_bound_user_ms": median_ms(as_viewer),
            "view_bound_user_p90_ms": p90_ms(as_viewer),
            "ratio": median_ms(as_viewer) / median_ms(as_admin),
            # The fastest of each: what other load on the machine adds least to.
            "admin_token_min_ms": min(as_admin) * 1000,
            "view_bound_user_min_ms": min(as_viewer) * 1000,
            "min_ratio": min(as_viewer) / min(as_admin)}


def bench_check(rounds: int) -> dict[str, float]:
    """The server's own cost of one decision, in process: the policy cache's check of the
    RBAC objects' versions and RBAC's answer for a view-bound user (bootstrap policy)."""
    import tempfile

    from podctl import registry
    from podctl.apiserver import authz
    from podctl.controllers.rbac import ensure_bootstrap_policy
    from podctl.store import open_store

    with tempfile.TemporaryDirectory() as home:
        store = open_store(Path(home))
        try:
            ensure_bootstrap_policy(store)
            registry.create(store, {
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "viewer", "namespace": "default"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "view"},
                "subjects": [{"kind": "User", "name": "viewer"}]})
            cache = authz.PolicyCache(store)
            user = authz.User("viewer", "", ("system:authenticated",))
            attrs = authz.attributes(user, "GET", "/api/v1/namespaces/default/pods", {})
            samples = []
            for _ in range(rounds):
                started = time.perf_counter()
                allowed, _ = authz.decide(cache.policy(), attrs)
                samples.append(time.perf_counter() - started)
                assert allowed
        finally:
            store.close()
    return {"check_us": median_ms(samples) * 1000, "check_p90_us": p90_ms(samples) * 1000}


def main() -> None:
    client = docker.from_env()
    print_results({"kubectl_get_pods_rbac": bench_rbac_get(client, pods=100, rounds=40),
                   "authorization_check": bench_check(rounds=2000)})


if __name__ == "__main__":
    main()
