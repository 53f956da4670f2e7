"""Manifest errors through the real CLI: located messages, nothing half-created."""

from __future__ import annotations

import resource
import subprocess

from .conftest import PODCTL, Podctl, Result

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
    text = GOOD.replace("spec:\n", "spec:\n  runtimeClassName: gvisor\n")
    result = podctl.run("create", "--dry-run=client", "-f", "-", input=text, env=NO_DOCKER)
    assert result.code == 0
    assert [line for line in result.err.splitlines() if line.startswith("Warning: ")]


def test_missing_file_is_one_line(podctl: Podctl) -> None:
    result = podctl.run("create", "-f", "nowhere.yaml")
    assert result.code == 1
    assert result.err == 'error: the path "nowhere.yaml" does not exist\n'


# One document's aliases expand to 96861 nodes, just under the limit of 100000; 200 of them
# are 20 million nodes, which took seconds and hundreds of MB while the budget restarted with
# every document.
BOMB_DOC = """apiVersion: v1
kind: Pod
metadata:
  name: bomb-{i}
  annotations:
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
spec:
  containers:
  - {{name: app, image: podctl/kubia:1}}
"""
BUDGET = ('aliases expand to more than 100000 nodes across all documents and files '
          '("billion laughs" protection); refusing to load any of them')
# podctl refusing a manifest needs well under half of this; expanding the bomb needs more.
ADDRESS_SPACE = 256 * 1024 * 1024


def _run_capped(podctl: Podctl, *args: str) -> Result:
    """podctl with bounded memory and time, so an unbounded expansion fails instead of
    taking the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    proc = subprocess.run([PODCTL, *args], capture_output=True, text=True, timeout=30,
                          env={**podctl.env, **NO_DOCKER}, preexec_fn=limit)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_alias_bomb_spread_over_documents_is_refused(podctl: Podctl) -> None:
    path = podctl.tmp / "bomb.yaml"
    path.write_text("---\n".join(BOMB_DOC.format(i=i) for i in range(200)))
    # Document 2 starts on line 15; the 3rd *c of its line "d:" crosses the limit.
    want = f"{path}:23:20: {BUDGET}\n"
    for verb in ("validate", "create"):
        result = _run_capped(podctl, verb, "-f", str(path))
        assert (result.code, result.out, result.err) == (1, "", want), str(result)
    assert podctl.pod_uids() == []


def test_alias_budget_spans_the_whole_f_list(podctl: Podctl) -> None:
    paths = [podctl.tmp / f"part-{i}.yaml" for i in range(3)]
    for i, path in enumerate(paths):
        path.write_text(BOMB_DOC.format(i=i))
        # Alone, each file is loaded (and refused only for its list-valued annotations).
        alone = _run_capped(podctl, "validate", "-f", str(path))
        assert f'The Pod "bomb-{i}" is invalid:' in alone.err and BUDGET not in alone.err
    args = [arg for path in paths for arg in ("-f", str(path))]
    result = _run_capped(podctl, "create", *args)
    assert (result.code, result.out, result.err) == (1, "", f"{paths[1]}:9:20: {BUDGET}\n")
    assert podctl.pod_uids() == []
