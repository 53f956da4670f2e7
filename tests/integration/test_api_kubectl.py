"""The real kubectl and the Python client against `run-controller --api`: one store, so what
kubectl makes podctl sees at once, and the other way round."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import PODCTL, Podctl, Result

pytestmark = pytest.mark.integration

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
SERVING = re.compile(r"serving the Kubernetes API at (\S+)")


class ApiController:
    """`podctl run-controller --api=127.0.0.1:0` (any free port) with a kubeconfig for it."""

    def __init__(self, podctl: Podctl, *extra: str) -> None:
        self.podctl = podctl
        self.log = podctl.tmp / f"api-controller-{uuid.uuid4().hex[:6]}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [PODCTL, "run-controller", "--api=127.0.0.1:0", *extra],
                env=podctl.env, stdout=subprocess.DEVNULL, stderr=log)
        self.url = self._wait_url()
        self.kubeconfig = podctl.tmp / "kubeconfig"
        self.kubeconfig.write_text(podctl("kubeconfig"))
        # Its own HOME: kubectl's discovery cache stays with this test.
        self.env = {**podctl.env, "KUBECONFIG": str(self.kubeconfig), "HOME": str(podctl.tmp)}

    def _wait_url(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = SERVING.search(self.log.read_text())
            if found:
                return found.group(1)
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError(f"the API never came up:\n{self.log.read_text()}")

    def run(self, *args: str, input: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 90) -> Result:
        proc = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True,
                              timeout=timeout, env={**self.env, **(env or {})})
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def __call__(self, *args: str, input: str | None = None,
                 env: dict[str, str] | None = None, timeout: float = 90) -> str:
        result = self.run(*args, input=input, env=env, timeout=timeout)
        assert result.code == 0, (f"kubectl {' '.join(args)}\n{result}\nserver log:\n"
                                  f"{self.log.read_text()[-3000:]}")
        return result.out

    def fails(self, *args: str, input: str | None = None) -> str:
        """Run expecting failure; kubectl's stderr."""
        result = self.run(*args, input=input)
        assert result.code != 0, f"kubectl {' '.join(args)} should fail\n{result}"
        return result.err

    def ca_context(self) -> ssl.SSLContext:
        config = yaml.safe_load(self.kubeconfig.read_text())
        import base64

        ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
        return ssl.create_default_context(cadata=ca.decode())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()


def poll(check: Any, timeout: float = 60, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.2)


