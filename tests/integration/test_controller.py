"""run-controller as the kubelet: probes, restarts, back-off, phases, sandbox recreation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker

from .conftest import ControllerProcess, Podctl, containers_of

Start = Callable[[], ControllerProcess]


def app_status(podctl: Podctl, pod: str, container: str | None = None) -> dict[str, Any]:
    statuses = podctl.pod_json(pod)["status"].get("containerStatuses") or [{}]
    if container is None:
        return dict(statuses[0])
    return dict(next(s for s in statuses if s["name"] == container))


def wait_restarts(podctl: Podctl, pod: str, count: int, timeout: float = 40) -> None:
    podctl.wait_for(lambda: app_status(podctl, pod).get("restartCount", 0) >= count,
                    timeout=timeout, message=f"{pod} to restart {count} time(s)")


HTTP_LIVENESS = """
apiVersion: v1
kind: Pod
metadata: {name: kubia-liveness}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: kubia
    image: podctl/kubia:1
    env: [{name: FAIL_AFTER, value: "3"}]
    livenessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
"""


def test_http_liveness_restarts_a_failing_app(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(HTTP_LIVENESS)
    first = app_status(podctl, "kubia-liveness")["containerID"]
    wait_restarts(podctl, "kubia-liveness", 1)
    podctl.wait_for(lambda: "running" in app_status(podctl, "kubia-liveness")["state"],
                    message="the new container to run")
    status = app_status(podctl, "kubia-liveness")
    assert status["containerID"] != first
    terminated = status["lastState"]["terminated"]
    assert terminated["exitCode"] == 143 and terminated["reason"] == "Error"
    described = podctl("describe", "pod", "kubia-liveness")
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in described
    assert "Container kubia failed liveness probe, will be restarted" in described
    assert "Unhealthy" in described and "Killing" in described
    assert "Received request from" in podctl("logs", "kubia-liveness", "--previous")
    wait_restarts(podctl, "kubia-liveness", 2)


EXEC_LIVENESS = """
apiVersion: v1
kind: Pod
metadata: {name: liveness-exec}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: liveness
    image: podctl/busybox:1
    args: [/bin/sh, -c, "touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec: {command: [cat, /tmp/healthy]}
      periodSeconds: 1
      failureThreshold: 1
"""


def test_exec_liveness_kills_with_sigkill_after_grace(podctl: Podctl, controller: Start) -> None:
    # sh as PID 1 ignores SIGTERM, so the kill ends with SIGKILL: exit code 137.
    controller()
    podctl.apply_yaml(EXEC_LIVENESS)
    wait_restarts(podctl, "liveness-exec", 1)
    terminated = app_status(podctl, "liveness-exec")["lastState"]["terminated"]
    assert terminated["exitCode"] == 137
    assert "Liveness probe failed: cat: can't open '/tmp/healthy'" in podctl(
        "describe", "pod", "liveness-exec")


def test_tcp_liveness(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: tcp}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: good
    image: podctl/kubia:1
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, failureThreshold: 1}
  - name: bad
    image: podctl/kubia:1
    env: [{name: PORT, value: "8081"}]
    livenessProbe:
      tcpSocket: {port: 9999}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
""")
    podctl.wait_for(lambda: app_status(podctl, "tcp", "bad").get("restartCount", 0) >= 1,
                    timeout=30, message="bad to restart")
    assert app_status(podctl, "tcp", "good")["restartCount"] == 0
    assert "connect: connection refused" in podctl("describe", "pod", "tcp")


