"""CLI-side Deployment operations: delete with kubectl's cascade modes, `rollout status`,
history, undo, pause, restart and `set image`."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import advance_owner_deletion
from podctl.controllers.deployment import NOT_COPIED, revision_of, without_hash
from podctl.controllers.deployment_sync import advance_deployment_deletion, owned_replica_sets
from podctl.controllers.owners import owned_pods
from podctl.errors import NotFound, PodctlError
from podctl.kubelet.teardown import finish_pods
from podctl.ops.revisions import history_table
from podctl.store import Store

POLL_SECONDS = 0.5


def finish_deployment_deletion(store: Store, deployment: Obj, grace: int = -1) -> None:
    """Drive a marked Deployment (its finalizer says what happens to its ReplicaSets) to
    its end here: a controller finishes the job if this command dies half-way."""
    pod_grace = grace if grace >= 0 else None
    while store.get_by_uid(meta.uid_of(deployment)) is not None:
        for rs in advance_deployment_deletion(store, deployment):
            advance_owner_deletion(store, rs, pod_grace)
            list(finish_pods(store, [p for p in owned_pods(store, rs)
                                     if p["metadata"].get("deletionTimestamp")]))


def rollout_status_line(deployment: Obj) -> tuple[str, bool]:
    """kubectl's status line for a Deployment and whether the rollout is over; PodctlError
    when it exceeded its progress deadline."""
    name, spec = meta.name_of(deployment), deployment["spec"]
    status = deployment.get("status") or {}
    if int(deployment["metadata"].get("generation", 1)) > int(
            status.get("observedGeneration", 0)):
        return "Waiting for deployment spec update to be observed...", False
    progressing: Obj = next((c for c in status.get("conditions") or []
                        if c.get("type") == "Progressing"), {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        raise PodctlError(f'deployment "{name}" exceeded its progress deadline')
    wanted = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    replicas = int(status.get("replicas", 0))
    available = int(status.get("availableReplicas", 0))
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < wanted:
        return f"{waiting}{updated} out of {wanted} new replicas have been updated...", False
    if replicas > updated:
        return f"{waiting}{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{waiting}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def rollout_status(store: Store, namespace: str, name: str, watch: bool,
                   timeout: float, kind: str = "Deployment") -> Iterator[str]:
    """Status lines as they change until the rollout is over (or once, without watch)."""
    from podctl.ops.daemonset import rollout_status_line as daemon_set_line
    from podctl.ops.revisions import stateful_set_status_line

    line_of = {"DaemonSet": daemon_set_line, "StatefulSet": stateful_set_status_line}.get(
        kind, rollout_status_line)
    deadline = time.monotonic() + timeout if timeout > 0 else None
    last = ""
    while True:
        obj = store.get(kind, namespace, name)
        if obj is None:
            if last:
                raise PodctlError("object has been deleted")
            raise NotFound(meta.plural(kind), name)
        line, done = line_of(obj)
        if line != last:
            yield line
            last = line
        if done or not watch:
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise PodctlError("timed out waiting for the condition")
        time.sleep(POLL_SECONDS)


def set_paused(store: Store, namespace: str, name: str, paused: bool) -> str:
    """`rollout pause|resume`: spec.paused, refused when it already has that value."""
    already = False

    def change(deployment: Obj) -> bool:
        nonlocal already
        already = bool(deployment["spec"].get("paused")) == paused
        if already:
            return False
        if paused:
            deployment["spec"]["paused"] = True
        else:
            deployment["spec"].pop("paused", None)
        md = deployment["metadata"]
        md["generation"] = int(md.get("generation", 1)) + 1
        return True

    if registry.mutate(store, "Deployment", namespace, name, change) is None:
        raise NotFound(meta.plural("Deployment"), name)
    if already:
        state = "already paused" if paused else "not paused"
        raise PodctlError(f'{meta.plural("Deployment")} "{name}" is {state}')
    return f"{meta.singular('Deployment')}/{name} {'paused' if paused else 'resumed'}"


def _history(store: Store, deployment: Obj) -> dict[int, Obj]:
    return {revision_of(rs): rs for rs in owned_replica_sets(store, deployment)}


def rollout_history(store: Store, namespace: str, name: str, revision: int = 0) -> str:
    """`rollout history`: the revisions and their change causes, or one revision's pod
    template (in describe's layout)."""
    from podctl.printers.describe import describe_pod_template

    deployment = store.require("Deployment", namespace, name)
    history = _history(store, deployment)
    label = f"{meta.singular('Deployment')}/{name}"
    if revision:
        if revision not in history:
            raise PodctlError("unable to find the specified revision")
        return (f"{label} with revision #{revision}\n"
                + describe_pod_template(deployment, history[revision]["spec"]["template"]))
    if not history:
        return "No rollout history found.\n"
    return history_table(label, history)


def rollout_undo(store: Store, namespace: str, name: str, to_revision: int = 0) -> str:
    """`rollout undo`: the Deployment's template (and annotations) back from a revision's
    ReplicaSet; the controller then reuses that ReplicaSet under a new revision."""
    deployment = store.require("Deployment", namespace, name)
    label = f"{meta.singular('Deployment')}/{name}"
    if deployment["spec"].get("paused"):
        raise PodctlError("you cannot rollback a paused deployment; resume it first with "
                          "'kubectl rollout resume' and try again")
    history = _history(store, deployment)
    if not history:
        raise PodctlError(f'no rollout history found for deployment "{name}"')
    if to_revision:
        target = history.get(to_revision)
        if target is None:
            raise PodctlError(f"unable to find specified revision {to_revision} in history")
    else:
        numbers = sorted(history)
        if len(numbers) < 2:
            raise PodctlError(f'no rollout history found for deployment "{name}"')
        to_revision = numbers[-2]
        target = history[to_revision]
    template = without_hash(target["spec"]["template"])
    if template == without_hash(deployment["spec"]["template"]):
        return (f"{label} skipped rollback (current template already matches revision "
                f"{to_revision})")

    def change(fresh: Obj) -> bool:
        md = fresh["metadata"]
        kept = {k: v for k, v in (md.get("annotations") or {}).items() if k in NOT_COPIED}
        copied = {k: v for k, v in (target["metadata"].get("annotations") or {}).items()
                  if k not in NOT_COPIED}
        md["annotations"] = {**copied, **kept}
        if not md["annotations"]:
            md.pop("annotations")
        fresh["spec"]["template"] = copy.deepcopy(template)
        md["generation"] = int(md.get("generation", 1)) + 1
        return True

    if registry.mutate(store, "Deployment", namespace, name, change,
                       meta.uid_of(deployment)) is None:
        raise NotFound(meta.plural("Deployment"), name)
    return f"{label} rolled back"


def _containers_of(template: Obj) -> list[Obj]:
    spec = template.get("spec") or {}
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def set_image(store: Store, namespace: str, name: str, images: dict[str, str],
              kind: str = "Deployment") -> str:
    """`set image deployment/NAME CONTAINER=IMAGE...` (`*` names every container): a new
    template, hence a rollout (of a Deployment or DaemonSet)."""
    deployment = store.require(kind, namespace, name)
    known = {c.get("name") for c in _containers_of(deployment["spec"]["template"])}
    for container in images:
        if container != "*" and container not in known:
            raise PodctlError(f'unable to find container named "{container}"')

    def change(fresh: Obj) -> bool:
        changed = False
        for container in _containers_of(fresh["spec"]["template"]):
            image = images.get(container.get("name", ""), images.get("*"))
            if image is not None and container.get("image") != image:
                container["image"] = image
                changed = True
        if changed:
            md = fresh["metadata"]
            md["generation"] = int(md.get("generation", 1)) + 1
        return changed

    if registry.mutate(store, kind, namespace, name, change, meta.uid_of(deployment)) is None:
        raise NotFound(meta.plural(kind), name)
    return f"{meta.singular(kind)}/{name} image updated"


RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def rollout_restart(store: Store, namespace: str, name: str, kind: str = "Deployment") -> str:
    """`rollout restart`: a restartedAt template annotation (local RFC 3339 time) makes a new
    template, so the pods are replaced by a normal rollout (Deployment or DaemonSet)."""
    from datetime import datetime

    deployment = store.require(kind, namespace, name)
    if deployment["spec"].get("paused"):
        raise PodctlError("can't restart paused deployment (run rollout resume first)")
    now = datetime.now().astimezone().replace(microsecond=0)
    stamp = now.isoformat()
    twice = False

    def change(fresh: Obj) -> bool:
        nonlocal twice
        template_md = fresh["spec"]["template"].setdefault("metadata", {})
        annotations = template_md.setdefault("annotations", {})
        # kubectl's patch would be empty: the same second's stamp is already there.
        twice = annotations.get(RESTARTED_AT) == stamp
        if twice:
            return False
        annotations[RESTARTED_AT] = stamp
        md = fresh["metadata"]
        md["generation"] = int(md.get("generation", 1)) + 1
        return True

    if registry.mutate(store, kind, namespace, name, change, meta.uid_of(deployment)) is None:
        raise NotFound(meta.plural(kind), name)
    if twice:
        raise PodctlError(f"failed to create patch for {name}: if restart has already been "
                          "triggered within the past second, please wait before attempting "
                          "to trigger another")
    return f"{meta.singular(kind)}/{name} restarted"


def container_name(image: str) -> str:
    """kubectl create deployment's container name: the image's last path segment without
    tag or digest; `_` and `.` become `-` plus a random suffix (DNS-1123)."""
    import secrets
    import string

    name = image.split("/")[-1].split(":")[0].split("@")[0]
    if "_" in name or "." in name:
        alphabet = string.ascii_lowercase + string.digits
        suffix = "".join(secrets.choice(alphabet) for _ in range(5))
        name = f"{name.replace('_', '-').replace('.', '-')}-{suffix}"
    return name


def build_deployment(name: str, images: list[str], replicas: int, port: int) -> Obj:
    """The object `kubectl create deployment` generates: labels app=NAME everywhere, one
    container per image, the port on the first one."""
    labels = {"app": name}
    containers: list[Obj] = [{"name": container_name(image), "image": image}
                             for image in images]
    if port >= 0 and containers:
        containers[0]["ports"] = [{"containerPort": port}]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": containers}}},
    }
