"""`describe`: objects with their status and events, rendered by the printers."""

from __future__ import annotations

from datetime import UTC, datetime

from podctl.api import meta
from podctl.api.claims import claim_names
from podctl.api.meta import Obj
from podctl.controllers.owners import owned_pods
from podctl.ops.get import GetRequest, fetch
from podctl.ops.session import open_store
from podctl.ops.views import pods_with_status
from podctl.printers import config as config_printer
from podctl.printers import describe as printer
from podctl.printers import services as service_printer
from podctl.store import Store


def describe_objects(request: GetRequest, unreachable: list[str]) -> list[str]:
    """The texts; with the Docker engine down, pod status from the store and the reason in
    `unreachable`."""
    store = open_store()
    now = datetime.now(UTC)
    texts = []
    for obj in fetch(store, request, unreachable=unreachable):
        kind = obj["kind"]
        events = store.events_for(obj["metadata"]["uid"])
        if kind == "Pod":
            texts.append(printer.describe_pod(obj, events, now))
        elif kind == "Namespace":
            name = obj["metadata"]["name"]
            texts.append(printer.describe_namespace(obj, store.list("ResourceQuota", name),
                                                    store.list("LimitRange", name)))
        elif kind == "Node":
            pods = [p for p in store.list("Pod")
                    if p["spec"].get("nodeName") == obj["metadata"]["name"]
                    and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            lease = store.get("Lease", "kube-node-lease", obj["metadata"]["name"])
            texts.append(printer.describe_node(obj, pods, events, now, lease))
        elif kind in ("ReplicationController", "ReplicaSet"):
            pods = pods_with_status(store, owned_pods(store, obj), unreachable)
            texts.append(printer.describe_rc(obj, pods, events, now))
        elif kind == "DaemonSet":
            from podctl.printers.daemonsets import describe_daemon_set

            pods = pods_with_status(store, owned_pods(store, obj), unreachable)
            texts.append(describe_daemon_set(obj, pods, events, now))
        elif kind == "StatefulSet":
            from podctl.printers.statefulsets import describe_stateful_set

            pods = pods_with_status(store, owned_pods(store, obj), unreachable)
            texts.append(describe_stateful_set(obj, pods, events, now))
        elif kind == "Deployment":
            from podctl.controllers.deployment import new_replica_set
            from podctl.controllers.deployment_sync import owned_replica_sets

            owned = owned_replica_sets(store, obj)
            new = new_replica_set(obj, owned)
            old = [rs for rs in owned if rs is not new]
            texts.append(printer.describe_deployment(obj, old, new, events, now))
        elif kind == "Job":
            from podctl.printers.batch import describe_job

            texts.append(describe_job(obj, owned_pods(store, obj), events, now))
        elif kind == "CronJob":
            from podctl.printers.batch import describe_cronjob

            texts.append(describe_cronjob(obj, events, now))
        elif kind == "Service":
            from podctl.controllers.endpointslices import service_slices

            slices = service_slices(store, obj["metadata"]["namespace"], obj["metadata"]["name"])
            texts.append(service_printer.describe_service(obj, slices, events, now))
        elif kind == "Endpoints":
            texts.append(service_printer.describe_endpoints(obj, events, now))
        elif kind == "EndpointSlice":
            texts.append(service_printer.describe_endpoint_slice(obj, events, now))
        elif kind == "ConfigMap":
            texts.append(config_printer.describe_configmap(obj, events, now))
        elif kind == "Secret":
            texts.append(config_printer.describe_secret(obj))
        elif kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
            from podctl.printers import rbac

            describe = rbac.describe_role if kind.endswith("Role") else rbac.describe_binding
            texts.append(describe(obj, events, now))
        elif kind == "PodDisruptionBudget":
            from podctl.printers.policy import describe_pdb

            texts.append(describe_pdb(obj, events, now))
        elif kind == "HorizontalPodAutoscaler":
            from podctl.printers.autoscaling import describe_hpa

            texts.append(describe_hpa(obj, events, now))
        elif kind == "ServiceAccount":
            from podctl.printers.identity import describe_sa

            texts.append(describe_sa(obj, events, now))
        elif kind in ("ResourceQuota", "LimitRange"):
            from podctl.printers import quota

            texts.append(quota.describe_quota(obj) if kind == "ResourceQuota"
                         else quota.describe_limitrange(obj))
        elif kind == "NetworkPolicy":  # kubectl's describer shows no events for it
            from podctl.printers.networking import describe_netpol

            texts.append(describe_netpol(obj))
        elif kind in ("Ingress", "IngressClass"):
            texts.append(_describe_ingress(store, obj, events, now))
        elif kind in ("PersistentVolume", "PersistentVolumeClaim", "StorageClass"):
            texts.append(_describe_storage(store, obj, events, now))
        elif kind == "CustomResourceDefinition" or \
                meta.RESOURCES.get(meta.key_of(obj), meta.RESOURCES["Pod"]).custom:
            from podctl.printers import custom

            texts.append(custom.describe(obj, events, now))
        else:
            texts.append(printer.describe_generic(obj, events, now))
    return texts


def _describe_ingress(store: Store, obj: Obj, events: list[Obj], now: datetime) -> str:
    from podctl.printers import networking

    if obj["kind"] == "IngressClass":
        return networking.describe_ingressclass(obj, events, now)
    namespace = obj["metadata"]["namespace"]
    slices: dict[str, list[Obj]] = {}
    for eps in store.list("EndpointSlice", namespace):
        owner = (eps["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
        if owner:
            slices.setdefault(owner, []).append(eps)
    services = {s["metadata"]["name"]: s for s in store.list("Service", namespace)}
    return networking.describe_ingress(obj, services, slices, events, now)


def _describe_storage(store: Store, obj: Obj, events: list[Obj], now: datetime) -> str:
    from podctl.printers import storage

    if obj["kind"] == "PersistentVolume":
        return storage.describe_pv(obj, events, now)
    if obj["kind"] == "StorageClass":
        return storage.describe_sc(obj, events, now)
    md = obj["metadata"]
    users = [p["metadata"]["name"] for p in store.list("Pod", md["namespace"])
             if md["name"] in claim_names(p)]
    return storage.describe_pvc(obj, users, events, now)
