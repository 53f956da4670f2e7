"""kubectl's columns and describe layout for StatefulSets and ControllerRevisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.labels import format_label_selector
from podctl.api.meta import Obj
from podctl.printers.age import age

STS_HEADERS = ["NAME", "READY", "AGE"]
STS_WIDE_HEADERS = ["CONTAINERS", "IMAGES"]
REVISION_HEADERS = ["NAME", "CONTROLLER", "REVISION", "AGE"]


def stateful_set_row(sts: Obj, now: datetime, wide: bool) -> list[str]:
    status = sts.get("status") or {}
    row = [meta.name_of(sts),
           f"{status.get('readyReplicas', 0)}/{sts['spec'].get('replicas', 1)}",
           age(sts["metadata"].get("creationTimestamp"), now)]
    if wide:
        containers = (sts["spec"].get("template") or {}).get("spec", {}).get("containers", [])
        row += [",".join(c["name"] for c in containers),
                ",".join(c["image"] for c in containers)]
    return row


def controller_revision_row(revision: Obj, now: datetime, wide: bool) -> list[str]:
    """The CONTROLLER column is `<kind>.<group>/<name>` of its controller reference."""
    ref = meta.controller_of(revision)
    controller = "<none>"
    if ref is not None:
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        kind = str(ref.get("kind", "")).lower()
        controller = f"{kind}.{group}/{ref.get('name')}" if group else \
            f"{kind}/{ref.get('name')}"
    return [meta.name_of(revision), controller, str(revision.get("revision", 0)),
            age(revision["metadata"].get("creationTimestamp"), now)]


def describe_stateful_set(sts: Obj, pods: list[Obj], events: list[dict[str, Any]],
                          now: datetime) -> str:
    """kubectl describe statefulset: replicas, update strategy, pod phases, template,
    claim templates, events."""
    from podctl.printers.describe import (
        Lines,
        _pod_template,
        annotations_multiline,
        describe_events,
        multiline_map,
        rfc1123z,
    )

    md, spec, status = sts["metadata"], sts["spec"], sts.get("status") or {}
    phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    w.add(0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}")
    w.add(0, f"Selector:\t{format_label_selector(spec.get('selector'))}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"Service Name:\t{spec.get('serviceName', '')}")
    w.add(0, f"Pod Management Policy:\t{spec.get('podManagementPolicy', 'OrderedReady')}")
    w.add(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} "
             "total")
    strategy = spec.get("updateStrategy") or {}
    w.add(0, f"Update Strategy:\t{strategy.get('type', 'RollingUpdate')}")
    rolling = strategy.get("rollingUpdate") or {}
    if rolling.get("partition") is not None:
        w.add(1, f"Partition:\t{rolling['partition']}")
        if rolling.get("maxUnavailable") is not None:
            w.add(1, f"MaxUnavailable:\t{rolling['maxUnavailable']}")
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        w.add(0, "Persistent Volume Claim Retention Policy:")
        w.add(1, f"WhenDeleted:\t{retention.get('whenDeleted', 'Retain')}")
        w.add(1, f"WhenScaled:\t{retention.get('whenScaled', 'Retain')}")
    w.add(0, f"Pods Status:\t{phases.count('Running')} Running / "
             f"{phases.count('Pending')} Waiting / {phases.count('Succeeded')} Succeeded / "
             f"{phases.count('Failed')} Failed")
    _pod_template(w, sts, spec.get("template") or {})
    _claim_templates(w, spec.get("volumeClaimTemplates") or [])
    return w.text() + describe_events(events, now)


def revision_template(owner: Obj, template: Obj) -> str:
    """`rollout history --revision` of a StatefulSet or DaemonSet: kubectl prints its
    template's lines with their tabs as they are (no column alignment), then a blank line."""
    from podctl.printers.describe import Lines, _pod_template

    w = Lines()
    _pod_template(w, owner, template)
    return "\n".join(w.parts) + "\n\n"


def _claim_templates(w: Any, templates: list[Obj]) -> None:
    """describeVolumeClaimTemplates: each claim's class, labels, capacity, modes."""
    if not templates:
        w.add(0, "Volume Claims:\t<none>")
        return
    w.add(0, "Volume Claims:")
    for claim in templates:
        cmd, cspec = claim.get("metadata") or {}, claim.get("spec") or {}
        w.add(1, f"Name:\t{cmd.get('name', '')}")
        klass = (cmd.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class")
        if klass is None:
            klass = cspec.get("storageClassName") or ""
        w.add(1, f"StorageClass:\t{klass}")
        for title, found in (("Labels", cmd.get("labels")), ("Annotations",
                                                              cmd.get("annotations"))):
            items: dict[str, str] = found or {}
            if not items:
                w.add(1, f"{title}:\t<none>")
            for i, key in enumerate(sorted(items)):
                w.add(1, (f"{title}:\t" if i == 0 else "\t") + f"{key}={items[key]}")
        storage = ((cspec.get("resources") or {}).get("requests") or {}).get("storage")
        w.add(1, f"Capacity:\t{storage if storage is not None else '<default>'}")
        w.add(1, f"Access Modes:\t[{' '.join(cspec.get('accessModes') or [])}]")
