"""Upstream's default ClusterRoles and ClusterRoleBindings (the bootstrap policy the API
server reconciles at start): the user-facing roles (cluster-admin, admin, edit, view, the
last three aggregated from system:aggregate-to-*), discovery, basic-user, public-info and
monitoring, with their default bindings."""

from __future__ import annotations

from podctl.api.meta import Obj

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
READ_WRITE = READ + WRITE
LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


# Upstream's rule builder sorts each list: the stored roles show them sorted.
def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> Obj:
    return {"verbs": sorted(verbs), "apiGroups": sorted(groups), "resources": sorted(resources)}


def _urls(verbs: list[str], urls: list[str]) -> Obj:
    return {"verbs": sorted(verbs), "nonResourceURLs": sorted(urls)}


def _role(name: str, rules: list[Obj] | None, labels: dict[str, str] | None = None,
          aggregate_from: str | None = None) -> Obj:
    role: Obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": {"name": name, "labels": {**LABELS, **(labels or {})},
                              "annotations": dict(ANNOTATIONS)},
                 "rules": rules or []}
    if aggregate_from is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"{AGGREGATE}{aggregate_from}": "true"}}]}
    return role


def _to(name: str) -> dict[str, str]:
    return {f"{AGGREGATE}{name}": "true"}


def cluster_roles() -> list[Obj]:
    core, apps, batch = "", "apps", "batch"
    ext, net, policy = "extensions", "networking.k8s.io", "policy"
    return [
        _role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]),
        _role("system:discovery", [_urls(["get"], [
            "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi",
            "/openapi/*", "/api", "/api/*", "/apis", "/apis/*"])]),
        _role("system:monitoring", [_urls(["get"], [
            "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*",
            "/readyz/*", "/healthz/*"])]),
        _role("system:basic-user", [
            _rule(["create"], ["authorization.k8s.io"],
                  ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
        _role("system:public-info-viewer", [_urls(["get"], [
            "/livez", "/readyz", "/healthz", "/version", "/version/"])]),
        _role("admin", None, aggregate_from="admin"),
        _role("edit", None, _to("admin"), aggregate_from="edit"),
        _role("view", None, _to("edit"), aggregate_from="view"),
        _role("system:aggregate-to-admin", [
            _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
            _rule(READ_WRITE, ["rbac.authorization.k8s.io"], ["roles", "rolebindings"])],
            _to("admin")),
        _role("system:aggregate-to-edit", [
            _rule(READ, [core], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward",
                                 "secrets", "services/proxy"]),
            _rule(["impersonate"], [core], ["serviceaccounts"]),
            _rule(WRITE, [core], ["pods", "pods/attach", "pods/proxy", "pods/exec",
                                  "pods/portforward"]),
            _rule(["create"], [core], ["pods/eviction"]),
            _rule(WRITE, [core], ["replicationcontrollers", "replicationcontrollers/scale",
                                  "serviceaccounts", "services", "services/proxy",
                                  "persistentvolumeclaims", "configmaps", "secrets",
                                  "events"]),
            _rule(["create"], [core], ["serviceaccounts/token"]),
            _rule(WRITE, [apps], ["statefulsets", "statefulsets/scale", "daemonsets",
                                  "deployments", "deployments/scale", "deployments/rollback",
                                  "replicasets", "replicasets/scale"]),
            _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
            _rule(WRITE, [batch], ["jobs", "cronjobs"]),
            _rule(WRITE, [ext], ["daemonsets", "deployments", "deployments/scale",
                                 "deployments/rollback", "ingresses", "replicasets",
                                 "replicasets/scale", "replicationcontrollers/scale",
                                 "networkpolicies"]),
            _rule(WRITE, [policy], ["poddisruptionbudgets"]),
            _rule(WRITE, [net], ["networkpolicies", "ingresses"]),
            _rule(READ_WRITE, ["coordination.k8s.io"], ["leases"])], _to("edit")),
        _role("system:aggregate-to-view", [
            _rule(READ, [core], ["pods", "replicationcontrollers",
                                 "replicationcontrollers/scale", "serviceaccounts", "services",
                                 "services/status", "endpoints", "persistentvolumeclaims",
                                 "persistentvolumeclaims/status", "configmaps"]),
            _rule(READ, [core], ["limitranges", "resourcequotas", "bindings", "events",
                                 "pods/status", "resourcequotas/status", "namespaces/status",
                                 "replicationcontrollers/status", "pods/log"]),
            _rule(READ, [core], ["namespaces"]),
            _rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
            _rule(READ, [apps], ["controllerrevisions", "statefulsets", "statefulsets/status",
                                 "statefulsets/scale", "daemonsets", "daemonsets/status",
                                 "deployments", "deployments/status", "deployments/scale",
                                 "replicasets", "replicasets/status", "replicasets/scale"]),
            _rule(READ, ["autoscaling"], ["horizontalpodautoscalers",
                                          "horizontalpodautoscalers/status"]),
            _rule(READ, [batch], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
            _rule(READ, [ext], ["daemonsets", "daemonsets/status", "deployments",
                                "deployments/scale", "deployments/status", "ingresses",
                                "ingresses/status", "replicasets", "replicasets/scale",
                                "replicasets/status", "replicationcontrollers/scale",
                                "networkpolicies"]),
            _rule(READ, [policy], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
            _rule(READ, [net], ["networkpolicies", "ingresses", "ingresses/status"])],
            _to("view")),
        _role("system:auth-delegator", [
            _rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
            _rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"])]),
        _role("system:service-account-issuer-discovery", [_urls(["get"], [
            "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
            "/openid/v1/jwks", "/openid/v1/jwks/"])]),
    ]


def _binding(role: str, *groups: str) -> Obj:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": role, "labels": dict(LABELS),
                         "annotations": dict(ANNOTATIONS)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                          "name": group} for group in groups]}


def cluster_role_bindings() -> list[Obj]:
    return [
        _binding("cluster-admin", "system:masters"),
        _binding("system:monitoring", "system:monitoring"),
        _binding("system:discovery", "system:authenticated"),
        _binding("system:basic-user", "system:authenticated"),
        _binding("system:public-info-viewer", "system:authenticated",
                 "system:unauthenticated"),
        _binding("system:service-account-issuer-discovery", "system:serviceaccounts"),
    ]
