"""logs, exec, attach and port-forward on TYPE/NAME of every workload kind (issue 19): the pod
is picked as kubectl picks it, and refusals are kubectl's words."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from .conftest import PODCTL, Podctl
from .test_controller import Start
from .test_portforward import Forward, forward  # noqa: F401  (the fixture)

OBJECTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: kubia, image: podctl/kubia:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: bare}
spec:
  ports: [{port: 80}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: say, image: podctl/busybox:1, command: [echo, hello from a job]}]
---
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: podctl/busybox:1
    command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
  - name: side
    image: podctl/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: read
    image: podctl/busybox:1
    command: ["sh", "-c", "while read line; do echo \\"got $line\\"; done; echo bye"]
    stdin: true
"""


def web_pods(podctl: Podctl) -> set[str]:
    items = json.loads(podctl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    return {p["metadata"]["name"] for p in items}


def test_every_workload_kind_names_a_pod_for_logs_exec_attach_and_port_forward(
        podctl: Podctl, controller: Start, forward: Callable[..., Forward]) -> None:  # noqa: F811
    controller()
    podctl.apply_yaml(OBJECTS)
    podctl("rollout", "status", "deployment/web", "--timeout=60s")
    podctl("wait", "--for=condition=complete", "job/once", "--timeout=60s")
    podctl("wait", "--for=condition=Ready", "pod/ticker", "pod/reader", "--timeout=60s")
    pods = web_pods(podctl)
    assert len(pods) == 2

    # logs: one of the pods, said on stderr when there was a choice; the same for every
    # name of the same pods (the Deployment, its ReplicaSet, the Service).
    rs = podctl("get", "rs", "-o", "jsonpath={.items[0].metadata.name}")
    chosen = set()
    for arg in ("deploy/web", "deployment/web", "deployments.apps/web", f"rs/{rs}", "svc/web"):
        result = podctl.run("logs", arg)
        assert result.code == 0, str(result)
        assert result.out.startswith("Kubia server starting..."), result.out
        assert result.err.startswith("Found 2 pods, using pod/web-"), result.err
        chosen.add(result.err.strip().rsplit("/", 1)[1])
    assert len(chosen) == 1 and chosen <= pods
    assert podctl("logs", "job/once") == "hello from a job\n"

    # exec: in one of the pods, quietly.
    for arg in ("deploy/web", "svc/web", f"replicaset/{rs}"):
        result = podctl.run("exec", arg, "--", "hostname")
        assert result.code == 0 and result.err == "", str(result)
        assert result.out.strip() in pods
    finished = podctl.run("exec", "job/once", "--", "true")
    assert (finished.code, finished.err) == (1, "error: cannot exec into a container in a "
                                                "completed pod; current phase is Succeeded\n")

    # port-forward: to one of the Deployment's pods.
    process = forward("deploy/web", ":8080")
    assert process.get().startswith("You've hit web-")
    assert process.get().removeprefix("You've hit ").strip() in pods

    # Refusals, as kubectl words them.
    for args, message in (
            (("logs", "svc/bare"), "error: cannot get the logs from *v1.Service: invalid "
                                   "service 'bare': Service is defined without a selector"),
            (("exec", "svc/bare", "--", "true"), "error: cannot attach to *v1.Service: "
             "invalid service 'bare': Service is defined without a selector"),
            (("logs", "node/" + podctl("get", "nodes", "-o", "name").split("/")[1].strip()),
             "error: cannot get the logs from *v1.Node: selector for *v1.Node not "
             "implemented"),
            (("logs", "deploy/nope"), 'error: error from server (NotFound): deployments.apps '
                                      '"nope" not found in namespace "default"'),
            (("attach", "deploy/nope"), 'Error from server (NotFound): deployments.apps "nope" '
                                        "not found"),
            (("logs", "sts/web"), 'error: error from server (NotFound): statefulsets.apps '
                                  '"web" not found in namespace "default"'),
            (("logs", "pc/web"), 'error: the server doesn\'t have a resource type "pc"'),
            (("attach", "job/once"), "error: cannot attach a container in a completed pod; "
                                     "current phase is Succeeded"),
            (("attach", "ticker", "-c", "nope"), "error: cannot attach to the container: "
             "container nope is not valid for pod ticker out of: main, side"),
            (("attach", "a", "b", "c"), "error: expected POD, TYPE/NAME, or TYPE NAME, (at "
                                        "most 2 arguments) saw 3: [a b c]"),
    ):
        result = podctl.run(*args)
        assert (result.code, result.err.strip()) == (1, message), str(result)
    podctl("scale", "deployment", "web", "--replicas=0")
    podctl.wait_for(lambda: not web_pods(podctl), timeout=30, message="no web pods")
    waited = podctl.run("logs", "deploy/web", "--pod-running-timeout=1s")
    assert (waited.code, waited.err) == (1, "error: timed out waiting for the condition\n")


def test_attach_streams_a_running_process_and_feeds_its_stdin(
        podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(OBJECTS.split("---")[-2] + "---" + OBJECTS.split("---")[-1])
    podctl("wait", "--for=condition=Ready", "pod/ticker", "pod/reader", "--timeout=60s")
    # Output as it comes, until the client leaves.
    proc = subprocess.Popen([PODCTL, "attach", "ticker"], env=podctl.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("tick "), first
        assert int(proc.stdout.readline().split()[1]) == int(first.split()[1]) + 1
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    assert err.splitlines() == [
        'Defaulted container "main" out of: main, side',
        "All commands and output from this session will be recorded in container logs, "
        "including credentials and sensitive information passed through the command prompt.",
        "If you don't see a command prompt, try pressing enter."]
    # stdin reaches the process; the attach ends with it.
    result = podctl.run("attach", "reader", "-i", "-q", input="one\ntwo\n", timeout=30)
    assert (result.code, result.out, result.err) == (0, "got one\ngot two\nbye\n", "")


SHELL = """
apiVersion: v1
kind: Pod
metadata: {name: shell}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: sh, image: podctl/busybox:1, command: [sh], stdin: true, tty: true}
"""


def test_attach_with_a_terminal_runs_raw_and_detaches_with_ctrl_p_ctrl_q(
        podctl: Podctl, controller: Start) -> None:
    import os
    import pty
    import select
    import time

    controller()
    podctl.apply_yaml(SHELL)
    podctl("wait", "--for=condition=Ready", "pod/shell", "--timeout=60s")
    pid, fd = pty.fork()
    if pid == 0:  # the child: podctl on a terminal of its own
        os.execve(PODCTL, [PODCTL, "attach", "shell", "-i", "-t"], podctl.env)
    seen = b""

    def read_until(text: bytes, timeout: float = 20) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    seen += os.read(fd, 4096)
                except OSError:  # the child has gone and its terminal with it
                    break
        assert text in seen, seen

    try:
        # The shell's prompt, redrawn when the attach sets the terminal's size: from then
        # on keys go to it (typed earlier, they could meet a terminal not yet raw).
        read_until(b"/ # ")
        os.write(fd, b"echo hello-$((1+2))\r")
        read_until(b"hello-3")  # typed raw, answered by the container's shell
        os.write(fd, b"\x10\x11")  # Docker's detach keys
        read_until(b"Session ended, resume using 'podctl attach shell -c sh -n default "
                   b"-i -t' command")
    finally:
        status = _reap(pid)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert podctl.pod_json("shell")["status"]["phase"] == "Running"  # detached, not ended


def _reap(pid: int, timeout: float = 10) -> int:
    """The child's wait status; killed if it has not ended by itself in time."""
    import os
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]
