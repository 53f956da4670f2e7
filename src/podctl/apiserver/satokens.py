"""ServiceAccount tokens in the API: the authenticator that accepts them (upstream's
serviceaccount JWT authenticator with its bound-object checks), the TokenRequest
subresource (`POST .../serviceaccounts/NAME/token`, `kubectl create token`) and TokenReview
(authentication.k8s.io/v1, answered, never stored)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from podctl.api import identity, meta
from podctl.api.meta import Obj
from podctl.apiserver import authn
from podctl.apiserver.authn import UserInfo
from podctl.apiserver.routes import (
    CREATE_HANDLERS,
    NOT_ALLOWED,
    Call,
    Context,
    blocking,
    json_response,
    object_body,
    subresource,
)
from podctl.apiserver.status import ApiError
from podctl.store import Store

GROUP_VERSION = "authentication.k8s.io/v1"
BINDABLE = ("Pod", "Secret", "Node")  # what a token may be bound to, as upstream allows
VERIFIED_CACHE = 1024  # tokens whose signature and claims were checked, kept until expiry


class ServiceAccountTokens:
    """Checks a bearer token as one of this home's ServiceAccount tokens: signed here,
    unexpired, for the audience asked, and its account (and the pod it is bound to) still
    the ones it was issued for."""

    def __init__(self, store: Store, home: Path) -> None:
        self.store, self.home = store, home
        # Verified tokens' claims and expiry: PyJWT's checks cost milliseconds a request (its
        # base64 check is pure Python); the store checks below run on every request.
        self._verified: OrderedDict[tuple[str, tuple[str, ...]], identity.Claims] = \
            OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, token: str) -> UserInfo | None:
        return self.user(token, identity.API_AUDIENCES)

    def _claims(self, token: str, audiences: tuple[str, ...]) -> identity.Claims | None:
        key = (token, audiences)
        with self._lock:
            known = self._verified.get(key)
            if known is not None:
                self._verified.move_to_end(key)
        if known is not None and known.expires > time.time():
            return known
        claims = identity.verify(self.home, token, audiences)
        with self._lock:
            self._verified.pop(key, None)
            if claims is not None:
                self._verified[key] = claims
                while len(self._verified) > VERIFIED_CACHE:
                    self._verified.popitem(last=False)
        return claims

    def user(self, token: str, audiences: tuple[str, ...]) -> UserInfo | None:
        claims = self._claims(token, audiences)
        if claims is None or not self._bound_objects_live(claims):
            return None
        extra: dict[str, list[str]] = {}
        if claims.pod_name:
            extra[identity.EXTRA_POD_NAME] = [claims.pod_name]
            extra[identity.EXTRA_POD_UID] = [claims.pod_uid]
        if claims.node_name:
            extra[identity.EXTRA_NODE_NAME] = [claims.node_name]
        if claims.jti:
            extra[identity.EXTRA_CREDENTIAL_ID] = [f"JTI={claims.jti}"]
        return UserInfo(identity.username(claims.namespace, claims.name), claims.uid,
                        (*identity.groups(claims.namespace), authn.AUTHENTICATED), extra)

    def _bound_objects_live(self, claims: identity.Claims) -> bool:
        """A deleted (or deleted and remade) account or pod invalidates its tokens."""
        account = self.store.get("ServiceAccount", claims.namespace, claims.name)
        if account is None or meta.uid_of(account) != claims.uid or \
                account["metadata"].get("deletionTimestamp"):
            return False
        if not claims.pod_name:
            return True
        pod = self.store.get("Pod", claims.namespace, claims.pod_name)
        if pod is None or meta.uid_of(pod) != claims.pod_uid:
            return False
        deleting = pod["metadata"].get("deletionTimestamp")
        return not deleting or meta.parse_time(deleting) > datetime.now(UTC)


def install(app: web.Application, store: Store, home: Path) -> None:
    """ServiceAccount tokens join the server's authenticators."""
    tokens = ServiceAccountTokens(store, home)
    app[TOKENS_KEY] = tokens
    app[authn.APP_KEY].token_checks.append(tokens)


TOKENS_KEY = web.AppKey("serviceaccount-tokens", ServiceAccountTokens)


# -- TokenRequest --------------------------------------------------------------------------


