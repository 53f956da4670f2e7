"""A kopf operator, as a user writes one, for the tests and the bench: every watched parent
(labelled `childmaker=on`) gets a child ConfigMap `<name>-child` it owns, holding the
parent's data (a ConfigMap's `data`, a custom resource's `spec`); the parent's status (a
custom resource) or annotation (a built-in kind without a status of its own) names the
child; an event says so; an update of the parent's content is copied to the child; the
parent's deletion waits on kopf's finalizer until the delete handler has written a
`<name>-farewell` ConfigMap.

Run as `kopf run --standalone -A childmaker.py` with KUBECONFIG set and the watched kind in
CHILDMAKER_RESOURCE: `v1/configmaps` (the default) or `GROUP/VERSION/PLURAL`.
CHILDMAKER_STREAMING=1 asks for the initial list as a watch stream (sendInitialEvents);
CHILDMAKER_WATCH_TIMEOUT (seconds) makes the server end each watch that soon, so kopf
reconnects from the resourceVersion it last saw.
"""

from __future__ import annotations

import os
from typing import Any

import kopf

RESOURCE = os.environ.get("CHILDMAKER_RESOURCE", "v1/configmaps").split("/")
LABELS = {"childmaker": "on"}
CHILD_ANNOTATION = "childmaker.podctl.io/child"
BUILT_IN = len(RESOURCE) == 2


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.reporting_component = "childmaker"
    settings.posting.loggers = True  # handlers' log lines become events too (off by default)
    settings.watching.initial_streaming = os.environ.get("CHILDMAKER_STREAMING") == "1"
    timeout = os.environ.get("CHILDMAKER_WATCH_TIMEOUT")
    if timeout:
        settings.watching.server_timeout = int(timeout)
    # Kopf keeps its progress in annotations when the kind has no status of its own.
    if BUILT_IN:
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage()
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage()


def content(body: kopf.Body) -> dict[str, str]:
    source = body.get("data") if BUILT_IN else body.get("spec")
    return {str(k): str(v) for k, v in dict(source or {}).items()}


def core() -> Any:
    import kubernetes

    kubernetes.config.load_kube_config()
    return kubernetes.client.CoreV1Api()


@kopf.on.create(*RESOURCE, labels=LABELS)
@kopf.on.resume(*RESOURCE, labels=LABELS)
def reconcile(name: str, namespace: str, body: kopf.Body, patch: kopf.Patch,
              logger: kopf.Logger, **_: Any) -> dict[str, str]:
    import kubernetes

    child = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"{name}-child", "namespace": namespace},
             "data": content(body)}
    kopf.append_owner_reference(child, owner=body)
    try:
        core().create_namespaced_config_map(namespace, child)
    except kubernetes.client.ApiException as exc:
        if exc.status != 409:
            raise
    if BUILT_IN:
        patch.metadata.annotations[CHILD_ANNOTATION] = child["metadata"]["name"]
    else:
        patch.status["child"] = child["metadata"]["name"]
    kopf.info(body, reason="ChildCreated", message=f"created ConfigMap {name}-child")
    logger.info(f"{name}-child is in place")  # kopf posts it too, as a Logging event
    return {"child": child["metadata"]["name"]}


@kopf.on.update(*RESOURCE, labels=LABELS, field="spec" if not BUILT_IN else "data")
def copy_update(name: str, namespace: str, body: kopf.Body, **_: Any) -> None:
    core().patch_namespaced_config_map(f"{name}-child", namespace, {"data": content(body)})


@kopf.on.delete(*RESOURCE, labels=LABELS)
def farewell(name: str, namespace: str, meta: kopf.Meta, **_: Any) -> None:
    import kubernetes

    # Written while kopf's finalizer holds the parent: the deletion it saw.
    farewell_map = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"{name}-farewell", "namespace": namespace},
                    "data": {"uid": str(meta.uid),
                             "deletionTimestamp": str(meta.deletion_timestamp)}}
    try:
        core().create_namespaced_config_map(namespace, farewell_map)
    except kubernetes.client.ApiException as exc:
        if exc.status != 409:
            raise
