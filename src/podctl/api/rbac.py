"""RBAC as upstream's authorizer decides it (plugin/pkg/auth/authorizer/rbac): which rules
a user holds in a namespace (cluster role bindings, then the namespace's role bindings),
whether one of them allows a request, the 403 message the API server writes, and the
escalation check on role and binding writes (a user may grant only what they hold).
Pure: the objects come in a Policy snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from podctl.api.meta import Obj

GROUP = "rbac.authorization.k8s.io"
KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
SA_PREFIX = "system:serviceaccount:"
ALL = "*"


class User(NamedTuple):
    """Who asks (authn.UserInfo has the same first fields)."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()


class Attributes(NamedTuple):
    """A request as the authorizer sees it."""

    user: User
    verb: str
    namespace: str = ""
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


class Policy(NamedTuple):
    """The stored RBAC objects, indexed as the rule resolver reads them."""

    roles: dict[tuple[str, str], Obj]
    cluster_roles: dict[str, Obj]
    role_bindings: dict[str, list[Obj]]
    cluster_role_bindings: list[Obj]

    @classmethod
    def of(cls, objs: list[Obj]) -> Policy:
        policy = cls({}, {}, {}, [])
        for obj in objs:
            md = obj.get("metadata") or {}
            kind, name, ns = obj.get("kind"), md.get("name", ""), md.get("namespace", "")
            if kind == "Role":
                policy.roles[(ns, name)] = obj
            elif kind == "ClusterRole":
                policy.cluster_roles[name] = obj
            elif kind == "RoleBinding":
                policy.role_bindings.setdefault(ns, []).append(obj)
            elif kind == "ClusterRoleBinding":
                policy.cluster_role_bindings.append(obj)
        return policy


# -- which rules a user holds -----------------------------------------------------------------

