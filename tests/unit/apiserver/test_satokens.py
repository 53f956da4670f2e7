"""ServiceAccount tokens through the API's router with its authentication (aiohttp's test
server over a store): TokenRequest, TokenReview, and who a token makes the caller, with
401 for every token that must not work."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from podctl import registry
from podctl.api import identity
from podctl.apiserver import authn, pools, routes, satokens
from podctl.store import Store, open_store

ADMIN = "admin-token"
SA = "/api/v1/namespaces/default/serviceaccounts"
REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
Call = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = open_store(tmp_path)
    yield made
    made.close()


def serve(store: Store, scenario: Callable[[Call], Awaitable[None]]) -> None:
    async def main() -> None:
        app = routes.make_app(routes.Context(store, store.path.parent), [authn.middleware()])
        app[authn.APP_KEY] = authn.Authenticator(ADMIN)
        satokens.install(app, store, store.path.parent)
        async with TestClient(TestServer(app)) as client:
            async def call(method: str, path: str, body: dict[str, Any] | None = None,
                           token: str = ADMIN) -> tuple[int, Any]:
                response = await client.request(
                    method, path, data=json.dumps(body).encode() if body else None,
                    headers={"Authorization": f"Bearer {token}",
                             "Content-Type": "application/json"})
                text = await response.text()
                return response.status, json.loads(text) if text else None

            await scenario(call)

    thread_pools = pools.Pools(2, 1, 1)
    pools.install(thread_pools)
    try:
        asyncio.run(main())
    finally:
        pools.install(None)
        thread_pools.shutdown()


def request(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def review(token: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, **spec}}


def test_token_request_review_and_authentication(store: Store, tmp_path: Path) -> None:
    registry.create(store, {"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": "bot", "namespace": "default"}})

    async def scenario(call: Call) -> None:
        status, body = await call("POST", f"{SA}/bot/token", request(expirationSeconds=900))
        assert status == 201 and body["kind"] == "TokenRequest"
        assert body["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
        assert body["spec"]["expirationSeconds"] == 900
        token = body["status"]["token"]
        assert body["status"]["expirationTimestamp"].endswith("Z")
        # The token is the account's identity.
        status, pods = await call("GET", "/api/v1/namespaces/default/pods", token=token)
        assert status == 200 and pods["kind"] == "PodList"
        status, answer = await call("POST", REVIEWS, review(token))
        assert status == 201 and answer["status"]["authenticated"] is True
        user = answer["status"]["user"]
        assert user["username"] == "system:serviceaccount:default:bot"
        assert user["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default",
                                  "system:authenticated"]
        assert user["uid"] == store.require("ServiceAccount", "default", "bot")[
            "metadata"]["uid"]
        # Refusals: too short, a missing account, a wrong bound object.
        status, body = await call("POST", f"{SA}/bot/token", request(expirationSeconds=60))
        assert (status, body["message"]) == (422, (
            'TokenRequest.authentication.k8s.io "bot" is invalid: spec.expirationSeconds: '
            "Invalid value: 60: may not specify a duration less than 10 minutes"))
        status, body = await call("POST", f"{SA}/nobody/token", request())
        assert (status, body["message"]) == (404, 'serviceaccounts "nobody" not found')
        status, body = await call("POST", f"{SA}/bot/token", request(
            boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "gone"}))
        assert (status, body["message"]) == (404, 'pods "gone" not found')
        # Another audience: a token for someone else, not for the API.
        status, body = await call("POST", f"{SA}/bot/token", request(audiences=["vault"]))
        vault = body["status"]["token"]
        assert (await call("GET", "/api/v1/pods", token=vault))[0] == 401
        status, answer = await call("POST", REVIEWS, review(vault, audiences=["vault"]))
        assert answer["status"]["authenticated"] is True
        assert answer["status"]["audiences"] == ["vault"]
        # Expired, another home's, forged: 401, and a review says not authenticated.
        sa = store.require("ServiceAccount", "default", "bot")
        expired, _ = identity.issue(store.path.parent, sa, identity.API_AUDIENCES, 600,
                                    now=time.time() - 700)
        other_home = tmp_path / "other"
        other_home.mkdir()
        foreign, _ = identity.issue(other_home, sa, identity.API_AUDIENCES, 600)
        for bad in (expired, foreign, token[:-6] + "AAAAAA", "wrong"):
            assert (await call("GET", "/api/v1/pods", token=bad))[0] == 401
            status, answer = await call("POST", REVIEWS, review(bad))
            assert status == 201 and "authenticated" not in answer["status"]
        # The account deleted (even if made again: a new uid): its tokens stop working.
        store.delete("ServiceAccount", "default", "bot")
        assert (await call("GET", "/api/v1/pods", token=token))[0] == 401
        registry.create(store, {"apiVersion": "v1", "kind": "ServiceAccount",
                                "metadata": {"name": "bot", "namespace": "default"}})
        assert (await call("GET", "/api/v1/pods", token=token))[0] == 401

    serve(store, scenario)


def test_a_pod_bound_token_dies_with_its_pod(store: Store) -> None:
    pod = registry.create(store, {"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": "p", "namespace": "default"},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}})

    async def scenario(call: Call) -> None:
        status, body = await call("POST", f"{SA}/default/token", request(boundObjectRef={
            "kind": "Pod", "apiVersion": "v1", "name": "p", "uid": pod["metadata"]["uid"]}))
        assert status == 201
        token = body["status"]["token"]
        status, answer = await call("POST", REVIEWS, review(token))
        assert answer["status"]["user"]["extra"][identity.EXTRA_POD_NAME] == ["p"]
        assert (await call("GET", "/api/v1/pods", token=token))[0] == 200
        status, body = await call("POST", f"{SA}/default/token", request(boundObjectRef={
            "kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "stale"}))
        assert status == 409
        store.delete("Pod", "default", "p")
        assert (await call("GET", "/api/v1/pods", token=token))[0] == 401

    serve(store, scenario)


def test_discovery_lists_the_token_subresource_and_tokenreviews(store: Store) -> None:
    async def scenario(call: Call) -> None:
        _, body = await call("GET", "/api/v1")
        entry = next(r for r in body["resources"] if r["name"] == "serviceaccounts/token")
        assert entry == {"name": "serviceaccounts/token", "singularName": "",
                         "namespaced": True, "kind": "TokenRequest", "verbs": ["create"],
                         "group": "authentication.k8s.io", "version": "v1"}
        _, body = await call("GET", "/apis/authentication.k8s.io/v1")
        assert [r["name"] for r in body["resources"]] == ["selfsubjectreviews", "tokenreviews"]

    serve(store, scenario)


def test_a_remembered_token_still_expires(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = registry.create(store, {"apiVersion": "v1", "kind": "ServiceAccount",
                                 "metadata": {"name": "bot", "namespace": "default"}})
    tokens = satokens.ServiceAccountTokens(store, store.path.parent)
    token, expires = identity.issue(store.path.parent, sa, identity.API_AUDIENCES, 600,
                                    now=time.time() - 590)
    assert tokens(token) is not None and tokens(token) is not None  # the second remembered
    later = expires + 1.0
    monkeypatch.setattr(satokens.time, "time", lambda: later)
    monkeypatch.setattr(identity.time, "time", lambda: later)
    import jwt.api_jwt

    monkeypatch.setattr(jwt.api_jwt, "datetime", _Frozen(later))
    assert tokens(token) is None


class _Frozen:
    """PyJWT's clock (datetime.now(tz=UTC)) at a chosen moment."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self, tz: Any = None) -> Any:
        from datetime import datetime

        return datetime.fromtimestamp(self.at, tz)

    def __getattr__(self, name: str) -> Any:
        from datetime import datetime

        return getattr(datetime, name)
