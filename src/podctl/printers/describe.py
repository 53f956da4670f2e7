"""`podctl describe`: kubectl's layout, built as tab-separated lines then aligned."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.fieldpath import field_value
from podctl.api.labels import format_label_selector, format_selector_map
from podctl.api.meta import Obj, controller_of
from podctl.printers.age import age, human_duration
from podctl.printers.table import format_columns

INDENT = "  "


class Lines:
    """Collects describe lines at indent levels, like kubectl's PrefixWriter."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, level: int, text: str) -> None:
        self.parts.append(INDENT * level + text)

    def text(self) -> str:
        return format_columns("\n".join(self.parts) + "\n", minwidth=0, padding=2,
                              remember=False)[0]


def rfc1123z(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    return meta.parse_time(timestamp).strftime("%a, %d %b %Y %H:%M:%S %z")


def multiline_map(w: Lines, title: str, items: dict[str, str] | None, sep: str = "=") -> None:
    if not items:
        w.add(0, f"{title}:\t<none>")
        return
    for i, key in enumerate(sorted(items)):
        prefix = f"{title}:\t" if i == 0 else "\t"
        w.add(0, f"{prefix}{key}{sep}{items[key]}")


# kubectl's describe never shows these (describe.go's skipAnnotations), and folds values
# longer than this onto their own lines.
SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
MAX_ANNOTATION_LEN = 140


def annotations_multiline(w: Lines, annotations: dict[str, str] | None,
                          title: str = "Annotations", level: int = 0) -> None:
    """printAnnotationsMultiline: sorted, the last-applied configuration left out, a long
    or multi-line value under its key, each line cut at 140 characters."""
    keys = sorted(k for k in annotations or {} if k not in SKIPPED_ANNOTATIONS)
    if not keys:
        w.add(level, f"{title}:\t<none>")
        return
    assert annotations is not None
    for i, key in enumerate(keys):
        prefix = f"{title}:\t" if i == 0 else "\t"
        value = annotations[key].removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            w.add(level, f"{prefix}{key}:")
            for line in value.split("\n"):
                w.add(level, f"\t  {_shorten(line, MAX_ANNOTATION_LEN - 2)}")
        else:
            w.add(level, f"{prefix}{key}: {value}")


def _shorten(text: str, most: int) -> str:
    return text[:most] + "..." if len(text) > most else text


def describe_events(events: list[dict[str, Any]], now: datetime) -> str:
    """The Events table; kubectl flushes before it, so it aligns on its own."""
    if not events:
        return "Events:  <none>\n"
    w = Lines()
    w.add(0, "Events:")
    w.add(1, "Type\tReason\tAge\tFrom\tMessage")
    w.add(1, "----\t------\t----\t----\t-------")
    for e in sorted(events, key=lambda e: (e["lastTimestamp"], e["firstTimestamp"])):
        first = human_duration((now - meta.parse_time(e["firstTimestamp"])).total_seconds())
        if e["count"] > 1:
            last = human_duration((now - meta.parse_time(e["lastTimestamp"])).total_seconds())
            interval = f"{last} (x{e['count']} over {first})"
        else:
            interval = first
        message = e["message"].strip()
        w.add(1, f"{e['type']}\t{e['reason']}\t{interval}\t{e['source']}\t{message}")
    return w.text()


def probe_text(probe: Obj) -> str:
    """kubectl's one-line probe summary."""
    if "httpGet" in probe:
        h = probe["httpGet"]
        handler = (f"http-get {str(h.get('scheme', 'HTTP')).lower()}://{h.get('host', '')}:"
                   f"{h.get('port')}{h.get('path', '/')}")
    elif "tcpSocket" in probe:
        tcp = probe["tcpSocket"]
        handler = f"tcp-socket {tcp.get('host', '')}:{tcp.get('port')}"
    elif "exec" in probe:
        handler = f"exec [{' '.join(probe['exec'].get('command') or [])}]"
    elif "grpc" in probe:
        handler = f"grpc <pod>:{probe['grpc'].get('port')} {probe['grpc'].get('service', '')}"
    else:
        handler = "unknown"
    return (f"{handler} delay={probe.get('initialDelaySeconds', 0)}s "
            f"timeout={probe.get('timeoutSeconds', 1)}s period={probe.get('periodSeconds', 10)}s "
            f"#success={probe.get('successThreshold', 1)} "
            f"#failure={probe.get('failureThreshold', 3)}")


def _state(w: Lines, title: str, state: Obj) -> None:
    if "running" in state:
        w.add(2, f"{title}:\tRunning")
        w.add(3, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}")
    elif "terminated" in state:
        t = state["terminated"]
        w.add(2, f"{title}:\tTerminated")
        if t.get("reason"):
            w.add(3, f"Reason:\t{t['reason']}")
        if t.get("message"):
            w.add(3, f"Message:\t{t['message']}")
        w.add(3, f"Exit Code:\t{t.get('exitCode', 0)}")
        if t.get("signal"):
            w.add(3, f"Signal:\t{t['signal']}")
        w.add(3, f"Started:\t{rfc1123z(t.get('startedAt'))}")
        w.add(3, f"Finished:\t{rfc1123z(t.get('finishedAt'))}")
    else:
        w.add(2, f"{title}:\tWaiting")
        reason = (state.get("waiting") or {}).get("reason")
        if reason:
            w.add(3, f"Reason:\t{reason}")


def _ports(ports: list[Obj], host: bool) -> str:
    parts = []
    for p in ports:
        number = p.get("hostPort", 0) if host else p["containerPort"]
        text = f"{number}/{p.get('protocol', 'TCP')}"
        if p.get("name") and not host:
            text += f" ({p['name']})"
        parts.append(text)
    return ", ".join(parts)


def _env_value(pod: Obj, var: Obj) -> str:
    if "valueFrom" not in var:
        return str(var.get("value", ""))
    source = var["valueFrom"]
    if "fieldRef" in source:
        ref = source["fieldRef"]
        value = field_value(pod, ref["fieldPath"])
        return f"{value} ({ref.get('apiVersion', 'v1')}:{ref['fieldPath']})"
    if "resourceFieldRef" in source:
        ref = source["resourceFieldRef"]
        return f"{ref.get('resource')} ({ref.get('divisor', '1')})"
    for key, word in (("configMapKeyRef", "of config map"), ("secretKeyRef", "in secret")):
        if key in source:
            ref = source[key]
            return (f"<set to the key '{ref.get('key')}' {word} '{ref.get('name')}'>\t"
                    f"Optional: {str(bool(ref.get('optional'))).lower()}")
    return "<set to a source podctl does not resolve>"


def _env_from(w: Lines, c: Obj) -> None:
    """`Environment Variables from:`, one line per envFrom source."""
    if not c.get("envFrom"):
        return
    w.add(2, "Environment Variables from:")
    for source in c["envFrom"]:
        kind, ref = (("ConfigMap", source["configMapRef"]) if "configMapRef" in source
                     else ("Secret", source.get("secretRef") or {}))
        prefix = f" with prefix '{source['prefix']}'" if source.get("prefix") else ""
        optional = str(bool(ref.get("optional"))).lower()
        w.add(3, f"{ref.get('name', '')}\t{kind}{prefix}\tOptional: {optional}")


def _container(w: Lines, pod: Obj, c: Obj, status: Obj | None, space: str = "") -> None:
    w.add(1, f"{space}{c['name']}:")
    if status and status.get("containerID"):
        w.add(2, f"Container ID:\t{status['containerID']}")
    w.add(2, f"Image:\t{c['image']}")
    if status is not None:
        w.add(2, f"Image ID:\t{status.get('imageID', '')}")
    ports = c.get("ports") or []
    port_text, host_text = _ports(ports, False), _ports(ports, True)
    w.add(2, f"{'Ports' if ',' in port_text else 'Port'}:\t{port_text or '<none>'}")
    w.add(2, f"{'Host Ports' if ',' in host_text else 'Host Port'}:\t{host_text or '<none>'}")
    for title, key in (("Command", "command"), ("Args", "args")):
        if c.get(key):
            w.add(2, f"{title}:")
            for arg in c[key]:
                for line in str(arg).split("\n"):
                    w.add(3, line)
    if status is not None:
        _state(w, "State", status.get("state") or {})
        if (status.get("lastState") or {}).get("terminated"):
            _state(w, "Last State", status["lastState"])
        w.add(2, f"Ready:\t{'True' if status.get('ready') else 'False'}")
        w.add(2, f"Restart Count:\t{status.get('restartCount', 0)}")
    resources = c.get("resources") or {}
    for title, key in (("Limits", "limits"), ("Requests", "requests")):
        if resources.get(key):
            w.add(2, f"{title}:")
            for name in sorted(resources[key]):
                w.add(3, f"{name}:\t{resources[key][name]}")
    for title, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"),
                       ("Startup", "startupProbe")):
        if c.get(key):
            w.add(2, f"{title}:\t{probe_text(c[key])}")
    _env_from(w, c)
    env = c.get("env") or []
    if not env:
        w.add(2, "Environment:\t<none>")
    else:
        w.add(2, "Environment:")
        for var in env:
            w.add(3, f"{var['name']}:\t{_env_value(pod, var)}")
    mounts = c.get("volumeMounts") or []
    if not mounts:
        w.add(2, "Mounts:\t<none>")
    else:
        w.add(2, "Mounts:")
        for m in sorted(mounts, key=lambda m: str(m["mountPath"])):
            mode = "ro" if m.get("readOnly") else "rw"
            # Go's %q of the sub-path; JSON's quoting is the same for what a path holds.
            sub = m.get("subPath")
            extra = f",path={json.dumps(sub, ensure_ascii=False)}" if sub else ""
            w.add(3, f"{m['mountPath']} from {m['name']} ({mode}{extra})")


