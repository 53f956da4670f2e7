"""API-server defaulting for Pods, ReplicationControllers, Namespaces and Services
(core/v1 defaults.go, plus the Service registry's IP-family defaults)."""

from __future__ import annotations

import base64
import copy
from typing import Any

from podctl.api.images import default_pull_policy
from podctl.api.meta import new_uid
from podctl.manifest import rbac_rules

PROBE_DEFAULTS = (
    ("timeoutSeconds", 1),
    ("periodSeconds", 10),
    ("successThreshold", 1),
    ("failureThreshold", 3),
)
VOLUME_MODE_SOURCES = ("configMap", "secret", "downwardAPI", "projected")
DEFAULT_MODE = 420  # 0644
AFFINITY_TIMEOUT = 10800  # three hours, the ClientIP default


def _drop_nulls(value: Any) -> Any:
    """Remove null-valued keys (null means unset in Kubernetes' decoder)."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _probe(probe: Any) -> None:
    """SetDefaults_Probe (+ handler defaults)."""
    if not isinstance(probe, dict):
        return
    for field, default in PROBE_DEFAULTS:
        if not probe.get(field):
            probe[field] = default
    _handler(probe)


def _handler(handler: dict[str, Any]) -> None:
    """SetDefaults_HTTPGetAction and SetDefaults_GRPCAction."""
    http = handler.get("httpGet")
    if isinstance(http, dict):
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"
    grpc = handler.get("grpc")
    if isinstance(grpc, dict) and "service" not in grpc:
        grpc["service"] = ""


def _container(ctr: dict[str, Any], for_pod: bool, host_network: bool) -> None:
    """SetDefaults_Container and the container parts of SetDefaults_Pod."""
    if not ctr.get("imagePullPolicy"):
        image = ctr.get("image")
        ctr["imagePullPolicy"] = default_pull_policy(image if isinstance(image, str) else "")
    if not ctr.get("terminationMessagePath"):
        ctr["terminationMessagePath"] = "/dev/termination-log"
    if not ctr.get("terminationMessagePolicy"):
        ctr["terminationMessagePolicy"] = "File"
    for port in ctr.get("ports") or []:
        if isinstance(port, dict):
            if not port.get("protocol"):
                port["protocol"] = "TCP"
            if host_network and not port.get("hostPort") and port.get("containerPort"):
                port["hostPort"] = port["containerPort"]
    for var in ctr.get("env") or []:
        field_ref = (var.get("valueFrom") or {}).get("fieldRef") if isinstance(var, dict) else None
        if isinstance(field_ref, dict) and not field_ref.get("apiVersion"):
            field_ref["apiVersion"] = "v1"
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(ctr.get(kind))
    lifecycle = ctr.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in lifecycle.values():
            if isinstance(hook, dict):
                _handler(hook)
    resources = ctr.setdefault("resources", {})
    if for_pod and isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
        requests = resources.setdefault("requests", {})
        for name, value in resources["limits"].items():
            requests.setdefault(name, value)


def _volume(vol: dict[str, Any]) -> None:
    """SetDefaults_Volume and the per-source defaults."""
    if not any(k != "name" for k in vol):
        vol["emptyDir"] = {}
    host_path = vol.get("hostPath")
    if isinstance(host_path, dict) and "type" not in host_path:
        host_path["type"] = ""
    template = (vol.get("ephemeral") or {}).get("volumeClaimTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        template["spec"].setdefault("volumeMode", "Filesystem")
    for source in VOLUME_MODE_SOURCES:
        spec = vol.get(source)
        if isinstance(spec, dict) and "defaultMode" not in spec:
            spec["defaultMode"] = DEFAULT_MODE
    projected = vol.get("projected")
    sources = projected.get("sources") if isinstance(projected, dict) else None
    for source in sources if isinstance(sources, list) else []:
        token = source.get("serviceAccountToken") if isinstance(source, dict) else None
        if isinstance(token, dict) and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600  # SetDefaults_ServiceAccountTokenProjection


def default_deployment_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_Deployment: replicas, a 25%/25% RollingUpdate, history and deadline."""
    for key, value in (("replicas", 1), ("revisionHistoryLimit", 10),
                       ("progressDeadlineSeconds", 600)):
        if spec.get(key) is None:
            spec[key] = value
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        apply_pod_spec_defaults(template["spec"], for_pod=False)


