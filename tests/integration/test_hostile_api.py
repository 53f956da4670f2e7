"""Hostile and careless input against a real `run-controller --api` (issue 19): every body
and parameter is bounded and refused with upstream's Status before it can cost the
controller anything — a replica count beyond int32, a dry run that must not write, an alias
bomb, a 50 MB body, 100 000-deep JSON and YAML, malformed query parameters — and
fieldValidation, dryRun and /openapi/v2 behave as kubectl expects them to."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import KUBECTL, ApiController, poll

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
ALIAS_BOMB = """apiVersion: v1
kind: ConfigMap
metadata:
  name: bomb
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
CONFIG_MAPS = "/api/v1/namespaces/default/configmaps"


class Raw:
    """Plain HTTPS requests to the API with the home's token: what curl or an attacker
    sends, byte for byte."""

    def __init__(self, api: ApiController) -> None:
        config = yaml.safe_load(api.kubeconfig.read_text())
        self.token = config["users"][0]["user"]["token"]
        url = urllib.parse.urlsplit(api.url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 443
        self.context = api.ca_context()

    def __call__(self, method: str, path: str, body: bytes | Iterator[bytes] | None = None,
                 content_type: str = "application/json", chunked: bool = False,
                 timeout: float = 60) -> tuple[int, Any, http.client.HTTPMessage]:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                           timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = content_type
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        try:
            conn.request(method, path, body=body, headers=headers, encode_chunked=chunked)
            response = conn.getresponse()
            text = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return response.status, parsed, response.headers


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()
    assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]


@pytest.fixture
def raw(api: ApiController) -> Raw:
    return Raw(api)