def test_kubectl_pod_walkthrough(podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    assert kubectl("create", "-f", str(MANIFESTS / "kubia-manual.yaml")) == \
        "pod/kubia-manual created\n"
    assert kubectl("wait", "--for=condition=Ready", "pod/kubia-manual", "--timeout=60s") == \
        "pod/kubia-manual condition met\n"
    # One store: podctl sees kubectl's pod, with the same uid and resourceVersion.
    mine = podctl.pod_json("kubia-manual")
    theirs = json.loads(kubectl("get", "pod", "kubia-manual", "-o", "json"))
    assert theirs["kind"] == "Pod" and theirs["apiVersion"] == "v1"
    assert theirs["metadata"]["uid"] == mine["metadata"]["uid"]
    assert theirs["metadata"]["resourceVersion"] == mine["metadata"]["resourceVersion"]
    assert theirs["status"]["phase"] == "Running"
    assert yaml.safe_load(kubectl("get", "po", "kubia-manual", "-o", "yaml"))["spec"][
        "containers"][0]["image"] == "podctl/kubia:1"
    assert kubectl("get", "po", "kubia-manual", "-o", "jsonpath={.status.phase}") == "Running"
    assert kubectl("get", "pods", "-o",
                   "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image") == \
        "NAME           IMAGE\nkubia-manual   podctl/kubia:1\n"
    wide = kubectl("get", "pods", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                               "NOMINATED", "NODE", "READINESS", "GATES"]
    assert wide[1].split()[:4] == ["kubia-manual", "1/1", "Running", "0"]
    assert wide[1].split()[5] == mine["status"]["podIP"]

    # `kubectl get pods` prints podctl's table (retried only across a change of AGE).
    def same_table() -> bool:
        return bool(kubectl("get", "pods") == podctl("get", "pods"))

    poll(same_table, 10, "kubectl and podctl to print the same table")

    assert kubectl("label", "pod", "kubia-manual", "env=dev") == "pod/kubia-manual labeled\n"
    assert kubectl.fails("label", "pod", "kubia-manual", "env=prod") == \
        "error: 'env' already has a value (dev), and --overwrite is false\n"
    assert kubectl("label", "pod", "kubia-manual", "env=prod", "--overwrite") == \
        "pod/kubia-manual labeled\n"
    assert kubectl("get", "po", "-l", "env=prod", "-o", "name") == "pod/kubia-manual\n"
    assert kubectl("get", "po", "-l", "env=dev", "-o", "name") == ""
    assert podctl("get", "po", "kubia-manual", "-o",
                  "jsonpath={.metadata.labels.env}") == "prod"
    assert kubectl("annotate", "pod", "kubia-manual", "example.com/owner=me") == \
        "pod/kubia-manual annotated\n"
    assert podctl("get", "po", "kubia-manual", "-o", "jsonpath={.metadata.annotations}") == \
        '{"example.com/owner":"me"}'

    described = kubectl("describe", "pod", "kubia-manual")
    # (The column's width follows the longest label: the token volume's lines.)
    words = [" ".join(line.split()) for line in described.splitlines()]
    for line in ("Name: kubia-manual", "Namespace: default", "Status: Running",
                 "Labels: env=prod", "Image: podctl/kubia:1", "Events:",
                 "Service Account: default", "TokenExpirationSeconds: 3607",
                 "ConfigMapName: kube-root-ca.crt", "DownwardAPI: true"):
        assert line in words, described
    assert re.search(r"Normal\s+Started\s+\S+\s+kubelet\s+.*Started container kubia",
                     described), described

    # The API server's errors, as kubectl prints them against a real cluster.
    assert kubectl.fails("get", "pod", "nosuch") == \
        'Error from server (NotFound): pods "nosuch" not found\n'
    manifest = str(MANIFESTS / "kubia-manual.yaml")
    assert kubectl.fails("create", "-f", manifest) == (
        f'Error from server (AlreadyExists): error when creating "{manifest}": pods '
        '"kubia-manual" already exists\n')
    bad = podctl.tmp / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n"
                   "  containers:\n  - name: a\n")
    assert kubectl.fails("create", "-f", str(bad)) == \
        'The Pod "bad" is invalid: spec.containers[0].image: Required value\n'
    stale = podctl.tmp / "stale.yaml"
    stale.write_text(kubectl("get", "pod", "kubia-manual", "-o", "yaml"))
    kubectl("label", "pod", "kubia-manual", "moved=on")
    assert kubectl.fails("replace", "-f", str(stale)) == (
        f'Error from server (Conflict): error when replacing "{stale}": Operation cannot be '
        'fulfilled on pods "kubia-manual": the object has been modified; please apply your '
        "changes to the latest version and try again\n")

    explained = kubectl("explain", "pods.spec")
    assert explained.startswith("KIND:       Pod\nVERSION:    v1\n\nFIELD: spec <PodSpec>")
    assert "  containers\t<[]Container> -required-" in explained

    assert kubectl("delete", "pod", "kubia-manual", "--grace-period=1") == \
        'pod "kubia-manual" deleted from default namespace\n'
    assert podctl.run("get", "pod", "kubia-manual").code != 0


