"""Authentication: which identity a request's credentials prove, and the middleware that
refuses the others with 401 and hands the identity on as request["user"]."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from podctl.apiserver import authn
from podctl.apiserver.authn import ADMIN, ANONYMOUS, Authenticator, UserInfo

TOKEN = "s3cret-token-of-this-home"


def request(method: str, path: str, headers: dict[str, str] | None = None) -> web.Request:
    app = web.Application()
    app[authn.APP_KEY] = Authenticator(TOKEN)
    return make_mocked_request(method, path, headers=headers or {}, app=app)


def test_the_admin_token_is_system_masters() -> None:
    user = authn.authenticate(request("GET", "/api/v1/pods",
                                      {"Authorization": f"Bearer {TOKEN}"}))
    assert user == UserInfo("kubernetes-admin", "", ("system:masters", "system:authenticated"))
    assert user is not None and user.extra == {}
    # The scheme is case-insensitive, as upstream's bearer token authenticator reads it.
    assert authn.authenticate(request("GET", "/api", {"Authorization": f"bearer {TOKEN}"})) \
        == ADMIN


def test_missing_wrong_or_malformed_credentials_prove_nobody() -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": "Bearer "}, {"Authorization": TOKEN},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        assert authn.authenticate(request("GET", "/api/v1/pods", headers)) is None, headers


def test_no_credentials_is_anonymous_on_the_public_paths_only() -> None:
    for path in ("/healthz", "/livez", "/readyz", "/version"):
        assert authn.authenticate(request("GET", path)) == ANONYMOUS
    assert ANONYMOUS.groups == ("system:unauthenticated",)
    assert authn.authenticate(request("POST", "/healthz")) is None
    assert authn.authenticate(request("GET", "/livez/ping")) is None
    # A wrong token is refused even there: authentication comes before authorization.
    assert authn.authenticate(request("GET", "/healthz",
                                      {"Authorization": "Bearer nope"})) is None


def test_more_token_checks_are_tried_after_the_admin_token() -> None:
    authenticator = Authenticator(TOKEN)
    robot = UserInfo("robot", "u-1", ("robots", "system:authenticated"))
    authenticator.token_checks.append(lambda given: robot if given == "robot-token" else None)
    assert authenticator.token("robot-token") == robot
    assert authenticator.token(TOKEN) == ADMIN
    assert authenticator.token("other") is None and authenticator.token("") is None


def test_the_middleware_refuses_with_401_and_sets_the_user() -> None:
    seen: list[Any] = []

    async def handler(req: web.Request) -> web.Response:
        seen.append(req[authn.USER])
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application(middlewares=[authn.middleware()])
        app[authn.APP_KEY] = Authenticator(TOKEN)
        app.router.add_route("*", "/{tail:.*}", handler)
        async with TestClient(TestServer(app)) as client:
            refused = await client.get("/api/v1/pods", headers={"Authorization": "Bearer x"})
            body = json.loads(await refused.text())
            assert (refused.status, body["kind"], body["reason"], body["message"]) == \
                (401, "Status", "Unauthorized", "Unauthorized")
            assert (await client.get("/api/v1/pods")).status == 401
            ok = await client.get("/api/v1/pods", headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status == 200
            assert (await client.get("/healthz")).status == 200

    asyncio.run(main())
    assert seen == [ADMIN, ANONYMOUS]