def test_readiness_turns_ready_without_restart(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  containers:
  - name: kubia
    image: podctl/kubia:1
    readinessProbe: {exec: {command: [ls, /tmp/ready]}, periodSeconds: 1}
""")
    podctl.wait_for(lambda: "Readiness probe failed" in podctl("describe", "pod", "ready"),
                    message="a failed readiness probe")
    assert podctl("get", "pod", "ready").splitlines()[1].split()[1] == "0/1"
    podctl("exec", "ready", "--", "touch", "/tmp/ready")
    podctl.wait_for(lambda: podctl("get", "pod", "ready").splitlines()[1].split()[1] == "1/1",
                    message="1/1 ready")
    pod = podctl.pod_json("ready")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"


def test_crash_loop_back_off_grows(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - {name: app, image: podctl/busybox:1, command: [sh, -c, "echo crashing; exit 1"]}
""")
    wait_restarts(podctl, "crasher", 1, timeout=10)
    podctl.wait_for(lambda: "back-off 10s" in str(app_status(podctl, "crasher")["state"]),
                    message="a 10s back-off")
    row = podctl("get", "pod", "crasher").splitlines()[1].split()
    assert row[2] == "CrashLoopBackOff"
    wait_restarts(podctl, "crasher", 2, timeout=20)
    podctl.wait_for(lambda: "back-off 20s" in str(app_status(podctl, "crasher")["state"]),
                    message="a 20s back-off")
    assert "Back-off restarting failed container app" in podctl("describe", "pod", "crasher")


def test_never_and_on_failure_phases(podctl: Podctl, controller: Start) -> None:
    controller()
    for name, policy, code in (("never-fails", "Never", 1), ("onfail-ok", "OnFailure", 0)):
        podctl.apply_yaml(f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: {policy}
  containers:
  - {{name: app, image: podctl/busybox:1, command: [sh, -c, "exit {code}"]}}
""")
    podctl.wait_for(lambda: podctl.pod_json("never-fails")["status"]["phase"] == "Failed",
                    message="Failed phase")
    podctl.wait_for(lambda: podctl.pod_json("onfail-ok")["status"]["phase"] == "Succeeded",
                    message="Succeeded phase")
    assert app_status(podctl, "never-fails")["restartCount"] == 0
    assert app_status(podctl, "onfail-ok")["state"]["terminated"]["reason"] == "Completed"
    table = podctl("get", "pods").splitlines()
    assert table[1].split()[2] == "Error" and table[2].split()[2] == "Completed"


def test_killed_sandbox_is_recreated(podctl: Podctl, controller: Start,
                                     docker_client: docker.DockerClient) -> None:
    controller()
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: phoenix}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: podctl/kubia:1}]
""")
    uid = podctl.pod_json("phoenix")["metadata"]["uid"]
    sandbox = next(c for c in containers_of(docker_client, uid)
                   if c.labels["io.kubernetes.docker.type"] == "podsandbox")
    sandbox.kill()
    wait_restarts(podctl, "phoenix", 1)
    podctl.wait_for(lambda: podctl.pod_json("phoenix")["status"]["phase"] == "Running"
                    and app_status(podctl, "phoenix")["ready"], message="running again")
    running = [c for c in containers_of(docker_client, uid) if c.status == "running"]
    assert sorted(c.name.rsplit("_", 1)[1] for c in running) == ["1", "1"]
    assert "Pod sandbox changed, it will be killed and re-created." in podctl(
        "describe", "pod", "phoenix")


def test_removed_container_is_brought_back(podctl: Podctl, controller: Start,
                                           docker_client: docker.DockerClient) -> None:
    controller()
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: lazarus}
spec:
  containers: [{name: app, image: podctl/kubia:1}]
