"""Service defaults (SetDefaults_Service and the registry's IP-family defaults)."""

from __future__ import annotations

from .test_defaults import checked_obj

HEAD = "apiVersion: v1\nkind: Service\nmetadata:\n  name: kubia\nspec:\n"


def test_a_minimal_service_gets_every_default() -> None:
    spec = checked_obj(HEAD + "  selector:\n    app: kubia\n  ports:\n  - port: 80\n")["spec"]
    assert spec == {
        "selector": {"app": "kubia"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }


def test_target_port_zero_means_the_port_number() -> None:
    spec = checked_obj(HEAD + "  ports:\n  - port: 80\n    targetPort: 0\n")["spec"]
    assert spec["ports"][0]["targetPort"] == 80


def test_client_ip_affinity_gets_three_hours() -> None:
    spec = checked_obj(HEAD + "  sessionAffinity: ClientIP\n  ports:\n  - port: 80\n")["spec"]
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_node_port_services_get_the_external_traffic_policy() -> None:
    spec = checked_obj(HEAD + "  type: NodePort\n  ports:\n  - port: 80\n")["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    lb = checked_obj(HEAD + "  type: LoadBalancer\n  ports:\n  - port: 80\n")["spec"]
    assert lb["allocateLoadBalancerNodePorts"] is True


def test_headless_without_selector_requires_dual_stack() -> None:
    spec = checked_obj(HEAD + "  clusterIP: None\n")["spec"]
    assert spec["clusterIPs"] == ["None"]
    assert spec["ipFamilyPolicy"] == "RequireDualStack"


def test_external_name_gets_no_ip_family_or_traffic_policy() -> None:
    spec = checked_obj(HEAD + "  type: ExternalName\n  externalName: example.com\n")["spec"]
    assert spec == {"type": "ExternalName", "externalName": "example.com",
                    "sessionAffinity": "None"}
