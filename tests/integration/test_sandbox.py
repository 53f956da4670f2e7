"""The pod sandbox: shared network, UTS, IPC and volumes; private PIDs unless asked."""

from __future__ import annotations

import docker

from .conftest import Podctl

TWO = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  shareProcessNamespace: {share}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: podctl/kubia:1
    volumeMounts: [{{name: shared, mountPath: /data}}]
  - name: side
    image: podctl/busybox:1
    command: [sleep, "3600"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  volumes:
  - name: shared
    emptyDir: {{}}
"""


def _exec(podctl: Podctl, pod: str, container: str, *cmd: str) -> str:
    return podctl("exec", pod, "-c", container, "--", *cmd)


def test_containers_reach_each_other_on_localhost(podctl: Podctl) -> None:
    podctl.apply_yaml(TWO.format(name="duo", share="false"))
    podctl.wait_for(lambda: podctl.run("exec", "duo", "-c", "side", "--", "wget", "-qO-",
                                       "http://localhost:8080/").code == 0,
                    message="kubia on localhost")
    assert _exec(podctl, "duo", "side", "wget", "-qO-", "http://127.0.0.1:8080/") == (
        "You've hit duo\n")


def test_containers_share_the_pod_hostname(podctl: Podctl) -> None:
    podctl.apply_yaml(TWO.format(name="duo", share="false"))
    assert _exec(podctl, "duo", "web", "hostname") == "duo\n"
    assert _exec(podctl, "duo", "side", "hostname") == "duo\n"


def test_containers_share_an_empty_dir(podctl: Podctl) -> None:
    podctl.apply_yaml(TWO.format(name="duo", share="false"))
    _exec(podctl, "duo", "side", "sh", "-c", "echo hello > /shared/greeting")
    assert _exec(podctl, "duo", "web", "cat", "/data/greeting") == "hello\n"


def test_containers_share_sysv_ipc(podctl: Podctl) -> None:
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: ipc}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: one, image: podctl/busybox:1, command: [sleep, "3600"]}
  - {name: two, image: podctl/busybox:1, command: [sleep, "3600"]}
""")
    _exec(podctl, "ipc", "one", "shmtool", "set", "4242", "across")
    assert _exec(podctl, "ipc", "two", "shmtool", "get", "4242") == "across\n"


def test_processes_are_private_without_share_process_namespace(podctl: Podctl) -> None:
    podctl.apply_yaml(TWO.format(name="duo", share="false"))
    processes = _exec(podctl, "duo", "side", "ps")
    assert "sleep" in processes
    assert "kubia" not in processes and "pause" not in processes


def test_share_process_namespace_shows_every_process(podctl: Podctl) -> None:
    podctl.apply_yaml(TWO.format(name="duo", share="true"))
    processes = _exec(podctl, "duo", "side", "ps")
    assert "/app/kubia" in processes and "/pause" in processes and "sleep" in processes


def test_other_pods_do_not_share_ipc(podctl: Podctl) -> None:
    podctl.apply_yaml(TWO.format(name="one", share="false"))
    podctl.apply_yaml(TWO.format(name="two", share="false"))
    _exec(podctl, "one", "side", "shmtool", "set", "77", "mine")
    result = podctl.run("exec", "two", "-c", "side", "--", "shmtool", "get", "77")
    assert result.code == 1


def test_env_command_args_and_working_dir(podctl: Podctl) -> None:
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: envy, namespace: default, labels: {app: envy}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: podctl/busybox:1
    workingDir: /tmp
    command: [sh, -c]
    args: ['echo "$POD_NAME/$POD_NS/$GREETING/$(pwd)/$POD_IP/$APP"; sleep 3600']
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: WHO, value: world}
    - {name: GREETING, value: hello-$(WHO)}
""")
    ip = podctl.pod_json("envy")["status"]["podIP"]
    podctl.wait_for(lambda: bool(podctl("logs", "envy")), message="output")
    assert podctl("logs", "envy") == f"envy/default/hello-world//tmp/{ip}/envy\n"


def test_memory_limit_reaches_docker(podctl: Podctl, docker_client: docker.DockerClient) -> None:
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: limited}
spec:
  containers:
  - name: app
    image: podctl/kubia:1
    resources:
      limits: {memory: 64Mi, cpu: 500m}
""")
    pod = podctl.pod_json("limited")
    assert pod["status"]["qosClass"] == "Guaranteed"
    cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")
    host = docker_client.containers.get(cid).attrs["HostConfig"]
    assert host["Memory"] == 64 * 1024 * 1024
    assert (host["CpuQuota"], host["CpuPeriod"], host["CpuShares"]) == (50_000, 100_000, 512)


def test_host_path_volume_is_a_bind_mount(podctl: Podctl) -> None:
    shared = podctl.tmp / "hostdir"
    podctl.apply_yaml(f"""
apiVersion: v1
kind: Pod
metadata: {{name: hosty}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: podctl/busybox:1
    command: [sh, -c, "echo from-pod > /host/out; sleep 3600"]
    volumeMounts: [{{name: h, mountPath: /host}}]
  volumes:
  - name: h
    hostPath: {{path: {shared}, type: DirectoryOrCreate}}
""")
    podctl.wait_for(lambda: (shared / "out").exists(), message="file from the pod")
    assert (shared / "out").read_text() == "from-pod\n"
