"""ReplicationControllers, following the book's chapter 4 walkthrough."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import docker

from .conftest import ControllerProcess, Podctl, containers_of
from .test_controller import Start

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
RC = str(MANIFESTS / "kubia-rc.yaml")


def pods(podctl: Podctl, selector: str = "") -> list[dict[str, object]]:
    args = ["get", "pods", "-o", "json"] + (["-l", selector] if selector else [])
    return list(json.loads(podctl(*args))["items"])


def running(podctl: Podctl, selector: str = "app=kubia") -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods(podctl, selector)  # type: ignore[index]
                  if p["status"]["phase"] == "Running"  # type: ignore[index]
                  and not p["metadata"].get("deletionTimestamp"))  # type: ignore[union-attr]


def wait_count(podctl: Podctl, count: int, selector: str = "app=kubia",
               timeout: float = 30) -> list[str]:
    podctl.wait_for(lambda: len(running(podctl, selector)) == count
                    and len(pods(podctl, selector)) == count,
                    timeout=timeout, message=f"{count} pods matching {selector}")
    return running(podctl, selector)


def test_create_rc_makes_three_owned_pods(podctl: Podctl) -> None:
    result = podctl.run("create", "-f", RC)
    assert result.out == "replicationcontroller/kubia created\n"
    assert "podctl run-controller" in result.err  # the count is only kept with a controller
    names = wait_count(podctl, 3)
    for name in names:
        assert name.startswith("kubia-") and len(name) == len("kubia-") + 5
    owner = pods(podctl)[0]["metadata"]["ownerReferences"]  # type: ignore[index]
    assert owner[0]["kind"] == "ReplicationController" and owner[0]["controller"] is True
    assert owner[0]["blockOwnerDeletion"] is True
    header, row = podctl("get", "rc").splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert row.split()[:4] == ["kubia", "3", "3", "3"]
    wide = podctl("get", "rc", "-o", "wide").splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["kubia", "podctl/kubia:1", "app=kubia"]
    described = podctl("describe", "rc", "kubia")
    assert "Replicas:     3 current / 3 desired" in described
    assert "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert "SuccessfulCreate" in described and "Created pod: kubia-" in described


def test_deleted_pod_is_replaced(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl("create", "-f", RC)
    first = wait_count(podctl, 3)
    podctl("delete", "pod", first[0], "--now")
    after = wait_count(podctl, 3)
    assert first[0] not in after and len(set(after) & set(first)) == 2
    status = json.loads(podctl("get", "rc", "kubia", "-o", "json"))["status"]
    assert status["replicas"] == 3 and status["readyReplicas"] == 3


def test_pod_removed_in_docker_is_replaced(podctl: Podctl, controller: Start,
                                           docker_client: docker.DockerClient) -> None:
    controller()
    podctl("create", "-f", RC)
    wait_count(podctl, 3)
    victim = pods(podctl)[0]
    for container in containers_of(docker_client, victim["metadata"]["uid"]):  # type: ignore[index]
        container.remove(force=True)
    podctl.wait_for(lambda: all(
        p["status"]["containerStatuses"][0].get("ready")  # type: ignore[index]
        for p in pods(podctl)) and len(pods(podctl)) == 3, message="the pod back")


def test_relabelled_pod_is_released_and_replaced(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl("create", "-f", RC)
    names = wait_count(podctl, 3)
    refused = podctl.run("label", "pod", names[0], "app=foo")
    assert refused.code == 1
    assert refused.err.strip() == (
        "error: 'app' already has a value (kubia), and --overwrite is false")
    assert podctl("label", "pod", names[0], "app=foo", "--overwrite") == (
        f"pod/{names[0]} labeled\n")
    wait_count(podctl, 3)
    released = podctl.pod_json(names[0])
    assert "ownerReferences" not in released["metadata"]
    assert released["status"]["phase"] == "Running"


def test_scale_up_and_down(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl("create", "-f", RC)
    wait_count(podctl, 3)
    assert podctl("scale", "rc", "kubia", "--replicas=5") == "replicationcontroller/kubia scaled\n"
    wait_count(podctl, 5)
    podctl("scale", "rc", "kubia", "--replicas=2")
    wait_count(podctl, 2)
    events = podctl("describe", "rc", "kubia")
    assert "SuccessfulDelete" in events and "Deleted pod: kubia-" in events


def test_template_change_affects_only_new_pods(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl("create", "-f", RC)
    old = wait_count(podctl, 3)
    changed = Path(RC).read_text().replace("        ports:", "        env:\n"
                                           "        - {name: VERSION, value: two}\n"
                                           "        ports:")
    path = podctl.tmp / "rc-v2.yaml"
    path.write_text(changed)
    result = podctl.run("apply", "-f", str(path))
    assert result.out == "replicationcontroller/kubia configured\n"
    assert "last-applied-configuration" in result.err
    for name in old:
        assert "env" not in podctl.pod_json(name)["spec"]["containers"][0]
    podctl("delete", "pod", old[0], "--now")
    new = [n for n in wait_count(podctl, 3) if n not in old]
    assert podctl.pod_json(new[0])["spec"]["containers"][0]["env"] == [
        {"name": "VERSION", "value": "two"}]


def test_delete_cascades_or_orphans(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl("create", "-f", RC)
    names = wait_count(podctl, 3)
    assert podctl("delete", "rc", "kubia", "--cascade=orphan") == (
        'replicationcontroller "kubia" deleted\n')
    time.sleep(1)
    assert running(podctl) == names
    assert all("ownerReferences" not in p["metadata"] for p in pods(podctl))  # type: ignore[operator]
    podctl("create", "-f", RC)  # a new RC adopts the orphans instead of making more
    time.sleep(1.5)
    assert running(podctl) == names
    podctl("delete", "rc", "kubia")
    podctl.wait_for(lambda: pods(podctl) == [], message="pods gone with the RC")


def test_selector_defaults_to_template_labels(podctl: Podctl) -> None:
    text = Path(RC).read_text().replace("  selector:\n    app: kubia\n", "")
    podctl("create", "-f", "-", input=text)
    rc = json.loads(podctl("get", "rc", "kubia", "-o", "json"))
    assert rc["spec"]["selector"] == {"app": "kubia"}
    assert rc["metadata"]["labels"] == {"app": "kubia"}


def test_selector_mismatch_is_rejected(podctl: Podctl) -> None:
    text = Path(RC).read_text().replace("    app: kubia\n  template", "    app: other\n  template")
    result = podctl.run("create", "-f", "-", input=text)
    assert result.code == 1
    assert "`selector` does not match template `labels`" in result.err


def test_never_more_pods_than_asked(podctl: Podctl, controller: Start) -> None:
    first: ControllerProcess = controller()
    controller()  # a second one stands by
    podctl("create", "-f", RC)
    wait_count(podctl, 3)
    first.kill()
    controller()
    podctl("scale", "rc", "kubia", "--replicas=4")
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        assert len(pods(podctl)) <= 4
        time.sleep(0.2)
    assert len(running(podctl)) == 4


def test_edit_validates_and_applies(podctl: Podctl) -> None:
    podctl("create", "-f", RC)
    wait_count(podctl, 3)
    editor = {"EDITOR": "sed -i s/replicas:\\ 3/replicas:\\ 1/"}
    result = podctl.run("edit", "rc", "kubia", env=editor)
    assert result.code == 0 and result.out == "replicationcontroller/kubia edited\n", str(result)
    wait_count(podctl, 1)
    broken = {"EDITOR": "sed -i s/replicas:\\ 1/replicas:\\ -2/"}
    bad = podctl.run("edit", "rc", "kubia", env=broken)
    assert bad.code == 1 and "must be greater than or equal to 0" in bad.err
    assert os.path.exists(bad.err.strip().rsplit('"', 2)[-2])


def test_logs_and_exec_through_the_rc(podctl: Podctl) -> None:
    podctl("create", "-f", RC)
    wait_count(podctl, 3)
    result = podctl.run("exec", "rc/kubia", "--", "hostname")
    # kubectl exec says nothing of the choice; only logs does.
    assert (result.code, result.err) == (0, "") and result.out.strip().startswith("kubia-")
    logs = podctl.run("logs", "rc/kubia")
    assert logs.code == 0 and logs.err.startswith("Found 3 pods, using pod/kubia-")


def test_apply_new_image_replaces_the_container(podctl: Podctl) -> None:
    pod = """
apiVersion: v1
kind: Pod
metadata: {{name: swap}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: app, image: "{image}", command: [sleep, "600"]}}]
"""
    path = podctl.tmp / "swap.yaml"
    path.write_text(pod.format(image="podctl/busybox:1"))
    podctl("apply", "-f", str(path))
    before = podctl.pod_json("swap")["status"]["containerStatuses"][0]
    path.write_text(pod.format(image="podctl/kubia:1"))
    assert podctl("apply", "-f", str(path)) == "pod/swap configured\n"
    after = podctl.pod_json("swap")["status"]["containerStatuses"][0]
    assert after["image"] == "podctl/kubia:1" and after["restartCount"] == 1
    assert after["containerID"] != before["containerID"] and "running" in after["state"]
    assert "Container app definition changed, will be restarted" in podctl(
        "describe", "pod", "swap")
