"""ConfigMaps and Secrets on the real engine: create, describe, env and volume consumption."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from .conftest import BUSYBOX_IMAGE, ControllerProcess, Podctl


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _container_state(podctl: Podctl, pod: str) -> dict[str, Any]:
    statuses = podctl.pod_json(pod).get("status", {}).get("containerStatuses") or [{}]
    return dict(statuses[0].get("state") or {})


def _pod(name: str, container: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "env | sort; sleep 3600"]
{container}"""


def test_create_configmap_from_literal_and_get_describe(podctl: Podctl) -> None:
    cm = _name("app")
    assert podctl("create", "configmap", cm, "--from-literal=mode=fast",
                  "--from-literal=level=3") == f"configmap/{cm} created\n"
    lines = podctl("get", "cm", cm).splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"] and lines[1].split()[:2] == [cm, "2"]
    text = podctl("describe", "configmap", cm)
    assert "\nData\n====\nlevel:\n----\n3\n\nmode:\n----\nfast\n" in text
    again = podctl.run("create", "configmap", cm, "--from-literal=a=b")
    assert again.code == 1
    assert again.err.strip() == (f'Error from server (AlreadyExists): configmaps "{cm}" '
                                 "already exists")
    assert podctl("delete", "cm", cm).startswith(f'configmap "{cm}" deleted')
    dry = podctl("create", "cm", cm, "--from-literal=k=v", "--dry-run=client", "-o", "yaml")
    assert "data:\n  k: v\nkind: ConfigMap\n" in dry
    assert podctl.run("get", "cm", cm).code == 1  # nothing was created


def test_describe_secret_shows_sizes_not_values(podctl: Podctl) -> None:
    secret = _name("db")
    env_file = podctl.tmp / "db.env"
    env_file.write_text("user=admin\npassword=hunter22\n")
    assert podctl("create", "secret", "generic", secret,
                  f"--from-env-file={env_file}") == f"secret/{secret} created\n"
    assert podctl("get", "secrets", secret).splitlines()[1].split()[:3] == [
        secret, "Opaque", "2"]
    text = podctl("describe", "secret", secret)
    assert "Type:  Opaque" in text
    assert "password:  8 bytes\nuser:      5 bytes\n" in text
    assert "hunter22" not in text and "admin" not in text
    stored = json.loads(podctl("get", "secret", secret, "-o", "json"))
    assert stored["data"]["user"] == "YWRtaW4="


def test_secret_and_configmap_in_env(podctl: Podctl,
                                     controller: Callable[[], ControllerProcess]) -> None:
    controller()
    cm, secret, pod = _name("app"), _name("db"), _name("envpod")
    podctl("create", "configmap", cm, "--from-literal=mode=fast", "--from-literal=level=3")
    podctl("create", "secret", "generic", secret, "--from-literal=password=s3cret")
    podctl.apply_yaml(_pod(pod, f"""    envFrom:
    - configMapRef: {{name: {cm}}}
      prefix: CFG_
    env:
    - name: DB_PASSWORD
      valueFrom:
        secretKeyRef: {{name: {secret}, key: password}}
    - name: MISSING_OK
      valueFrom:
        configMapKeyRef: {{name: {cm}, key: nope, optional: true}}
"""))
    podctl.wait_for(lambda: "DB_PASSWORD=s3cret" in podctl.run("logs", pod).out,
                    timeout=60, message="the pod's env in its log")
    logs = podctl("logs", pod)
    assert "CFG_mode=fast\n" in logs and "CFG_level=3\n" in logs
    assert "MISSING_OK" not in logs
    described = podctl("describe", "pod", pod)
    squeezed = [" ".join(line.split()) for line in described.splitlines()]
    assert f"{cm} ConfigMap with prefix 'CFG_' Optional: false" in squeezed
    assert (f"DB_PASSWORD: <set to the key 'password' in secret '{secret}'> Optional: false"
            in squeezed)
    assert "s3cret" not in described


def test_missing_configmap_waits_then_starts(podctl: Podctl,
                                            controller: Callable[[], ControllerProcess]) -> None:
    controller()
    cm, pod = _name("late"), _name("waiter")
    podctl.apply_yaml(_pod(pod, f"""    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {{name: {cm}, key: greeting}}
"""))
    podctl.wait_for(lambda: _container_state(podctl, pod).get("waiting", {}).get("reason")
                    == "CreateContainerConfigError", timeout=60, message="the config error")
    assert _container_state(podctl, pod)["waiting"]["message"] == f'configmap "{cm}" not found'
    assert "CreateContainerConfigError" in podctl("get", "pod", pod)
    assert f'Error: configmap "{cm}" not found' in podctl("describe", "pod", pod)
    podctl("create", "configmap", cm, "--from-literal=greeting=hello")
    podctl.wait_for(lambda: "running" in _container_state(podctl, pod), timeout=60,
                    message="the pod to start once its ConfigMap exists")
    podctl.wait_for(lambda: "GREETING=hello" in podctl.run("logs", pod).out, timeout=30,
                    message="the value in the env")


def _exec(podctl: Podctl, pod: str, *command: str) -> str:
    result = podctl.run("exec", pod, "--", *command)
    return result.out if result.code == 0 else ""


def test_mounted_configmap_updates_in_place_but_subpath_does_not(
        podctl: Podctl, controller: Callable[[], ControllerProcess]) -> None:
    controller()
    cm, pod = _name("files"), _name("reader")
    podctl("create", "configmap", cm, "--from-literal=greeting=hello")
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {pod}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    volumeMounts:
    - {{name: cfg, mountPath: /etc/cfg}}
    - {{name: cfg, mountPath: /etc/one/greeting, subPath: greeting}}
  volumes:
  - name: cfg
    configMap: {{name: {cm}}}
