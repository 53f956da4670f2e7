"""CLI-side StatefulSet and DaemonSet rollouts: `rollout status` of a StatefulSet, and
`rollout history|undo` of both, read from their ControllerRevisions (kubectl's
StatefulSetHistoryViewer, DaemonSetHistoryViewer and their rollbackers)."""

from __future__ import annotations

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import history
from podctl.errors import NotFound, PodctlError
from podctl.store import Store

CHANGE_CAUSE = "kubernetes.io/change-cause"


def stateful_set_status_line(sts: Obj) -> tuple[str, bool]:
    """kubectl's status line for a StatefulSet and whether its rollout is over."""
    spec, status = sts["spec"], sts.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise PodctlError("rollout status is only available for RollingUpdate strategy type")
    observed = int(status.get("observedGeneration") or 0)
    if observed == 0 or int(sts["metadata"].get("generation", 1)) > observed:
        return "Waiting for statefulset spec update to be observed...", False
    replicas = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    if ready < replicas:
        return f"Waiting for {replicas - ready} pods to be ready...", False
    updated = int(status.get("updatedReplicas") or 0)
    rolling = strategy.get("rollingUpdate")
    if isinstance(rolling, dict):
        wanted = replicas - int(rolling.get("partition") or 0)
        if rolling.get("partition") is not None and updated < wanted:
            return (f"Waiting for partitioned roll out to finish: {updated} out of {wanted} "
                    "new pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if status.get("updateRevision") != status.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at "
                f"revision {status.get('updateRevision')}..."), False
    return (f"statefulset rolling update complete {status.get('currentReplicas', 0)} pods at "
            f"revision {status.get('currentRevision')}..."), True


def _revisions(store: Store, owner: Obj) -> dict[int, Obj]:
    return {history.number_of(r): r for r in history.owned_revisions(store, owner)}


def rollout_history(store: Store, kind: str, namespace: str, name: str,
                    revision: int = 0) -> str:
    """`rollout history`: the revisions and their change causes, or one revision's pod
    template (in describe's layout)."""
    from podctl.printers.statefulsets import revision_template

    owner = store.require(kind, namespace, name)
    revisions = _revisions(store, owner)
    label = f"{meta.singular(kind)}/{name}"
    if not revisions:
        return "No rollout history found.\n"
    if revision:
        if revision not in revisions:
            raise PodctlError("unable to find the specified revision")
        return (f"{label} with revision #{revision}\n"
                + revision_template(owner, history.template_of(revisions[revision])))
    return history_table(label, revisions)


def history_table(label: str, revisions: dict[int, Obj]) -> str:
    """kubectl's history viewer: the name printer's line with an empty operation (so a
    trailing space), each revision and its change cause, and the newline it prints after
    the table (a blank line ends it)."""
    rows = [("REVISION", "CHANGE-CAUSE")] + [
        (str(number), (revisions[number]["metadata"].get("annotations") or {}).get(
            CHANGE_CAUSE) or "<none>") for number in sorted(revisions)]
    width = max(len(number) for number, _ in rows) + 2  # the tabwriter's padding
    return f"{label} \n" + "".join(f"{n.ljust(width)}{cause}\n" for n, cause in rows) + "\n"


def rollout_undo(store: Store, kind: str, namespace: str, name: str,
                 to_revision: int = 0) -> str:
    """`rollout undo`: the owner's template back from a revision (the previous one by
    default); the controller then renumbers that revision the newest."""
    owner = store.require(kind, namespace, name)
    label = f"{meta.singular(kind)}/{name}"
    revisions = _revisions(store, owner)
    if to_revision == 0 and len(revisions) <= 1:
        raise PodctlError("no last revision to roll back to")
    if to_revision:
        target = revisions.get(to_revision)
        if target is None:
            raise PodctlError(f"unable to find specified revision {to_revision} in history")
    else:
        target = revisions[sorted(revisions)[-2]]
    template = history.template_of(target)
    if template == owner["spec"]["template"]:
        # kubectl names the revision asked for: 0 when none was.
        return (f"{label} skipped rollback (current template already matches revision "
                f"{to_revision})")

    def change(fresh: Obj) -> bool:
        fresh["spec"]["template"] = meta.clone(template)
        md = fresh["metadata"]
        md["generation"] = int(md.get("generation", 1)) + 1
        return True

    if registry.mutate(store, kind, namespace, name, change, meta.uid_of(owner)) is None:
        raise NotFound(meta.plural(kind), name)
    return f"{label} rolled back"
