"""Authorization, after authentication (authn) and the in-flight limit, as upstream's
filter chain orders them: impersonation (`Impersonate-User/Group/Uid/Extra-*`, each allowed
by the `impersonate` verb), then RBAC on every request but those of system:masters (the
privileged group), refused with upstream's 403. Role and binding writes are checked for
escalation (podctl.api.rbac) through the write's guard, and the review kinds
(SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview,
SelfSubjectRulesReview, SelfSubjectReview) are answered here, never stored."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from podctl.api import rbac
from podctl.api.meta import Obj
from podctl.api.rbac import Attributes, Policy, User
from podctl.apiserver import authn, routes
from podctl.apiserver.authn import AUTHENTICATED, MASTERS, UNAUTHENTICATED, UserInfo
from podctl.apiserver.params import go_bool
from podctl.apiserver.status import ApiError
from podctl.store import Store

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
WEBSOCKET_CONNECT = frozenset({"exec", "attach", "portforward"})
METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete"}
IMPERSONATE_USER, IMPERSONATE_GROUP = "Impersonate-User", "Impersonate-Group"
IMPERSONATE_UID, IMPERSONATE_EXTRA = "Impersonate-Uid", "Impersonate-Extra-"
AUTHENTICATION_GROUP = "authentication.k8s.io"


# -- what a request is, as upstream's request info names it -----------------------------------

def attributes(user: User, method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The request's authorization attributes (k8s.io/apiserver requestinfo)."""
    parts = [p for p in path.split("/") if p]
    non_resource = Attributes(user, method.lower() if method != "HEAD" else "get",
                              path=path, resource_request=False)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    group = ""
    rest = parts[1:]
    if parts[0] == "apis":
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    rest = rest[1:]  # the version
    verb = METHOD_VERBS.get(method, method.lower())
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if go_bool(query.get("watch")) else "list"
        name = _name_selected(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(user, verb, namespace, group, resource, subresource, name)


def _name_selected(selector: str) -> str:
    """The name a list or watch selects with `metadata.name=` (its name for RBAC)."""
    for term in selector.split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and key.strip() == "metadata.name" and not key.endswith("!") and \
                value and not rbac_path_invalid(value):
            return value
    return ""


def rbac_path_invalid(name: str) -> bool:
    return name in (".", "..") or "/" in name or "%" in name


def as_rbac_user(user: UserInfo) -> User:
    return User(user.name, user.uid, user.groups)


# -- the policy, read once per change of the stored RBAC objects ------------------------------

class PolicyCache:
    """The RBAC objects as a Policy, rebuilt when any of them changes (one small query of
    their resourceVersions per request, decoding nothing when nothing changed)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str, str], int] | None = None
        self._policy = Policy.of([])

    def policy(self) -> Policy:
        versions = self.store.versions(rbac.KINDS)
        with self._lock:
            if versions == self._versions:
                return self._policy
        objs = [obj for kind in rbac.KINDS for obj in self.store.list(kind)]
        policy = Policy.of(objs)
        with self._lock:
            self._versions, self._policy = versions, policy
        return policy


def decide(policy: Policy, attrs: Attributes) -> tuple[bool, str]:
    """The authorizer chain: system:masters may do anything, then RBAC."""
    if MASTERS in attrs.user.groups:
        return True, ""
    return rbac.authorize(policy, attrs)


def forbidden(attrs: Attributes, reason: str = "") -> ApiError:
    kind = attrs.resource if attrs.resource_request else ""
    details: Obj = {"kind": kind} if kind else {}
    if attrs.resource_request and attrs.group:
        details["group"] = attrs.group
    if attrs.name:
        details["name"] = attrs.name
    return ApiError("Forbidden", rbac.forbidden_message(attrs, reason), details)


# -- impersonation ----------------------------------------------------------------------------

def impersonated(policy: Policy, user: UserInfo, headers: Any) -> UserInfo:
    """The user the Impersonate-* headers ask for, each part allowed by the `impersonate`
    verb for the requesting user; `user` when none is asked."""
    name = headers.get(IMPERSONATE_USER)
    groups = list(headers.getall(IMPERSONATE_GROUP, []))
    uid = headers.get(IMPERSONATE_UID)
    extra: dict[str, list[str]] = {}
    for key in headers:
        if key.lower().startswith(IMPERSONATE_EXTRA.lower()):
            extra.setdefault(unquote(key[len(IMPERSONATE_EXTRA):]).lower(), []).extend(
                headers.getall(key))
    if name is None:
        if groups or extra or uid is not None:
            raise ApiError("BadRequest", "requested impersonation of groups, extra or a uid "
                           "without impersonating a user")
        return user
    requestor = as_rbac_user(user)
    checks: list[Attributes] = []
    if name.startswith(rbac.SA_PREFIX) and name.count(":") == 3:
        _, _, sa_namespace, sa_name = name.split(":")
        checks.append(Attributes(requestor, "impersonate", sa_namespace, "", "serviceaccounts",
                                 name=sa_name))
        implied = ["system:serviceaccounts", f"system:serviceaccounts:{sa_namespace}"]
    else:
        checks.append(Attributes(requestor, "impersonate", "", "", "users", name=name))
        implied = []
    # The groups asked for are checked; a service account's own groups come with it.
    checks += [Attributes(requestor, "impersonate", "", "", "groups", name=g) for g in groups]
    groups = [*implied, *groups]
    checks += [Attributes(requestor, "impersonate", "", AUTHENTICATION_GROUP,
                          f"userextras/{key}", name=value)
               for key, values in extra.items() for value in values]
    if uid is not None:
        checks.append(Attributes(requestor, "impersonate", "", AUTHENTICATION_GROUP, "uids",
                                 name=uid))
    for check in checks:
        allowed, reason = decide(policy, check)
        if not allowed:
            raise forbidden(check, reason)
    if name == authn.ANONYMOUS.name:
        if UNAUTHENTICATED not in groups:
            groups.append(UNAUTHENTICATED)
    elif AUTHENTICATED not in groups and UNAUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return UserInfo(name, uid or "", tuple(groups), extra)


# -- the middleware ---------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
POLICY_KEY = web.AppKey("rbac-policy", PolicyCache)


def middleware() -> Any:
    """Impersonation, then authorization; a role or binding write gets its escalation
    guard."""
    @web.middleware
    async def authz(request: web.Request, handler: Handler) -> web.StreamResponse:
        user: UserInfo = request[authn.USER]
        # Anonymous: the public paths only (authn); the masters: anything, unless they
        # impersonate someone.
        if user is authn.ANONYMOUS or (MASTERS in user.groups and not _impersonating(request)):
            return await handler(request)
        cache = request.app[POLICY_KEY]
        try:
            policy = await routes.blocking(cache.policy)
            user = impersonated(policy, user, request.headers)
            request[authn.USER] = user
            attrs = attributes(as_rbac_user(user), request.method, request.path,
                               request.query)
            allowed, reason = decide(policy, attrs)
            if not allowed:
                raise forbidden(attrs, reason)
            if _websocket_connect(attrs):
                attrs = attrs._replace(verb="create")
                allowed, reason = decide(policy, attrs)
                if not allowed:
                    raise forbidden(attrs, reason)
        except ApiError as exc:
            return routes.error_response(exc)
        if attrs.resource_request and attrs.group == rbac.GROUP and \
                MASTERS not in user.groups:
            request[routes.WRITE_GUARD] = EscalationGuard(cache, user, attrs)
        return await handler(request)

    return authz


def _websocket_connect(attrs: Attributes) -> bool:
    """A WebSocket's GET opens exec, attach or port-forward as SPDY's POST does: upstream
    (AuthorizePodWebsocketUpgradeCreatePermission, on since 1.35) asks for `create` too."""
    return attrs.verb == "get" and attrs.resource == "pods" and attrs.group == "" and \
        attrs.subresource in WEBSOCKET_CONNECT


def _impersonating(request: web.Request) -> bool:
    return any(key.lower().startswith("impersonate-") for key in request.headers)


# -- escalation -------------------------------------------------------------------------------

class EscalationGuard:
    """Run on a role or binding a user writes (in the write's thread): Forbidden unless the
    user may `escalate` (roles) or `bind` (the role a binding names), or holds every rule
    granted."""

    def __init__(self, cache: PolicyCache, user: UserInfo, attrs: Attributes) -> None:
        self.cache, self.user, self.attrs = cache, user, attrs

    def __call__(self, obj: Obj) -> None:
        kind = obj.get("kind")
        if kind not in rbac.KINDS:
            return
        policy = self.cache.policy()
        requestor = as_rbac_user(self.user)
        namespace = self.attrs.namespace
        name = str((obj.get("metadata") or {}).get("name", ""))
        resource = self.attrs.resource
        if kind in ("Role", "ClusterRole"):
            if decide(policy, Attributes(requestor, "escalate", namespace, rbac.GROUP,
                                         resource))[0]:
                return
            rules = [r for r in obj.get("rules") or [] if isinstance(r, dict)]
        else:
            ref = obj.get("roleRef") or {}
            bind = Attributes(requestor, "bind", namespace, rbac.GROUP,
                              "roles" if ref.get("kind") == "Role" else "clusterroles",
                              name=str(ref.get("name", "")))
            if decide(policy, bind)[0]:
                return
            try:
                rules = rbac.role_rules(policy, ref, namespace)
            except LookupError as exc:
                raise self._refusal(name, str(exc)) from None
        owner_rules, errors = rbac.rules_for(policy, requestor, namespace)
        refusal = rbac.escalation(requestor, owner_rules, errors, rules)
        if refusal is not None:
            raise self._refusal(name, refusal)

    def _refusal(self, name: str, text: str) -> ApiError:
        qualified = f"{self.attrs.resource}.{rbac.GROUP}"
        return ApiError("Forbidden", f'{qualified} "{name}" is forbidden: {text}',
                        {"name": name, "group": rbac.GROUP, "kind": self.attrs.resource})


# -- the reviews ------------------------------------------------------------------------------

def _review_attributes(user: User, spec: Obj, namespace: str | None = None) -> Attributes:
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(user, str(resource.get("verb", "")),
                          namespace if namespace is not None
                          else str(resource.get("namespace", "")),
                          str(resource.get("group", "")), str(resource.get("resource", "")),
                          str(resource.get("subresource", "")), str(resource.get("name", "")))
    other = spec.get("nonResourceAttributes")
    other = other if isinstance(other, dict) else {}
    return Attributes(user, str(other.get("verb", "")), path=str(other.get("path", "")),
                      resource_request=False)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def review(kind: str, body: Obj, user: UserInfo, namespace: str, policy: Policy) -> Obj:
    """The answered review: the request as sent, with its status."""
    spec: Obj = body["spec"] if isinstance(body.get("spec"), dict) else {}
    md = body.get("metadata")
    out: Obj = {"kind": kind, "apiVersion": body.get("apiVersion") or "",
                "metadata": {**(md if isinstance(md, dict) else {}), "creationTimestamp": None},
                "spec": spec}
    if kind == "SelfSubjectReview":
        info: Obj = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            info["uid"] = user.uid
        if user.extra:
            info["extra"] = user.extra
        out["status"] = {"userInfo": info}
        del out["spec"]
        return out
    if kind == "SelfSubjectRulesReview":
        out["status"] = rules_status(policy, as_rbac_user(user), str(spec.get("namespace", "")))
        return out
    problems = _access_problems(spec)
    if kind == "SelfSubjectAccessReview":
        subject = as_rbac_user(user)
    else:
        subject = User(str(spec.get("user", "")), str(spec.get("uid", "")),
                       _strings(spec.get("groups")))
        if not subject.name and not subject.groups:
            problems.append('spec.user: Invalid value: "": at least one of user or group '
                            "must be specified")
    if problems:
        head = f'{kind}.authorization.k8s.io "" is invalid: '
        raise ApiError("Invalid", head + problems[0] if len(problems) == 1 else
                       head + "[" + ", ".join(problems) + "]")
    resource = spec.get("resourceAttributes")
    if kind == "LocalSubjectAccessReview" and (
            not isinstance(resource, dict) or resource.get("namespace", "") != namespace):
        raise ApiError("BadRequest", "spec.resourceAttributes.namespace must match namespace: "
                       f"{namespace}")
    allowed, reason = decide(policy, _review_attributes(subject, spec))
    out["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
    return out


def _access_problems(spec: Obj) -> list[str]:
    """An access review asks about exactly one of a resource or a non-resource URL."""
    resource, other = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and other is not None:
        other = other if isinstance(other, dict) else {}
        value = (f'authorization.NonResourceAttributes{{Path:"{other.get("path", "")}", '
                 f'Verb:"{other.get("verb", "")}"}}')
        return [f"spec.nonResourceAttributes: Invalid value: {value}: cannot be specified in "
                "combination with resourceAttributes"]
    if resource is None and other is None:
        return ['spec.resourceAttributes: Invalid value: "null": exactly one of '
                "nonResourceAttributes or resourceAttributes must be specified"]
    return []


def rules_status(policy: Policy, user: User, namespace: str) -> Obj:
    rules, errors = rbac.rules_for(policy, user, namespace)
    resource_rules, url_rules = [], []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            url_rules.append({"verbs": list(rule.get("verbs") or []),
                              "nonResourceURLs": list(rule["nonResourceURLs"])})
        else:
            entry: Obj = {"verbs": list(rule.get("verbs") or []),
                          "apiGroups": list(rule.get("apiGroups") or []),
                          "resources": list(rule.get("resources") or [])}
            if rule.get("resourceNames"):
                entry["resourceNames"] = list(rule["resourceNames"])
            resource_rules.append(entry)
    status: Obj = {"resourceRules": resource_rules, "nonResourceRules": url_rules,
                   "incomplete": bool(errors)}
    if errors:
        status["evaluationError"] = ", ".join(errors)
    return status


REVIEWS = ("SelfSubjectReview", "SelfSubjectAccessReview", "SubjectAccessReview",
           "LocalSubjectAccessReview", "SelfSubjectRulesReview")


async def serve_review(ctx: routes.Context, call: routes.Call, request: web.Request,
                       body: Any) -> web.StreamResponse:
    if not isinstance(body, dict):
        raise ApiError("BadRequest", f"the object provided is unrecognized (must be of type "
                       f"{call.target.kind})")
    cache = request.app[POLICY_KEY]
    policy = await routes.blocking(cache.policy)
    answer = review(call.target.kind, body, request[authn.USER], call.namespace or "", policy)
    return routes.json_response(answer, 201)


for _kind in REVIEWS:
    routes.CREATE_HANDLERS[_kind] = serve_review