def default_daemon_set_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_DaemonSet: a RollingUpdate of one unavailable pod, no surge; history."""
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        apply_pod_spec_defaults(template["spec"], for_pod=False)


def default_stateful_set_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_StatefulSet (MaxUnavailableStatefulSet on, as since 1.35): ordered pods,
    a RollingUpdate from partition 0 one pod at a time, claims retained; and the claim
    templates as the API server stores them."""
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        if not isinstance(strategy.get("rollingUpdate"), dict):
            strategy["rollingUpdate"] = {}
    rolling = strategy.get("rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict):
        rolling.setdefault("partition", 0)
        rolling.setdefault("maxUnavailable", 1)
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if not isinstance(retention, dict):
        retention = spec["persistentVolumeClaimRetentionPolicy"] = {}
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    for key, value in (("replicas", 1), ("revisionHistoryLimit", 10)):
        if spec.get(key) is None:
            spec[key] = value
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            if isinstance(claim.get("spec"), dict):
                claim["spec"].setdefault("volumeMode", "Filesystem")
            claim.setdefault("status", {"phase": "Pending"})
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        apply_pod_spec_defaults(template["spec"], for_pod=False)


JOB_LABELS = ("batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name",
              "controller-uid", "job-name")


def default_job(job: dict[str, Any]) -> None:
    """SetDefaults_Job plus what the API server's Job strategy adds at create: a UID-based
    selector and the job labels on the template (and the Job, when it has none)."""
    meta = _metadata(job)
    spec = job.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    if isinstance(template.get("spec"), dict):
        apply_pod_spec_defaults(template["spec"], for_pod=False)
    if spec.get("manualSelector") is True:
        return
    uid = meta.setdefault("uid", new_uid())
    name = str(meta.get("name", ""))
    job_labels = dict(zip(JOB_LABELS, (uid, name, uid, name), strict=True))
    spec["selector"] = {"matchLabels": {JOB_LABELS[0]: uid}}
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), **job_labels}
    if not meta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])


def default_cronjob_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_CronJob, and the pod defaults of its Job template."""
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    jspec = (spec.get("jobTemplate") or {}).get("spec") or {}
    tspec = (jspec.get("template") or {}).get("spec")
    if isinstance(tspec, dict):
        apply_pod_spec_defaults(tspec, for_pod=False)


def apply_pod_spec_defaults(spec: dict[str, Any], for_pod: bool) -> dict[str, Any]:
    """Default a pod spec in place (``for_pod``: also the Pod-only defaults) and return it."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    host_network = spec.get("hostNetwork") is True
    if for_pod and spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for field in ("initContainers", "containers"):
        for ctr in spec.get(field) or []:
            if isinstance(ctr, dict):
                _container(ctr, for_pod, host_network and for_pod)
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict):
            _volume(vol)
    return spec


