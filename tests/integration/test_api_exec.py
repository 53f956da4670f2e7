"""pods/exec and pods/attach through `run-controller --api`, over WebSocket: the real kubectl
(v5.channel.k8s.io, stdin half-close) and the Python client (v4.channel.k8s.io)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import ApiController

pytestmark = pytest.mark.integration


@pytest.fixture
def server(podctl: Podctl) -> Iterator[ApiController]:
    api = ApiController(podctl)
    yield api
    api.stop()


def two_container_pod(podctl: Podctl, server: ApiController) -> str:
    name = f"ex-{uuid.uuid4().hex[:6]}"
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: main
    image: podctl/busybox:1
    command: ["sleep", "3600"]
  - name: side
    image: podctl/busybox:1
    command: ["sleep", "3601"]
""")
    server("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    return name


def test_kubectl_exec_over_websocket(podctl: Podctl, server: ApiController) -> None:
    kubectl = server
    pod = two_container_pod(podctl, server)

    # stdout and stderr on their own channels; the exit code through the error channel.
    result = kubectl.run("exec", pod, "-c", "main", "--", "sh", "-c",
                         "echo out; echo err >&2; exit 3")
    assert (result.code, result.out, result.err) == (
        3, "out\n", "err\ncommand terminated with exit code 3\n"), str(result)

    # stdin piped in: kubectl's half-close (v5) ends `cat`.
    assert kubectl("exec", "-i", pod, "-c", "side", "--", "cat",
                   input="hello\nworld\n") == "hello\nworld\n"

    # -c picks the container (each one's PID 1 is its own sleep).
    assert kubectl("exec", pod, "-c", "side", "--", "cat", "/proc/1/cmdline") == \
        "sleep\x003601\x00"
    defaulted = kubectl.run("exec", pod, "--", "cat", "/proc/1/cmdline")
    assert (defaulted.code, defaulted.out, defaulted.err) == (
        0, "sleep\x003600\x00", 'Defaulted container "main" out of: main, side\n')

    # Much more output than one Docker frame or WebSocket message.
    assert kubectl("exec", pod, "-c", "main", "--", "seq", "1", "200000") == \
        "".join(f"{n}\n" for n in range(1, 200001))

    assert kubectl.fails("exec", pod, "-c", "nosuch", "--", "true") == \
        f"error: container nosuch is not valid for pod {pod} out of: main, side\n"
    assert kubectl.fails("exec", "nosuch-pod", "--", "true") == \
        'Error from server (NotFound): pods "nosuch-pod" not found\n'
    assert kubectl("exec", pod, "-c", "main", "--", "true") == ""


def test_kubectl_attach_over_websocket(podctl: Podctl, server: ApiController) -> None:
    name = f"at-{uuid.uuid4().hex[:6]}"
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: podctl/busybox:1
    stdin: true
    stdinOnce: true
    command: ["sh", "-c", "read line; echo got $line; echo bye >&2"]
""")
    server("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    result = server.run("attach", "-i", name, input="hi\n")
    assert result.code == 0, str(result)
    assert result.out == "got hi\n"
    assert result.err.endswith("bye\n"), str(result)
    server("wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{name}",
           "--timeout=60s")


def test_python_client_exec_stream(podctl: Podctl, server: ApiController) -> None:
    from kubernetes import client, config
    from kubernetes.stream import stream

    pod = two_container_pod(podctl, server)
    config.load_kube_config(config_file=str(server.kubeconfig))
    core = client.CoreV1Api()
    assert stream(core.connect_get_namespaced_pod_exec, pod, "default", container="side",
                  command=["sh", "-c", "echo hi"], stdout=True, stderr=True, stdin=False,
                  tty=False) == "hi\n"

    # Interactive: stdin in, stdout and stderr apart, then the exit code.
    session = stream(core.connect_get_namespaced_pod_exec, pod, "default", container="main",
                     command=["sh", "-c", "read line; echo got $line; echo oops >&2; exit 4"],
                     stdout=True, stderr=True, stdin=True, tty=False, _preload_content=False)
    session.write_stdin("there\n")
    session.run_forever(timeout=60)
    assert session.read_stdout() == "got there\n"
    assert session.read_stderr() == "oops\n"
    assert session.returncode == 4
    session.close()

    # A terminal: resized through channel 4 before the command reads its size.
    session = stream(core.connect_get_namespaced_pod_exec, pod, "default", container="main",
                     command=["sh", "-c", "read go; stty size"], stdout=True, stderr=True,
                     stdin=True, tty=True, _preload_content=False)
    session.write_channel(4, json.dumps({"Width": 123, "Height": 45}))
    session.write_stdin("go\n")
    session.run_forever(timeout=60)
    assert session.read_stdout().splitlines()[-1] == "45 123"
    assert session.returncode == 0
    session.close()
