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

    print("== issue 3: manifest validation ==", flush=True)
    bench_validate.main()
    print("== issue 2: pods ==", flush=True)
    bench_pods.main()
    print("== issue 13: podctl beside podman and the docker CLI ==", flush=True)
    peers.main()
    print("== issue 4: controller ==", flush=True)
    bench_controller.main()
    print("== issue 5: replication controllers ==", flush=True)
    bench_replication.main()
    print("== issue 6: port-forward ==", flush=True)
    bench_portforward.main()
    print("== issue 11: services ==", flush=True)
    bench_services.main()
    print("== issue 12: deployments ==", flush=True)
    bench_deployment.main()
    print("== issue 13: scale ==", flush=True)
    bench_scale.main()
    print("== issue 14: the Kubernetes API ==", flush=True)
    bench_api.main()
    print("== issue 19: the API beside 50 hostile clients ==", flush=True)
    bench_hostile.main()
    print("== issue 21: node failure (a fake node's kubelet goes silent) ==", flush=True)
    bench_node_failure.main()
    print("== issue 21: nodes ==", flush=True)
    bench_nodes.main()
    bench_podnet.main()
    print("== issue 22: a StatefulSet of 5 to Ready ==", flush=True)
    bench_statefulset.main()
    print("== issue 22: storage ==", flush=True)
    bench_storage.main()
    print("== issue 23: kubectl get pods as a view-bound user against the admin ==",
          flush=True)
    bench_rbac.main()
    print("== issue 23: pod-to-pod throughput with 20 NetworkPolicies ==", flush=True)
    bench_netpol.main()
    print("== issue 24: kubectl get of 1000 custom resources against 1000 pods ==",
          flush=True)
    bench_crd.main()
    print("== issue 24: server-side apply ==", flush=True)
    bench_ssa.main()
    print("== issue 24: kubectl port-forward through the API against podctl port-forward ==",
          flush=True)
    bench_apiportforward.main()
    print("== issue 24: aggregated discovery against per-group-version discovery ==",
          flush=True)
    bench_discovery.main()
    print("== issue 25: a gRPC probe's cost, h2 beside grpcio ==", flush=True)
    bench_grpc_probe.main()
    print("== issue 24: a metrics scrape of 30 pods; kubectl top against get ==", flush=True)
    bench_metrics.main()
    print("== issue 24: a kopf operator's child, custom resource against built-in; CEL ==",
          flush=True)
    bench_operator.main()
    print("== issue 25: HTTP through the ingress against the pod IP ==", flush=True)
    bench_ingress.main()


if __name__ == "__main__":
    main()