def test_kubectl_apply_edit_watch_and_rc(podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    manifest = MANIFESTS / "kubia-manual-with-labels.yaml"
    assert kubectl("apply", "-f", str(manifest)) == "pod/kubia-manual-v2 created\n"
    assert kubectl("apply", "-f", str(manifest)) == "pod/kubia-manual-v2 unchanged\n"
    changed = podctl.tmp / "changed.yaml"
    changed.write_text(manifest.read_text().replace("env: prod", "env: staging"))
    assert kubectl("apply", "-f", str(changed)) == "pod/kubia-manual-v2 configured\n"
    assert podctl("get", "po", "kubia-manual-v2", "-o",
                  "jsonpath={.metadata.labels.env}") == "staging"
    editor = podctl.tmp / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/env: staging/env: edited/' \"$1\"\n")
    editor.chmod(0o755)
    assert kubectl("edit", "pod", "kubia-manual-v2", env={"EDITOR": str(editor)}) == \
        "pod/kubia-manual-v2 edited\n"
    assert podctl("get", "po", "kubia-manual-v2", "-o",
                  "jsonpath={.metadata.labels.env}") == "edited"

    # get -w: a pod podctl creates shows up in kubectl's watch (the store's notifications).
    watch = subprocess.Popen([KUBECTL, "get", "pods", "-w"], env=api.env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in watch.stdout or []],
                              daemon=True)
    reader.start()
    try:
        header = lines.get(timeout=30)
        assert header.split()[:3] == ["NAME", "READY", "STATUS"], header
        assert lines.get(timeout=30).startswith("kubia-manual-v2 ")
        podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
        seen = []
        deadline = time.monotonic() + 60
        while not any(line.startswith("kubia-manual ") and "Running" in line for line in seen):
            assert time.monotonic() < deadline, seen
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
    finally:
        os.kill(watch.pid, 15)
        watch.wait(timeout=10)

    assert kubectl("create", "-f", str(MANIFESTS / "kubia-rc.yaml")) == \
        "replicationcontroller/kubia created\n"

    def ready_replicas() -> int:
        return int(kubectl("get", "rc", "kubia", "-o", "jsonpath={.status.readyReplicas}")
                   or 0)

    poll(lambda: ready_replicas() == 3, 90, "three ready replicas")
    described = kubectl("describe", "rc", "kubia")
    assert "Replicas:     3 current / 3 desired" in described, described
    assert "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert kubectl("scale", "rc", "kubia", "--replicas=2") == \
        "replicationcontroller/kubia scaled\n"
    poll(lambda: len(podctl("get", "po", "-l", "app=kubia", "-o", "name").split()) == 2, 60,
         "the RC to scale down")
    assert kubectl("delete", "rc", "kubia", "--cascade=orphan") == \
        'replicationcontroller "kubia" deleted from default namespace\n'
    assert podctl.run("get", "rc", "kubia").code != 0
    orphans = json.loads(kubectl("get", "pods", "-l", "app=kubia", "-o", "json"))["items"]
    assert len(orphans) == 2
    assert all(not pod["metadata"].get("ownerReferences") for pod in orphans)


def test_python_client_lists_and_watches_pods(podctl: Podctl, api: ApiController) -> None:
    from kubernetes import client, config, watch

    config.load_kube_config(config_file=str(api.kubeconfig))
    core = client.CoreV1Api()
    assert core.list_namespaced_pod("default").items == []
    events: queue.Queue[tuple[str, str]] = queue.Queue()
    watcher = watch.Watch()

    def follow() -> None:
        # The server ends the watch after timeout_seconds: the thread ends with it.
        for event in watcher.stream(core.list_namespaced_pod, "default", timeout_seconds=5):
            events.put((event["type"], event["object"].metadata.name))

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    assert events.get(timeout=30) == ("ADDED", "kubia-manual")
    follower.join(timeout=30)
    assert not follower.is_alive()
    assert [p.metadata.name for p in core.list_namespaced_pod("default").items] == [
        "kubia-manual"]
    assert core.read_namespaced_pod("kubia-manual", "default").spec.containers[0].image == \
        "podctl/kubia:1"


