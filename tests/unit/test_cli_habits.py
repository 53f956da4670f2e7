"""kubectl's everyday habits through the CLI, without Docker: explain, api-resources,
version --client, aliases, and shell completion over a store in a temporary PODCTL_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from podctl.cli.main import cli
from podctl.cli.resourceargs import split_resource_args
from podctl.errors import PodctlError
from podctl.store import open_store

PODCTL = shutil.which("podctl", path=str(Path(sys.executable).parent)) or "podctl"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with pods in two namespaces, an RC and a node; PODCTL_HOME points at it."""
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    store = open_store(tmp_path)
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    for name, ns in (("kubia", "default"), ("kubia-manual", "default"), ("other", "team")):
        store.create({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": name, "namespace": ns},
                      "spec": {"initContainers": [{"name": "setup"}],
                               "containers": [{"name": "app"}, {"name": "sidecar"}]}})
    store.create({"apiVersion": "v1", "kind": "ReplicationController",
                  "metadata": {"name": "kubia-rc", "namespace": "default"}, "spec": {}})
    store.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    store.close()
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="podctl")
    return result.exit_code, result.output


def complete(line: str) -> list[str]:
    """Ask for completions as bash does: the words so far, the cursor on the last one."""
    words = line.split(" ")
    env = {"_PODCTL_COMPLETE": "bash_complete", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}
    result = CliRunner().invoke(cli, [], env=env, prog_name="podctl")
    assert result.exit_code == 0, result.output
    return [item.split(",", 1)[1] for item in result.output.splitlines() if item]


# -- resource words ---------------------------------------------------------------------

@pytest.mark.parametrize("words,kind", [
    (("pods", "pod", "po", "Pod", "PODS"), "Pod"),
    (("replicationcontrollers", "replicationcontroller", "rc", "ReplicationController"),
     "ReplicationController"),
    (("namespaces", "namespace", "ns", "Namespace"), "Namespace"),
    (("nodes", "node", "no", "Node"), "Node"),
    (("events", "event", "ev", "Event"), "Event"),
    (("replicasets", "replicaset", "rs", "ReplicaSet"), "ReplicaSet"),
    (("deployments", "deployment", "deploy", "Deployment"), "Deployment"),
    (("daemonsets", "daemonset", "ds", "DaemonSet"), "DaemonSet"),
])
def test_every_plural_singular_short_and_kind_spelling_names_the_kind(
        words: tuple[str, ...], kind: str) -> None:
    for word in words:
        assert split_resource_args((word, "x")) == [(kind, ["x"])]
        assert split_resource_args((f"{word}/x",)) == [(kind, ["x"])]


def test_kind_name_arguments_group_by_kind() -> None:
    assert split_resource_args(("pod/kubia", "rc/x", "po/b")) == [
        ("Pod", ["kubia", "b"]), ("ReplicationController", ["x"])]


def test_unknown_resource_word_is_kubectls_error() -> None:
    with pytest.raises(PodctlError, match='the server doesn\'t have a resource type "pdos"'):
        split_resource_args(("pdos",))


def test_create_ns_is_create_namespace(home: Path) -> None:
    assert run("create", "ns", "habits") == (0, "namespace/habits created\n")
    assert "habits" in complete("podctl get ns ")


# -- explain ----------------------------------------------------------------------------

def test_explain_accepts_every_spelling_of_the_resource() -> None:
    code, pods = run("explain", "pods")
    assert code == 0 and pods.startswith("KIND:       Pod\n")
    assert run("explain", "po") == (0, pods)
    assert run("explain", "Pod") == (0, pods)


def test_explain_field_path_and_recursive() -> None:
    code, out = run("explain", "pod.spec.containers.livenessProbe")
    assert code == 0 and "FIELD: livenessProbe <Probe>" in out
    code, out = run("explain", "rc.spec", "--recursive")
    assert code == 0 and "\n  template\t<PodTemplateSpec>\n    metadata\t<ObjectMeta>\n" in out


def test_explain_errors_are_kubectls() -> None:
    def fail(*args: str) -> str:
        proc = subprocess.run([PODCTL, "explain", *args], capture_output=True, text=True)
        assert proc.returncode == 1 and proc.stdout == ""
        return proc.stderr

    assert fail("pod.spec.bogus") == 'error: field "bogus" does not exist\n'
    assert fail("widgets") == 'error: the server doesn\'t have a resource type "widgets"\n'
    assert fail().startswith("error: You must specify the type of resource to explain")


# -- api-resources, version -------------------------------------------------------------

