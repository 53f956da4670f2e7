"""postStart and preStop hooks as the kubelet runs them, on the real engine."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker

from .conftest import BUSYBOX_IMAGE, ControllerProcess, Podctl

Start = Callable[..., ControllerProcess]

RECORDED = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: {grace}
  containers:
  - name: app
    image: podctl/busybox:1
    command: [sh, -c, "trap 'echo TERM >> /rec/log; exit 0' TERM; echo start >> /rec/log;
              while true; do sleep 0.1; done"]
    lifecycle: {lifecycle}
    volumeMounts: [{{name: rec, mountPath: /rec}}]
  volumes: [{{name: rec, hostPath: {{path: {path}, type: Directory}}}}]
"""


def _record_dir(tmp: Path) -> Path:
    path = tmp / f"rec-{uuid.uuid4().hex[:6]}"
    path.mkdir()
    path.chmod(0o777)
    return path


def _phase(podctl: Podctl, name: str) -> str:
    return str(podctl.pod_json(name)["status"].get("phase"))


def test_prestop_runs_before_sigterm(podctl: Podctl, controller: Start, tmp_path: Path) -> None:
    controller()
    rec = _record_dir(tmp_path)
    hook = "{preStop: {exec: {command: [sh, -c, 'echo preStop >> /rec/log; sleep 1']}}}"
    podctl.apply_yaml(RECORDED.format(name="drain", grace=10, lifecycle=hook, path=rec))
    podctl.wait_for(lambda: (rec / "log").exists() and _phase(podctl, "drain") == "Running",
                    message="Running")
    podctl("delete", "pod", "drain")
    assert (rec / "log").read_text() == "start\npreStop\nTERM\n"


def test_prestop_counts_against_the_grace_period(podctl: Podctl, controller: Start,
                                                 tmp_path: Path) -> None:
    """A preStop that would run a minute gets the pod's 2 s, then the container its 2 s
    minimum between SIGTERM and SIGKILL: the delete ends long before the hook would."""
    controller()
    rec = _record_dir(tmp_path)
    podctl.apply_yaml(RECORDED.format(name="slowstop", grace=2, path=rec,
                                      lifecycle="{preStop: {exec: {command: [sleep, '60']}}}"))
    podctl.wait_for(lambda: (rec / "log").exists() and _phase(podctl, "slowstop") == "Running",
                    message="Running")
    started = time.monotonic()
    podctl("delete", "pod", "slowstop")
    assert time.monotonic() - started < 20
    assert (rec / "log").read_text() == "start\nTERM\n"


def test_container_is_not_running_until_poststart_returns(
        podctl: Podctl, controller: Start, tmp_path: Path) -> None:
    controller()
    rec = _record_dir(tmp_path)
    hook = "{postStart: {exec: {command: [sh, -c, 'sleep 2; echo hooked > /rec/hook']}}}"
    podctl.apply_yaml(RECORDED.format(name="poststart", grace=1, lifecycle=hook, path=rec))
    seen: list[tuple[str, bool]] = []

    def running() -> bool:
        status = podctl.pod_json("poststart")["status"]
        state = (status.get("containerStatuses") or [{}])[0].get("state") or {}
        seen.append((str(status.get("phase")), (rec / "hook").exists()))
        return "running" in state

    podctl.wait_for(running, message="Running")
    # The hook had returned whenever the pod was seen Running; it was seen before that too.
    assert all(hooked for phase, hooked in seen if phase == "Running")
    assert (rec / "log").read_text() == "start\n"


def test_failing_poststart_kills_and_restarts_the_container(
        podctl: Podctl, controller: Start, tmp_path: Path) -> None:
    controller()
    rec = _record_dir(tmp_path)
    hook = "{postStart: {exec: {command: [sh, -c, 'echo nope >&2; exit 3']}}}"
    podctl.apply_yaml(RECORDED.format(name="badhook", grace=1, lifecycle=hook, path=rec))

    def restarted() -> bool:
        statuses = podctl.pod_json("badhook")["status"].get("containerStatuses") or [{}]
        return int(statuses[0].get("restartCount", 0)) >= 1

    podctl.wait_for(restarted, message="a restart")
    status = podctl.pod_json("badhook")["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 0  # its TERM trap ran
    assert not status["ready"]
    described = podctl("describe", "pod", "badhook")
    lines = [line.split() for line in described.splitlines()]
    assert ["Warning", "FailedPostStartHook"] in [line[:2] for line in lines]
    assert "PostStartHook failed" in described
    killing = [line for line in lines if line[:2] == ["Normal", "Killing"]]
    assert killing and killing[0][-1] == "FailedPostStartHook"
    assert (rec / "log").read_text().startswith("start\nTERM\nstart\n")


def test_exec_hook_failure_message_is_the_kubelets(docker_client: docker.DockerClient) -> None:
    """The message the kubelet keeps in the container's waiting state (PostStartHookError),
    from a real exec in a real container."""
    from podctl.kubelet import hooks

    container = docker_client.containers.run(BUSYBOX_IMAGE, ["sleep", "60"], detach=True,
                                             labels={"io.podctl.test": "hooks"})
    try:
        pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u-1"}}
        spec = {"name": "app"}
        command = ["sh", "-c", "echo out; echo bad >&2; exit 3"]
        message = hooks.run_hook({"exec": {"command": command}}, pod, spec, container.id, "",
                                 10)
        assert message == (
            'Exec lifecycle hook ([sh -c echo out; echo bad >&2; exit 3]) for Container "app" '
            "in Pod \"p_default(u-1)\" failed - error: command 'sh -c echo out; echo bad >&2; "
            "exit 3' exited with 3: bad\n, message: \"out\\nbad\\n\"")
        ok = hooks.run_hook({"exec": {"command": ["true"]}}, pod, spec, container.id, "", 10)
        assert ok is None
        flood = ["sh", "-c", "yes | head -c 5000000; exit 1"]
        long = hooks.run_hook({"exec": {"command": flood}}, pod, spec, container.id, "", 30)
        assert long is not None and len(long) < 4 * hooks.OUTPUT_LIMIT
    finally:
        container.remove(force=True)
