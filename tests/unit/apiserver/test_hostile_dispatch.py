"""The API's router in-process (aiohttp's test server over a store in a temporary home),
fed what an attacker or a careless client sends: every refusal is a 4xx Status, no request
is a 500 or logs a traceback, nothing refused is stored; and the writes honour dryRun and
fieldValidation on every verb and subresource."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from podctl.apiserver import pools, routes
from podctl.store import Store, open_store

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c",
                                                             "image": "podctl/kubia:1"}]}}}}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
              "data": {"a": "b"}}
CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
JSON = "application/json"
MERGE = "application/merge-patch+json"

Call = Callable[..., Awaitable[tuple[int, Any, Any]]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = open_store(tmp_path)
    yield made
    made.close()


def serve(store: Store, home: Path, scenario: Callable[[Call], Awaitable[None]]) -> None:
    """Run `scenario` against the router; it calls (method, path, body, content type)."""
    async def main() -> None:
        app = routes.make_app(routes.Context(store, home), [])
        async with TestClient(TestServer(app)) as client:
            async def call(method: str, path: str, body: bytes | dict[str, Any] | None = None,
                           content_type: str = JSON) -> tuple[int, Any, Any]:
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                headers = {"Content-Type": content_type} if data is not None else {}
                response = await client.request(method, path, data=data, headers=headers)
                text = await response.text()
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = text
                return response.status, parsed, response.headers

            await scenario(call)

    # The threads the server runs its handlers' store calls on (ApiServer installs them).
    thread_pools = pools.Pools(2, 1, 1)
    pools.install(thread_pools)
    try:
        asyncio.run(main())
    finally:
        pools.install(None)
        thread_pools.shutdown()


def test_writes_honour_dry_run_on_every_verb_and_subresource(store: Store,
                                                              tmp_path: Path) -> None:
    async def scenario(call: Call) -> None:
        assert (await call("POST", DEPLOY, DEPLOYMENT))[0] == 201
        assert (await call("POST", CM, CONFIG_MAP))[0] == 201
        before = store.get("Deployment", "default", "web")
        status, body, _ = await call("POST", f"{DEPLOY}?dryRun=All",
                                     {**DEPLOYMENT, "metadata": {"name": "other"}})
        assert status == 201 and body["metadata"]["uid"]
        assert store.get("Deployment", "default", "other") is None
        status, body, _ = await call("PATCH", f"{DEPLOY}/web/scale?dryRun=All",
                                     {"spec": {"replicas": 5}}, MERGE)
        assert (status, body["spec"]["replicas"]) == (200, 5)
        status, body, _ = await call("PUT", f"{DEPLOY}/web/scale?dryRun=All",
                                     {"kind": "Scale", "apiVersion": "autoscaling/v1",
                                      "metadata": {"name": "web"}, "spec": {"replicas": 7}})
        assert (status, body["spec"]["replicas"]) == (200, 7)
        status, body, _ = await call("PATCH", f"{DEPLOY}/web/status?dryRun=All",
                                     {"status": {"replicas": 9}}, MERGE)
        assert (status, body["status"]["replicas"]) == (200, 9)
        status, _, _ = await call("PATCH", f"{DEPLOY}/web?dryRun=All",
                                  {"spec": {"replicas": 3}}, MERGE)
        assert status == 200
        status, _, _ = await call("PUT", f"{DEPLOY}/web?dryRun=All",
                                  {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicas": 4}})
        assert status == 200
        assert store.get("Deployment", "default", "web") == before
        assert (await call("DELETE", f"{CM}/cm?dryRun=All"))[0] == 200
        assert (await call("DELETE", f"{CM}?dryRun=All"))[0] == 200
        assert (await call("DELETE", f"{CM}/cm", {"dryRun": ["All"]}))[0] == 200
        assert store.get("ConfigMap", "default", "cm") is not None
        # A DELETE's options come from its body when it has one, else from the query.
        for path, method, sent in ((f"{DEPLOY}/web/scale", "PATCH", {}), (CM, "POST", {}),
                                   (f"{CM}/cm", "DELETE", None),
                                   (f"{CM}/cm", "DELETE", {"dryRun": ["bogus"]})):
            status, body, _ = await call(method, f"{path}?dryRun=bogus", sent, MERGE
                                         if method == "PATCH" else JSON)
            assert status == 422 and "Unsupported value: []string{\"bogus\"}" in \
                body["message"]

    serve(store, tmp_path, scenario)


def test_scale_takes_an_int32_of_zero_or_more(store: Store, tmp_path: Path) -> None:
    async def scenario(call: Call) -> None:
        await call("POST", DEPLOY, DEPLOYMENT)
        status, body, _ = await call("PATCH", f"{DEPLOY}/web/scale",
                                     {"spec": {"replicas": 10**12}}, MERGE)
        assert status == 422 and body["reason"] == "Invalid"
        assert body["message"].startswith(' "" is invalid: patch: Invalid value: "{')
        assert body["message"].endswith("json: cannot unmarshal number 1000000000000 into Go "
                                        "struct field ScaleSpec.spec.replicas of type int32")
        status, body, _ = await call("PUT", f"{DEPLOY}/web/scale",
                                     {"spec": {"replicas": 2**31}})
        assert (status, body["message"]) == (400, (
            'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal '
            "number 2147483648 into Go struct field ScaleSpec.spec.replicas of type int32"))
        status, body, _ = await call("PATCH", f"{DEPLOY}/web/scale",
                                     {"spec": {"replicas": -1}}, MERGE)
        assert (status, body["message"]) == (422, (
            'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be '
            "greater than or equal to 0"))
        status, body, _ = await call("PATCH", f"{DEPLOY}/web/scale",
                                     {"spec": {"replicas": 2**31 - 1}}, MERGE)
        assert (status, body["spec"]["replicas"]) == (200, 2**31 - 1)
        # The same bound on the object itself, whatever the verb.
        status, body, _ = await call("PATCH", f"{DEPLOY}/web", {"spec": {"replicas": 10**12}},
                                     MERGE)
        assert status == 422 and "DeploymentSpec.spec.replicas of type int32" in \
            body["message"]
        assert store.get("Deployment", "default", "web")["spec"]["replicas"] == 2**31 - 1

    serve(store, tmp_path, scenario)


def test_field_validation_strict_warn_ignore_and_the_default(store: Store,
                                                             tmp_path: Path) -> None:
    unknown = {**CONFIG_MAP, "spec": {"foo": 1}}

    async def scenario(call: Call) -> None:
        status, body, _ = await call("POST", f"{CM}?fieldValidation=Strict", unknown)
        assert (status, body["message"]) == (400, (
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding '
            'error: unknown field "spec"'))
        status, _, headers = await call("POST", f"{CM}?fieldValidation=Warn", unknown)
        assert status == 201
        assert headers.getall("Warning") == ['299 - "unknown field \\"spec\\""']
        assert "spec" not in store.get("ConfigMap", "default", "cm")
        await call("DELETE", f"{CM}/cm")
        status, _, headers = await call("POST", f"{CM}?fieldValidation=Ignore", unknown)
        assert status == 201 and "Warning" not in headers
        # No fieldValidation: upstream's server default, Warn.
        status, _, headers = await call("PATCH", f"{CM}/cm", {"status": {"x": 1}}, MERGE)
        assert status == 200 and headers.getall("Warning") == [
            '299 - "unknown field \\"status\\""']
        status, body, _ = await call("PATCH", f"{CM}/cm?fieldValidation=Strict",
                                     {"status": {"x": 1}},
                                     "application/strategic-merge-patch+json")
        assert (status, body["message"]) == (422, (
            ' "" is invalid: patch: Invalid value: "map[status:map[x:1]]": strict decoding '
            'error: unknown field "status"'))
        dup = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"e"}}'
        status, body, _ = await call("POST", f"{CM}?fieldValidation=Strict", dup)
        assert status == 400 and body["message"].endswith(
            'strict decoding error: duplicate field "metadata.name"')
        status, _, headers = await call("POST", CM, dup)
        assert status == 201 and headers.getall("Warning") == [
            '299 - "duplicate field \\"metadata.name\\""']
        assert store.get("ConfigMap", "default", "e") is not None  # the last one wins
        status, _, headers = await call("PATCH", f"{DEPLOY}/none/scale", {"x": 1}, MERGE)
        assert status == 404
        status, body, _ = await call("POST", f"{CM}?fieldValidation=yes", CONFIG_MAP)
        assert status == 422 and 'fieldValidation: Unsupported value: "yes"' in \
            body["message"]

    serve(store, tmp_path, scenario)


HOSTILE_BODIES = [
    b"", b"null", b"5", b'"s"', b"[]", b"[1,{}]", b"true", b"{", b"\xff\xfe\x00",
    b'{"metadata":[]}', b'{"metadata":"x"}', b'{"metadata":{"name":5}}',
    b'{"metadata":{"name":"x","labels":{"a":{"b":1}}}}', b'{"spec":"x"}', b'{"status":[1]}',
    b'{"spec":{"replicas":"3"}}', b'{"spec":{"replicas":1.5}}', b'{"spec":{"replicas":1e400}}',
    b'{"spec":{"replicas":NaN}}', b'{"spec":{"replicas":-Infinity}}',
    b'{"spec":{"replicas":' + b"9" * 5000 + b"}}", b'{"data":' + b"[" * 100_000 + b"]" * 100_000
    + b"}", b'{"kind":5}', b'{"kind":"Pod"}', b'{"apiVersion":[],"kind":"ConfigMap"}',
    b'{"metadata":{"name":"x","namespace":5}}', b'{"metadata":{"generateName":7}}',
    b'{"metadata":{"name":"x","resourceVersion":5}}', b'{"spec":{"template":[]}}',
    b'{"data":{"a":null}}', b'[{"op":5}]', b'[{"op":"add","path":5,"value":1}]',
    b'[{"op":"move","from":"/nope","path":"/metadata/name"}]',
    b'[{"op":"add","path":"/metadata/labels/~2","value":"x"}]',
    b'[{"op":"copy","from":"/metadata","path":"/metadata/x"}]', b'[{"op":"replace","path":""}]',
    b'[{"op":"test","path":"/kind","value":"Other"}]', b'{"$patch":"delete"}',
    b'{"$patch":"replace"}', b'{"spec":{"$setElementOrder/x":5}}', b'{"$retainKeys":5}',
    b'{"metadata":{"$deleteFromPrimitiveList/finalizers":5}}', b'{"metadata":null}',
    b'{"gracePeriodSeconds":1e30}', b'{"dryRun":"All"}', b'{"preconditions":[]}',
    b'{"propagationPolicy":{}}', b"k8s\x00\x0a\xff\xff\xff\xff\x0f",
]
ENDPOINTS = [("POST", CM), ("PUT", f"{CM}/cm"), ("PATCH", f"{CM}/cm"), ("DELETE", f"{CM}/cm"),
             ("DELETE", CM), ("POST", DEPLOY), ("PUT", f"{DEPLOY}/web"),
             ("PATCH", f"{DEPLOY}/web"), ("PUT", f"{DEPLOY}/web/scale"),
             ("PATCH", f"{DEPLOY}/web/scale"), ("PUT", f"{DEPLOY}/web/status"),
             ("PATCH", f"{DEPLOY}/web/status")]
PATCH_TYPES = [MERGE, "application/json-patch+json", "application/strategic-merge-patch+json"]
BODY_TYPES = [JSON, "application/yaml", "application/vnd.kubernetes.protobuf"]
HOSTILE_QUERIES = [
    "watch=1&timeoutSeconds=abc", "timeoutSeconds=9999999999999999999999", "limit=",
    "limit=1e3", "continue=%00", "continue=e30", "resourceVersion=-1",
    "resourceVersion=18446744073709551616", "resourceVersionMatch=Exact",
    "fieldSelector=%3D%3D%3D", "fieldSelector=metadata.name%3D%5C", "fieldSelector=a,,b",
    "labelSelector=a%20in%20(", "labelSelector=!!", "watch=1&resourceVersion=x",
    "watch=1&sendInitialEvents=true", "watch=1&fieldSelector=spec.bogus%3D1",
]


def test_no_hostile_input_is_a_500_or_a_traceback_or_stored(
        store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tried: list[tuple[str, str, int]] = []

    async def scenario(call: Call) -> None:
        await call("POST", DEPLOY, DEPLOYMENT)
        await call("POST", CM, CONFIG_MAP)
        for method, path in ENDPOINTS:
            types = PATCH_TYPES if method == "PATCH" else BODY_TYPES
            for content_type in types:
                for body in HOSTILE_BODIES:
                    status, answer, _ = await call(method, path, body, content_type)
                    tried.append((method, path, status))
                    assert status < 500, (method, path, content_type, body[:80], answer)
                    if status >= 400:
                        assert answer["kind"] == "Status" and answer["code"] == status
                    # What a refused or accepted body did, the next one starts from again.
                    if store.get("Deployment", "default", "web") is None:
                        await call("POST", DEPLOY, DEPLOYMENT)
                    if store.get("ConfigMap", "default", "cm") is None:
                        await call("POST", CM, CONFIG_MAP)
        for query in HOSTILE_QUERIES:
            for path in (CM, "/api/v1/pods", "/apis/batch/v1/jobs"):
                status, answer, _ = await call("GET", f"{path}?{query}")
                tried.append(("GET", path, status))
                assert 400 <= status < 500, (path, query, answer)
        assert (await call("GET", CM))[0] == 200  # and it still answers

    with caplog.at_level(logging.ERROR, logger="podctl.apiserver"):
        serve(store, tmp_path, scenario)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    refused = sum(1 for *_, status in tried if status >= 400)
    assert len(tried) > 1500 and refused > len(tried) // 2
    # Nothing a refused request named was made: only the two objects the test wrote.
    assert [o["metadata"]["name"] for o in store.list("ConfigMap", "default")] == ["cm"]
    assert [o["metadata"]["name"] for o in store.list("Deployment", "default")] == ["web"]