@subresource("serviceaccounts", "token")
async def token_request(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    if request.method != "POST":
        raise NOT_ALLOWED
    body, _ = await object_body(request, "TokenRequest", "CreateOptions")
    answer = await blocking(issue_for, ctx.store, ctx.home, call.namespace or "",
                            call.name or "", body)
    return json_response(answer, 201)


def _spec(body: Any, kind: str) -> tuple[Obj, Obj]:
    if not isinstance(body, dict) or body.get("kind") not in (None, kind) or \
            body.get("apiVersion") not in (None, GROUP_VERSION):
        raise ApiError("BadRequest", f"the object provided is unrecognized (must be of type "
                       f"{kind})")
    spec = body.get("spec") if body.get("spec") is not None else {}
    md = body.get("metadata") if body.get("metadata") is not None else {}
    if not isinstance(spec, dict) or not isinstance(md, dict):
        raise ApiError("BadRequest", f"the object provided is unrecognized (must be of type "
                       f"{kind}): spec and metadata must be objects")
    return spec, md


def _audiences(spec: Obj) -> list[str]:
    given = spec.get("audiences")
    if given is None:
        return []
    if not isinstance(given, list) or not all(isinstance(a, str) for a in given):
        raise ApiError("BadRequest", "spec.audiences must be a list of strings")
    return list(given)


def _invalid(name: str, field: str, value: Any, detail: str) -> ApiError:
    return ApiError("Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: '
                    f"{field}: Invalid value: {value}: {detail}",
                    {"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest"})


def issue_for(store: Store, home: Path, namespace: str, name: str, body: Any) -> Obj:
    """Upstream's TokenREST.Create: the account (and the bound object) checked, then a
    token for them; the request answered with its status."""
    spec, md = _spec(body, "TokenRequest")
    if md.get("name") and md["name"] != name:
        raise ApiError("BadRequest", "name in URL does not match name in TokenRequest object")
    seconds = spec.get("expirationSeconds")
    if seconds is None:
        seconds = identity.DEFAULT_SECONDS
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise _invalid(name, "spec.expirationSeconds", seconds, "must be an integer")
    if seconds < identity.MIN_SECONDS:
        raise _invalid(name, "spec.expirationSeconds", seconds,
                       "may not specify a duration less than 10 minutes")
    if seconds > identity.MAX_SECONDS:
        raise _invalid(name, "spec.expirationSeconds", seconds,
                       "may not specify a duration larger than 2^32 seconds")
    audiences = _audiences(spec) or list(identity.API_AUDIENCES)
    account = store.get("ServiceAccount", namespace, name)
    if account is None:
        raise ApiError("NotFound", f'serviceaccounts "{name}" not found',
                       {"name": name, "kind": "serviceaccounts"})
    binding = _binding(store, namespace, spec.get("boundObjectRef"))
    token, expires = identity.issue(home, account, audiences, seconds, binding)
    out_spec: Obj = {"audiences": audiences, "expirationSeconds": seconds,
                     "boundObjectRef": spec.get("boundObjectRef")}
    return {"kind": "TokenRequest", "apiVersion": GROUP_VERSION,
            "metadata": {**md, "name": name, "namespace": namespace,
                         "creationTimestamp": None},
            "spec": out_spec,
            "status": {"token": token, "expirationTimestamp": meta.format_time(
                datetime.fromtimestamp(expires, UTC))}}


def _binding(store: Store, namespace: str, ref: Any) -> identity.Binding:
    if ref is None:
        return identity.Binding()
    if not isinstance(ref, dict):
        raise ApiError("BadRequest", "spec.boundObjectRef must be an object")
    kind, name, uid = (str(ref.get(k) or "") for k in ("kind", "name", "uid"))
    if kind not in BINDABLE:
        raise ApiError("BadRequest", f'cannot bind token for object of kind "{kind}"')
    found = store.get(kind, "" if kind == "Node" else namespace, name)
    if found is None:
        raise ApiError("NotFound", f'{meta.plural(kind)} "{name}" not found',
                       {"name": name, "kind": meta.plural(kind)})
    if uid and uid != meta.uid_of(found):
        raise ApiError("Conflict", f"the UID in the bound object reference ({uid}) does not "
                       "match the UID in record. The object might have been deleted and "
                       "then recreated")
    if kind == "Pod":
        node_name = found["spec"].get("nodeName") or ""
        node = store.get("Node", "", node_name) if node_name else None
        return identity.Binding(name, meta.uid_of(found), node_name,
                                meta.uid_of(node) if node else "")
    if kind == "Node":
        return identity.Binding(node_name=name, node_uid=meta.uid_of(found))
    return identity.Binding()  # a Secret: podctl's tokens carry no secret claim


# -- TokenReview ---------------------------------------------------------------------------


async def token_review(ctx: Context, call: Call, request: web.Request,
                       body: Any) -> web.StreamResponse:
    spec, md = _spec(body, "TokenReview")
    token = spec.get("token")
    if not isinstance(token, str) or not token:
        raise ApiError("Invalid", 'TokenReview.authentication.k8s.io "" is invalid: '
                       "spec.token: Required value: token must be non-empty")
    asked = tuple(_audiences(spec))
    tokens = request.app[TOKENS_KEY]
    authenticator = request.app[authn.APP_KEY]
    if asked:
        user = await blocking(tokens.user, token, asked)
        if user is None and token.count(".") != 2:  # the admin token: audience-agnostic
            user = authenticator.token(token)
        audiences = list(asked) if user is not None else []
    else:
        user = await blocking(authenticator.token, token)
        audiences = list(identity.API_AUDIENCES) if user is not None else []
    status: Obj = {"user": {}}
    if user is None:
        status["error"] = "[invalid bearer token, token lookup failed]"
    else:
        info: Obj = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            info["uid"] = user.uid
        if user.extra:
            info["extra"] = user.extra
        status = {"authenticated": True, "user": info, "audiences": audiences}
    return json_response({"kind": "TokenReview", "apiVersion": GROUP_VERSION,
                          "metadata": {**md, "creationTimestamp": None}, "spec": spec,
                          "status": status}, 201)


CREATE_HANDLERS["TokenReview"] = token_review