def _optional(value: Any) -> str:
    """A *bool as Go's %v prints it."""
    return "<nil>" if value is None else str(bool(value)).lower()


def _api_volume(w: Lines, v: Obj, level: int) -> None:
    """configMap, secret, downwardAPI and projected volumes, in kubectl's words."""
    if "configMap" in v:
        w.add(level, "Type:\tConfigMap (a volume populated by a ConfigMap)")
        w.add(level, f"Name:\t{v['configMap'].get('name', '')}")
        w.add(level, f"Optional:\t{str(bool(v['configMap'].get('optional'))).lower()}")
    elif "secret" in v:
        w.add(level, "Type:\tSecret (a volume populated by a Secret)")
        w.add(level, f"SecretName:\t{v['secret'].get('secretName', '')}")
        w.add(level, f"Optional:\t{str(bool(v['secret'].get('optional'))).lower()}")
    elif "downwardAPI" in v:
        w.add(level, "Type:\tDownwardAPI (a volume populated by information about the pod)")
        w.add(level, "Items:")
        for item in v["downwardAPI"].get("items") or []:
            ref = item.get("fieldRef") or {}
            source = ref.get("fieldPath") or (item.get("resourceFieldRef") or {}).get("resource")
            w.add(level + 1, f"{source} -> {item.get('path')}")
    else:
        w.add(level, "Type:\tProjected (a volume that contains injected data from multiple "
                     "sources)")
        for source in v["projected"].get("sources") or []:
            if "secret" in source:
                w.add(level, f"SecretName:\t{source['secret'].get('name', '')}")
                w.add(level, f"SecretOptionalName:\t{_optional(source['secret'].get('optional'))}")
            elif "downwardAPI" in source:
                w.add(level, "DownwardAPI:\ttrue")
            elif "configMap" in source:
                w.add(level, f"ConfigMapName:\t{source['configMap'].get('name', '')}")
                # kubectl 1.37's word and value here (not the secret's <nil> form).
                w.add(level, "Optional:\t"
                             f"{str(source['configMap'].get('optional') is True).lower()}")
            elif "serviceAccountToken" in source:
                seconds = source["serviceAccountToken"].get("expirationSeconds", 3600)
                w.add(level, f"TokenExpirationSeconds:\t{seconds}")


