"""Services as the controllers see them: the allocator (with the `kubernetes` Service, the
home's range and the cluster DNS address) is admission's, podctl.admission.serviceips, below
both the controllers and the kubelet, which need it alike."""

from __future__ import annotations

from podctl.admission.serviceips import (
    DNS_SERVICE,
    KUBERNETES,
    SYSTEM_NAMESPACE,
    Reserve,
    cluster_dns,
    dns_ip,
    ensure_kubernetes_service,
    kubernetes_ip,
    service_network,
)

__all__ = ["DNS_SERVICE", "KUBERNETES", "SYSTEM_NAMESPACE", "Reserve", "cluster_dns",
           "dns_ip", "ensure_kubernetes_service", "kubernetes_ip", "service_network"]