def applies_to(subject: Obj, user: User, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(user.name == name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.name == f"{SA_PREFIX}{sa_namespace}:{name}"
    return False


def role_rules(policy: Policy, ref: Obj, namespace: str) -> list[Obj]:
    """A roleRef's rules; LookupError with upstream's NotFound text when it names nothing."""
    kind, name = ref.get("kind"), str(ref.get("name", ""))
    role = policy.roles.get((namespace, name)) if kind == "Role" else \
        policy.cluster_roles.get(name) if kind == "ClusterRole" else None
    if role is None:
        if kind in ("Role", "ClusterRole"):
            raise LookupError(f'{str(kind).lower()}.{GROUP} "{name}" not found')
        raise LookupError(f'unsupported role reference kind: "{kind}"')
    return [r for r in role.get("rules") or [] if isinstance(r, dict)]


class Source(NamedTuple):
    """The binding a rule came through, as upstream describes it."""

    binding: Obj
    subject: Obj

    def __str__(self) -> str:
        md, ref = self.binding["metadata"], self.binding.get("roleRef") or {}
        namespace = md.get("namespace", "")
        name = f"{md['name']}/{namespace}" if namespace else md["name"]
        subject = self.subject
        if subject.get("kind") == "ServiceAccount":
            who = f'{subject["kind"]} "{subject.get("name")}/' \
                  f'{subject.get("namespace") or namespace}"'
        else:
            who = f'{subject.get("kind")} "{subject.get("name")}"'
        return (f'{self.binding["kind"]} "{name}" of {ref.get("kind")} "{ref.get("name")}" '
                f"to {who}")


def visit_rules(policy: Policy, user: User, namespace: str
                ) -> Iterator[tuple[Source | None, Obj | None, str | None]]:
    """(source, rule, None) for every rule the user holds in `namespace` ("" for the
    cluster), and (None, None, error) for every binding whose role is missing."""
    sources: list[tuple[Obj, str]] = [(b, "") for b in policy.cluster_role_bindings]
    if namespace:
        sources += [(b, namespace) for b in policy.role_bindings.get(namespace, [])]
    for binding, bound_in in sources:
        subject = next((s for s in binding.get("subjects") or []
                        if isinstance(s, dict) and applies_to(s, user, bound_in)), None)
        if subject is None:
            continue
        try:
            rules = role_rules(policy, binding.get("roleRef") or {}, bound_in)
        except LookupError as exc:
            yield None, None, str(exc)
            continue
        for rule in rules:
            yield Source(binding, subject), rule, None


def rules_for(policy: Policy, user: User, namespace: str) -> tuple[list[Obj], list[str]]:
    rules, errors = [], []
    for _, rule, error in visit_rules(policy, user, namespace):
        if rule is not None:
            rules.append(rule)
        if error is not None:
            errors.append(error)
    return rules, errors


# -- whether a rule allows a request ----------------------------------------------------------

def _has(values: Any, wanted: str) -> bool:
    return isinstance(values, list) and (ALL in values or wanted in values)


def _resource_matches(rule: Obj, resource: str, subresource: str) -> bool:
    resources = rule.get("resources") or []
    if ALL in resources:
        return True
    if not subresource:
        return resource in resources
    combined = f"{resource}/{subresource}"
    return combined in resources or f"{ALL}/{subresource}" in resources or \
        f"{resource}/{ALL}" in resources


def _url_matches(rule: Obj, path: str) -> bool:
    return any(_url_covers(url, path) for url in rule.get("nonResourceURLs") or [])


def _url_covers(url: str, path: str) -> bool:
    """A rule's URL: `*`, the path itself, or a prefix ending in `*`."""
    return url in (ALL, path) or (url.endswith(ALL) and path.startswith(url[:-1]))


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        return _url_matches(rule, attrs.path)
    names = rule.get("resourceNames") or []
    return _has(rule.get("apiGroups"), attrs.group) and \
        _resource_matches(rule, attrs.resource, attrs.subresource) and \
        (not names or attrs.name in names)


def authorize(policy: Policy, attrs: Attributes) -> tuple[bool, str]:
    """Whether RBAC allows the request, and upstream's reason: who allowed it, or the
    errors met on the way (a binding to a missing role)."""
    errors: list[str] = []
    for source, rule, error in visit_rules(policy, attrs.user, attrs.namespace):
        if error is not None:
            errors.append(error)
        elif rule is not None and rule_allows(rule, attrs):
            return True, f"RBAC: allowed by {source}"
    if not errors:
        return False, ""
    return False, "RBAC: " + (errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]")


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """What the API server answers a refused request (its Status message)."""
    user = attrs.user.name
    if not attrs.resource_request:
        text = f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace \
            else "at the cluster scope"
        text = (f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group '
                f'"{attrs.group}" {scope}')
    if reason:
        text += f": {reason}"
    if not attrs.resource_request:
        return f"forbidden: {text}"
    qualified = attrs.resource + (f".{attrs.group}" if attrs.group else "")
    if attrs.name:
        return f'{qualified} "{attrs.name}" is forbidden: {text}'
    return f"{qualified} is forbidden: {text}"


# -- escalation -------------------------------------------------------------------------------

def breakdown(rule: Obj) -> list[Obj]:
    """A rule as atomic rules: one group, resource, verb (and name) each; one URL and verb."""
    out: list[Obj] = []
    verbs = [v for v in rule.get("verbs") or [] if isinstance(v, str)]
    names = rule.get("resourceNames") or []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in verbs:
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                out.extend([{**base, "resourceNames": [n]} for n in names] if names else [base])
    out.extend({"nonResourceURLs": [url], "verbs": [verb]}
               for url in rule.get("nonResourceURLs") or [] for verb in verbs)
    return out


def _covers(owner: Obj, rule: Obj) -> bool:
    """Whether the owner rule covers an atomic rule."""
    verbs = owner.get("verbs") or []
    if not (ALL in verbs or rule["verbs"][0] in verbs):
        return False
    if "nonResourceURLs" in rule:
        url = rule["nonResourceURLs"][0]
        return any(_url_covers(u, url) for u in owner.get("nonResourceURLs") or [])
    groups, resources = owner.get("apiGroups") or [], owner.get("resources") or []
    if not (ALL in groups or rule["apiGroups"][0] in groups):
        return False
    resource = rule["resources"][0]
    if not (ALL in resources or resource in resources or (
            "/" in resource and f"{ALL}/{resource.split('/', 1)[1]}" in resources)):
        return False
    owner_names = owner.get("resourceNames") or []
    return not owner_names or (bool(rule.get("resourceNames")) and \
        rule["resourceNames"][0] in owner_names)


def missing_rules(owner_rules: list[Obj], rules: list[Obj]) -> list[Obj]:
    return [atom for rule in rules for atom in breakdown(rule)
            if not any(_covers(owner, atom) for owner in owner_rules)]


def _compact(rules: list[Obj]) -> list[Obj]:
    """Atomic rules of one group, resource (and at most one name) merged, verbs joined."""
    simple: dict[tuple[str, str, str | None], Obj] = {}
    out: list[Obj] = []
    for rule in rules:
        if "nonResourceURLs" in rule:
            out.append(rule)
            continue
        names = rule.get("resourceNames")
        key = (rule["apiGroups"][0], rule["resources"][0], names[0] if names else None)
        if key in simple:
            simple[key]["verbs"] = simple[key]["verbs"] + rule["verbs"]
        else:
            simple[key] = {**rule}
    return out + list(simple.values())


def _go_strings(values: list[str]) -> str:
    """Go's %q of a []string."""
    import json

    return "[" + " ".join(json.dumps(v) for v in values) + "]"


def compact_string(rule: Obj) -> str:
    parts = [f"{title}:{_go_strings(rule[key])}" for title, key in (
        ("APIGroups", "apiGroups"), ("Resources", "resources"),
        ("NonResourceURLs", "nonResourceURLs"), ("ResourceNames", "resourceNames"),
        ("Verbs", "verbs")) if rule.get(key)]
    return "{" + ", ".join(parts) + "}"


def escalation(user: User, owner_rules: list[Obj], errors: list[str],
               rules: list[Obj]) -> str | None:
    """Upstream's refusal when `rules` grant what the user does not hold, else None."""
    missing = missing_rules(owner_rules, rules)
    if not missing:
        return None
    lines = sorted({compact_string(r) for r in _compact(missing)})
    text = (f'user "{user.name}" (groups={_go_strings(list(user.groups))}) is attempting to '
            "grant RBAC permissions not currently held:\n" + "\n".join(lines))
    if errors:
        text += f"; resolution errors: [{', '.join(errors)}]"
    return text


# -- aggregation ------------------------------------------------------------------------------

def aggregated_rules(role: Obj, cluster_roles: list[Obj]) -> list[Obj] | None:
    """The rules an aggregated ClusterRole holds: those of every other ClusterRole its
    selectors match, each rule once, in name order. None when it aggregates nothing."""
    from podctl.api.labels import selector_from_label_selector

    rule = role.get("aggregationRule")
    if not isinstance(rule, dict):
        return None
    selectors = [s for s in rule.get("clusterRoleSelectors") or [] if isinstance(s, dict)]
    out: list[Obj] = []
    name = role["metadata"]["name"]
    for other in sorted(cluster_roles, key=lambda r: str(r["metadata"]["name"])):
        if other["metadata"]["name"] == name:
            continue
        labels = other["metadata"].get("labels") or {}
        if any(selector_from_label_selector(s).matches(labels) for s in selectors):
            out.extend(r for r in other.get("rules") or [] if r not in out)
    return out