def default_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A defaulted copy of a pod spec, as the API server would store it in a created Pod."""
    out: dict[str, Any] = _drop_nulls(copy.deepcopy(spec))
    return apply_pod_spec_defaults(out, for_pod=True)


def default_service_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """SetDefaults_Service in place; cluster IPs and node ports are allocated at create."""
    spec.setdefault("type", "ClusterIP")
    service_type = spec["type"]
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        if not client_ip.get("timeoutSeconds"):
            client_ip["timeoutSeconds"] = AFFINITY_TIMEOUT
    for port in spec.get("ports") or []:
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if service_type == "ExternalName":
        return spec
    external_ips = bool(spec.get("externalIPs"))
    if service_type in ("NodePort", "LoadBalancer") or external_ips:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    headless = spec.get("clusterIP") == "None" or (spec.get("clusterIPs") or [""])[0] == "None"
    if headless:
        spec["clusterIP"] = spec["clusterIPs"][0]
    selectorless_headless = headless and not spec.get("selector")
    spec.setdefault("ipFamilyPolicy", "RequireDualStack" if selectorless_headless
                    else "SingleStack")
    spec.setdefault("ipFamilies", ["IPv4"])
    return spec


def default_config(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret is Opaque unless typed; its write-only stringData is merged, base64-encoded,
    into data (winning over a key in both) and never stored."""
    if obj["kind"] == "Secret":
        obj.setdefault("type", "Opaque")
        plain = obj.pop("stringData", None) or {}
        if plain:
            data = obj.setdefault("data", {})
            for key, value in plain.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    return obj


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """The object's metadata mapping (created when absent)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


STORAGE_KINDS = ("PersistentVolume", "PersistentVolumeClaim", "StorageClass")


def default_object(kind: str, obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A defaulted copy of a validated object; ``status`` is dropped (the store writes its own)."""
    out: dict[str, Any] = _drop_nulls(obj)  # rebuilds every dict and list: a deep copy
    out.pop("status", None)
    meta = _metadata(out)
    if kind in STORAGE_KINDS:
        from podctl.manifest.storage_rules import default_storage_object

        if kind == "PersistentVolumeClaim" and not meta.get("namespace"):
            meta["namespace"] = namespace
        return default_storage_object(out)
    if kind == "Namespace":
        meta.pop("namespace", None)
        if meta.get("name"):
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        spec = out.setdefault("spec", {})
        spec.setdefault("finalizers", ["kubernetes"])
        return out
    if kind in rbac_rules.KINDS:
        return rbac_rules.default_rbac(kind, out, namespace)
    if not meta.get("namespace"):
        meta["namespace"] = namespace
    if kind == "Endpoints":  # no spec: the subsets are the object
        for subset in out.get("subsets") or []:
            for port in subset.get("ports") or []:
                port.setdefault("protocol", "TCP")
        return out
    if kind in ("ResourceQuota", "LimitRange"):
        from podctl.manifest.quota_rules import default_quota_object

        return default_quota_object(out)
    if kind in ("ConfigMap", "Secret", "ControllerRevision"):  # no spec: data is the object
        return default_config(out)
    spec = out.setdefault("spec", {})
    if kind == "Pod":
        apply_pod_spec_defaults(spec, for_pod=True)
    elif kind == "ReplicationController":
        template = spec.get("template")
        if isinstance(template, dict):
            labels = (template.get("metadata") or {}).get("labels")
            if labels:
                if not spec.get("selector"):
                    spec["selector"] = dict(labels)
                if not meta.get("labels"):
                    meta["labels"] = dict(labels)
            if isinstance(template.get("spec"), dict):
                apply_pod_spec_defaults(template["spec"], for_pod=False)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
    elif kind == "ReplicaSet":
        # Unlike an RC, nothing comes from the template: no selector, no labels.
        template = spec.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            apply_pod_spec_defaults(template["spec"], for_pod=False)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
    elif kind == "Deployment":
        default_deployment_spec(spec)
    elif kind == "DaemonSet":
        default_daemon_set_spec(spec)
    elif kind == "StatefulSet":
        default_stateful_set_spec(spec)
    elif kind == "Job":
        default_job(out)
    elif kind == "CronJob":
        default_cronjob_spec(spec)
    elif kind == "Service":
        default_service_spec(spec)
    elif kind == "NetworkPolicy":
        from podctl.manifest.networking_rules import default_network_policy

        default_network_policy(spec)
    elif kind == "IngressClass":
        from podctl.manifest.networking_rules import default_ingress_class

        default_ingress_class(spec)
    elif kind == "HorizontalPodAutoscaler":
        from podctl.manifest.autoscaling_rules import default_horizontal_pod_autoscaler

        default_horizontal_pod_autoscaler(spec)
    return out
