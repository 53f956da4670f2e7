"""`make bench`: every benchmark; each prints its numbers beside the raw-Docker baseline."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from bench import (
        bench_api,
        bench_apiportforward,
        bench_controller,
        bench_crd,
        bench_deployment,
        bench_discovery,
        bench_grpc_probe,
        bench_hostile,
        bench_ingress,
        bench_metrics,
        bench_netpol,
        bench_node_failure,
        bench_nodes,
        bench_operator,
        bench_podnet,
        bench_pods,
        bench_portforward,
        bench_rbac,
        bench_replication,
        bench_scale,
        bench_services,
        bench_ssa,
        bench_statefulset,
        bench_storage,
        bench_validate,
        peers,
    )

    # Each under its heading (the pod network's with the nodes').
    runs = [
        ("issue 3: manifest validation", bench_validate),
        ("issue 2: pods", bench_pods),
        ("issue 13: podctl beside podman and the docker CLI", peers),
        ("issue 4: controller", bench_controller),
        ("issue 5: replication controllers", bench_replication),
        ("issue 6: port-forward", bench_portforward),
        ("issue 11: services", bench_services),
        ("issue 12: deployments", bench_deployment),
        ("issue 13: scale", bench_scale),
        ("issue 14: the Kubernetes API", bench_api),
        ("issue 19: the API beside 50 hostile clients", bench_hostile),
        ("issue 21: node failure (a fake node's kubelet goes silent)", bench_node_failure),
        ("issue 21: nodes", bench_nodes),
        (None, bench_podnet),
        ("issue 22: a StatefulSet of 5 to Ready", bench_statefulset),
        ("issue 22: storage", bench_storage),
        ("issue 23: kubectl get pods as a view-bound user against the admin", bench_rbac),
        ("issue 23: pod-to-pod throughput with 20 NetworkPolicies", bench_netpol),
        ("issue 24: kubectl get of 1000 custom resources against 1000 pods", bench_crd),
        ("issue 24: server-side apply", bench_ssa),
        (
            "issue 24: kubectl port-forward through the API against podctl port-forward",
            bench_apiportforward,
        ),
        ("issue 24: aggregated discovery against per-group-version discovery", bench_discovery),
        ("issue 24: a metrics scrape of 30 pods; kubectl top against get", bench_metrics),
        (
            "issue 24: a kopf operator's child, custom resource against built-in; CEL",
            bench_operator,
        ),
        ("issue 25: a gRPC probe's cost, h2 beside grpcio", bench_grpc_probe),
        ("issue 25: HTTP through the ingress against the pod IP", bench_ingress),
    ]
    for title, bench in runs:
        if title is not None:
            print(f"== {title} ==", flush=True)
        bench.main()


if __name__ == "__main__":
    main()