""")
    podctl.wait_for(lambda: _exec(podctl, pod, "cat", "/etc/cfg/greeting") == "hello",
                    timeout=60, message="the mounted file")
    assert _exec(podctl, pod, "cat", "/etc/one/greeting") == "hello"
    denied = podctl.run("exec", pod, "--", "sh", "-c", "echo x > /etc/cfg/greeting")
    assert denied.code != 0  # read-only
    changed = podctl.tmp / "changed.yaml"
    changed.write_text(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {cm}
data:
  greeting: bonjour
  extra: more
""")
    assert podctl("apply", "-f", str(changed)) == f"configmap/{cm} configured\n"
    podctl.wait_for(lambda: _exec(podctl, pod, "cat", "/etc/cfg/greeting") == "bonjour",
                    timeout=60, message="the file to follow the ConfigMap")
    assert _exec(podctl, pod, "cat", "/etc/cfg/extra") == "more"
    assert _exec(podctl, pod, "cat", "/etc/one/greeting") == "hello"  # subPath stays


def test_secret_as_files_with_their_mode(podctl: Podctl,
                                         controller: Callable[[], ControllerProcess]) -> None:
    controller()
    secret, pod = _name("tls"), _name("secretfiles")
    podctl("create", "secret", "generic", secret, "--from-literal=key=s3cret")
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {pod}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    volumeMounts:
    - {{name: creds, mountPath: /etc/creds}}
  volumes:
  - name: creds
    secret:
      secretName: {secret}
      defaultMode: 0400
      items:
      - {{key: key, path: private/key.pem}}
""")
    podctl.wait_for(lambda: _exec(podctl, pod, "cat", "/etc/creds/private/key.pem")
                    == "s3cret", timeout=60, message="the secret file")
    mode = _exec(podctl, pod, "stat", "-L", "-c", "%a", "/etc/creds/private/key.pem")
    assert mode.strip() == "400"
    # Other local users can read neither the volume files nor the store holding Secrets.
    assert (podctl.home / "volumes").stat().st_mode & 0o777 == 0o700
    assert (podctl.home / "store.db").stat().st_mode & 0o077 == 0
    assert "s3cret" not in podctl("describe", "pod", pod)


def test_missing_configmap_volume_fails_mount_until_created(
        podctl: Podctl, controller: Callable[[], ControllerProcess]) -> None:
    controller()
    cm, pod = _name("later"), _name("mounter")
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {pod}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    volumeMounts:
    - {{name: cfg, mountPath: /etc/cfg}}
  volumes:
  - name: cfg
    configMap: {{name: {cm}}}
""")
    message = f'MountVolume.SetUp failed for volume "cfg" : configmap "{cm}" not found'
    podctl.wait_for(lambda: message in podctl("describe", "pod", pod), timeout=60,
                    message="the FailedMount event")
    podctl("create", "configmap", cm, "--from-literal=k=v")
    podctl.wait_for(lambda: _exec(podctl, pod, "cat", "/etc/cfg/k") == "v", timeout=60,
                    message="the pod to start with its files")


def test_downward_api_volume_follows_labels_and_env_reads_resources(
        podctl: Podctl, controller: Callable[[], ControllerProcess]) -> None:
    controller()
    pod = _name("downward")
    podctl.apply_yaml(f"""apiVersion: v1
kind: Pod
metadata:
  name: {pod}
  labels: {{app: web}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "env | sort; sleep 3600"]
    resources:
      limits: {{memory: 64Mi}}
    env:
    - name: MEM_MI
      valueFrom:
        resourceFieldRef: {{resource: limits.memory, divisor: 1Mi}}
    - name: MY_NAMESPACE
      valueFrom:
        fieldRef: {{fieldPath: metadata.namespace}}
    volumeMounts:
    - {{name: info, mountPath: /etc/podinfo}}
  volumes:
  - name: info
    downwardAPI:
      items:
      - {{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}
      - {{path: name, fieldRef: {{fieldPath: metadata.name}}}}
""")
    podctl.wait_for(lambda: _exec(podctl, pod, "cat", "/etc/podinfo/labels") == 'app="web"',
                    timeout=60, message="the labels file")
    assert _exec(podctl, pod, "cat", "/etc/podinfo/name") == pod
    logs = podctl("logs", pod)
    assert "MEM_MI=64\n" in logs and "MY_NAMESPACE=default\n" in logs
    podctl("label", "pod", pod, "tier=front")
    podctl.wait_for(lambda: _exec(podctl, pod, "cat", "/etc/podinfo/labels")
                    == 'app="web"\ntier="front"', timeout=60,
                    message="the labels file to follow the pod")


def test_without_a_controller_creating_the_configmap_starts_the_waiting_pod(
        podctl: Podctl) -> None:
    cm, pod = _name("solo"), _name("solowait")
    podctl.apply_yaml(_pod(pod, f"""    envFrom:
    - configMapRef: {{name: {cm}}}
"""))
    assert (_container_state(podctl, pod).get("waiting", {}).get("reason")
            == "CreateContainerConfigError")
    podctl("create", "configmap", cm, "--from-literal=WHO=world")
    podctl.wait_for(lambda: "WHO=world" in podctl.run("logs", pod).out, timeout=30,
                    message="the pod started by the create")
