"""Manifest errors through the real CLI: located messages, nothing half-created."""

from __future__ import annotations

from .conftest import Podctl

GOOD = """apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  containers:
  - {name: app, image: podctl/kubia:1}
"""
BAD = """apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - name: app
    image: podctl/kubia:1
    ports:
    - containerPort: 80800
"""
NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def test_invalid_file_creates_nothing_and_points_at_the_line(podctl: Podctl) -> None:
    path = podctl.tmp / "bad.yaml"
    path.write_text(GOOD + "---\n" + BAD)
    result = podctl.run("create", "-f", str(path))
    assert result.code == 1 and result.out == ""
    assert 'The Pod "bad" is invalid:' in result.err
    assert (f"{path}:17:22: spec.containers[0].ports[0].containerPort: Invalid value: 80800: "
            "must be between 1 and 65535, inclusive") in result.err
    assert podctl.run("get", "pods").err.strip() == "No resources found in default namespace."


def test_other_files_of_the_same_call_still_go(podctl: Podctl) -> None:
    good, bad = podctl.tmp / "good.yaml", podctl.tmp / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    result = podctl.run("create", "-f", str(bad), "-f", str(good))
    assert result.code == 1
    assert result.out == "pod/good created\n"
    assert "containerPort" in result.err


def test_typo_gets_a_suggestion(podctl: Podctl) -> None:
    result = podctl.run("create", "-f", "-", input=GOOD.replace("containers", "contianers"),
                        env=NO_DOCKER)
    assert result.code == 1
    assert 'STDIN:5:3: unknown field "spec.contianers" (did you mean "containers"?)' in result.err


def test_validate_and_dry_run_need_no_docker(podctl: Podctl) -> None:
    path = podctl.tmp / "good.yaml"
    path.write_text(GOOD)
    checked = podctl.run("validate", "-f", str(path), env=NO_DOCKER)
    assert checked.code == 0, str(checked)
    dry = podctl.run("create", "--dry-run=client", "-f", str(path), env=NO_DOCKER)
    assert dry.code == 0 and dry.out == "pod/good created (dry run)\n"


def test_unsupported_field_is_a_warning(podctl: Podctl) -> None:
    text = GOOD.replace("spec:\n", "spec:\n  serviceAccountName: robot\n")
    result = podctl.run("create", "--dry-run=client", "-f", "-", input=text, env=NO_DOCKER)
    assert result.code == 0
    assert [line for line in result.err.splitlines() if line.startswith("Warning: ")]


def test_missing_file_is_one_line(podctl: Podctl) -> None:
    result = podctl.run("create", "-f", "nowhere.yaml")
    assert result.code == 1
    assert result.err == 'error: the path "nowhere.yaml" does not exist\n'