def test_every_request_needs_the_homes_token(podctl: Podctl, api: ApiController,
                                             tmp_path: Path) -> None:
    context = api.ca_context()

    def status(token: str | None) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{api.url}/api/v1/namespaces/default/pods")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    code, body = status(None)
    assert (code, body["kind"], body["reason"]) == (401, "Status", "Unauthorized")
    # Another home's token (another server's) is refused too.
    other = Podctl(tmp_path / "other-home", tmp_path)
    other_token = yaml.safe_load(other("kubeconfig"))["users"][0]["user"]["token"]
    assert status(other_token)[0] == 401
    mine = yaml.safe_load(api.kubeconfig.read_text())["users"][0]["user"]["token"]
    assert other_token != mine
    code, body = status(mine)
    assert (code, body["kind"]) == (200, "PodList")
    wrong = api.run("get", "pods", "--token", other_token)
    assert wrong.code == 1
    # What kubectl 1.37 prints when a cluster refuses its credentials at discovery.
    assert wrong.err.endswith("error: You must be logged in to the server (the server has "
                              "asked for the client to provide credentials)\n")


def test_a_non_loopback_bind_needs_tls(podctl: Podctl) -> None:
    result = podctl.run("run-controller", "--api=0.0.0.0:0", "--api-no-tls", timeout=30)
    assert result.code == 1
    assert result.err == ("error: refusing to serve the API on 0.0.0.0 without TLS: only a "
                          "loopback address may go without it (drop --api-no-tls)\n")


LOGGER = """apiVersion: v1
kind: Pod
metadata:
  name: logger
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: count
    image: podctl/busybox:1
    command: ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"]
  - name: crash
    image: podctl/busybox:1
    command: ["sh", "-c", "echo attempt; sleep 1; exit 3"]
"""


