"""Init containers and native sidecars (initContainers with restartPolicy: Always) on the
real engine: their order, STATUS texts, and a Job whose sidecar does not hold it open."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Podctl
from .test_lifecycle_hooks import Start, _record_dir

GATED = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: first
    image: podctl/busybox:1
    command: [sh, -c, "echo first >> /rec/log"]
    volumeMounts: [{{name: rec, mountPath: /rec}}]
  - name: second
    image: podctl/busybox:1
    command: [sh, -c, "{second}"]
    volumeMounts: [{{name: rec, mountPath: /rec}}]
  containers:
  - name: app
    image: podctl/busybox:1
    command: [sh, -c, "echo app >> /rec/log; exec sleep 600"]
    volumeMounts: [{{name: rec, mountPath: /rec}}]
  volumes: [{{name: rec, hostPath: {{path: {path}, type: Directory}}}}]
"""

SIDECAR = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: proxy
    image: podctl/busybox:1
    restartPolicy: Always
    command: [sh, -c, "trap 'echo proxy TERM >> /rec/log; exit 0' TERM; echo proxy >> /rec/log;
              while true; do sleep 0.1; done"]
    startupProbe:
      exec: {{command: [grep, -q, proxy, /rec/log]}}
      periodSeconds: 1
      timeoutSeconds: 10
      failureThreshold: 60
    volumeMounts: [{{name: rec, mountPath: /rec}}]
  containers:
  - name: app
    image: podctl/busybox:1
    command: [sh, -c, "trap 'echo app TERM >> /rec/log; exit 0' TERM; echo app >> /rec/log;
              while true; do sleep 0.1; done"]
    volumeMounts: [{{name: rec, mountPath: /rec}}]
  volumes: [{{name: rec, hostPath: {{path: {path}, type: Directory}}}}]
"""

JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: sidecar-job}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      initContainers:
      - name: logger
        image: podctl/busybox:1
        restartPolicy: Always
        command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
      containers:
      - name: work
        image: podctl/busybox:1
        command: [sh, -c, "echo done"]
"""


def _row(podctl: Podctl, name: str) -> list[str]:
    return podctl("get", "pod", name).splitlines()[1].split()


def test_init_containers_show_their_progress_in_status(
        podctl: Podctl, controller: Start, tmp_path: Path) -> None:
    controller()
    rec = _record_dir(tmp_path)
    wait = "until [ -f /rec/go ]; do sleep 0.1; done; echo second >> /rec/log"
    podctl.apply_yaml(GATED.format(name="gated", second=wait, path=rec))
    podctl.wait_for(lambda: _row(podctl, "gated")[1:3] == ["0/1", "Init:1/2"],
                    message="Init:1/2")
    (rec / "go").touch()
    podctl.wait_for(lambda: _row(podctl, "gated")[1:3] == ["1/1", "Running"], message="Running")
    assert (rec / "log").read_text() == "first\nsecond\napp\n"


def test_a_failing_init_container_crash_loops(podctl: Podctl, controller: Start,
                                              tmp_path: Path) -> None:
    controller()
    rec = _record_dir(tmp_path)
    podctl.apply_yaml(GATED.format(name="initcrash", second="exit 1", path=rec))
    podctl.wait_for(lambda: _row(podctl, "initcrash")[2] == "Init:CrashLoopBackOff",
                    message="Init:CrashLoopBackOff")
    row = _row(podctl, "initcrash")
    assert row[1] == "0/1" and int(row[3]) >= 1
    assert "app" not in (rec / "log").read_text()


def test_a_sidecar_runs_beside_the_app_and_stops_after_it(
        podctl: Podctl, controller: Start, tmp_path: Path) -> None:
    controller()
    rec = _record_dir(tmp_path)
    podctl.apply_yaml(SIDECAR.format(name="withproxy", path=rec))
    podctl.wait_for(lambda: _row(podctl, "withproxy")[1:3] == ["2/2", "Running"],
                    message="2/2 Running")
    status = podctl.pod_json("withproxy")["status"]
    proxy = status["initContainerStatuses"][0]
    assert proxy["name"] == "proxy" and "running" in proxy["state"]
    assert proxy["started"] is True and proxy["ready"] is True
    assert {c["type"]: c["status"] for c in status["conditions"]}["Initialized"] == "True"
    podctl("delete", "pod", "withproxy")
    # Started in order (the app only once the sidecar's startup probe passed), stopped in
    # reverse: the app first, the sidecar after it.
    assert (rec / "log").read_text() == "proxy\napp\napp TERM\nproxy TERM\n"


def test_a_job_with_a_sidecar_completes(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(JOB)

    def complete() -> bool:
        job = json.loads(podctl("get", "job", "sidecar-job", "-o", "json"))
        return int(job.get("status", {}).get("succeeded") or 0) == 1

    podctl.wait_for(complete, timeout=60, message="the Job to complete")
    pods = json.loads(podctl("get", "pods", "-l", "job-name=sidecar-job", "-o", "json"))
    [pod] = pods["items"]
    assert pod["status"]["phase"] == "Succeeded"
    logger = pod["status"]["initContainerStatuses"][0]
    assert "terminated" in logger["state"]


def test_kubectl_shows_a_sidecar_pod_as_kubectl_does(podctl: Podctl, tmp_path: Path) -> None:
    """Through the real kubectl and the API: READY counts the started sidecar."""
    from .test_api_kubectl import ApiController

    api = ApiController(podctl)
    try:
        rec = _record_dir(tmp_path)
        api("apply", "-f", "-", input=SIDECAR.format(name="kproxy", path=rec))

        def row() -> list[str]:
            return api("get", "pod", "kproxy", "--no-headers").split()

        podctl.wait_for(lambda: row()[1:3] == ["2/2", "Running"], message="2/2 Running")
        started = api("get", "pod", "kproxy", "-o",
                      "jsonpath={.status.initContainerStatuses[0].started}")
        assert started == "true"
    finally:
        api.stop()
