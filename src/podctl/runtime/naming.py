"""Dockershim container names and the io.kubernetes.* labels that identify podctl objects."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from podctl.api.meta import Obj
from podctl.home import home_id

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
DOCKER_TYPE = "io.kubernetes.docker.type"
SANDBOX_ID = "io.kubernetes.sandbox.id"
RESTART_COUNT = "annotation.io.kubernetes.container.restartCount"
CONTAINER_HASH = "annotation.io.kubernetes.container.hash"
GRACE_PERIOD = "annotation.io.kubernetes.pod.terminationGracePeriod"
ATTEMPT = "io.podctl.attempt"
MANAGED = "io.podctl.managed"
# The $PODCTL_HOME a container belongs to: homes sharing an engine never see each other's.
HOME = "io.podctl.home"
NETWORK_LABEL = "io.podctl.network"
# On a pod sandbox given the home's cluster DNS: the address it was given.
CLUSTER_DNS = "io.podctl.cluster-dns"

TYPE_SANDBOX = "podsandbox"
TYPE_CONTAINER = "container"
SANDBOX_CONTAINER_NAME = "POD"


def sandbox_name(pod: Obj, attempt: int) -> str:
    md = pod["metadata"]
    return f"k8s_POD_{md['name']}_{md['namespace']}_{md['uid']}_{attempt}"


def container_name(pod: Obj, container: str, attempt: int) -> str:
    md = pod["metadata"]
    return f"k8s_{container}_{md['name']}_{md['namespace']}_{md['uid']}_{attempt}"


def home_selector() -> str:
    """The label filter of this home's containers (for list and event calls)."""
    return f"{HOME}={home_id()}"


def pod_labels(pod: Obj) -> dict[str, str]:
    """Labels every container of a pod carries."""
    md = pod["metadata"]
    return {
        MANAGED: "true",
        HOME: home_id(),
        POD_NAME: md["name"],
        POD_NAMESPACE: md["namespace"],
        POD_UID: md["uid"],
    }


def sandbox_labels(pod: Obj, attempt: int) -> dict[str, str]:
    labels = {f"annotation.{k}": str(v)
              for k, v in (pod["metadata"].get("annotations") or {}).items()}
    labels.update({str(k): str(v) for k, v in (pod["metadata"].get("labels") or {}).items()})
    labels.update(pod_labels(pod))
    labels.update({
        CONTAINER_NAME: SANDBOX_CONTAINER_NAME,
        DOCKER_TYPE: TYPE_SANDBOX,
        ATTEMPT: str(attempt),
    })
    return labels


def container_labels(pod: Obj, spec: Obj, attempt: int, sandbox_id: str) -> dict[str, str]:
    labels = pod_labels(pod)
    labels.update({
        CONTAINER_NAME: spec["name"],
        DOCKER_TYPE: TYPE_CONTAINER,
        SANDBOX_ID: sandbox_id,
        ATTEMPT: str(attempt),
        RESTART_COUNT: str(attempt),
        CONTAINER_HASH: spec_hash(spec),
        GRACE_PERIOD: str(pod["spec"].get("terminationGracePeriodSeconds", 30)),
    })
    return labels


def spec_hash(spec: Any) -> str:
    """A short, stable hash of a container spec: tells when a container is out of date."""
    data = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def volume_name(pod: Obj, volume: str) -> str:
    return f"podctl_{pod['metadata']['uid']}_{volume}"
