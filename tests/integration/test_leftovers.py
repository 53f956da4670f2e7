"""Nothing left behind (issue 19): a home's data-plane rules go with its last Service and with
its controller, a new home never inherits a dead one's rules, lock files go with their
objects, merged kubeconfigs are private, and `podctl reset` removes a home from the engine
and the disk.

The host's rules are read as podctl reads them: iptables-save in a proxy container
(hostNetwork, NET_ADMIN), never on the host itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import os
import signal
import stat
import time
from pathlib import Path

import docker
import yaml

from podctl.home import home_id
from podctl.locks import object_locks
from podctl.proxy import apply, rules
from podctl.runtime import leftovers
from podctl.runtime.servicenet import SERVICE_CIDR, first_block

from .conftest import ControllerProcess, Podctl, remove_home
from .test_controller import Start

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kubia
        image: podctl/kubia:1
        volumeMounts: [{name: scratch, mountPath: /scratch}]
      volumes: [{name: scratch, emptyDir: {}}]
"""

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""

CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: podctl/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


def rule_lines(homeid: str) -> list[str]:
    return rules.owned_lines(homeid, apply.host_rules())


def cluster_ip(podctl: Podctl, name: str, namespace: str = "default") -> str:
    return podctl("get", "svc", name, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")


def system_pods(podctl: Podctl) -> list[str]:
    return podctl("get", "pods", "-n", "kube-system", "-o", "name").split()


def test_the_last_service_takes_the_plane_once_no_pod_resolves_through_it(
        podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(WEB)
    podctl("rollout", "status", "deployment/web", "--timeout=60s")
    podctl.apply_yaml(SERVICE)
    web_ip = cluster_ip(podctl, "web")
    podctl.wait_for(lambda: f"-d {web_ip}/32" in "\n".join(rule_lines(podctl.homeid)),
                    timeout=60, message="the rules of Service web")
    # A pod made once the cluster DNS exists resolves names through it...
    podctl.wait_for(lambda: podctl.run("get", "svc", "kube-dns", "-n", "kube-system").code
                    == 0, message="the kube-dns Service")
    podctl.apply_yaml(CLIENT)
    podctl("wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
    podctl("delete", "svc", "web")

    # ...so the plane stays while it runs: web's rules go, the DNS keeps answering.
    def web_gone_dns_kept() -> bool:
        owned = "\n".join(rule_lines(podctl.homeid))
        answer = podctl.run("exec", "client", "--", "nslookup",
                            "kubernetes.default.svc.cluster.local")
        return f"-d {web_ip}/32" not in owned and answer.code == 0
    podctl.wait_for(web_gone_dns_kept, timeout=30, message="web's rules gone, DNS kept")
    assert len(system_pods(podctl)) == 2
    podctl("delete", "pod", "client")
    podctl.wait_for(lambda: not rule_lines(podctl.homeid), timeout=30,
                    message="every rule of the home gone")
    podctl.wait_for(lambda: not system_pods(podctl), timeout=30, message="the system pods gone")
    assert podctl.run("get", "svc", "kube-dns", "-n", "kube-system").code == 1
    # A Service brings the plane back.
    podctl.apply_yaml(SERVICE)
    web_ip = cluster_ip(podctl, "web")
    podctl.wait_for(lambda: f"-d {web_ip}/32" in "\n".join(rule_lines(podctl.homeid)),
                    timeout=60, message="the rules back with a new Service")


def test_a_stopped_controller_takes_its_rules_and_the_next_one_brings_them_back(
        podctl: Podctl, controller: Start) -> None:
    first = controller()
    podctl.apply_yaml(SERVICE)
    podctl.wait_for(lambda: bool(rule_lines(podctl.homeid)), timeout=60, message="rules")
    first.proc.send_signal(signal.SIGINT)
    assert first.proc.wait(timeout=15) == 0
    assert rule_lines(podctl.homeid) == []  # gone before it exited
    second = controller()
    podctl.wait_for(lambda: bool(rule_lines(podctl.homeid)), timeout=60,
                    message="rules written again by the next controller")
    assert second.stop() == 0  # SIGTERM
    assert rule_lines(podctl.homeid) == []
    assert "removed this home's rules" in second.log.read_text()


def _home_starting_at(tmp: Path, index: int) -> Path:
    """A home path whose id makes it try the index-th /24 first."""
    for n in itertools.count():
        path = tmp / f"new-{n}"
        if first_block(home_id(path)) == index:
            return path
    raise AssertionError("unreachable")


def test_a_new_home_in_a_dead_homes_range_does_not_inherit_its_rules(
        podctl: Podctl, tmp_path: Path) -> None:
    dead = podctl
    dead_ctl = ControllerProcess(dead)
    new: Podctl | None = None
    new_ctl: ControllerProcess | None = None
    try:
        dead.apply_yaml(SERVICE)
        dead_ip = cluster_ip(dead, "web")
        dead.wait_for(lambda: f"-d {dead_ip}/32" in "\n".join(rule_lines(dead.homeid)),
                      timeout=60, message="the dead-to-be home's rules")
        # Killed before it could clean up, and then wiped from the engine by hand (its
        # containers and its range, as `docker rm -f`/`docker network rm` would).
        dead_ctl.kill()
        leftovers.remove(leftovers.find(dead.homeid))
        left = rule_lines(dead.homeid)
        assert left
        index = (int(ipaddress.IPv4Address(dead_ip)) - int(SERVICE_CIDR.network_address)) // 256
        new = Podctl(_home_starting_at(tmp_path, index), tmp_path)
        new_ctl = ControllerProcess(new)
        new.apply_yaml(SERVICE)
        new_ip = cluster_ip(new, "web")
        assert new_ip.rsplit(".", 1)[0] == dead_ip.rsplit(".", 1)[0]  # the same /24

        def swapped() -> bool:
            saved = apply.host_rules()
            return (not rules.owned_lines(dead.homeid, saved)
                    and f"-d {new_ip}/32" in "\n".join(rules.owned_lines(new.homeid, saved)))
        new.wait_for(swapped, timeout=60, message="the dead home's rules replaced")
        assert f"removing the iptables rules of gone homes {dead.homeid}" in \
            new_ctl.log.read_text()
    finally:
        dead_ctl.stop()
        if new_ctl is not None:
            new_ctl.stop()
        if new is not None:
            remove_home(new.home)


def test_lock_files_go_with_their_objects(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(WEB)
    podctl("rollout", "status", "deployment/web", "--timeout=60s")
    podctl.apply_yaml(CLIENT)
    podctl("wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
    uids = {json.loads(podctl("get", kind, "-o", "json"))["items"][0]["metadata"]["uid"]
            for kind in ("deployment", "rs")}
    uids |= {p["metadata"]["uid"]
             for p in json.loads(podctl("get", "pods", "-o", "json"))["items"]}
    assert uids <= set(object_locks(podctl.home))  # every one of them was locked
    podctl("delete", "deployment", "web")
    podctl("delete", "pod", "client")
    podctl.wait_for(lambda: not set(object_locks(podctl.home)) & uids, timeout=30,
                    message="the lock files of the deleted objects gone")
    assert (podctl.home / "locks" / "scheduler.lock").exists()  # not an object's: kept


def test_kubeconfig_merge_leaves_a_world_readable_file_private(
        podctl: Podctl, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "work",
        "clusters": [{"name": "work", "cluster": {"server": "https://work.example"}}],
        "users": [{"name": "work", "user": {"token": "w"}}],
        "contexts": [{"name": "work", "context": {"cluster": "work", "user": "work"}}]}))
    config.chmod(0o644)
    env = {"KUBECONFIG": str(config)}
    result = podctl.run("kubeconfig", "--merge", env=env)
    assert result.code == 0, str(result)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    merged = yaml.safe_load(config.read_text())
    assert [c["name"] for c in merged["contexts"]] == ["work", "podctl"]
    assert merged["current-context"] == "podctl"
    for name in ("api-token",):
        assert stat.S_IMODE((podctl.home / name).stat().st_mode) == 0o600
    # Reset takes its context away again, as `kind delete cluster` does, and only it.
    result = podctl.run("reset", env=env)
    assert result.code == 0, str(result)
    assert f'Deleted context "podctl" from {config}' in result.out
    after = yaml.safe_load(config.read_text())
    assert [c["name"] for c in after["contexts"]] == ["work"]
    assert after["current-context"] == ""
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def _own_lines(out: str) -> list[str]:
    """A reset's lines after the first, but the shared network's: a parallel test's home may
    have made it and left it unused between two resets, and any reset then removes it."""
    return [line for line in out.splitlines()[1:]
            if line != 'Deleted network "podctl": no other home uses it']


def test_reset_removes_everything_of_the_home_and_then_the_home(
        podctl: Podctl, docker_client: docker.DockerClient) -> None:
    started = podctl("run-controller", "--detach")
    pid = int(started.split("pid ")[1].split(")")[0])
    try:
        podctl.apply_yaml(WEB)
        podctl.apply_yaml(SERVICE)
        podctl("rollout", "status", "deployment/web", "--timeout=60s")
        podctl.wait_for(lambda: bool(rule_lines(podctl.homeid)), timeout=60, message="rules")
        podctl.wait_for(lambda: len(system_pods(podctl)) == 2, message="the system pods")
        label = f"io.podctl.home={podctl.homeid}"
        assert docker_client.volumes.list(filters={"label": label})  # the emptyDir
        (podctl.home / "notes.txt").write_text("mine")  # not podctl's: kept

        result = podctl.run("reset")
        assert result.code == 0, str(result)
        lines = result.out.splitlines()
        assert lines[0] == f'Deleting home "{podctl.home}" (id {podctl.homeid}) ...'
        assert f"Stopped controller (pid {pid})" in lines
        assert "Deleted containers: 6 of 3 pods" in lines  # web, kube-proxy, kube-dns
        assert any(line.startswith("Deleted volumes: [\"podctl_") for line in lines)
        assert f'Deleted networks: ["podctl-services-{podctl.homeid}"]' in lines
        assert lines[-1] == (f"Deleted podctl's files from {podctl.home}; kept the others: "
                             "notes.txt")
        # Nothing of it on the engine, by its label or by its chains' names.
        assert not docker_client.containers.list(all=True, filters={"label": label})
        assert not docker_client.volumes.list(filters={"label": label})
        assert not docker_client.networks.list(filters={"label": label})
        assert rule_lines(podctl.homeid) == []
        assert [p.name for p in podctl.home.iterdir()] == ["notes.txt"]
        assert not _alive(pid)

        (podctl.home / "notes.txt").unlink()
        again = podctl.run("reset")
        assert again.code == 0, str(again)
        assert _own_lines(again.out) == [
            "Deleted home: " + str(podctl.home)]  # the empty directory was all that was left
        third = podctl.run("reset")
        assert _own_lines(third.out) in (
            ["Nothing to delete: this home has nothing on the engine or on disk"], [])
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 5  # it may still be exiting
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with contextlib.suppress(OSError):
            if " Z " in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:4]:
                return False
        time.sleep(0.1)
    return True
