"""RBAC as pure decisions: request attributes as upstream's request info names them, rule
matching, the bootstrap roles and their aggregation, 403 and escalation messages word for
word, impersonation and the reviews."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from podctl.api import rbac, rbac_bootstrap
from podctl.api.meta import Obj
from podctl.api.rbac import Attributes, Policy, User
from podctl.apiserver import authz
from podctl.apiserver.authn import ADMIN, UserInfo
from podctl.apiserver.status import ApiError

ALICE = User("alice", "", ("dev", "system:authenticated"))
SA = User("system:serviceaccount:default:default", "",
          ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"))


def bootstrap_policy(*extra: Obj) -> Policy:
    roles = rbac_bootstrap.cluster_roles()
    for role in roles:
        aggregated = rbac.aggregated_rules(role, roles)
        if aggregated is not None:
            role["rules"] = aggregated
    # Aggregation of aggregated roles (admin takes edit's, which takes view's) settles in
    # as many passes as the chain is long, as the controller's repeated syncs do.
    for _ in range(3):
        for role in roles:
            aggregated = rbac.aggregated_rules(role, roles)
            if aggregated is not None:
                role["rules"] = aggregated
    return Policy.of([*roles, *rbac_bootstrap.cluster_role_bindings(), *extra])


def binding(name: str, role: str, subject: Obj, namespace: str = "default",
            kind: str = "ClusterRole") -> Obj:
    return {"kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": rbac.GROUP, "kind": kind, "name": role},
            "subjects": [subject]}


USER_ALICE = {"kind": "User", "name": "alice", "apiGroup": rbac.GROUP}


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/default/pods", {}, ("list", "default", "", "pods", "", "")),
    ("GET", "/api/v1/pods", {"watch": "true"}, ("watch", "", "", "pods", "", "")),
    ("GET", "/api/v1/namespaces/default/pods", {"fieldSelector": "metadata.name=web"},
     ("list", "default", "", "pods", "", "web")),
    ("GET", "/api/v1/namespaces/default/pods/web/log", {},
     ("get", "default", "", "pods", "log", "web")),
    ("POST", "/api/v1/namespaces/default/pods/web/exec", {},
     ("create", "default", "", "pods", "exec", "web")),
    ("DELETE", "/apis/apps/v1/namespaces/ns/deployments", {},
     ("deletecollection", "ns", "apps", "deployments", "", "")),
    ("GET", "/api/v1/namespaces/team", {}, ("get", "team", "", "namespaces", "", "team")),
    ("PUT", "/api/v1/namespaces/team/finalize", {},
     ("update", "team", "", "namespaces", "finalize", "team")),
    ("PATCH", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view", {},
     ("patch", "", "rbac.authorization.k8s.io", "clusterroles", "", "view")),
    ("GET", "/api/v1/widgets", {}, ("list", "", "", "widgets", "", "")),
])
def test_attributes_name_what_upstreams_request_info_names(
        method: str, path: str, query: dict[str, str],
        expected: tuple[str, ...]) -> None:
    attrs = authz.attributes(ALICE, method, path, query)
    assert attrs.resource_request
    assert (attrs.verb, attrs.namespace, attrs.group, attrs.resource, attrs.subresource,
            attrs.name) == expected


def test_paths_outside_the_resource_tree_are_non_resource_requests() -> None:
    for path in ("/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/healthz",
                 "/openapi/v2"):
        attrs = authz.attributes(ALICE, "GET", path, {})
        assert not attrs.resource_request and (attrs.verb, attrs.path) == ("get", path)


def test_forbidden_messages_are_upstreams() -> None:
    policy = bootstrap_policy()

    def refused(method: str, path: str, user: User = SA) -> str:
        attrs = authz.attributes(user, method, path, {})
        allowed, reason = authz.decide(policy, attrs)
        assert not allowed
        return rbac.forbidden_message(attrs, reason)

    assert refused("GET", "/api/v1/namespaces/default/pods") == (
        'pods is forbidden: User "system:serviceaccount:default:default" cannot list '
        'resource "pods" in API group "" in the namespace "default"')
    assert refused("GET", "/api/v1/nodes", ALICE) == (
        'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at '
        "the cluster scope")
    assert refused("GET", "/api/v1/namespaces/default/pods/web/log", ALICE) == (
        'pods "web" is forbidden: User "alice" cannot get resource "pods/log" in API group '
        '"" in the namespace "default"')
    assert refused("DELETE", "/apis/apps/v1/namespaces/ns/deployments/d", ALICE) == (
        'deployments.apps "d" is forbidden: User "alice" cannot delete resource '
        '"deployments" in API group "apps" in the namespace "ns"')
    assert refused("GET", "/metrics", ALICE) == \
        'forbidden: User "alice" cannot get path "/metrics"'


def test_discovery_and_self_reviews_are_everyones_and_masters_may_do_anything() -> None:
    policy = bootstrap_policy()
    for path in ("/api", "/apis/apps/v1", "/version", "/openapi/v2"):
        assert authz.decide(policy, authz.attributes(ALICE, "GET", path, {}))[0]
    assert authz.decide(policy, authz.attributes(
        ALICE, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {}))[0]
    assert authz.decide(policy, Attributes(User("x", "", ("system:masters",)), "escalate",
                                           resource="anything"))[0]


def test_a_binding_to_view_allows_reads_in_its_namespace_only() -> None:
    policy = bootstrap_policy(binding("alice-view", "view", USER_ALICE))

    def allowed(method: str, path: str) -> bool:
        return authz.decide(policy, authz.attributes(ALICE, method, path, {}))[0]

    assert allowed("GET", "/api/v1/namespaces/default/pods")
    assert allowed("GET", "/api/v1/namespaces/default/pods/web/log")
    assert allowed("GET", "/apis/apps/v1/namespaces/default/deployments")
    assert not allowed("GET", "/api/v1/namespaces/other/pods")
    assert not allowed("GET", "/api/v1/pods")  # across namespaces is cluster scope
    assert not allowed("GET", "/api/v1/namespaces/default/secrets")
    assert not allowed("POST", "/api/v1/namespaces/default/pods")
    _, reason = authz.decide(policy, authz.attributes(
        ALICE, "GET", "/api/v1/namespaces/default/pods", {}))
    assert reason == ('RBAC: allowed by RoleBinding "alice-view/default" of ClusterRole '
                      '"view" to User "alice"')


def test_a_service_account_subject_defaults_to_the_bindings_namespace() -> None:
    policy = Policy.of([
        {"kind": "Role", "metadata": {"name": "r", "namespace": "default"},
         "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                    "resourceNames": ["only"]}]},
        binding("b", "r", {"kind": "ServiceAccount", "name": "default"}, kind="Role")])
    get = Attributes(SA, "get", "default", "", "pods", name="only")
    assert rbac.authorize(policy, get)[0]
    assert not rbac.authorize(policy, get._replace(name="other"))[0]


def test_a_binding_to_a_missing_role_is_the_refusals_reason() -> None:
    policy = Policy.of([binding("b", "nosuch", USER_ALICE)])
    attrs = Attributes(ALICE, "list", "default", "", "pods")
    allowed, reason = rbac.authorize(policy, attrs)
    assert not allowed
    assert rbac.forbidden_message(attrs, reason).endswith(
        'in the namespace "default": RBAC: clusterrole.rbac.authorization.k8s.io "nosuch" '
        "not found")


def test_aggregation_takes_the_labelled_roles_rules() -> None:
    policy = bootstrap_policy()
    view = policy.cluster_roles["view"]["rules"]
    edit = policy.cluster_roles["edit"]["rules"]
    admin = policy.cluster_roles["admin"]["rules"]
    assert {"verbs": ["get", "list", "watch"], "apiGroups": [""],
            "resources": ["namespaces"]} in view
    assert all(rule in edit for rule in view) and all(rule in admin for rule in edit)
    assert not any("secrets" in r.get("resources", []) for r in view)
    assert any("rolebindings" in r.get("resources", []) for r in admin)


def test_escalation_names_what_is_missing_as_upstream() -> None:
    owner = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    wanted = [{"verbs": ["get", "delete", "create"], "apiGroups": [""],
               "resources": ["pods", "pods/log"]},
              {"verbs": ["get"], "nonResourceURLs": ["/metrics"]}]
    assert rbac.escalation(ALICE, owner, [], wanted) == (
        'user "alice" (groups=["dev" "system:authenticated"]) is attempting to grant RBAC '
        "permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "create"]}\n'
        '{APIGroups:[""], Resources:["pods/log"], Verbs:["get" "delete" "create"]}\n'
        '{NonResourceURLs:["/metrics"], Verbs:["get"]}')
    assert rbac.escalation(ALICE, [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                           [], wanted[:1]) is None
    assert rbac.escalation(ALICE, [{"verbs": ["get"], "apiGroups": [""],
                                    "resources": ["*/log"]}], [],
                           [{"verbs": ["get"], "apiGroups": [""],
                             "resources": ["pods/log"]}]) is None


def headers(**values: Any) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            out.add(key.replace("_", "-"), item)
    return out


def test_impersonation_needs_the_impersonate_verb() -> None:
    policy = bootstrap_policy()
    alice = UserInfo("alice", "", ("dev", "system:authenticated"))
    with pytest.raises(ApiError) as refused:
        authz.impersonated(policy, alice, headers(Impersonate_User="bob"))
    assert (refused.value.code, refused.value.message) == (403, (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API '
        'group "" at the cluster scope'))
    bob = authz.impersonated(policy, ADMIN, headers(Impersonate_User="bob",
                                                    Impersonate_Group=["a", "b"]))
    assert bob == UserInfo("bob", "", ("a", "b", "system:authenticated"), {})
    sa = authz.impersonated(policy, ADMIN, headers(
        Impersonate_User="system:serviceaccount:default:default"))
    assert sa.groups == ("system:serviceaccounts", "system:serviceaccounts:default",
                         "system:authenticated")
    assert authz.impersonated(policy, alice, headers()) is alice
    with pytest.raises(ApiError) as bad:
        authz.impersonated(policy, ADMIN, headers(Impersonate_Group="g"))
    assert bad.value.code == 400


def test_reviews_answer_for_the_asker_or_the_named_subject() -> None:
    policy = bootstrap_policy(binding("alice-view", "view", USER_ALICE))
    alice = UserInfo("alice", "", ("dev", "system:authenticated"))
    ask = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
           "spec": {"resourceAttributes": {"namespace": "default", "verb": "list",
                                           "resource": "pods"}}}
    answer = authz.review("SelfSubjectAccessReview", ask, alice, "", policy)
    assert answer["status"]["allowed"] is True
    assert answer["spec"] == ask["spec"]
    sar = {"spec": {"user": "system:serviceaccount:default:default",
                    "resourceAttributes": {"namespace": "default", "verb": "list",
                                           "resource": "pods"}}}
    assert authz.review("SubjectAccessReview", sar, ADMIN, "", policy)["status"] == \
        {"allowed": False}
    who = authz.review("SelfSubjectReview", {"apiVersion": "authentication.k8s.io/v1"},
                       alice, "", policy)
    assert who["status"] == {"userInfo": {"username": "alice",
                                          "groups": ["dev", "system:authenticated"]}}
    rules = authz.review("SelfSubjectRulesReview", {"spec": {"namespace": "default"}},
                         alice, "", policy)["status"]
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in \
        rules["resourceRules"]
    assert rules["incomplete"] is False
    with pytest.raises(ApiError):
        authz.review("LocalSubjectAccessReview", sar, ADMIN, "other", policy)


def test_create_role_and_binding_generate_what_kubectl_does() -> None:
    from podctl.errors import PodctlError
    from podctl.ops.rbac import build_binding, build_role

    role = build_role("Role", "r", "ns", ("get,list",), ("pods", "deployments.apps",
                                                        "pods/log"), ())
    assert role == {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "r", "namespace": "ns"},
                    "rules": [{"verbs": ["get", "list"], "apiGroups": [""],
                               "resources": ["pods", "pods/log"]},
                              {"verbs": ["get", "list"], "apiGroups": ["apps"],
                               "resources": ["deployments"]}]}
    binding = build_binding("RoleBinding", "b", "ns", "view", None, ("alice",), ("g",),
                            ("default:default",))
    assert binding["roleRef"] == {"apiGroup": rbac.GROUP, "kind": "ClusterRole",
                                  "name": "view"}
    assert [s["kind"] for s in binding["subjects"]] == ["User", "Group", "ServiceAccount"]
    assert binding["subjects"][2] == {"kind": "ServiceAccount", "namespace": "default",
                                      "name": "default"}
    for bad in (lambda: build_role("Role", "r", "ns", ("fly",), ("pods",), ()),
                lambda: build_role("Role", "r", "ns", ("get",), ("widgets",), ()),
                lambda: build_binding("RoleBinding", "b", "ns", None, None, (), (), ()),
                lambda: build_binding("RoleBinding", "b", "ns", "v", None, (), (), ("x",))):
        with pytest.raises(PodctlError):
            bad()


def test_podctl_auth_can_i_reads_kubectls_words() -> None:
    from podctl.ops.auth import ADMIN, attributes, subject

    assert subject(None, ()) == ADMIN
    alice = subject("alice", ("dev",))
    assert alice.groups == ("dev", "system:authenticated")
    assert subject("system:serviceaccount:ns:sa", ()).groups == (
        "system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated")
    assert attributes(alice, "get", "deploy/web", "ns", "scale", False) == Attributes(
        alice, "get", "ns", "apps", "deployments", "scale", "web")
    assert attributes(alice, "list", "nodes", "ns", "", False).namespace == ""
    assert attributes(alice, "get", "/healthz", "ns", "", False).resource_request is False
    policy = bootstrap_policy(binding("alice-view", "view", USER_ALICE))
    assert rbac.authorize(policy, attributes(alice, "list", "pods", "default", "",
                                             False))[0]
    assert not rbac.authorize(policy, attributes(alice, "list", "pods", "default", "",
                                                 True))[0]


@pytest.mark.parametrize("body", [
    {}, {"metadata": []}, {"spec": []}, {"spec": {"resourceAttributes": []}},
    {"spec": {"resourceAttributes": {"verb": 1, "resource": None}, "groups": "x",
              "user": "u"}},
    {"spec": {"nonResourceAttributes": {"path": ["x"]}, "user": "u"}}])
def test_reviews_of_any_shape_are_answered_or_refused_never_crash(body: Obj) -> None:
    policy = bootstrap_policy()
    for kind in authz.REVIEWS:
        try:
            answer = authz.review(kind, body, ADMIN, "default", policy)
        except ApiError as exc:
            assert exc.code in (400, 422)
        else:
            assert answer["kind"] == kind and "status" in answer


def test_the_policy_cache_follows_every_change_of_the_rbac_objects(tmp_path: Any) -> None:
    from podctl import registry
    from podctl.store import open_store

    store = open_store(tmp_path)
    try:
        cache = authz.PolicyCache(store)
        assert cache.policy().cluster_roles == {}
        registry.create(store, {"apiVersion": "rbac.authorization.k8s.io/v1",
                                "kind": "ClusterRole", "metadata": {"name": "r"},
                                "rules": [{"verbs": ["get"], "apiGroups": [""],
                                           "resources": ["pods"]}]})
        first = cache.policy()
        assert list(first.cluster_roles) == ["r"]
        assert cache.policy() is first  # nothing changed: nothing decoded again
        registry.mutate(store, "ClusterRole", "", "r",
                        lambda role: bool(role["rules"][0]["verbs"].append("list")) or True)
        assert cache.policy().cluster_roles["r"]["rules"][0]["verbs"] == ["get", "list"]
        store.delete("ClusterRole", "", "r")
        assert cache.policy().cluster_roles == {}
    finally:
        store.close()


def test_impersonating_a_service_account_needs_that_verb_and_brings_its_groups() -> None:
    policy = bootstrap_policy(binding("alice-edit", "edit", USER_ALICE))
    alice = UserInfo("alice", "", ("dev", "system:authenticated"))
    sa = authz.impersonated(policy, alice, headers(
        Impersonate_User="system:serviceaccount:default:builder"))
    assert sa.groups == ("system:serviceaccounts", "system:serviceaccounts:default",
                         "system:authenticated")
    with pytest.raises(ApiError) as refused:  # edit's impersonation is namespaced
        authz.impersonated(policy, alice, headers(
            Impersonate_User="system:serviceaccount:other:builder"))
    assert refused.value.message == (
        'serviceaccounts "builder" is forbidden: User "alice" cannot impersonate resource '
        '"serviceaccounts" in API group "" in the namespace "other"')
    with pytest.raises(ApiError):  # a group asked for is checked, whatever its name
        authz.impersonated(policy, alice, headers(
            Impersonate_User="system:serviceaccount:default:builder",
            Impersonate_Group="system:serviceaccounts:kube-system"))


def test_roles_and_bindings_print_as_kubectl() -> None:
    from datetime import UTC, datetime

    from podctl.printers import rbac as printers

    now = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    role = {"kind": "Role", "metadata": {"name": "r", "creationTimestamp": "2026-01-01T00:00:00Z",
                                         "annotations": {"kubectl.kubernetes.io/"
                                                         "last-applied-configuration": "{}"}},
            "rules": [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments/scale"],
                       "verbs": ["get", "list"]},
                      {"apiGroups": [""], "resources": ["pods"], "verbs": ["watch"]}]}
    assert printers.role_row(role, now, False) == ["r", "2026-01-01T00:00:00Z"]
    assert printers.describe_role(role, [], now).splitlines() == [
        "Name:         r",
        "Labels:       <none>",
        "Annotations:  <none>",
        "PolicyRule:",
        # Sorted as kubectl sorts them: by the Go rule's String(), verbs first.
        "  Resources               Non-Resource URLs  Resource Names  Verbs",
        "  ---------               -----------------  --------------  -----",
        "  pods                    []                 []              [get list watch]",
        "  deployments/scale       []                 []              [get list]",
        "  deployments.apps/scale  []                 []              [get list]",
        "  pods.apps               []                 []              [get list]"]
    rb = {"kind": "RoleBinding",
          "metadata": {"name": "b", "creationTimestamp": "2026-01-01T00:00:00Z"},
          "roleRef": {"kind": "ClusterRole", "name": "view"},
          "subjects": [{"kind": "User", "name": "a"}, {"kind": "User", "name": "b"},
                       {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}]}
    assert printers.binding_row(rb, now, True) == ["b", "ClusterRole/view", "60s", "a,b", "",
                                                   "ns/sa"]


def test_an_access_review_asks_about_exactly_one_thing() -> None:
    policy = bootstrap_policy()
    with pytest.raises(ApiError) as refused:
        authz.review("SelfSubjectAccessReview", {"spec": {}}, ADMIN, "", policy)
    assert (refused.value.code, refused.value.message) == (422, (
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
        'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes '
        "must be specified"))
    with pytest.raises(ApiError):
        authz.review("SelfSubjectAccessReview", {"spec": {
            "resourceAttributes": {"verb": "get"},
            "nonResourceAttributes": {"verb": "get", "path": "/"}}}, ADMIN, "", policy)


def test_the_bootstrap_policy_is_made_reconciled_and_aggregated(tmp_path: Any) -> None:
    from podctl import registry
    from podctl.controllers.rbac import AUTOUPDATE, ensure_bootstrap_policy
    from podctl.store import open_store

    store = open_store(tmp_path)
    try:
        ensure_bootstrap_policy(store)
        view = store.get("ClusterRole", "", "view")
        admin = store.get("ClusterRole", "", "admin")
        assert view is not None and admin is not None
        assert all(rule in admin["rules"] for rule in view["rules"])
        # A user takes a rule away from cluster-admin and adds a subject of their own; the
        # next start puts the rule back and keeps their addition.
        def strip(role: Obj) -> bool:
            role["rules"] = role["rules"][:1]
            return True

        registry.mutate(store, "ClusterRole", "", "cluster-admin", strip)
        registry.mutate(store, "ClusterRoleBinding", "", "cluster-admin", lambda b: bool(
            b["subjects"].append({"kind": "User", "name": "root",
                                  "apiGroup": rbac.GROUP})) or True)
        ensure_bootstrap_policy(store)
        restored = store.get("ClusterRole", "", "cluster-admin")
        assert restored is not None
        assert {"nonResourceURLs": ["*"], "verbs": ["*"]} in restored["rules"]
        binding_subjects = store.require("ClusterRoleBinding", "", "cluster-admin")["subjects"]
        assert [s["name"] for s in binding_subjects] == ["system:masters", "root"]
        # autoupdate "false": the user's version stays.
        def opt_out(role: Obj) -> bool:
            role["metadata"]["annotations"][AUTOUPDATE] = "false"
            role["rules"] = []
            return True

        registry.mutate(store, "ClusterRole", "", "system:basic-user", opt_out)
        ensure_bootstrap_policy(store)
        assert store.require("ClusterRole", "", "system:basic-user")["rules"] == []
        # Deleted, it is made again.
        store.delete("ClusterRole", "", "system:discovery")
        ensure_bootstrap_policy(store)
        assert store.get("ClusterRole", "", "system:discovery") is not None
    finally:
        store.close()
