"""Who a request comes from, as upstream's authentication filter decides it before any
authorization: a client certificate the home's CA signed names its user and groups (CN, O);
the home's admin token is `system:masters`; a request bearing no
credentials is `system:anonymous` only on the paths anyone may read (upstream's anonymous
authenticator limited to those paths); anything else is refused with 401.

The middleware puts the identity on the request as `request["user"]`, which authorization
and the handlers (SelfSubjectReview, audit of who wrote what) read."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiohttp import web


class UserInfo(NamedTuple):
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = {}  # noqa: RUF012  (never mutated: a tuple's field)


MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ADMIN = UserInfo("kubernetes-admin", "", (MASTERS, AUTHENTICATED))
ANONYMOUS = UserInfo("system:anonymous", "", (UNAUTHENTICATED,))
# What upstream's system:public-info-viewer lets anyone read without credentials (a wrong
# token is still refused, as upstream's authentication refuses it before authorization).
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
USER = "user"  # the request's key for the identity (the parts of issue 23 agree on it)

# A bearer token's owner, or None when this authenticator does not know the token.
TokenCheck = Callable[[str], UserInfo | None]


class Authenticator:
    """The server's authenticators, tried in turn; built once when serving starts."""

    def __init__(self, admin_token: str) -> None:
        self._admin = admin_token.encode()
        self.token_checks: list[TokenCheck] = [self._admin_token]

    def _admin_token(self, given: str) -> UserInfo | None:
        return ADMIN if hmac.compare_digest(given.encode(), self._admin) else None

    def token(self, given: str) -> UserInfo | None:
        """The owner of a bearer token (TokenReview asks this too)."""
        if not given:
            return None
        for check in self.token_checks:
            user = check(given)
            if user is not None:
                return user
        return None

    def authenticate(self, request: web.Request) -> UserInfo | None:
        transport = request.transport
        user = certificate_user(transport.get_extra_info("peercert") if transport else None)
        if user is not None:
            return user
        header = request.headers.get("Authorization")
        if header is None:
            if request.method in ("GET", "HEAD") and request.path in PUBLIC_PATHS:
                return ANONYMOUS
            return None
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.token(given.strip())


APP_KEY = web.AppKey("authn", Authenticator)


def certificate_user(peercert: Any) -> UserInfo | None:
    """The user of a client certificate the TLS handshake verified against the home's CA
    (ssl's decoded form): CN the name, each O a group, as upstream's x509 authenticator."""
    if not peercert:
        return None
    name, groups = "", []
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                name = value
            elif key == "organizationName":
                groups.append(value)
    if not name:
        return None
    if AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return UserInfo(name, "", tuple(groups))


def authenticate(request: web.Request) -> UserInfo | None:
    """The identity the request's credentials prove, or None (401)."""
    return request.app[APP_KEY].authenticate(request)


Handler = Callable[..., Awaitable[Any]]


def middleware() -> Any:
    """aiohttp middleware: 401 unless `authenticate` names the user, then sets
    request["user"]."""
    from podctl.apiserver.routes import blocking, error_response
    from podctl.apiserver.status import ApiError

    @web.middleware
    async def authn(request: web.Request, handler: Handler) -> object:
        if request.headers.get("Authorization", "").count(".") == 2:
            # A JWT (a ServiceAccount token): its checks read the store, which may wait
            # for a write; on a request thread, never on the event loop.
            user = await blocking(authenticate, request)
        else:
            user = authenticate(request)
        if user is None:
            return error_response(ApiError("Unauthorized", "Unauthorized"))
        request[USER] = user
        return await handler(request)

    return authn