def test_api_resources_lists_the_resource_table() -> None:
    code, out = run("api-resources")
    assert code == 0
    assert out.splitlines() == [
        "NAME                        SHORTNAMES   APIVERSION                     NAMESPACED   "
        "KIND",
        "configmaps                  cm           v1                             true         "
        "ConfigMap",
        "endpoints                   ep           v1                             true         "
        "Endpoints",
        "events                      ev           v1                             true         "
        "Event",
        "limitranges                 limits       v1                             true         "
        "LimitRange",
        "namespaces                  ns           v1                             false        "
        "Namespace",
        "nodes                       no           v1                             false        "
        "Node",
        "persistentvolumeclaims      pvc          v1                             true         "
        "PersistentVolumeClaim",
        "persistentvolumes           pv           v1                             false        "
        "PersistentVolume",
        "pods                        po           v1                             true         "
        "Pod",
        "replicationcontrollers      rc           v1                             true         "
        "ReplicationController",
        "resourcequotas              quota        v1                             true         "
        "ResourceQuota",
        "secrets                                  v1                             true         "
        "Secret",
        "serviceaccounts             sa           v1                             true         "
        "ServiceAccount",
        "services                    svc          v1                             true         "
        "Service",
        "customresourcedefinitions   crd,crds     apiextensions.k8s.io/v1        false        "
        "CustomResourceDefinition",
        "controllerrevisions                      apps/v1                        true         "
        "ControllerRevision",
        "daemonsets                  ds           apps/v1                        true         "
        "DaemonSet",
        "deployments                 deploy       apps/v1                        true         "
        "Deployment",
        "replicasets                 rs           apps/v1                        true         "
        "ReplicaSet",
        "statefulsets                sts          apps/v1                        true         "
        "StatefulSet",
        "selfsubjectreviews                       authentication.k8s.io/v1       false        "
        "SelfSubjectReview",
        "tokenreviews                             authentication.k8s.io/v1       false        "
        "TokenReview",
        "localsubjectaccessreviews                authorization.k8s.io/v1        true         "
        "LocalSubjectAccessReview",
        "selfsubjectaccessreviews                 authorization.k8s.io/v1        false        "
        "SelfSubjectAccessReview",
        "selfsubjectrulesreviews                  authorization.k8s.io/v1        false        "
        "SelfSubjectRulesReview",
        "subjectaccessreviews                     authorization.k8s.io/v1        false        "
        "SubjectAccessReview",
        "horizontalpodautoscalers    hpa          autoscaling/v2                 true         "
        "HorizontalPodAutoscaler",
        "cronjobs                    cj           batch/v1                       true         "
        "CronJob",
        "jobs                                     batch/v1                       true         "
        "Job",
        "leases                                   coordination.k8s.io/v1         true         "
        "Lease",
        "endpointslices                           discovery.k8s.io/v1            true         "
        "EndpointSlice",
        "ingressclasses                           networking.k8s.io/v1           false        "
        "IngressClass",
        "ingresses                   ing          networking.k8s.io/v1           true         "
        "Ingress",
        "networkpolicies             netpol       networking.k8s.io/v1           true         "
        "NetworkPolicy",
        "poddisruptionbudgets        pdb          policy/v1                      true         "
        "PodDisruptionBudget",
        "clusterrolebindings                      rbac.authorization.k8s.io/v1   false        "
        "ClusterRoleBinding",
        "clusterroles                             rbac.authorization.k8s.io/v1   false        "
        "ClusterRole",
        "rolebindings                             rbac.authorization.k8s.io/v1   true         "
        "RoleBinding",
        "roles                                    rbac.authorization.k8s.io/v1   true         "
        "Role",
        "storageclasses              sc           storage.k8s.io/v1              false        "
        "StorageClass",
    ]


def test_api_resources_filters_and_formats() -> None:
    assert run("api-resources", "--namespaced=false", "-o", "name") == (
        0, "namespaces\n"
        "nodes\n"
        "persistentvolumes\n"
        "customresourcedefinitions.apiextensions.k8s.io\n"
        "selfsubjectreviews.authentication.k8s.io\n"
        "tokenreviews.authentication.k8s.io\n"
        "selfsubjectaccessreviews.authorization.k8s.io\n"
        "selfsubjectrulesreviews.authorization.k8s.io\n"
        "subjectaccessreviews.authorization.k8s.io\n"
        "ingressclasses.networking.k8s.io\n"
        "clusterrolebindings.rbac.authorization.k8s.io\n"
        "clusterroles.rbac.authorization.k8s.io\n"
        "storageclasses.storage.k8s.io\n")
    code, out = run("api-resources", "--no-headers", "--namespaced", "true")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == [
        "configmaps", "endpoints", "events", "limitranges", "persistentvolumeclaims", "pods",
        "replicationcontrollers", "resourcequotas", "secrets", "serviceaccounts", "services",
        "controllerrevisions", "daemonsets", "deployments", "replicasets", "statefulsets",
        "localsubjectaccessreviews", "horizontalpodautoscalers", "cronjobs", "jobs", "leases",
        "endpointslices", "ingresses", "networkpolicies", "poddisruptionbudgets",
        "rolebindings", "roles"]
    code, out = run("api-resources", "-o", "name", "--sort-by", "name")
    assert out.splitlines()[-4:] == [
        "statefulsets.apps", "storageclasses.storage.k8s.io",
        "subjectaccessreviews.authorization.k8s.io", "tokenreviews.authentication.k8s.io"]
    code, out = run("api-resources", "-o", "wide")
    assert "VERBS" in out.splitlines()[0]
    pods = next(line for line in out.splitlines() if line.startswith("pods "))
    assert pods.endswith("[create delete deletecollection get list patch update watch]   all")