def test_kubectl_logs_follow_tail_and_previous(podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    assert kubectl("create", "-f", "-", input=LOGGER) == "pod/logger created\n"
    # Until the container runs, kubectl logs fails (waiting to start): polled.
    poll(lambda: "line 12" in kubectl.run("logs", "logger", "-c", "count").out, 60,
         "log lines")
    last = kubectl("logs", "logger", "-c", "count", "--tail=1").splitlines()
    assert len(last) == 1 and last[0].startswith("line ")
    stamped = kubectl("logs", "logger", "-c", "count", "--tail=2", "--timestamps").splitlines()
    assert len(stamped) == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+", stamped[0])
    # --since: only what came within the last second (a line every 0.2 s; 13 so far).
    assert 1 <= len(kubectl("logs", "logger", "-c", "count", "--since=1s").splitlines()) <= 8
    defaulted = kubectl.run("logs", "logger", "--tail=1")
    assert defaulted.code == 0 and defaulted.out.startswith("line ")
    assert defaulted.err == 'Defaulted container "count" out of: count, crash\n'
    follow = subprocess.Popen([KUBECTL, "logs", "-f", "logger", "-c", "count"], env=api.env,
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert follow.stdout is not None
        first = int(follow.stdout.readline().split()[1])
        # Lines keep coming after the ones already written: the stream follows.
        later = [follow.stdout.readline() for _ in range(10)]
        assert [int(line.split()[1]) for line in later] == list(range(first + 1, first + 11))
    finally:
        os.kill(follow.pid, 15)
        follow.wait(timeout=10)
    restarts = 'jsonpath={.status.containerStatuses[?(@.name=="crash")].restartCount}'
    poll(lambda: kubectl("get", "pod", "logger", "-o", restarts) not in ("", "0"), 60,
         "the crashing container to restart")
    assert kubectl("logs", "logger", "-c", "crash", "--previous") == "attempt\n"
    assert kubectl.fails("logs", "logger", "-c", "count", "--previous") == (
        'Error from server (BadRequest): previous terminated container "count" in pod '
        '"logger" not found\n')


def test_kubectl_typed_create_commands(podctl: Podctl, api: ApiController) -> None:
    """These kubectl commands send protobuf bodies."""
    kubectl = api
    assert kubectl("create", "namespace", "team") == "namespace/team created\n"
    assert kubectl("create", "configmap", "cfg", "-n", "team", "--from-literal=a=b") == \
        "configmap/cfg created\n"
    assert kubectl("create", "secret", "generic", "sec", "-n", "team",
                   "--from-literal=pw=s3cret") == "secret/sec created\n"
    assert podctl("get", "cm", "cfg", "-n", "team", "-o", "jsonpath={.data.a}") == "b"
    assert podctl("get", "secret", "sec", "-n", "team", "-o", "jsonpath={.data.pw}") == \
        "czNjcmV0"
    events = subprocess.Popen([KUBECTL, "get", "events", "-n", "team", "-w", "--watch-only"],
                              env=api.env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in events.stdout or []],
                     daemon=True).start()
    assert kubectl("create", "deployment", "web", "-n", "team", "--image=podctl/kubia:1") == \
        "deployment.apps/web created\n"
    try:
        # The events of the rollout reach the watch (a table of their own, no store write).
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while not any(re.search(r"Normal\s+Started\s+pod/web-", line) for line in seen):
            assert time.monotonic() < deadline, seen
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
    finally:
        os.kill(events.pid, 15)
        events.wait(timeout=10)
    assert kubectl("rollout", "status", "deploy/web", "-n", "team", "--timeout=90s").endswith(
        'deployment "web" successfully rolled out\n')
    assert podctl("get", "deploy", "web", "-n", "team", "-o",
                  "jsonpath={.spec.strategy.type}") == "RollingUpdate"


def test_kubectl_create_ingress_get_and_describe_agree(podctl: Podctl) -> None:
    """`kubectl create ingress` sends protobuf (an IngressRule's value is inlined in JSON);
    the default class is given; kubectl's own describe and podctl's print the same."""
    ports = []
    for _ in range(2):  # the proxy's ports: free ones, this test is not alone on the machine
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    api = ApiController(podctl, f"--ingress-http-port={ports[0]}",
                        f"--ingress-https-port={ports[1]}")
    try:
        assert api("create", "ingress", "simple", "--rule=foo.com/bar*=svc1:8080,tls=my-cert",
                   "--rule=bar.com/=svc2:http") == "ingress.networking.k8s.io/simple created\n"
        rows = [line.split() for line in api("get", "ing").splitlines()]
        assert rows[0] == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
        assert rows[1][:5] == ["simple", "nginx", "foo.com,bar.com", "80,", "443"]
        stored = json.loads(podctl("get", "ing", "simple", "-o", "json"))["spec"]
        assert stored["rules"][1]["http"]["paths"][0] == {
            "path": "/", "pathType": "Exact",
            "backend": {"service": {"name": "svc2", "port": {"name": "http"}}}}
        # Once the proxy serves it (ADDRESS localhost), the Ingress no longer changes.
        poll(lambda: "localhost" in podctl("get", "ing", "simple"), timeout=60,
             message="the Ingress published")
        assert api("describe", "ing", "simple") == podctl("describe", "ing", "simple")
        assert api("get", "ingressclass").splitlines()[1].split()[:3] == [
            "nginx", "k8s.io/ingress-nginx", "<none>"]
    finally:
        api.stop()


def test_a_standby_controller_serves_the_api(podctl: Podctl, controller: Any) -> None:
    """The leader acts on what a standby's API stores."""
    leader = controller()
    leader.wait_log("controller active")
    standby = ApiController(podctl)
    try:
        assert "waiting as standby" in poll(lambda: (
            text if "waiting as standby" in (text := standby.log.read_text()) else ""), 30,
            "the API controller to wait as standby")
        assert standby("create", "-f", str(MANIFESTS / "kubia-manual.yaml")) == \
            "pod/kubia-manual created\n"
        assert standby("wait", "--for=condition=Ready", "pod/kubia-manual",
                       "--timeout=60s") == "pod/kubia-manual condition met\n"
        assert "kubia-manual" in podctl("get", "pods")
    finally:
        standby.stop()


SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _in_cluster_pod(name: str, *extra: str) -> str:
    """A busybox pod with the real kubectl binary mounted read-only from the host."""
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{''.join(f'  {line}{chr(10)}' for line in extra)}  containers:
  - name: main
    image: podctl/busybox:1
    command: ["sleep", "3600"]
    volumeMounts:
    - name: kubectl
      mountPath: /kubectl
      readOnly: true
  volumes:
  - name: kubectl
    hostPath:
      path: {os.path.realpath(shutil.which(KUBECTL) or KUBECTL)}
      type: File
"""


def test_kubectl_inside_a_pod_uses_its_service_account(podctl: Podctl,
                                                        api: ApiController) -> None:
    """The default account, the token files, and the real kubectl run in-cluster with no
    configuration: KUBERNETES_SERVICE_HOST/PORT, the mounted token and ca.crt, TLS to the
    kubernetes Service's cluster IP through the data plane."""
    poll(lambda: "default" in api("get", "sa"), message="the default ServiceAccount")
    assert podctl("get", "sa").splitlines()[1].split()[:2] == ["default", "0"]
    # The system namespaces are there from the start, as a cluster's, each with its account
    # and its root CA, before anything is made in them.
    assert {"namespace/default", "namespace/kube-node-lease", "namespace/kube-public",
            "namespace/kube-system"} <= set(api("get", "ns", "-o", "name").split())
    for namespace in ("kube-public", "kube-system"):
        poll(lambda ns=namespace: "kube-root-ca.crt" in api("get", "cm", "-n", ns)
             and "default" in api("get", "sa", "-n", ns), message=f"{namespace}'s objects")
    podctl.apply_yaml(_in_cluster_pod("incluster"))
    podctl.apply_yaml(_in_cluster_pod("quiet", "automountServiceAccountToken: false"))
    for name in ("incluster", "quiet"):
        assert api("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    files = podctl("exec", "incluster", "--", "ls", SA_DIR).split()
    assert files == ["ca.crt", "namespace", "token"]
    assert podctl("exec", "incluster", "--", "cat", f"{SA_DIR}/namespace") == "default"
    ca = json.loads(api("get", "cm", "kube-root-ca.crt", "-o", "json"))["data"]["ca.crt"]
    assert podctl("exec", "incluster", "--", "cat", f"{SA_DIR}/ca.crt") == ca
    token = podctl("exec", "incluster", "--", "cat", f"{SA_DIR}/token")
    reviewed = json.loads(api("create", "-o", "json", "-f", "-", input=json.dumps({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": token}})))["status"]
    assert reviewed["user"]["username"] == "system:serviceaccount:default:default"
    assert reviewed["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["incluster"]
    assert podctl.run("exec", "quiet", "--", "ls", SA_DIR).code != 0
    env = podctl("exec", "incluster", "--", "env")
    service = json.loads(api("get", "svc", "kubernetes", "-o", "json"))["spec"]
    assert f"KUBERNETES_SERVICE_HOST={service['clusterIP']}" in env.splitlines()
    assert "KUBERNETES_SERVICE_PORT=443" in env.splitlines()
    # The real kubectl, in the pod, with no kubeconfig: in-cluster config. Its account may
    # do nothing yet (RBAC), then lists pods once bound to `view`.
    refused = poll(lambda: (r := podctl.run("exec", "incluster", "--", "/kubectl", "get",
                                            "pods")).code != 0 and "Forbidden" in r.err
                   and r.err, timeout=60, message="kubectl in the pod to be refused")
    assert refused.splitlines()[0] == (
        'Error from server (Forbidden): pods is forbidden: User '
        '"system:serviceaccount:default:default" cannot list resource "pods" in API group "" '
        'in the namespace "default"')
    assert api("create", "rolebinding", "sa-view", "--clusterrole=view",
               "--serviceaccount=default:default") == \
        "rolebinding.rbac.authorization.k8s.io/sa-view created\n"
    listed = poll(lambda: (r := podctl.run("exec", "incluster", "--", "/kubectl", "get",
                                           "pods")).code == 0 and r.out, timeout=60,
                  message="kubectl in the pod to list pods")
    names = [line.split()[0] for line in listed.splitlines()[1:]]
    assert sorted(names) == ["incluster", "quiet"]
    who = podctl.run("exec", "incluster", "--", "/kubectl", "get", "pods", "--token=wrong")
    assert who.code != 0 and "Unauthorized" in who.err + who.out


def test_service_account_tokens_refused_with_401(podctl: Podctl, api: ApiController,
                                                 tmp_path: Path) -> None:
    """The security figures: no token, a wrong one, an expired one, another home's, a
    deleted account's and a deleted pod's are all 401; a live one is 200."""
    from podctl.api import identity

    context = api.ca_context()

    def status(token: str | None) -> int:
        # Discovery: what every authenticated user may read (system:discovery), so 200 is
        # authentication's answer alone.
        request = urllib.request.Request(f"{api.url}/api/v1")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert api("create", "sa", "bot") == "serviceaccount/bot created\n"
    live = api("create", "token", "bot", "--duration=10m").strip()
    assert status(live) == 200
    assert "may not specify a duration less than 10 minutes" in api.fails(
        "create", "token", "bot", "--duration=1m")
    account = json.loads(api("get", "sa", "bot", "-o", "json"))
    expired, _ = identity.issue(podctl.home, account, identity.API_AUDIENCES, 600,
                                now=time.time() - 601)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    foreign, _ = identity.issue(elsewhere, account, identity.API_AUDIENCES, 600)
    other_audience = api("create", "token", "bot", "--audience=vault").strip()
    podctl.apply_yaml("""apiVersion: v1
kind: Pod
metadata:
  name: holder
spec:
  serviceAccountName: bot
  containers:
  - name: main
    image: podctl/busybox:1
    command: ["sleep", "3600"]
""")
    assert api("wait", "--for=condition=Ready", "pod/holder", "--timeout=60s")
    pod_token = podctl("exec", "holder", "--", "cat", f"{SA_DIR}/token")
    assert status(pod_token) == 200
    refused = {"none": status(None), "wrong": status("wrong"), "expired": status(expired),
               "another home's": status(foreign), "another audience": status(other_audience)}
    api("delete", "pod", "holder", "--grace-period=0", "--force")
    refused["a deleted pod's"] = status(pod_token)
    api("delete", "sa", "bot")
    refused["a deleted account's"] = status(live)
    api("create", "sa", "bot")  # the same name again is another account
    refused["a remade account's"] = status(live)
    assert refused == dict.fromkeys(refused, 401)


def test_kubectl_in_a_pod_on_another_node_reaches_the_api(
        podctl: Podctl, api: ApiController, docker_client: Any) -> None:
    """A node container's pod reaches the API through the kubernetes Service too: its
    node's rules send the cluster IP to the host's address on the pod network."""
    import io
    import tarfile

    from podctl.runtime.nodecontainers import container_name

    podctl("node", "add", "n2")
    api("create", "rolebinding", "sa-view", "--clusterrole=view",
        "--serviceaccount=default:default")
    binary = Path(os.path.realpath(shutil.which(KUBECTL) or KUBECTL)).read_bytes()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("kubectl-bin")
        info.size, info.mode = len(binary), 0o755
        tar.addfile(info, io.BytesIO(binary))
    node = docker_client.containers.get(container_name(podctl.homeid, "n2"))
    assert node.put_archive("/", archive.getvalue())
    podctl.apply_yaml("""apiVersion: v1
kind: Pod
metadata:
  name: remote
spec:
  nodeName: n2
  containers:
  - name: main
    image: podctl/busybox:1
    command: ["sleep", "3600"]
    volumeMounts:
    - {name: kubectl, mountPath: /kubectl, readOnly: true}
  volumes:
  - name: kubectl
    hostPath: {path: /kubectl-bin}
""")
    assert api("wait", "--for=condition=Ready", "pod/remote", "--timeout=90s")
    listed = poll(lambda: (r := podctl.run("exec", "remote", "--", "/kubectl", "get", "pods",
                                           "-o", "wide")).code == 0 and r.out, timeout=60,
                  message="kubectl on n2 to list pods")
    assert listed.splitlines()[1].split()[:3] == ["remote", "1/1", "Running"]
    assert listed.splitlines()[1].split()[6] == "n2"
