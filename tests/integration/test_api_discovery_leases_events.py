"""The API's odds and ends of issue 24 with the real kubectl: aggregated discovery (one
request each for /api and /apis), Leases written as leader election writes them, and the
events.k8s.io/v1 view of the core Events."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import KUBECTL, ApiController, poll

pytestmark = pytest.mark.integration


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()


def test_kubectl_discovers_everything_in_two_requests(api: ApiController) -> None:
    # A fresh HOME: an empty discovery cache, as at the first command of a day.
    result = api.run("api-resources", "-v=6")
    assert result.code == 0, str(result)
    urls = re.findall(r'"Response" verb="GET" url="https://[^/]+(/[^"?]*)', result.err)
    assert urls == ["/api", "/apis"], result.err
    rows = {(line.split()[0], line.split()[-3]) for line in result.out.splitlines()[1:]}
    assert {("pods", "v1"), ("deployments", "apps/v1"), ("events", "events.k8s.io/v1"),
            ("leases", "coordination.k8s.io/v1")} <= rows
    # Clients without it get the per-group-version documents, as before.
    plain = json.loads(api("get", "--raw", "/apis"))
    assert plain["kind"] == "APIGroupList"


def test_leases_are_written_as_leader_election_writes_them(podctl: Podctl,
                                                           api: ApiController) -> None:
    name = f"lock-{uuid.uuid4().hex[:6]}"
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": name},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                      "acquireTime": "2026-12-06T17:50:00.000000Z",
                      "renewTime": "2026-12-06T17:50:00.000000Z", "leaseTransitions": 0}}
    assert api("create", "-f", "-", input=json.dumps(lease)) == \
        f"lease.coordination.k8s.io/{name} created\n"
    held = json.loads(api("get", "lease", name, "-o", "json"))
    # A renewal carries the resourceVersion it read; a stale one loses (409).
    renewed = {**held, "spec": {**held["spec"], "renewTime": "2026-12-06T17:50:05.000000Z"}}
    api("replace", "-f", "-", input=json.dumps(renewed))
    refused = api.fails("replace", "-f", "-", input=json.dumps(
        {**held, "spec": {**held["spec"], "holderIdentity": "b"}}))
    assert refused.startswith("Error from server (Conflict): error when replacing "), refused
    api("patch", "lease", name, "--type=merge",
        "-p", '{"spec": {"holderIdentity": "b", "leaseTransitions": 1}}')
    assert api("get", "lease", name, "-o", "jsonpath={.spec.holderIdentity}") == "b"
    assert podctl("get", "lease", name, "-o", "jsonpath={.spec.leaseTransitions}") == "1"
    assert api.fails("patch", "lease", name, "--type=merge",
                     "-p", '{"spec": {"leaseDurationSeconds": 0}}') == (
        f'The Lease "{name}" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must '
        "be greater than 0\n")
    assert api("delete", "lease", name) == \
        f'lease.coordination.k8s.io "{name}" deleted from default namespace\n'


def test_events_k8s_io_shows_the_core_events(podctl: Podctl, api: ApiController) -> None:
    watch = subprocess.Popen([KUBECTL, "get", "events.events.k8s.io", "-w", "--watch-only",
                              "-o", "json"], env=api.env, stdout=subprocess.PIPE, text=True)
    try:
        name = f"ev-{uuid.uuid4().hex[:6]}"
        api("run", name, "--image=podctl/busybox:1", "--", "sleep", "3600")

        def scheduled() -> dict[str, object] | None:
            events = json.loads(api("get", "events.v1.events.k8s.io", "-o", "json"))["items"]
            return next((e for e in events if e["reason"] == "Scheduled"
                         and e["regarding"]["name"] == name), None)

        event = poll(scheduled, message="the Scheduled event")
        assert event["apiVersion"] == "events.k8s.io/v1"
        assert event["note"] == f"Successfully assigned default/{name} to " \
            f"{podctl.pod_json(name)['spec']['nodeName']}"
        assert event["deprecatedSource"] == {"component": "default-scheduler"}
        assert "involvedObject" not in event and "message" not in event
        core = json.loads(api("get", "event", event["metadata"]["name"], "-o", "json"))
        assert (core["apiVersion"], core["message"]) == ("v1", event["note"])
        assert api("get", "events.events.k8s.io", event["metadata"]["name"], "-o",
                   "jsonpath={.regarding.kind}") == "Pod"
        refused = api.fails("create", "-f", "-", input=json.dumps({
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "mine"},
            "eventTime": "2026-12-06T17:50:00.000000Z", "reportingController": "x.io/c",
            "reportingInstance": "i", "action": "A", "reason": "R", "type": "Normal"}))
        assert refused == ('Error from server (MethodNotAllowed): error when creating '
                           '"STDIN": podctl records events itself; they cannot be written '
                           "through the API\n")
    finally:
        watch.terminate()
        out, _ = watch.communicate(timeout=10)
    watched = json.loads("[" + re.sub(r"}\s*{", "},{", out.strip()) + "]") if out.strip() \
        else []
    assert any(e["apiVersion"] == "events.k8s.io/v1" and e["regarding"]["name"] == name
               for e in watched), out[-2000:]
