"""Issue 23 benchmark: whole-process `kubectl get pods` at 100 pods through
`run-controller --api` as a ServiceAccount bound to `view` (a bound token from `kubectl
create token`: the token is verified and RBAC decides each request) against the admin token
(system:masters: no RBAC), in the same run, interleaved; a `view`-bound user with a client
certificate (`podctl kubeconfig --user`) as a third column. The pods are Pending (a node
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
        for command in (["create", "rolebinding", "viewer", "--clusterrole=view",
                         "--user=viewer"],
                        ["create", "serviceaccount", "bench"],
                        ["create", "rolebinding", "bench", "--clusterrole=view",
                         "--serviceaccount=default:bench"]):
            subprocess.run([KUBECTL, *command], env=admin, capture_output=True, check=True)
        token = subprocess.run([KUBECTL, "create", "token", "bench", "--duration=1h"],
                               env=admin, capture_output=True, text=True,
                               check=True).stdout.strip()
        paths = {"admin_token": ([KUBECTL, "get", "pods"], admin),
                 "view_bound_sa_token": ([KUBECTL, "get", "pods", f"--token={token}"], admin),
                 "view_bound_user_cert": ([KUBECTL, "get", "pods"], viewer)}
        for argv, kenv in paths.values():
            _wait_for_pods(argv, kenv, pods)
            _wall(argv, kenv)  # discovery cached, as in daily use
        samples: dict[str, list[float]] = {name: [] for name in paths}
        names = list(paths)
        for i in range(rounds):  # interleaved, each path first a third of the time
            for name in names[i % 3:] + names[:i % 3]:
                samples[name].append(_wall(*paths[name]))
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    admin_samples = samples["admin_token"]
    out: dict[str, float] = {"pods": pods, "rounds": rounds}
    for name, taken in samples.items():
        out[f"{name}_ms"] = median_ms(taken)
        out[f"{name}_p90_ms"] = p90_ms(taken)
        # The fastest of each: what other load on the machine adds least to.
        out[f"{name}_min_ms"] = min(taken) * 1000
    for name in ("view_bound_sa_token", "view_bound_user_cert"):
        out[f"{name}_ratio"] = median_ms(samples[name]) / median_ms(admin_samples)
        out[f"{name}_min_ratio"] = min(samples[name]) / min(admin_samples)
    return out


def _wait_for_pods(argv: list[str], env: dict[str, str], pods: int) -> None:
    """Until this client lists every pod: its binding is in the server's policy."""
    deadline = time.monotonic() + 60
    while len(subprocess.run([*argv, "--no-headers"], env=env, capture_output=True,
                             text=True).stdout.splitlines()) < pods:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{argv} never listed the pods")
        time.sleep(0.2)


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