def test_version_client_needs_no_docker() -> None:
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock")
    proc = subprocess.run([PODCTL, "version", "--client"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    from podctl import __version__

    assert proc.stdout.splitlines()[0] == f"Client Version: v{__version__}"
    assert "Server Version" not in proc.stdout


def test_version_without_docker_prints_the_client_then_fails() -> None:
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock")
    proc = subprocess.run([PODCTL, "version", "-o", "json"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 1
    assert '"clientVersion"' in proc.stdout and '"serverVersion"' not in proc.stdout
    assert proc.stderr.startswith("error: cannot reach the Docker engine")


# -- completion -------------------------------------------------------------------------

@pytest.mark.parametrize("shell,marker", [
    ("bash", "complete -o nosort -F"), ("zsh", "#compdef podctl"), ("fish", "complete ")])
def test_completion_prints_a_script_for_each_shell(shell: str, marker: str) -> None:
    code, out = run("completion", shell)
    assert code == 0 and marker in out and "_PODCTL_COMPLETE" in out


def test_completes_commands_and_flags(home: Path) -> None:
    assert complete("podctl exp") == ["explain", "expose"]
    assert "--show-labels" in complete("podctl get --sh")


def test_completes_resource_types_then_stored_names(home: Path) -> None:
    assert complete("podctl get ") == [
        "clusterrolebindings", "clusterroles",
        "configmaps", "controllerrevisions", "cronjobs", "customresourcedefinitions",
        "daemonsets", "deployments",
        "endpoints", "endpointslices", "events", "horizontalpodautoscalers",
        "ingressclasses", "ingresses", "jobs", "leases", "limitranges", "namespaces",
        "networkpolicies", "nodes",
        "persistentvolumeclaims", "persistentvolumes",
        "poddisruptionbudgets", "pods", "replicasets", "replicationcontrollers",
        "resourcequotas", "rolebindings", "roles", "secrets", "serviceaccounts",
        "services", "statefulsets", "storageclasses"]
    assert complete("podctl get rc") == ["rc"]
    assert complete("podctl get pods ") == ["kubia", "kubia-manual"]
    assert complete("podctl describe po kubia-") == ["kubia-manual"]
    assert complete("podctl delete rc ") == ["kubia-rc"]
    assert complete("podctl get nodes ") == ["node-1"]
    assert complete("podctl get ns ") == ["default", "team"]
    assert complete("podctl drain ") == ["node-1"]
    assert complete("podctl cordon node-1 ") == []


def test_completion_honours_the_namespace_flag(home: Path) -> None:
    assert complete("podctl get -n team pods ") == ["other"]
    assert complete("podctl get pods --namespace team ") == ["other"]
    assert complete("podctl get pods -n ") == ["default", "team"]


def test_completes_kind_slash_name(home: Path) -> None:
    assert complete("podctl get pod/") == ["pod/kubia", "pod/kubia-manual"]
    assert complete("podctl describe rc/k") == ["rc/kubia-rc"]


def test_completes_pods_and_their_containers(home: Path) -> None:
    assert complete("podctl logs ") == ["kubia", "kubia-manual"]
    assert complete("podctl logs kubia -c ") == ["setup", "app", "sidecar"]
    assert complete("podctl exec -n team other -c s") == ["setup", "sidecar"]
    assert complete("podctl cp team/other:/tmp/x . -c a") == ["app"]


def test_completion_without_a_store_creates_nothing(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "none"
    monkeypatch.setenv("PODCTL_HOME", str(missing))
    assert complete("podctl get pods ") == []
    assert not missing.exists()


def test_completion_through_the_installed_command(home: Path) -> None:
    env = dict(os.environ, PODCTL_HOME=str(home), _PODCTL_COMPLETE="zsh_complete",
               COMP_WORDS="podctl logs ", COMP_CWORD="2",
               DOCKER_HOST="unix:///nonexistent/docker.sock")
    proc = subprocess.run([PODCTL], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:6] == ["plain", "kubia", "_", "plain", "kubia-manual", "_"]


def test_describe_of_several_objects_separates_them_as_kubectl(home: Path) -> None:
    """kubectl writes "\\n\\n" before each description after the first: two blank lines."""
    store = open_store(home)
    for name in ("a", "b"):
        store.create({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": name, "namespace": "default"}, "data": {"k": "v"}})
    store.close()
    code, out = run("describe", "configmaps")
    assert code == 0 and out.startswith("Name:         a\n") and out.endswith("<none>\n")
    assert out.count("\n\n\nName:         b\n") == 1
