"""Random requests against a real `run-controller --api`, as an attacker or a buggy client
sends them: every resource and subresource the server discovers, every verb, random query
parameters, headers and bodies (random JSON, YAML, bytes, and valid objects with random
fields changed). Whatever comes in, the server answers with a Status below 500, logs no
traceback, keeps answering, and stores nothing for a request it refused."""

from __future__ import annotations

import copy
import http.client
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import BUSYBOX_IMAGE, Podctl
from tests.integration.test_api_kubectl import ApiController

pytestmark = pytest.mark.integration

# In CI the examples are the same on every run (a failure there is reproducible); on a
# developer's machine every run explores new ones.
EXAMPLES = int(os.environ.get("PODCTL_FUZZ_EXAMPLES", "300"))
DERANDOMIZE = os.environ.get("CI") == "true"

NAMESPACE = "default"
SEED_CONFIGMAP = "fuzz-seed"
# Written by the controller as it runs: their versions move without any client's request.
CONTROLLER_WRITTEN = {"events", "endpoints", "endpointslices", "leases", "nodes", "pods"}

POD_SPEC = {"containers": [{"name": "c", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never",
                            "command": ["sleep", "3600"]}],
            "terminationGracePeriodSeconds": 0}
TEMPLATE = {"metadata": {"labels": {"app": "fuzz"}}, "spec": POD_SPEC}
SELECTOR = {"matchLabels": {"app": "fuzz"}}
# One valid body per kind, for the mutations: most random changes to a valid object reach
# deeper into validation than random JSON does.
VALID: dict[str, dict[str, Any]] = {
    "Pod": {"spec": POD_SPEC},
    "ConfigMap": {"data": {"k": "v"}},
    "Secret": {"stringData": {"k": "v"}},
    "Service": {"spec": {"selector": {"app": "fuzz"}, "ports": [{"port": 80}]}},
    "ReplicationController": {"spec": {"replicas": 0, "selector": {"app": "fuzz"},
                                       "template": TEMPLATE}},
    "ReplicaSet": {"spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}},
    "Deployment": {"spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}},
    "DaemonSet": {"spec": {"selector": SELECTOR, "template": {
        **TEMPLATE, "spec": {**POD_SPEC, "nodeSelector": {"fuzz": "nowhere"}}}}},
    "Job": {"spec": {"suspend": True, "template": {
        "spec": {**POD_SPEC, "restartPolicy": "Never"}}}},
    "CronJob": {"spec": {"schedule": "0 0 1 1 *", "suspend": True, "jobTemplate": {
        "spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}}}},
    "Namespace": {},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]},
}

CONTENT_TYPES = ["application/json", "application/yaml", "application/merge-patch+json",
                 "application/json-patch+json", "application/strategic-merge-patch+json",
                 "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf",
                 "text/plain", "application/x-www-form-urlencoded", ""]
ACCEPTS = ["application/json", "*/*", "application/yaml",
           "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
           "application/vnd.kubernetes.protobuf",
           "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "", "x"]
PARAMETERS = ["watch", "timeoutSeconds", "limit", "continue", "resourceVersion",
              "resourceVersionMatch", "labelSelector", "fieldSelector", "dryRun",
              "fieldValidation", "fieldManager", "force", "gracePeriodSeconds",
              "propagationPolicy", "orphanDependents", "pretty", "allowWatchBookmarks",
              "sendInitialEvents", "includeObject", "container", "follow", "tailLines",
              "previous", "timestamps", "sinceSeconds", "sinceTime", "limitBytes",
              "command", "stdin", "stdout", "tty"]
TEXTS = st.one_of(
    st.sampled_from(["", "true", "false", "0", "1", "-1", "All", "Strict", "Warn", "Ignore",
                     "abc", "9" * 30, "1e9", "NaN", "app=fuzz", "app in (a,b)", "===",
                     "spec.bogus=1", "metadata.name=x", "status.phase!=Running",
                     "Foreground", "Background", "Orphan", "NotOlderThan", "Exact", "c",
                     "2026-01-01T00:00:00Z", "eyJydiI6MX0=", "%00", "a" * 300]),
    st.text(max_size=40))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=4),
    max_leaves=20)

ALIAS_BOMB = "\n".join(
    ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "a0: &a0 [x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 6)}]" for i in range(1, 10)]
    + ["data: {k: *a9}"]).encode()
# Shallow anchors, each aliasing the one before: 15 × 90 levels deep once expanded.
ALIAS_DEPTH = "\n".join(
    ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: deep}"]
    + [f"a{i}: &a{i} " + "[" * 90 + (f"*a{i - 1}" if i else "x") + "]" * 90 for i in range(15)]
    + ["data: {k: *a14}"]).encode()
