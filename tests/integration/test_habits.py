"""kubectl's habits on real objects: short names, kind/name arguments, completion of the
names a real `podctl create` stored, and the engine's version."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import PODCTL, Podctl

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def complete(podctl: Podctl, line: str) -> list[str]:
    env = dict(podctl.env, _PODCTL_COMPLETE="bash_complete", COMP_WORDS=line,
               COMP_CWORD=str(len(line.split(" ")) - 1))
    proc = subprocess.run([PODCTL], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [item.split(",", 1)[1] for item in proc.stdout.splitlines() if item]


def test_short_names_and_kind_slash_name_reach_the_same_pod(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    names = [podctl("get", word, "kubia-manual", "-o", "name")
             for word in ("pods", "pod", "po", "Pod")]
    names.append(podctl("get", "po/kubia-manual", "-o", "name"))
    assert names == ["pod/kubia-manual\n"] * 5
    assert podctl("describe", "pod/kubia-manual").startswith("Name:")
    assert podctl("delete", "po/kubia-manual", "--grace-period=0", "--force") == \
        'pod "kubia-manual" force deleted\n'


def test_get_mixes_kinds_in_kind_slash_name_form(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    podctl("create", "ns", "habits-team")
    result = podctl.run("get", "pod/kubia-manual", "rc/absent", "ns/habits-team", "-o", "name")
    assert result.code == 1
    assert result.out == "pod/kubia-manual\nnamespace/habits-team\n"
    assert result.err == 'Error from server (NotFound): replicationcontrollers "absent" ' \
        "not found\n"


def test_completion_offers_what_create_stored(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    podctl("create", "-f", str(MANIFESTS / "two-containers.yaml"))
    pods = complete(podctl, "podctl get pods ")
    assert "kubia-manual" in pods
    pod_b = next(p for p in pods if p != "kubia-manual")
    spec = podctl.pod_json(pod_b)["spec"]
    assert complete(podctl, f"podctl logs {pod_b} -c ") == [
        c["name"] for c in spec["containers"]]
    assert complete(podctl, "podctl describe pod/kubia-m") == ["pod/kubia-manual"]


def test_version_reports_the_docker_engine_as_server(podctl: Podctl) -> None:
    import docker

    engine = docker.from_env().version()["Version"]
    lines = podctl("version").splitlines()
    assert lines[0].startswith("Client Version: v")
    assert lines[-1].startswith(f"Server Version: Docker Engine {engine} (API ")
    info = json.loads(podctl("version", "-o", "json"))
    assert info["serverVersion"]["gitVersion"] == engine
    assert set(info) == {"clientVersion", "kubernetesSchemaVersion", "serverVersion"}
