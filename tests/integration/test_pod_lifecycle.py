"""Creating, listing, describing and deleting pods on the real engine."""

from __future__ import annotations

import json
import time
from pathlib import Path

import docker
import pytest

from .conftest import KUBIA_IMAGE, Podctl, answers, containers_of, http_get

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def test_create_prints_kubectl_line_and_pod_runs(podctl: Podctl) -> None:
    out = podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    assert out == "pod/kubia-manual created\n"
    table = podctl("get", "pods")
    header, row = table.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert row.split()[:4] == ["kubia-manual", "1/1", "Running", "0"]


def test_pod_answers_http_on_its_ip_with_its_hostname(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    ip = podctl.pod_json("kubia-manual")["status"]["podIP"]
    podctl.wait_for(lambda: answers(f"http://{ip}:8080/"), message="kubia to listen")
    assert http_get(f"http://{ip}:8080/") == "You've hit kubia-manual\n"



def test_get_json_has_full_object(podctl: Podctl, docker_client: docker.DockerClient) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    pod = podctl.pod_json("kubia-manual")
    md, spec, status = pod["metadata"], pod["spec"], pod["status"]
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    assert len(md["uid"]) == 36 and md["creationTimestamp"].endswith("Z")
    assert spec["restartPolicy"] == "Always" and spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert status["phase"] == "Running"
    assert {c["type"] for c in status["conditions"]} >= {"Ready", "ContainersReady",
                                                          "Initialized", "PodScheduled"}
    assert status["hostIP"] and status["startTime"]
    cs = status["containerStatuses"][0]
    assert cs["name"] == "kubia" and cs["ready"] is True and cs["restartCount"] == 0
    assert cs["image"] == KUBIA_IMAGE
    assert cs["imageID"].startswith("docker://sha256:")
    assert cs["containerID"].startswith("docker://")
    assert cs["state"]["running"]["startedAt"].endswith("Z")
    sandbox = next(c for c in containers_of(docker_client, md["uid"])
               if c.labels["io.kubernetes.docker.type"] == "podsandbox")
    networks = sandbox.attrs["NetworkSettings"]["Networks"]
    assert status["podIP"] == next(iter(networks.values()))["IPAddress"]


def test_docker_names_and_labels_follow_dockershim(
    podctl: Podctl, docker_client: docker.DockerClient
) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    uid = podctl.pod_json("kubia-manual")["metadata"]["uid"]
    names = sorted(c.name for c in containers_of(docker_client, uid))
    assert names == [f"k8s_POD_kubia-manual_default_{uid}_0",
                     f"k8s_kubia_kubia-manual_default_{uid}_0"]
    app = docker_client.containers.get(f"k8s_kubia_kubia-manual_default_{uid}_0")
    sandbox = docker_client.containers.get(f"k8s_POD_kubia-manual_default_{uid}_0")
    assert app.labels["io.kubernetes.container.name"] == "kubia"
    assert app.labels["io.kubernetes.pod.namespace"] == "default"
    assert app.labels["io.kubernetes.docker.type"] == "container"
    assert sandbox.labels["io.kubernetes.container.name"] == "POD"
    assert app.attrs["HostConfig"]["NetworkMode"] == f"container:{sandbox.id}"
    assert app.attrs["HostConfig"]["IpcMode"] == f"container:{sandbox.id}"
    assert sandbox.attrs["HostConfig"]["IpcMode"] == "shareable"
    assert sandbox.attrs["Config"]["Hostname"] == "kubia-manual"


def test_create_twice_says_already_exists_and_changes_nothing(
    podctl: Podctl, docker_client: docker.DockerClient
) -> None:
    path = str(MANIFESTS / "kubia-manual.yaml")
    podctl("create", "-f", path)
    uid = podctl.pod_json("kubia-manual")["metadata"]["uid"]
    before = sorted(c.id for c in containers_of(docker_client, uid))
    again = podctl.run("create", "-f", path)
    assert again.code == 1
    assert again.err.strip() == (
        f'Error from server (AlreadyExists): error when creating "{path}": '
        'pods "kubia-manual" already exists')
    assert sorted(c.id for c in containers_of(docker_client, uid)) == before
    assert podctl.pod_json("kubia-manual")["metadata"]["uid"] == uid


def test_delete_removes_every_container_and_volume(
    podctl: Podctl, docker_client: docker.DockerClient
) -> None:
    podctl("create", "-f", str(MANIFESTS / "two-containers.yaml"))
    uid = podctl.pod_json("fortune")["metadata"]["uid"]
    label = f"io.kubernetes.pod.uid={uid}"
    assert len(containers_of(docker_client, uid)) == 3
    assert docker_client.volumes.list(filters={"label": label})
    out = podctl("delete", "pod", "fortune", "--grace-period=1")
    assert out == 'pod "fortune" deleted\n'
    assert containers_of(docker_client, uid) == []
    assert docker_client.volumes.list(filters={"label": label}) == []
    missing = podctl.run("get", "pod", "fortune")
    assert missing.code == 1
    assert missing.err.strip() == 'Error from server (NotFound): pods "fortune" not found'


def test_delete_waits_only_for_the_grace_period(podctl: Podctl) -> None:
    # busybox sleep as PID 1 ignores SIGTERM: only SIGKILL after the grace period stops it.
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - {name: sleeper, image: podctl/busybox:1, command: [sleep, "3600"]}
""")
    started = time.monotonic()
    podctl("delete", "pod", "stubborn")
    elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 8, elapsed


def test_deleting_many_pods_gives_each_its_graceful_stop(
    podctl: Podctl, docker_client: docker.DockerClient
) -> None:
    """More pods than a small pool of workers: each still gets SIGTERM first (their grace
    periods run together, as on a node), none only a SIGKILL once its grace ran out while
    it waited for its turn."""
    count = 10
    podctl.apply_yaml("---\n".join(f"""
apiVersion: v1
kind: Pod
metadata: {{name: stubborn-{i}}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - {{name: sleeper, image: podctl/busybox:1, command: [sleep, "3600"]}}
""" for i in range(count)))
    uids = set(podctl.pod_uids())
    since = int(time.time()) - 1
    podctl("delete", "pods", "--all")
    signals: dict[str, list[str]] = {}
    for event in docker_client.events(since=since, until=int(time.time()) + 1, decode=True,
                                      filters={"event": "kill",
                                               "label": "io.kubernetes.docker.type=container"}):
        labels = event["Actor"]["Attributes"]
        if labels.get("io.kubernetes.pod.uid") in uids:
            signals.setdefault(labels["io.kubernetes.pod.uid"], []).append(labels["signal"])
    assert len(signals) == count
    assert all(sent[0] == "15" for sent in signals.values()), signals


def test_delete_by_file_and_by_selector(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    podctl("create", "-f", str(MANIFESTS / "kubia-manual-with-labels.yaml"))
    assert podctl("delete", "pods", "-l", "env=prod", "--now") == 'pod "kubia-manual-v2" deleted\n'
    out = podctl("delete", "-f", str(MANIFESTS / "kubia-manual.yaml"), "--now")
    assert out == 'pod "kubia-manual" deleted\n'
    result = podctl.run("get", "pods")
    assert result.out == "" and result.err.strip() == "No resources found in default namespace."


def test_force_delete_kills_at_once(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    result = podctl.run("delete", "pod", "kubia-manual", "--grace-period=0", "--force")
    assert result.code == 0
    assert result.out == 'pod "kubia-manual" force deleted\n'
    assert "Immediate deletion does not wait" in result.err


def test_get_wide_shows_ip_and_node(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    pod = podctl.pod_json("kubia-manual")
    header, row = podctl("get", "pods", "-o", "wide").splitlines()
    assert header.split()[5:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    cells = row.split()
    assert cells[5] == pod["status"]["podIP"]
    assert cells[6] == pod["spec"]["nodeName"]
    assert cells[7:] == ["<none>", "<none>"]


def test_labels_selectors_and_label_columns(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    podctl("create", "-f", str(MANIFESTS / "kubia-manual-with-labels.yaml"))
    assert podctl("get", "pods", "-l", "env=prod", "-o", "name") == "pod/kubia-manual-v2\n"
    assert podctl("get", "pods", "-l", "!env", "-o", "name") == "pod/kubia-manual\n"
    assert podctl("get", "pods", "-l", "env in (dev,prod)", "-o", "name") == (
        "pod/kubia-manual-v2\n")
    shown = podctl("get", "pods", "--show-labels").splitlines()
    assert shown[0].split()[-1] == "LABELS"
    assert shown[2].split()[-1] == "creation_method=manual,env=prod"
    assert shown[1].split()[-1] == "<none>"
    columns = podctl("get", "pods", "-L", "env,creation_method").splitlines()
    assert columns[0].split()[-2:] == ["ENV", "CREATION_METHOD"]
    assert columns[2].split()[-2:] == ["prod", "manual"]


def test_json_of_several_pods_is_a_list(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    data = json.loads(podctl("get", "pods", "-o", "json"))
    assert data["kind"] == "List" and data["apiVersion"] == "v1"
    assert [p["metadata"]["name"] for p in data["items"]] == ["kubia-manual"]
    path = podctl("get", "pods", "-o", "jsonpath={.items[*].metadata.name}")
    assert path == "kubia-manual"


def test_describe_pod_shows_containers_conditions_and_events(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "two-containers.yaml"))
    text = podctl("describe", "pod", "fortune")
    lines = text.splitlines()
    assert lines[0].split() == ["Name:", "fortune"]
    for fragment in ("Namespace:", "Status:", "Running", "IP:", "Containers:", "  web:",
                     "  writer:", "Port:", "8080/TCP (http)", "Ready:", "True",
                     "Restart Count:", "Conditions:", "Volumes:",
                     "EmptyDir (a temporary directory that shares a pod's lifetime)",
                     "POD_NAME:", "fortune (v1:metadata.name)", "/data from shared (rw)",
                     "QoS Class:", "BestEffort", "Events:", "Scheduled", "default-scheduler",
                     "Created", "Started", "kubelet"):
        assert fragment in text, fragment
    assert "Pulled" in text and 'Container image "podctl/kubia:1" already present' in text


@pytest.mark.parametrize("policy,reason", [("Never", "ErrImageNeverPull"),
                                           ("IfNotPresent", "ErrImagePull")])
def test_missing_image_is_a_status_not_a_crash(podctl: Podctl, policy: str, reason: str) -> None:
    out = podctl.apply_yaml(f"""
apiVersion: v1
kind: Pod
metadata: {{name: ghost}}
spec:
  containers:
  - {{name: app, image: "podctl-test/does-not-exist:1", imagePullPolicy: {policy}}}
""")
    assert out == "pod/ghost created\n"
    row = podctl("get", "pod", "ghost").splitlines()[1].split()
    assert row[1:3] == ["0/1", reason]
    waiting = podctl.pod_json("ghost")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == reason
    logs = podctl.run("logs", "ghost")
    assert logs.code == 1 and "is waiting to start" in logs.err


def test_docker_unreachable_is_one_line(podctl: Podctl) -> None:
    """A write is accepted without the engine (see test_engine_down); what must ask it fails
    in one line."""
    down = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    created = podctl.run("create", "-f", str(MANIFESTS / "kubia-manual.yaml"), env=down)
    assert created.code == 0, str(created)
    result = podctl.run("logs", "kubia-manual", env=down)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Docker engine" in lines[0]
    assert "Traceback" not in result.err


def test_no_headers_and_sort_by(podctl: Podctl) -> None:
    podctl("run", "zeta", "--image=podctl/kubia:1")
    podctl("run", "alpha", "--image=podctl/kubia:1", "--labels=order=1")
    rows = podctl("get", "pods", "--no-headers").splitlines()
    assert [r.split()[0] for r in rows] == ["alpha", "zeta"]
    by_time = podctl("get", "pods", "--sort-by=.metadata.resourceVersion", "-o", "name")
    assert by_time == "pod/zeta\npod/alpha\n"


def test_get_prints_what_it_found_then_each_missing_name(podctl: Podctl) -> None:
    podctl("run", "here", "--image=podctl/kubia:1")
    result = podctl.run("get", "pods", "here", "gone", "-o", "name")
    assert result.code == 1
    assert result.out == "pod/here\n"
    assert result.err == 'Error from server (NotFound): pods "gone" not found\n'
