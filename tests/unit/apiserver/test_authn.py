"""Authentication: which identity a request's credentials prove, and the middleware that
refuses the others with 401 and hands the identity on as request["user"]."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from podctl.apiserver import authn, credentials
from podctl.apiserver.authn import ADMIN, ANONYMOUS, Authenticator, UserInfo
from podctl.apiserver.credentials import ensure_tls
from podctl.apiserver.server import tls_context

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


def test_a_certificates_cn_is_the_user_and_each_o_a_group() -> None:
    subject = ((("organizationName", "dev"),), (("organizationName", "ops"),),
               (("commonName", "alice"),))
    assert authn.certificate_user({"subject": subject}) == \
        UserInfo("alice", "", ("dev", "ops", "system:authenticated"))
    assert authn.certificate_user({}) is None and authn.certificate_user(None) is None
    assert authn.certificate_user({"subject": ((("organizationName", "dev"),),)}) is None


def serve_tls(home: Path, client: ssl.SSLContext) -> tuple[int, str]:
    """One request over TLS as the API serves it (its context, authn's middleware)."""
    async def handler(req: web.Request) -> web.Response:
        user = req[authn.USER]
        return web.Response(text=f"{user.name} {','.join(user.groups)}")

    async def main() -> tuple[int, str]:
        app = web.Application(middlewares=[authn.middleware()])
        app[authn.APP_KEY] = Authenticator(TOKEN)
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0,
                           ssl_context=tls_context(ensure_tls(home, "127.0.0.1")))
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with aiohttp.ClientSession() as session, session.get(
                    f"https://127.0.0.1:{port}/api/v1/pods", ssl=client) as response:
                return response.status, await response.text()
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def client_context(home: Path, cert: bytes | None = None,
                   key: bytes | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(home / credentials.CA_CERT))
    if cert is not None and key is not None:
        (home / "c.crt").write_bytes(cert)
        (home / "c.key").write_bytes(key)
        context.load_cert_chain(home / "c.crt", home / "c.key")
    return context


def test_a_client_certificate_the_homes_ca_signed_authenticates_over_tls(
        tmp_path: Path) -> None:
    ensure_tls(tmp_path, "127.0.0.1")
    cert, key = credentials.client_certificate(tmp_path, "alice", ["dev"])
    assert serve_tls(tmp_path, client_context(tmp_path, cert, key)) == \
        (200, "alice dev,system:authenticated")
    # Without a certificate (nor a token) the handshake succeeds and the request is 401.
    assert serve_tls(tmp_path, client_context(tmp_path))[0] == 401


def test_another_homes_client_certificate_is_refused(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    mine.mkdir()
    other.mkdir()
    ensure_tls(mine, "127.0.0.1")
    cert, key = credentials.client_certificate(other, "mallory", ["system:masters"])
    with pytest.raises(aiohttp.ClientError):
        serve_tls(mine, client_context(mine, cert, key))