""")
    first = app_status(podctl, "lazarus")["containerID"].removeprefix("docker://")
    docker_client.containers.get(first).remove(force=True)
    podctl.wait_for(lambda: app_status(podctl, "lazarus").get("ready") is True
                    and app_status(podctl, "lazarus")["containerID"] != f"docker://{first}",
                    message="a new container")


def test_controller_restart_keeps_state_and_makes_no_duplicates(
    podctl: Podctl, controller: Start, docker_client: docker.DockerClient
) -> None:
    first = controller()
    podctl.apply_yaml(HTTP_LIVENESS)
    wait_restarts(podctl, "kubia-liveness", 1)
    first.kill()
    before = app_status(podctl, "kubia-liveness")["restartCount"]
    controller()
    wait_restarts(podctl, "kubia-liveness", before + 1)
    uid = podctl.pod_json("kubia-liveness")["metadata"]["uid"]
    running = [c for c in containers_of(docker_client, uid) if c.status == "running"]
    assert len(running) <= 2
    assert sum(c.labels["io.kubernetes.docker.type"] == "podsandbox" for c in running) == 1


def test_second_controller_waits_as_standby_and_takes_over(
    podctl: Podctl, controller: Start
) -> None:
    active = controller()
    active.wait_log("controller active")
    standby = controller()
    standby.wait_log("waiting as standby")
    podctl.apply_yaml(HTTP_LIVENESS)
    wait_restarts(podctl, "kubia-liveness", 1)
    assert "killing" not in standby.log.read_text()
    assert active.stop() == 0
    standby.wait_log("controller active")
    before = app_status(podctl, "kubia-liveness")["restartCount"]
    wait_restarts(podctl, "kubia-liveness", before + 1)


def test_create_warns_when_no_controller_runs(podctl: Podctl) -> None:
    result = podctl.run("create", "-f", "-", input=HTTP_LIVENESS)
    assert result.code == 0
    assert "podctl run-controller" in result.err and result.err.startswith("Warning: ")


def test_startup_probe_holds_liveness_back(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: slow-start}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: podctl/busybox:1
    command: [sleep, "600"]
    startupProbe: {exec: {command: [cat, /tmp/started]}, periodSeconds: 1, failureThreshold: 60}
    livenessProbe: {exec: {command: [cat, /tmp/alive]}, periodSeconds: 1, failureThreshold: 1}
""")
    podctl.wait_for(lambda: "Startup probe failed" in podctl("describe", "pod", "slow-start"),
                    message="a failed startup probe")
    status = app_status(podctl, "slow-start")
    assert status["started"] is False and status["ready"] is False
    assert status["restartCount"] == 0
    assert "Liveness probe failed" not in podctl("describe", "pod", "slow-start")
    podctl("exec", "slow-start", "--", "touch", "/tmp/started")
    wait_restarts(podctl, "slow-start", 1, timeout=20)
    assert "Container app failed liveness probe, will be restarted" in podctl(
        "describe", "pod", "slow-start")


def test_memory_hog_is_oom_killed(podctl: Podctl) -> None:
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: podctl/busybox:1
    command: [sh, -c, 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo done']
    resources: {limits: {memory: 20Mi}}
""")
    podctl.wait_for(lambda: "terminated" in app_status(podctl, "hog")["state"], message="OOM")
    terminated = app_status(podctl, "hog")["state"]["terminated"]
    assert terminated["reason"] == "OOMKilled" and terminated["exitCode"] == 137
    assert podctl("get", "pod", "hog").splitlines()[1].split()[2] == "OOMKilled"
    assert podctl.pod_json("hog")["status"]["phase"] == "Failed"


INIT = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: {policy}
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: first
    image: podctl/busybox:1
    command: [sh, -c, "echo one > /work/log"]
    volumeMounts: [{{name: w, mountPath: /work}}]
  - name: second
    image: podctl/busybox:1
    command: [sh, -c, "{second}"]
    volumeMounts: [{{name: w, mountPath: /work}}]
  containers:
  - name: app
    image: podctl/busybox:1
    command: [sh, -c, "cat /work/log; sleep 600"]
    volumeMounts: [{{name: w, mountPath: /work}}]
  volumes: [{{name: w, emptyDir: {{}}}}]
"""


def test_init_containers_run_in_order_before_the_app(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(INIT.format(name="initd", policy="Always",
                                  second="sleep 1; echo two >> /work/log"))
    assert podctl("get", "pod", "initd").splitlines()[1].split()[2].startswith("Init:")
    podctl.wait_for(lambda: podctl.pod_json("initd")["status"]["phase"] == "Running",
                    message="Running after init")
    podctl.wait_for(lambda: podctl.run("logs", "initd").out == "one\ntwo\n", message="logs")
    pod = podctl.pod_json("initd")
    assert [s["state"]["terminated"]["reason"] for s in pod["status"]["initContainerStatuses"]] \
        == ["Completed", "Completed"]
    assert "Init Containers:" in podctl("describe", "pod", "initd")


def test_failed_init_container_fails_a_never_pod(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(INIT.format(name="broken", policy="Never", second="exit 3"))
    podctl.wait_for(lambda: podctl.pod_json("broken")["status"]["phase"] == "Failed",
                    message="Failed")
    assert podctl("get", "pod", "broken").splitlines()[1].split()[2] == "Init:Error"
    app = podctl.pod_json("broken")["status"]["containerStatuses"][0]
    assert app["state"]["waiting"]["reason"] == "PodInitializing"
