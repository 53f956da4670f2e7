"""RBAC with the real kubectl: a user with a client certificate `podctl kubeconfig --user`
issued is refused with upstream's Forbidden line until a binding grants them `view`;
`auth can-i` and `auth whoami` answer; a role write that would escalate is refused;
impersonation needs the impersonate verb. The security figures: credentials that are
missing, wrong or another home's are 401, and every request a `view` binding must not
allow is 403."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Podctl, Result
from tests.integration.test_api_kubectl import KUBECTL, ApiController

pytestmark = pytest.mark.integration


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()


FORBIDDEN_LIST = ('Error from server (Forbidden): pods is forbidden: User "{user}" cannot '
                  'list resource "pods" in API group "" in the namespace "default"')


class User:
    """kubectl as a user of a client certificate of the API's home."""

    def __init__(self, podctl: Podctl, api: ApiController, name: str, *groups: str) -> None:
        self.api, self.name = api, name
        args = ["kubeconfig", "--user", name, *(f"--group={g}" for g in groups)]
        self.kubeconfig = podctl.tmp / f"kubeconfig-{name}-{uuid.uuid4().hex[:6]}"
        self.kubeconfig.write_text(podctl(*args))

    def run(self, *args: str) -> Result:
        return self.api.run(*args, env={"KUBECONFIG": str(self.kubeconfig)})

    def __call__(self, *args: str) -> str:
        result = self.run(*args)
        assert result.code == 0, f"kubectl {' '.join(args)} as {self.name}\n{result}"
        return result.out

    def ssl_context(self) -> ssl.SSLContext:
        import base64

        config = yaml.safe_load(self.kubeconfig.read_text())
        context = self.api.ca_context()
        user = config["users"][0]["user"]
        cert, key = self.kubeconfig.with_suffix(".crt"), self.kubeconfig.with_suffix(".key")
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        context.load_cert_chain(cert, key)
        return context