# Bodies that cost a careless server its memory, its stack or its time.
HOSTILE = [
    ALIAS_DEPTH,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b"- " * 50_000 + b"x",
    b"a: " + b"[" * 100_000,
    ALIAS_BOMB,
    b" " * (4 * 1024 * 1024) + b"{}",
    b'{"metadata": {"name": "n"}, "spec": {"replicas": 1' + b"0" * 5000 + b"}}",
    b'{"metadata": {"name": "n"}, "spec": {"replicas": 1e400}}',
    b'{"metadata": {"name": "n"}, "spec": {"replicas": NaN}}',
    b'{"kind": "List", "items": [' + b'{"kind": "Pod"},' * 10_000 + b'{}]}',
]


@dataclass
class Resource:
    path: str  # /api/v1 or /apis/<group>/<version>
    name: str  # plural, or plural/subresource
    kind: str
    namespaced: bool
    verbs: list[str] = field(default_factory=list)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes | None
    resource: Resource

    def __repr__(self) -> str:
        shown = self.body if self.body is None or len(self.body) < 300 else \
            self.body[:300] + f"... ({len(self.body)} bytes)".encode()
        return (f"{self.method} {self.path}?{urlencode(self.query)}\nheaders: {self.headers}"
                f"\nbody: {shown!r}")

    __str__ = __repr__


class Client:
    """One TLS connection per request, the home's token on each, a bounded read."""

    def __init__(self, api: ApiController) -> None:
        self.url = urlsplit(api.url)
        self.context = api.ca_context()
        self.token = (api.podctl.home / "api-token").read_text().strip()

    def send(self, method: str, path: str, headers: dict[str, str] | None = None,
             body: bytes | None = None, read: bool = True) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPSConnection(self.url.hostname or "", self.url.port,
                                           context=self.context, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for key, value in {"Authorization": f"Bearer {self.token}",
                               **(headers or {})}.items():
                conn.putheader(key, value)
            conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body or b"")
            response = conn.getresponse()
            # A watch or a followed log streams on: its status and headers are enough.
            data = response.read() if read or response.status >= 400 else b""
            return response.status, dict(response.getheaders()), data
        finally:
            conn.close()

    def json(self, path: str) -> Any:
        status, _, data = self.send("GET", path)
        assert status == 200, (path, status, data[:500])
        return json.loads(data)


def discover(client: Client) -> list[Resource]:
    found = []
    roots = ["/api/v1"] + [f"/apis/{v['groupVersion']}"
                           for g in client.json("/apis")["groups"] for v in g["versions"]]
    for root in roots:
        for entry in client.json(root)["resources"]:
            found.append(Resource(root, entry["name"], entry["kind"], entry["namespaced"],
                                  list(entry.get("verbs") or [])))
    return found


@st.composite
def bodies(draw: st.DrawFn, resource: Resource, name: str) -> bytes | None:
    shape = draw(st.sampled_from(["none", "json", "valid", "mutated", "text", "bytes",
                                  "yaml", "hostile"]))
    if shape == "none":
        return None
    if shape == "hostile":
        return draw(st.sampled_from(HOSTILE))
    if shape == "json":
        return json.dumps(draw(JSON)).encode()
    if shape == "text":
        return draw(st.text(max_size=200)).encode()
    if shape == "bytes":
        return draw(st.binary(max_size=200))
    kind = resource.kind
    obj = {"apiVersion": resource.path.removeprefix("/api/").removeprefix("/apis/"),
           "kind": kind, "metadata": {"name": name},
           **copy.deepcopy(VALID.get(kind, {}))}
    if shape == "mutated":
        obj = mutate(draw, obj)
    if shape == "yaml":
        import yaml

        return yaml.safe_dump(mutate(draw, obj)).encode()
    return json.dumps(obj).encode()


def mutate(draw: st.DrawFn, obj: dict[str, Any]) -> dict[str, Any]:
    """Replace, add or drop one to three fields anywhere in the object."""
    for _ in range(draw(st.integers(1, 3))):
        parent: Any = obj
        while True:
            keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = parent[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                parent = child
                continue
            action = draw(st.sampled_from(["replace", "add", "drop"]))
            if action == "replace":
                parent[key] = draw(JSON)
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=12))] = draw(JSON)
            elif action == "drop":
                del parent[key]
            break
    return obj


