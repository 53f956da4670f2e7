"""logs, exec and namespaces as kubectl has them."""

from __future__ import annotations

from pathlib import Path

from .conftest import Podctl

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def test_logs_show_the_app_output(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    podctl.wait_for(lambda: "starting" in podctl("logs", "kubia-manual"), message="log")
    podctl("exec", "kubia-manual", "--", "wget", "-qO-", "http://localhost:8080/")
    text = podctl("logs", "kubia-manual")
    assert text.splitlines()[0] == "Kubia server starting..."
    assert "Received request from" in text
    assert podctl("logs", "kubia-manual", "--tail", "1").startswith("Received request from")
    stamped = podctl("logs", "pod/kubia-manual", "--timestamps").splitlines()[0]
    assert stamped.split(" ", 1)[0].endswith("Z")


def test_logs_of_multi_container_pod_default_to_first(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "two-containers.yaml"))
    result = podctl.run("logs", "fortune")
    assert result.code == 0
    assert result.err.strip() == 'Defaulted container "web" out of: web, writer'
    assert podctl.run("logs", "fortune", "-c", "writer").err == ""


def test_logs_previous_without_restart_is_an_error(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    result = podctl.run("logs", "kubia-manual", "-p")
    assert result.code == 1
    assert result.err.strip() == ('Error from server (BadRequest): previous terminated container '
                                  '"kubia" in pod "kubia-manual" not found')


def test_exec_passes_the_exit_code(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    result = podctl.run("exec", "kubia-manual", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.code == 3
    assert result.out == "out\n"
    assert result.err == "err\ncommand terminated with exit code 3\n"


def test_exec_with_stdin(podctl: Podctl) -> None:
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    result = podctl.run("exec", "-i", "kubia-manual", "--", "cat", input="piped\n")
    assert result.code == 0 and result.out == "piped\n"


def test_namespaces(podctl: Podctl) -> None:
    assert podctl("create", "namespace", "team-a") == "namespace/team-a created\n"
    table = podctl("get", "namespaces").splitlines()
    assert table[0].split() == ["NAME", "STATUS", "AGE"]
    assert [r.split()[:2] for r in table[1:]] == [["default", "Active"], ["team-a", "Active"]]
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"), "-n", "team-a")
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    assert podctl("get", "pods", "-n", "team-a", "-o", "name") == "pod/kubia-manual\n"
    everywhere = podctl("get", "pods", "-A").splitlines()
    assert everywhere[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert [r.split()[:2] for r in everywhere[1:]] == [["default", "kubia-manual"],
                                                      ["team-a", "kubia-manual"]]
    assert podctl("delete", "namespace", "team-a") == 'namespace "team-a" deleted\n'
    assert podctl("get", "pods", "-A", "-o", "name") == "pod/kubia-manual\n"


def test_manifest_namespace_and_missing_namespace(podctl: Podctl) -> None:
    out = podctl("create", "-f", str(MANIFESTS / "custom-namespace.yaml"))
    assert out == "namespace/custom-namespace created\npod/kubia-manual created\n"
    missing = podctl.run("create", "-f", str(MANIFESTS / "kubia-manual.yaml"), "-n", "nowhere")
    assert missing.code == 1
    assert missing.err.strip().endswith('namespaces "nowhere" not found')
    assert missing.err.startswith("Error from server (NotFound): error when creating")


def test_default_namespace_cannot_be_deleted(podctl: Podctl) -> None:
    result = podctl.run("delete", "namespace", "default")
    assert result.code == 1
    assert "this namespace may not be deleted" in result.err


def test_create_from_stdin_and_folder(podctl: Podctl) -> None:
    text = (MANIFESTS / "kubia-manual.yaml").read_text()
    assert podctl("create", "-f", "-", input=text) == "pod/kubia-manual created\n"
    folder = podctl.tmp / "many"
    folder.mkdir()
    for i in (2, 1):
        (folder / f"p{i}.yaml").write_text(text.replace("kubia-manual", f"pod-{i}"))
    assert podctl("create", "-f", str(folder)) == "pod/pod-1 created\npod/pod-2 created\n"


def test_run_makes_a_labelled_pod(podctl: Podctl) -> None:
    assert podctl("run", "kubia", "--image=podctl/kubia:1", "--port=8080") == (
        "pod/kubia created\n")
    pod = podctl.pod_json("kubia")
    assert pod["metadata"]["labels"] == {"run": "kubia"}
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    podctl("run", "once", "--image=podctl/busybox:1", "--restart=Never", "--", "echo", "hi")
    podctl.wait_for(lambda: podctl.pod_json("once")["status"]["phase"] == "Succeeded",
                    message="Succeeded")
    assert podctl("logs", "once") == "hi\n"


def test_get_events_outlive_the_pod(podctl: Podctl) -> None:
    podctl("run", "kubia", "--image=podctl/kubia:1")
    podctl("delete", "pod", "kubia", "--now")
    table = podctl("get", "events").splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    reasons = [row.split()[2] for row in table[1:]]
    assert reasons == ["Scheduled", "Pulled", "Created", "Started", "Killing"]
    assert all(row.split()[3] == "pod/kubia" for row in table[1:])


def test_wait_for_ready_jsonpath_and_delete(podctl: Podctl) -> None:
    podctl("run", "kubia", "--image=podctl/kubia:1")
    assert podctl("wait", "--for=condition=Ready", "pod/kubia", "--timeout=20s") == (
        "pod/kubia condition met\n")
    assert podctl("wait", "--for=jsonpath={.status.phase}=Running", "pods", "-l",
                  "run=kubia") == "pod/kubia condition met\n"
    late = podctl.run("wait", "--for=condition=Ready=False", "pod/kubia", "--timeout=1s")
    assert late.code == 1
    assert late.err == "error: timed out waiting for the condition on pods/kubia\n"
    podctl("delete", "pod", "kubia", "--now")
    assert podctl("wait", "--for=delete", "pod/kubia") == "pod/kubia condition met\n"


def test_cp_both_ways(podctl: Podctl) -> None:
    podctl("run", "box", "--image=podctl/kubia:1")
    local = podctl.tmp / "in.txt"
    local.write_text("to the pod\n")
    assert podctl("cp", str(local), "box:/tmp/in.txt") == ""
    assert podctl("exec", "box", "--", "cat", "/tmp/in.txt") == "to the pod\n"
    podctl("exec", "box", "--", "sh", "-c", "mkdir -p /tmp/d && echo x > /tmp/d/f")
    podctl("cp", "default/box:/tmp/d", str(podctl.tmp / "out"))
    assert (podctl.tmp / "out" / "f").read_text() == "x\n"
    missing = podctl.run("cp", "box:/nope", str(podctl.tmp / "x"))
    assert missing.code == 1 and "No such file or directory" in missing.err