def _volumes(w: Lines, volumes: list[Obj], level: int = 0) -> None:
    if not volumes:
        w.add(level, "Volumes:\t<none>")
        return
    w.add(level, "Volumes:")
    for v in volumes:
        w.add(level + 1, f"{v['name']}:")
        if "hostPath" in v:
            w.add(level + 2, "Type:\tHostPath (bare host directory volume)")
            w.add(level + 2, f"Path:\t{v['hostPath']['path']}")
            w.add(level + 2, f"HostPathType:\t{v['hostPath'].get('type', '')}")
        elif {"configMap", "secret", "downwardAPI", "projected"} & v.keys():
            _api_volume(w, v, level + 2)
        elif "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]
            w.add(level + 2, "Type:\tPersistentVolumeClaim (a reference to a "
                             "PersistentVolumeClaim in the same namespace)")
            w.add(level + 2, f"ClaimName:\t{claim.get('claimName', '')}")
            w.add(level + 2, f"ReadOnly:\t{str(bool(claim.get('readOnly'))).lower()}")
        elif "ephemeral" in v:
            spec = (v["ephemeral"].get("volumeClaimTemplate") or {}).get("spec") or {}
            w.add(level + 2, "Type:\tEphemeralVolume (an inline specification for a volume "
                             "that gets created and deleted with the pod)")
            w.add(level + 2, f"StorageClass:\t{spec.get('storageClassName', '')}")
            w.add(level + 2, f"Volume:\t{spec.get('volumeName', '')}")
        else:
            e = v.get("emptyDir") or {}
            w.add(level + 2,
                  "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)")
            w.add(level + 2, f"Medium:\t{e.get('medium', '')}")
            w.add(level + 2, f"SizeLimit:\t{e.get('sizeLimit', '<unset>')}")