def status(api: ApiController, method: str, path: str, context: ssl.SSLContext | None = None,
           token: str | None = None, body: Any = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{api.url}{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context or api.ca_context(),
                                    timeout=20) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_user_is_forbidden_until_a_binding_to_view(podctl: Podctl,
                                                     api: ApiController) -> None:
    alice = User(podctl, api, "alice", "dev")
    assert alice("auth", "whoami").split() == ["ATTRIBUTE", "VALUE", "Username", "alice",
                                               "Groups", "[dev", "system:authenticated]"]
    refused = alice.run("get", "pods")
    assert refused.code == 1 and refused.err.strip() == FORBIDDEN_LIST.format(user="alice")
    assert alice.run("auth", "can-i", "list", "pods").out == "no\n"
    assert api.run("auth", "can-i", "list", "pods", "--as=alice").out == "no\n"
    assert api("create", "rolebinding", "alice-view", "--clusterrole=view", "--user=alice") \
        == "rolebinding.rbac.authorization.k8s.io/alice-view created\n"
    assert alice("auth", "can-i", "list", "pods") == "yes\n"
    assert api("auth", "can-i", "list", "pods", "--as=alice") == "yes\n"
    assert alice("get", "pods") == ""  # "No resources found" goes to stderr
    assert alice.run("get", "pods", "-n", "kube-system").code == 1
    assert alice.run("auth", "can-i", "create", "pods").out == "no\n"
    listed = alice("auth", "can-i", "--list")
    assert "pods" in listed and "[get list watch]" in listed
    wide = api("get", "rolebindings", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert wide[1].split()[:2] == ["alice-view", "ClusterRole/view"]
    assert wide[1].split()[3] == "alice"


def test_a_service_accounts_can_i_follows_its_binding(podctl: Podctl,
                                                      api: ApiController) -> None:
    sa = "system:serviceaccount:default:default"
    assert api.run("auth", "can-i", "list", "pods", f"--as={sa}").out == "no\n"
    refused = api.run("get", "pods", f"--as={sa}")
    assert refused.err.strip() == FORBIDDEN_LIST.format(user=sa)
    api("create", "rolebinding", "sa-view", "--clusterrole=view",
        "--serviceaccount=default:default")
    assert api("auth", "can-i", "list", "pods", f"--as={sa}") == "yes\n"
    assert api("get", "rolebinding", "sa-view", "-o", "wide").splitlines()[1].split()[-1] \
        == "default/default"


def test_a_role_write_that_would_escalate_is_refused(podctl: Podctl,
                                                     api: ApiController) -> None:
    bob = User(podctl, api, "bob")
    api("create", "rolebinding", "bob-admin", "--clusterrole=admin", "--user=bob")
    assert bob("create", "role", "readers", "--verb=get,list", "--resource=pods") == \
        "role.rbac.authorization.k8s.io/readers created\n"
    refused = bob.run("create", "role", "nodes", "--verb=get", "--resource=nodes")
    assert refused.code == 1
    assert refused.err.strip() == (
        'Error from server (Forbidden): roles.rbac.authorization.k8s.io "nodes" is forbidden: '
        'user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions '
        'not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}')
    refused = bob.run("create", "rolebinding", "root", "--clusterrole=cluster-admin",
                      "--user=bob")
    assert refused.code == 1 and "is attempting to grant RBAC permissions not currently " \
        "held:\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}" in refused.err
    # Binding what one holds is allowed.
    assert bob("create", "rolebinding", "readers", "--role=readers", "--user=carol") == \
        "rolebinding.rbac.authorization.k8s.io/readers created\n"


def test_impersonation_needs_the_impersonate_verb(podctl: Podctl,
                                                  api: ApiController) -> None:
    alice = User(podctl, api, "alice")
    # Discovery as bob is refused too; kubectl then says only "Forbidden: unknown", as it
    # does with any cluster. With its discovery cached (as alice), the refusal is named.
    assert alice.run("get", "pods").code == 1
    refused = alice.run("get", "pods", "--as=bob")
    assert refused.err.strip() == (
        'Error from server (Forbidden): users "bob" is forbidden: User "alice" cannot '
        'impersonate resource "users" in API group "" at the cluster scope')
    # The admin may impersonate anyone, and is then only who they impersonate.
    assert api.run("get", "pods", "--as=alice").err.strip() == \
        FORBIDDEN_LIST.format(user="alice")
    whoami = api("auth", "whoami", "--as=alice", "--as-group=team").split()
    assert whoami == ["ATTRIBUTE", "VALUE", "Username", "alice", "Groups",
                      "[team", "system:authenticated]"]
    api("create", "clusterrole", "impersonator", "--verb=impersonate", "--resource=users",
        "--resource-name=bob")
    api("create", "clusterrolebinding", "alice-impersonates", "--clusterrole=impersonator",
        "--user=alice")
    assert alice("auth", "whoami", "--as=bob").split()[3] == "bob"


# Every request a `view` binding in `default` must not allow: writes of every verb, secrets,
# exec, other namespaces, the cluster scope, RBAC itself, impersonation.
VIEW_REFUSES = [
    *((method, f"/api/v1/namespaces/default/{resource}{suffix}")
      for resource in ("pods", "configmaps", "services", "secrets", "serviceaccounts")
      for method, suffix in (("POST", ""), ("PUT", "/x"), ("PATCH", "/x"), ("DELETE", "/x"),
                             ("DELETE", ""))),
    *((method, f"/apis/apps/v1/namespaces/default/{resource}{suffix}")
      for resource in ("deployments", "replicasets", "daemonsets")
      for method, suffix in (("POST", ""), ("PUT", "/x"), ("PATCH", "/x"), ("DELETE", "/x"))),
    ("PUT", "/apis/apps/v1/namespaces/default/deployments/x/scale"),
    ("POST", "/apis/batch/v1/namespaces/default/jobs"),
    ("GET", "/api/v1/namespaces/default/secrets"),
    ("GET", "/api/v1/namespaces/default/secrets/x"),
    ("POST", "/api/v1/namespaces/default/pods/x/exec"),
    ("POST", "/api/v1/namespaces/default/pods/x/eviction"),
    ("PUT", "/api/v1/namespaces/default/pods/x/status"),
    ("GET", "/api/v1/namespaces/kube-system/pods"),
    ("GET", "/api/v1/pods"),
    ("GET", "/api/v1/nodes"),
    ("DELETE", "/api/v1/namespaces/default"),
    ("POST", "/api/v1/namespaces"),
    ("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"),
    ("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings"),
    ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
    ("GET", "/metrics"),
]


def test_security_figures(podctl: Podctl, api: ApiController, tmp_path: Path) -> None:
    pods = "/api/v1/namespaces/default/pods"
    assert status(api, "GET", pods) == 401
    assert status(api, "GET", pods, token="not-the-token") == 401
    other = Podctl(tmp_path / "other-home", tmp_path)
    other_token = yaml.safe_load(other("kubeconfig"))["users"][0]["user"]["token"]
    assert status(api, "GET", pods, token=other_token) == 401
    viewer = User(podctl, api, "viewer")
    api("create", "rolebinding", "viewer", "--clusterrole=view", "--user=viewer")
    context = viewer.ssl_context()
    assert status(api, "GET", pods, context) == 200
    codes = {f"{method} {path}": status(api, method, path, context, body={})
             for method, path in VIEW_REFUSES}
    assert set(codes.values()) == {403}, codes
    assert len(codes) == 53


def test_aggregation_watch_and_updates_that_escalate(podctl: Podctl,
                                                     api: ApiController) -> None:
    dana = User(podctl, api, "dana")
    api("create", "rolebinding", "dana-view", "--clusterrole=view", "--user=dana")
    assert dana.run("get", "secrets").code == 1
    # A ClusterRole labelled to aggregate into view: the aggregation controller adds its
    # rules to view, and so to every binding of view.
    api("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "secret-view", "labels": {
            "rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}))
    deadline = time.monotonic() + 30
    while dana.run("get", "secrets").code != 0:
        assert time.monotonic() < deadline, "view never aggregated secret-view's rules"
        time.sleep(0.2)
    rules = json.loads(api("get", "clusterrole", "view", "-o", "json"))["rules"]
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]} in rules
    # A watch as the user sees what the admin makes.
    watch = subprocess.Popen([KUBECTL, "get", "configmaps", "-w", "--no-headers"],
                             env={**api.env, "KUBECONFIG": str(dana.kubeconfig)},
                             stdout=subprocess.PIPE, text=True)
    try:
        assert watch.stdout is not None
        lines = iter(watch.stdout.readline, "")
        api("create", "configmap", "listed")
        # Listed first (the watch's initial list, or its first event), then only an event.
        assert any(line.startswith("listed ") for line in lines)
        api("create", "configmap", "seen")
        assert any(line.startswith("seen ") for line in lines)
    finally:
        watch.kill()
        watch.wait()
    # An update that would grant more than the writer holds is refused as a create is.
    erin = User(podctl, api, "erin")
    api("create", "rolebinding", "erin-admin", "--clusterrole=admin", "--user=erin")
    erin("create", "role", "r", "--verb=get", "--resource=pods")
    refused = erin.run("patch", "role", "r", "--type=json", "-p",
                       '[{"op": "add", "path": "/rules/-", "value": {"apiGroups": [""], '
                       '"resources": ["nodes"], "verbs": ["list"]}}]')
    assert refused.code == 1 and 'roles.rbac.authorization.k8s.io "r" is forbidden: user ' \
        '"erin"' in refused.err and 'Resources:["nodes"], Verbs:["list"]' in refused.err