@st.composite
def requests(draw: st.DrawFn, resources: list[Resource]) -> Request:
    resource = draw(st.sampled_from(resources))
    plural, _, sub = resource.name.partition("/")
    name = draw(st.sampled_from([SEED_CONFIGMAP, "fuzz-x", "a" * 254, "..", "Bad_Name",
                                 "%2e%2e", "x%00y"]) | st.text(min_size=1, max_size=20))
    namespace = draw(st.sampled_from([NAMESPACE, "kube-system", "fuzz-missing", "NS!"]))
    named = bool(sub) or draw(st.booleans())
    prefix = f"{resource.path}/namespaces/{quote(namespace, safe='')}" \
        if resource.namespaced and (named or draw(st.booleans())) else resource.path
    path = f"{prefix}/{plural}"
    if named:
        path += f"/{quote(name, safe='%')}"
    if sub:
        path += f"/{sub}"
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
                                   "OPTIONS"]))
    query = draw(st.dictionaries(st.sampled_from(PARAMETERS), TEXTS, max_size=4))
    if draw(st.integers(0, 4)) == 0:
        query["watch"] = "true"
    if streams(query) and query.get("timeoutSeconds", "").isdigit():
        query["timeoutSeconds"] = "1"  # a valid timeout, but a short one
    headers = {"Content-Type": draw(st.sampled_from(CONTENT_TYPES)),
               "Accept": draw(st.sampled_from(ACCEPTS))}
    headers = {k: v for k, v in headers.items() if v}
    return Request(method, path, query, headers, draw(bodies(resource, name)), resource)


def streams(query: dict[str, str]) -> bool:
    """A watch or a followed log, as the API server reads booleans: present and not
    "0" or "false" is true, the empty value included."""
    return any(key in query and query[key] != "0" and query[key].lower() != "false"
               for key in ("watch", "follow"))


def control_characters(path: str) -> bool:
    from urllib.parse import unquote

    return any(ord(ch) < 32 or ord(ch) == 127 for ch in unquote(path))


def fingerprint(client: Client, resource: Resource) -> set[tuple[Any, ...]]:
    """What a client wrote of the resource's objects (what the controller writes by itself —
    statuses, endpoints, events — left out)."""
    plural = resource.name.partition("/")[0]
    items = client.json(f"{resource.path}/{plural}")["items"]
    return {(i["metadata"].get("namespace"), i["metadata"]["name"], i["metadata"]["uid"],
             json.dumps(i.get("spec"), sort_keys=True),
             json.dumps(i.get("data"), sort_keys=True),
             json.dumps(i["metadata"].get("labels"), sort_keys=True),
             i["metadata"].get("deletionTimestamp") is not None)
            for i in items}


@pytest.fixture
def fuzzed(podctl: Podctl) -> Iterator[tuple[ApiController, Client]]:
    api = ApiController(podctl)
    try:
        client = Client(api)
        podctl("create", "configmap", SEED_CONFIGMAP, "--from-literal=k=v")
        yield api, client
    finally:
        api.stop()


def test_random_requests_never_break_the_server(fuzzed: tuple[ApiController, Client]) -> None:
    api, client = fuzzed
    resources = [r for r in discover(client) if not r.name.endswith(("/exec", "/attach",
                                                                      "/portforward"))]
    assert len(resources) > 20
    seen = {"offset": 0, "requests": 0}
    answers: Counter[str] = Counter()

    def new_log() -> str:
        text = api.log.read_text(errors="replace")
        fresh, seen["offset"] = text[seen["offset"]:], len(text)
        return fresh

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests(resources))
    def check(request: Request) -> None:
        new_log()  # what an earlier, failed example left is that example's
        base = request.resource
        watched = base if "/" not in base.name and "list" in base.verbs \
            and base.name not in CONTROLLER_WRITTEN else None
        before = fingerprint(client, watched) if watched and request.method != "GET" else None
        streaming = streams(request.query)
        status, headers, data = client.send(
            request.method, f"{request.path}?{urlencode(request.query)}", request.headers,
            request.body, read=not streaming)
        seen["requests"] += 1
        answers[f"{status // 100}xx"] += 1
        assert status < 500, f"{status} for\n{request}\n{data[:1000]!r}"
        if status >= 400 and request.method != "HEAD":
            if not headers.get("Content-Type", "").startswith("application/json"):
                # Only the HTTP parser answers in plain text: a request line it refuses.
                assert status == 400 and control_characters(request.path), request
                return
            answer = json.loads(data)
            assert answer.get("kind") == "Status" and answer.get("code") == status, request
        if before is not None and status >= 400 and watched is not None:
            assert fingerprint(client, watched) == before, f"refused, yet stored:\n{request}"
        # The log of what went wrong in a request may come after its answer: once the next
        # request is answered, it is written.
        client.send("GET", "/version")
        log = new_log()
        assert "Traceback" not in log, f"traceback after\n{request}\n{log[-3000:]}"

    started = time.monotonic()
    check()
    # Still answering after everything it was sent.
    assert client.json(f"/api/v1/namespaces/{NAMESPACE}/configmaps")["kind"] == \
        "ConfigMapList"
    assert seen["requests"] >= min(EXAMPLES, 50), (seen, time.monotonic() - started)
    # The figures, for `pytest -s`: what the random requests were answered.
    print(f"\n{seen['requests']} random requests in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{count} {kind}" for kind, count in sorted(answers.items())))