def describe_pod(pod: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    """kubectl describe pod."""
    md, spec, status = pod["metadata"], pod["spec"], pod.get("status") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    w.add(0, f"Priority:\t{spec.get('priority', 0)}")
    w.add(0, f"Service Account:\t{spec.get('serviceAccountName') or 'default'}")
    node = spec.get("nodeName")
    w.add(0, f"Node:\t{node}/{status.get('hostIP', '')}" if node else "Node:\t<none>")
    if status.get("startTime"):
        w.add(0, f"Start Time:\t{rfc1123z(status['startTime'])}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    if md.get("deletionTimestamp"):
        left = (meta.parse_time(md["deletionTimestamp"]) - now).total_seconds()
        w.add(0, f"Status:\tTerminating (lasts {human_duration(left)})")
        w.add(0, f"Termination Grace Period:\t{md.get('deletionGracePeriodSeconds', 30)}s")
    else:
        w.add(0, f"Status:\t{status.get('phase', 'Pending')}")
    if status.get("reason"):
        w.add(0, f"Reason:\t{status['reason']}")
    if status.get("message"):
        w.add(0, f"Message:\t{status['message']}")
    w.add(0, f"IP:\t{status.get('podIP', '')}")
    if status.get("podIPs"):
        w.add(0, "IPs:")
        for ip in status["podIPs"]:
            w.add(1, f"IP:\t{ip['ip']}")
    else:
        w.add(0, "IPs:\t<none>")
    owner = meta.controller_of(pod)
    if owner:
        w.add(0, f"Controlled By:\t{owner['kind']}/{owner['name']}")
    statuses = {s["name"]: s for s in (status.get("containerStatuses") or [])
                + (status.get("initContainerStatuses") or [])}
    if spec.get("initContainers"):
        w.add(0, "Init Containers:")
        for c in spec["initContainers"]:
            _container(w, pod, c, statuses.get(c["name"]))
    w.add(0, "Containers:")
    for c in spec.get("containers", []):
        _container(w, pod, c, statuses.get(c["name"]))
    conditions = status.get("conditions") or []
    if conditions:
        w.add(0, "Conditions:")
        w.add(1, "Type\tStatus")
        for cond in conditions:
            w.add(1, f"{cond['type']} \t{cond['status']} ")
    _volumes(w, spec.get("volumes") or [])
    w.add(0, f"QoS Class:\t{status.get('qosClass', 'BestEffort')}")
    _scheduling(w, spec, "")
    return w.text() + describe_events(events, now)


def _scheduling(w: Lines, spec: Obj, indent: str) -> None:
    """Node-Selectors and Tolerations, a line each (printLabelsMultiline,
    printPodTolerationsMultiline)."""
    multiline_map(w, f"{indent}Node-Selectors", spec.get("nodeSelector"))
    tolerations = [_toleration(t) for t in spec.get("tolerations") or []]
    w.add(0, f"{indent}Tolerations:\t{tolerations[0] if tolerations else '<none>'}")
    for t in tolerations[1:]:
        w.add(0, f"\t{t}")


def _toleration(t: Obj) -> str:
    text = t.get("key", "")
    if t.get("value"):
        text += f"={t['value']}"
    if t.get("effect"):
        text += f":{t['effect']}"
    if t.get("operator") == "Exists" and not t.get("value"):
        text += " op=Exists"
    if t.get("tolerationSeconds") is not None:
        text += f" for {t['tolerationSeconds']}s"
    return str(text)


def describe_namespace(ns: Obj, quotas: list[Obj], limit_ranges: list[Obj]) -> str:
    from podctl.printers.quota import namespace_sections

    md = ns["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"Status:\t{(ns.get('status') or {}).get('phase', 'Active')}")
    namespace_sections(w, quotas, limit_ranges)
    return w.text()


def describe_generic(obj: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    """Name, namespace, labels and events for kinds without a dedicated layout yet."""
    md = obj["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    if md.get("namespace"):
        w.add(0, f"Namespace:\t{md['namespace']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    return w.text() + describe_events(events, now)


def describe_rc(rc: Obj, pods: list[Obj], events: list[dict[str, Any]], now: datetime) -> str:
    """kubectl describe rc (and rs): counts, pod phases, the pod template and events."""
    md, spec, status = rc["metadata"], rc["spec"], rc.get("status") or {}
    template = spec.get("template") or {}
    phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    selector = (format_label_selector(spec.get("selector")) if rc["kind"] == "ReplicaSet"
                else format_selector_map(spec.get("selector") or {}))
    w.add(0, f"Selector:\t{selector}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    owner = controller_of(rc)
    if owner:
        w.add(0, f"Controlled By:\t{owner.get('kind')}/{owner.get('name')}")
    w.add(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} "
             "desired")
    w.add(0, f"Pods Status:\t{phases.count('Running')} Running / "
             f"{phases.count('Pending')} Waiting / {phases.count('Succeeded')} Succeeded / "
             f"{phases.count('Failed')} Failed")
    _pod_template(w, rc, template)
    _conditions(w, status.get("conditions") or [])
    return w.text() + describe_events(events, now)


def _pod_template(w: Lines, owner: Obj, template: Obj) -> None:
    """DescribePodTemplate."""
    tmeta, spec = template.get("metadata") or {}, template.get("spec") or {}
    w.add(0, "Pod Template:")
    multiline_map(w, "  Labels", tmeta.get("labels"))
    if tmeta.get("annotations"):
        annotations_multiline(w, tmeta["annotations"], "  Annotations")
    if spec.get("serviceAccountName"):
        w.add(1, f"Service Account:\t{spec['serviceAccountName']}")
    for title, field in (("Init Containers", "initContainers"), ("Containers", "containers")):
        if field == "containers" or spec.get(field):
            w.add(1, f"{title}:")
            for c in spec.get(field) or []:
                _container(w, owner, c, None, space=" ")
    volumes = spec.get("volumes") or []
    if volumes:
        _volumes(w, volumes, level=1)
    else:
        w.add(1, "Volumes:\t<none>")
    if spec.get("priorityClassName"):
        w.add(1, f"Priority Class Name:\t{spec['priorityClassName']}")
    _scheduling(w, spec, "  ")


def describe_pod_template(owner: Obj, template: Obj) -> str:
    """The `Pod Template:` block alone (rollout history --revision)."""
    w = Lines()
    _pod_template(w, owner, template)
    return w.text()


def _conditions(w: Lines, conditions: list[Obj]) -> None:
    if conditions:
        w.add(0, "Conditions:")
        w.add(1, "Type\tStatus\tReason")
        w.add(1, "----\t------\t------")
        for cond in conditions:
            w.add(1, f"{cond['type']} \t{cond['status']}\t{cond.get('reason', '')}")


def describe_deployment(deployment: Obj, old: list[Obj], new: Obj | None,
                        events: list[dict[str, Any]], now: datetime) -> str:
    """kubectl describe deployment: replica counts, strategy, template, conditions, the new
    and old ReplicaSets, events."""
    md, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status") or {}
    strategy = spec.get("strategy") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    w.add(0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"Selector:\t{format_label_selector(spec.get('selector'))}")
    w.add(0, f"Replicas:\t{spec.get('replicas', 1)} desired | "
             f"{status.get('updatedReplicas', 0)} updated | {status.get('replicas', 0)} total | "
             f"{status.get('availableReplicas', 0)} available | "
             f"{status.get('unavailableReplicas', 0)} unavailable")
    w.add(0, f"StrategyType:\t{strategy.get('type', 'RollingUpdate')}")
    w.add(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}")
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and rolling:
        w.add(0, f"RollingUpdateStrategy:\t{rolling.get('maxUnavailable')} max unavailable, "
                 f"{rolling.get('maxSurge')} max surge")
    _pod_template(w, deployment, spec.get("template") or {})
    _conditions(w, status.get("conditions") or [])
    if old or new is not None:
        shown = ", ".join(_rs_summary(rs) for rs in old) or "<none>"
        w.add(0, f"OldReplicaSets:\t{shown}")
        w.add(0, f"NewReplicaSet:\t{_rs_summary(new) if new is not None else '<none>'}")
    return w.text() + describe_events(events, now)


def _rs_summary(rs: Obj) -> str:
    return (f"{rs['metadata']['name']} ({(rs.get('status') or {}).get('replicas', 0)}/"
            f"{rs['spec'].get('replicas', 0)} replicas created)")


def describe_node(node: Obj, pods: list[Obj], events: list[dict[str, Any]],
                  now: datetime, lease: Obj | None = None) -> str:
    """kubectl describe node: labels, taints, its Lease, conditions, addresses, capacity,
    info and its pods."""
    md, status = node["metadata"], node.get("status") or {}
    labels = md.get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Roles:\t{','.join(roles) or '<none>'}")
    multiline_map(w, "Labels", labels)
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}")
    taints = [_taint(t) for t in (node.get("spec") or {}).get("taints") or []]
    w.add(0, f"Taints:\t{taints[0] if taints else '<none>'}")
    for t in taints[1:]:
        w.add(0, f"\t{t}")
    w.add(0, f"Unschedulable:\t{str(bool(node.get('spec', {}).get('unschedulable'))).lower()}")
    _lease(w, md["name"], lease)
    w.add(0, "Conditions:")
    w.add(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage")
    w.add(1, "----\t------\t-----------------\t------------------\t------\t-------")
    for c in status.get("conditions") or []:
        w.add(1, f"{c['type']} \t{c['status']} \t{rfc1123z(c.get('lastHeartbeatTime'))} \t"
                 f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t"
                 f"{c.get('message', '')}")
    w.add(0, "Addresses:")
    for a in status.get("addresses") or []:
        w.add(1, f"{a['type']}:\t{a['address']}")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        w.add(0, f"{title}:")
        for name, value in sorted((status.get(key) or {}).items()):
            w.add(1, f"{name}:\t{value}")
    info = status.get("nodeInfo") or {}
    w.add(0, "System Info:")
    for title, key in (("Machine ID", "machineID"), ("Kernel Version", "kernelVersion"),
                       ("OS Image", "osImage"), ("Operating System", "operatingSystem"),
                       ("Architecture", "architecture"),
                       ("Container Runtime Version", "containerRuntimeVersion"),
                       ("Kubelet Version", "kubeletVersion")):
        w.add(1, f"{title}:\t{info.get(key, '')}")
    spec = node.get("spec") or {}
    if spec.get("podCIDR"):
        w.add(0, f"PodCIDR:\t{spec['podCIDR']}")
    if spec.get("podCIDRs"):
        w.add(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}")
    w.add(0, f"Non-terminated Pods:\t({len(pods)} in total)")
    w.add(1, "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge")
    w.add(1, "---------\t----\t------------\t----------\t---------------\t-------------\t---")
    for pod in pods:
        totals = _pod_resources(pod)
        w.add(1, f"{meta.namespace_of(pod)}\t{meta.name_of(pod)}\t{totals[0]}\t{totals[1]}\t"
                 f"{totals[2]}\t{totals[3]}\t{age(pod['metadata'].get('creationTimestamp'), now)}")
    return w.text() + describe_events(events, now)


def _lease(w: Lines, node: str, lease: Obj | None) -> None:
    if lease is None:
        w.add(0, f'Lease:\tFailed to get lease: leases.coordination.k8s.io "{node}" not found')
        return
    spec = lease.get("spec") or {}
    w.add(0, "Lease:")
    w.add(1, f"HolderIdentity:\t{spec.get('holderIdentity') or '<unset>'}")
    for title, key in (("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")):
        w.add(1, f"{title}:\t{rfc1123z(spec[key]) if spec.get(key) else '<unset>'}")


def _taint(t: Obj) -> str:
    value = f"={t['value']}" if t.get("value") else ""
    return f"{t.get('key', '')}{value}:{t.get('effect', '')}"


def _pod_resources(pod: Obj) -> tuple[str, str, str, str]:
    """cpu requests, cpu limits, memory requests, memory limits of a pod, as written."""
    sums: dict[tuple[str, str], list[str]] = {}
    for c in pod["spec"].get("containers", []):
        res = c.get("resources") or {}
        for section in ("requests", "limits"):
            for name in ("cpu", "memory"):
                value = (res.get(section) or {}).get(name)
                if value is not None:
                    sums.setdefault((section, name), []).append(str(value))
    def joined(section: str, name: str) -> str:
        return "+".join(sums.get((section, name), [])) or "0"
    return (joined("requests", "cpu"), joined("limits", "cpu"),
            joined("requests", "memory"), joined("limits", "memory"))