def memory_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak so far) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def deployment(name: str, replicas: int) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: podctl/kubia:1
"""


def test_a_replica_count_beyond_int32_is_refused_and_a_server_dry_run_changes_nothing(
        api: ApiController, raw: Raw, podctl: Podctl) -> None:
    kubectl = api
    name = f"kweb-{uuid.uuid4().hex[:6]}"
    assert kubectl("create", "-f", "-", input=deployment(name, 0)) == \
        f"deployment.apps/{name} created\n"
    scale = f"/apis/apps/v1/namespaces/default/deployments/{name}/scale"
    status, body, _ = raw("PATCH", scale, b'{"spec":{"replicas":1000000000000}}',
                          "application/merge-patch+json")
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["message"].endswith("json: cannot unmarshal number 1000000000000 into Go "
                                    "struct field ScaleSpec.spec.replicas of type int32")
    refused = kubectl.fails("scale", f"deploy/{name}", "--replicas=1000000000000")
    assert refused.startswith("The request is invalid: patch: Invalid value: ")
    assert refused.endswith("json: cannot unmarshal number 1000000000000 into Go struct "
                            "field ScaleSpec.spec.replicas of type int32\n")
    # podctl's own scale writes the store directly: the same bound, the same line.
    mine = podctl.run("scale", f"deploy/{name}", "--replicas=1000000000000")
    # The Deployment's controller may write its status between the two: the object each
    # message quotes may differ in its resourceVersion only.
    def masked(line: str) -> str:
        return re.sub(r'resourceVersion\\":\\"\d+', "resourceVersion", line)

    assert mine.code == 1
    assert masked(mine.err.splitlines()[-1]) == masked(refused.splitlines()[-1])
    # The same bound when the Deployment itself is written.
    refused = kubectl.fails("create", "-f", "-", input=deployment(f"{name}-x", 10**12))
    assert refused == ('Error from server (BadRequest): error when creating "STDIN": '
                       'Deployment in version "v1" cannot be handled as a Deployment: json: '
                       "cannot unmarshal number 1000000000000 into Go struct field "
                       "DeploymentSpec.spec.replicas of type int32\n")

    assert kubectl("scale", f"deploy/{name}", "--replicas=3", "--dry-run=server") == \
        f"deployment.apps/{name} scaled (server dry run)\n"
    rs = poll(lambda: kubectl("get", "rs", "-o", "name").strip(), 30, "the ReplicaSet")
    assert kubectl("scale", rs, "--replicas=4", "--dry-run=server") == \
        f"{rs} scaled (server dry run)\n"
    status, body, _ = raw("PUT", f"{scale}?dryRun=All", json.dumps(
        {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": name},
         "spec": {"replicas": 5}}).encode())
    assert (status, body["spec"]["replicas"]) == (200, 5)
    assert kubectl("get", "deploy", name, "-o", "jsonpath={.spec.replicas}") == "0"
    assert kubectl("get", "rs", "-o", "jsonpath={.items[*].spec.replicas}") == "0"
    assert kubectl("get", "pods", "-o", "name") == ""


def test_an_alias_bomb_is_refused_at_once_while_the_api_keeps_answering(
        api: ApiController, raw: Raw) -> None:
    pid = api.proc.pid
    raw("GET", "/api/v1/pods")  # warm: the first list loads what every list needs
    peak_before = memory_kib(pid, "VmHWM")
    gets: list[tuple[int, float]] = []
    done = threading.Event()

    def keep_getting() -> None:
        while not done.is_set():
            started = time.monotonic()
            status, _, _ = raw("GET", "/api/v1/pods")
            gets.append((status, time.monotonic() - started))

    def bomb() -> tuple[int, float, str]:
        started = time.monotonic()
        status, body, _ = raw("POST", CONFIG_MAPS, ALIAS_BOMB.encode(), "application/yaml")
        return status, time.monotonic() - started, body["message"]

    getter = threading.Thread(target=keep_getting)
    getter.start()
    try:
        with ThreadPoolExecutor(2) as pool:
            bombs = list(pool.map(lambda _: bomb(), range(4)))
    finally:
        done.set()
        getter.join()
    for status, seconds, message in bombs:
        assert status == 400 and seconds < 1, (status, seconds)
        assert "aliases expand to more than 100000 nodes" in message
    assert gets and all(status == 200 for status, _ in gets)
    assert max(seconds for _, seconds in gets) < 5
    assert memory_kib(pid, "VmHWM") - peak_before < 50 * 1024
    status, _, _ = raw("GET", f"{CONFIG_MAPS}/bomb")
    assert status == 404


def test_a_body_over_the_limit_is_413_before_it_is_read(api: ApiController,
                                                        raw: Raw) -> None:
    pid = api.proc.pid
    peak_before = memory_kib(pid, "VmHWM")
    big = b"a" * (50 * MiB)
    status, body, headers = raw("POST", CONFIG_MAPS, big)
    assert (status, body["reason"], body["message"]) == (
        413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
    # The rest of the body was taken in below TLS and dropped, and the connection ends: a
    # client that sends it all before reading (this one) still finds the answer.
    assert headers.get("Connection") == "close"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), MiB):
            yield big[start:start + MiB]

    status, body, _ = raw("POST", CONFIG_MAPS, chunks(), chunked=True)
    assert (status, body["reason"]) == (413, "RequestEntityTooLarge")
    # Neither body was held: the peak grew by less than one of them.
    assert memory_kib(pid, "VmHWM") - peak_before < 25 * 1024
    # Just under the limit is read, and refused for what it is (not JSON).
    status, body, _ = raw("POST", CONFIG_MAPS, b"a" * (3 * MiB - 1))
    assert status == 400 and body["message"].startswith(
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        "version/kind; json parse error: invalid character 'a' looking for beginning of value")


def test_deep_json_and_yaml_are_400(raw: Raw) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    status, body, _ = raw("POST", CONFIG_MAPS, b'{"apiVersion":"v1","kind":"ConfigMap",'
                          b'"metadata":{"name":"deep"},"data":' + deep + b"}")
    assert (status, body["message"]) == (400, (
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        'version/kind; json parse error: exceeded max depth ({"apiVersion":"v1","kind":"Con '
        "...)"))
    status, body, _ = raw("POST", CONFIG_MAPS, b"apiVersion: v1\nkind: ConfigMap\n"
                          b"metadata: {name: deep}\ndata: " + deep + b"\n", "application/yaml")
    assert status == 400 and "error converting YAML to JSON: yaml: line 4:" in body["message"]
    status, body, _ = raw("PATCH", f"{CONFIG_MAPS}/deep", b'{"data":' + deep + b"}",
                          "application/merge-patch+json")
    assert (status, body["message"]) == (400, "error decoding patch: exceeded max depth")


def test_malformed_parameters_are_400_in_upstreams_words(api: ApiController,
                                                         raw: Raw) -> None:
    def refused(path: str) -> tuple[int, str]:
        status, body, _ = raw("GET", path)
        return status, body["message"]

    assert refused("/api/v1/pods?watch=true&timeoutSeconds=abc") == \
        (400, 'strconv.ParseInt: parsing "abc": invalid syntax')
    assert refused("/api/v1/pods?timeoutSeconds=abc") == \
        (400, 'strconv.ParseInt: parsing "abc": invalid syntax')
    assert refused("/api/v1/pods?limit=ten") == \
        (400, 'strconv.ParseInt: parsing "ten": invalid syntax')
    assert refused("/api/v1/pods?continue=bogus") == \
        (400, "invalid continue token: continue key is not valid: illegal base64 data at "
              "input byte 4")
    assert refused("/api/v1/pods?resourceVersion=abc") == \
        (400, 'invalid resource version: resourceVersion: Invalid value: "abc": '
              'strconv.ParseUint: parsing "abc": invalid syntax')
    assert refused("/api/v1/pods?fieldSelector=spec.bogus%3D1") == \
        (400, "field label not supported: spec.bogus")
    assert refused("/api/v1/pods?fieldSelector=%3D%3D%3D") == \
        (400, "invalid field selector: unescaped character in value: 61")
    assert refused(f"{CONFIG_MAPS}?fieldSelector=data.a%3Db") == \
        (400, '"data.a" is not a known field selector: only "metadata.name", '
              '"metadata.namespace"')
    assert refused("/api/v1/pods?labelSelector=a%20b")[0] == 400
    assert refused("/api/v1/pods?watch=1&resourceVersion=abc") == \
        (422, 'pods "" is invalid: resourceVersion: Invalid value: "abc": strconv.ParseUint: '
              'parsing "abc": invalid syntax')
    # kubectl shows the server's refusal as its own error line.
    result = api.run("get", "pods", "--field-selector", "spec.bogus=1")
    assert result.code == 1
    assert result.err.rstrip().endswith("field label not supported: spec.bogus")
    # And what upstream accepts still works: a page and its continuation.
    for index in range(3):
        api("create", "configmap", f"page-{index}", "--from-literal=a=b")
    status, first, _ = raw("GET", f"{CONFIG_MAPS}?limit=2")
    assert status == 200 and len(first["items"]) == 2
    token = urllib.parse.quote(first["metadata"]["continue"])
    status, rest, _ = raw("GET", f"{CONFIG_MAPS}?limit=2&continue={token}")
    assert status == 200
    names = [i["metadata"]["name"] for i in first["items"] + rest["items"]]
    # The namespace's kube-root-ca.crt (the root CA publisher's) is listed too, first.
    assert [n for n in names if n != "kube-root-ca.crt"] == ["page-0", "page-1", "page-2"]
    assert "continue" not in rest["metadata"]


def test_field_validation_strict_warn_and_ignore(api: ApiController, raw: Raw,
                                                 tmp_path: Path) -> None:
    kubectl = api
    manifest = tmp_path / "unknown.yaml"
    manifest.write_text("""apiVersion: v1
