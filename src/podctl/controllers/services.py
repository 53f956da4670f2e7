"""Services as the controllers and the kubelet see them: the allocator (with the
`kubernetes` Service and the home's range) is admission's, podctl.admission.serviceips."""

from __future__ import annotations

from podctl.admission.serviceips import (
    DNS_SERVICE,
    KUBERNETES,
    SYSTEM_NAMESPACE,
    Reserve,
    dns_ip,
    ensure_kubernetes_service,
    kubernetes_ip,
    service_network,
)
from podctl.store import Store

__all__ = ["DNS_SERVICE", "KUBERNETES", "SYSTEM_NAMESPACE", "Reserve", "cluster_dns",
           "dns_ip", "ensure_kubernetes_service", "kubernetes_ip", "service_network"]


def cluster_dns(store: Store) -> str | None:
    """The cluster DNS address pods get, once the home has one."""
    service = store.get("Service", SYSTEM_NAMESPACE, DNS_SERVICE)
    return str(service["spec"]["clusterIP"]) if service is not None else None