kind: ConfigMap
metadata:
  name: fv
  colour: blue
data:
  a: b
spec:
  foo: 1
""")
    # kubectl's default --validate=strict sends fieldValidation=Strict.
    assert kubectl.fails("create", "-f", str(manifest)) == (
        f'Error from server (BadRequest): error when creating "{manifest}": ConfigMap in '
        'version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field '
        '"metadata.colour", unknown field "spec"\n')
    result = kubectl.run("create", "-f", str(manifest), "--validate=warn")
    assert result.code == 0 and result.out == "configmap/fv created\n"
    assert result.err == ('Warning: unknown field "metadata.colour"\n'
                          'Warning: unknown field "spec"\n')
    kubectl("delete", "configmap", "fv")
    result = kubectl.run("create", "-f", str(manifest), "--validate=false")
    assert (result.code, result.out, result.err) == (0, "configmap/fv created\n", "")
    stored = json.loads(kubectl("get", "configmap", "fv", "-o", "json"))
    assert "spec" not in stored and "colour" not in stored["metadata"]
    # A request without the parameter gets the server's default, Warn, with its header.
    status, body, headers = raw("PATCH", f"{CONFIG_MAPS}/fv", b'{"status":{"x":1}}',
                                "application/merge-patch+json")
    assert status == 200 and "status" not in body
    assert headers.get_all("Warning") == ['299 - "unknown field \\"status\\""']
    status, body, _ = raw("PATCH", f"{CONFIG_MAPS}/fv?fieldValidation=Strict",
                          b'{"status":{"x":1}}', "application/merge-patch+json")
    assert status == 422 and body["message"].endswith(
        'strict decoding error: unknown field "status"')


def test_kubectl_apply_of_an_unknown_kind_is_no_matches_for_kind(api: ApiController,
                                                                 tmp_path: Path) -> None:
    manifest = tmp_path / "foo.yaml"
    manifest.write_text("apiVersion: x/v1\nkind: Foo\nmetadata:\n  name: f\n")
    assert api.fails("apply", "-f", str(manifest)) == (
        f'error: resource mapping not found for name: "f" namespace: "" from "{manifest}": '
        'no matches for kind "Foo" in version "x/v1"\nensure CRDs are installed first\n')


def test_exec_whose_client_leaves_ends_without_a_traceback(api: ApiController,
                                                           podctl: Podctl) -> None:
    name = f"leave-{uuid.uuid4().hex[:6]}"
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: podctl/busybox:1
    command: ["sleep", "3600"]
""")
    api("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    # The client leaves while the server is busy passing output on (`yes`, bounded to 2 s:
    # Docker lets an exec'd process outlive its client). The old race showed about two
    # times in three, so three rounds.
    for _ in range(3):
        marker = f"tick{uuid.uuid4().hex[:6]}"
        client = subprocess.Popen(
            [KUBECTL, "exec", name, "--", "sh", "-c", f"yes {marker} & sleep 2; kill $!"],
            env=api.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert client.stdout is not None
        assert client.stdout.read(64 * 1024).count(marker.encode()) > 100
        client.kill()  # mid-stream
        client.wait()
        client.stdout.close()

        def loop_gone(marker: str = marker) -> bool:
            return marker not in api("exec", name, "--", "ps", "-o", "args")

        poll(loop_gone, 30, "the exec'd output to end")
    assert api("exec", name, "--", "echo", "still") == "still\n"
    assert not re.search(r"Traceback|I/O operation on closed file", api.log.read_text())
