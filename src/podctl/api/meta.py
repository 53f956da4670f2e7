"""Object metadata helpers: names, uids, timestamps, kinds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

Obj = dict[str, Any]

_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


# Records on every command's path are NamedTuples, not dataclasses: `dataclasses` imports
# `inspect`, a fifth of a `get`'s start.
class Resource(NamedTuple):
    """One row of the API's discovery table, as `kubectl api-resources` lists it."""

    name: str  # the plural, kubectl's canonical resource word
    singular: str
    shortnames: tuple[str, ...]
    kind: str
    namespaced: bool
    api_version: str = "v1"
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch",
                              "update", "watch")
    categories: tuple[str, ...] = ()
    # The warning the API server attaches to every request for a deprecated kind.
    deprecation: str | None = None
    # -- the kind's traits on the write path (the registry reads them) --
    # Serves a /status subresource: a client's status is dropped on create and update.
    status: bool = False
    # Serves an autoscaling/v1 /scale subresource.
    scalable: bool = False
    # Owns pods through ownerReferences: a background delete cascades to them at once.
    owns_pods: bool = False
    # Deleted with a finalizer saying what happens to its dependents (foreground, orphan).
    cascades: bool = False
    # What a PUT changes beside labels and annotations: None, the kind's update rules
    # (manifest.update); else only these top-level fields, taken as they come.
    updates: tuple[str, ...] | None = None
    # Who writes it when users may not (they cannot create or update it through the API).
    written_by: str | None = None
    # Users may delete it even so (its writer makes it again when it is needed).
    user_deletes: bool = True
    # Checked and defaulted by podctl's schema and rules (the registry validates it).
    validated: bool = True
    # A create keeps the status it is sent (a Node: its kubelet registers it with its
    # status, as upstream's node strategy allows).
    status_on_create: bool = False
    # Its generation counts every change of its content or labels (an EndpointSlice, which
    # has no spec), not only of its spec.
    generation_counts_all: bool = False
    # Served for a CustomResourceDefinition (podctl.api.crd): stored under `key`, served in
    # every version of `versions` (api_version holds the preferred one).
    custom: bool = False
    versions: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def key(self) -> str:
        """The kind's key in the store and in RESOURCES: a custom kind's is qualified by
        its group (`CronTab.stable.example.com`), so it never meets a built-in kind."""
        return f"{self.kind}.{self.group}" if self.custom else self.kind

    def words(self) -> tuple[str, ...]:
        """Every spelling kubectl accepts for this resource, lower case."""
        return (self.name, self.singular, *self.shortnames, self.kind.lower())


# The one table of resources podctl serves: names, short names, kinds and scope, by kind.
RESOURCES: dict[str, Resource] = {r.kind: r for r in (
    Resource("pods", "pod", ("po",), "Pod", True, categories=("all",), status=True),
    Resource("replicationcontrollers", "replicationcontroller", ("rc",),
             "ReplicationController", True, categories=("all",), status=True, scalable=True,
             owns_pods=True, cascades=True),
    Resource("namespaces", "namespace", ("ns",), "Namespace", False,
             verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
             status=True, updates=()),
    Resource("nodes", "node", ("no",), "Node", False, status=True, updates=("spec",),
             validated=False, status_on_create=True),
    Resource("events", "event", ("ev",), "Event", True, written_by="podctl records events "
             "itself", user_deletes=False, validated=False),
    Resource("services", "service", ("svc",), "Service", True, categories=("all",),
             status=True, updates=("spec",)),
    Resource("endpoints", "endpoints", ("ep",), "Endpoints", True, updates=("subsets",),
             deprecation="v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 "
                         "EndpointSlice"),
    # configuration objects (issue 12)
    Resource("configmaps", "configmap", ("cm",), "ConfigMap", True),
    Resource("secrets", "secret", (), "Secret", True),
    # identity (issue 23): a pod's identity towards the API; its tokens come from the
    # serviceaccounts/token subresource (TokenRequest), never from stored Secrets.
    Resource("serviceaccounts", "serviceaccount", ("sa",), "ServiceAccount", True),
    # storage (issue 22): volumes and the claims that bind them
    Resource("persistentvolumeclaims", "persistentvolumeclaim", ("pvc",),
             "PersistentVolumeClaim", True, status=True),
    Resource("persistentvolumes", "persistentvolume", ("pv",), "PersistentVolume", False,
             status=True),
    # quotas and limits (issue 23): the ResourceQuota and LimitRanger admission plugins'
    # inputs; a quota's status is its controller's.
    Resource("resourcequotas", "resourcequota", ("quota",), "ResourceQuota", True,
             status=True, updates=("spec",)),
    Resource("limitranges", "limitrange", ("limits",), "LimitRange", True,
             updates=("spec",)),
    # Not in `all`: the apps group's revision history (StatefulSets, DaemonSets; issue 22).
    # Its data and revision number change only through the controllers' own writes.
    Resource("controllerrevisions", "controllerrevision", (), "ControllerRevision", True,
             api_version="apps/v1", updates=("revision",)),
    # DaemonSets (issue 12), listed by `get all` before deployments as kubectl does.
    Resource("daemonsets", "daemonset", ("ds",), "DaemonSet", True, api_version="apps/v1",
             categories=("all",), status=True, owns_pods=True, cascades=True),
    # `get all` lists in this order, as kubectl does: deployments before replicasets.
    Resource("deployments", "deployment", ("deploy",), "Deployment", True,
             api_version="apps/v1", categories=("all",), status=True, scalable=True,
             cascades=True),
    Resource("replicasets", "replicaset", ("rs",), "ReplicaSet", True, api_version="apps/v1",
             categories=("all",), status=True, scalable=True, owns_pods=True, cascades=True),
    Resource("statefulsets", "statefulset", ("sts",), "StatefulSet", True,
             api_version="apps/v1", categories=("all",), status=True, scalable=True,
             owns_pods=True, cascades=True),
    # The reviews (issue 23): asked with a create, answered, never stored; after apps, as
    # the API server orders its groups.
    Resource("selfsubjectreviews", "selfsubjectreview", (), "SelfSubjectReview", False,
             api_version="authentication.k8s.io/v1", verbs=("create",), validated=False),
    Resource("localsubjectaccessreviews", "localsubjectaccessreview", (),
             "LocalSubjectAccessReview", True, api_version="authorization.k8s.io/v1",
             verbs=("create",), validated=False),
    Resource("selfsubjectaccessreviews", "selfsubjectaccessreview", (),
             "SelfSubjectAccessReview", False, api_version="authorization.k8s.io/v1",
             verbs=("create",), validated=False),
    Resource("selfsubjectrulesreviews", "selfsubjectrulesreview", (), "SelfSubjectRulesReview",
             False, api_version="authorization.k8s.io/v1", verbs=("create",), validated=False),
    Resource("subjectaccessreviews", "subjectaccessreview", (), "SubjectAccessReview", False,
             api_version="authorization.k8s.io/v1", verbs=("create",), validated=False),
    # identity (issue 23): asked with a create, answered, never stored; after apps, as the
    # API server orders its groups.
    Resource("tokenreviews", "tokenreview", (), "TokenReview", False,
             api_version="authentication.k8s.io/v1", verbs=("create",), validated=False),
    # autoscaling (issue 24), after the reviews' groups and before batch, as the API
    # server orders its groups; its status is the autoscaler's.
    Resource("horizontalpodautoscalers", "horizontalpodautoscaler", ("hpa",),
             "HorizontalPodAutoscaler", True, api_version="autoscaling/v2",
             categories=("all",), status=True, updates=("spec",)),
    # batch (issue 12): kubectl's `get all` lists cronjobs before jobs.
    Resource("cronjobs", "cronjob", ("cj",), "CronJob", True, api_version="batch/v1",
             categories=("all",), status=True),
    Resource("jobs", "job", (), "Job", True, api_version="batch/v1", categories=("all",),
             status=True, owns_pods=True, cascades=True),
    # policy after batch, as the API server orders its groups. Its status is the disruption
    # controller's (and the eviction's, which spends the budget).
    Resource("poddisruptionbudgets", "poddisruptionbudget", ("pdb",), "PodDisruptionBudget",
             True, api_version="policy/v1", status=True, updates=("spec",)),
    # RBAC (issue 23): after policy, as the API server orders its groups. Updates as
    # manifest.update allows them (a binding's roleRef cannot change).
    Resource("clusterrolebindings", "clusterrolebinding", (), "ClusterRoleBinding", False,
             api_version="rbac.authorization.k8s.io/v1"),
    Resource("clusterroles", "clusterrole", (), "ClusterRole", False,
             api_version="rbac.authorization.k8s.io/v1"),
    Resource("rolebindings", "rolebinding", (), "RoleBinding", True,
             api_version="rbac.authorization.k8s.io/v1"),
    Resource("roles", "role", (), "Role", True, api_version="rbac.authorization.k8s.io/v1"),
    # After RBAC, before discovery, as kubectl lists the groups. The kubelets' heartbeats
    # (kube-node-lease/<node>) and users' leader election (client-go's leaderelection,
    # controller-runtime): writable as upstream's, so RBAC decides who may hold a node's.
    Resource("leases", "lease", (), "Lease", True, api_version="coordination.k8s.io/v1",
             updates=("spec",)),
    # apiextensions.k8s.io after coordination, as the API server orders its groups: the
    # definitions of the custom kinds (podctl.api.crd), which join this table
    # while their definition is Established.
    Resource("customresourcedefinitions", "customresourcedefinition", ("crd", "crds"),
             "CustomResourceDefinition", False, api_version="apiextensions.k8s.io/v1",
             categories=("api-extensions",), status=True),
    # After coordination, as the API server orders its groups. Kept by podctl's EndpointSlice
    # controller only: read and deleted (it makes them again), never written by users. An
    # update takes its endpoints and ports: its addressType is immutable, as upstream's.
    Resource("endpointslices", "endpointslice", (), "EndpointSlice", True,
             api_version="discovery.k8s.io/v1",
             verbs=("delete", "deletecollection", "get", "list", "watch"),
             written_by="podctl's EndpointSlice controller keeps endpointslices itself",
             validated=False, updates=("endpoints", "ports"), generation_counts_all=True),
    # networking.k8s.io after discovery, as the API server orders its groups (issue 23);
    # its kinds in the API server's order. Ingresses (issue 25): status is the ingress
    # controller's (status.loadBalancer); a class's controller is immutable.
    Resource("ingressclasses", "ingressclass", (), "IngressClass", False,
             api_version="networking.k8s.io/v1", updates=("spec",)),
    Resource("ingresses", "ingress", ("ing",), "Ingress", True,
             api_version="networking.k8s.io/v1", status=True, updates=("spec",)),
    Resource("networkpolicies", "networkpolicy", ("netpol",), "NetworkPolicy", True,
             api_version="networking.k8s.io/v1", updates=("spec",)),
    # storage.k8s.io, the last group the API server lists of those podctl serves.
    Resource("storageclasses", "storageclass", ("sc",), "StorageClass", False,
             api_version="storage.k8s.io/v1"),
)}
BUILTIN_KINDS = frozenset(RESOURCES)

# generateName's suffix: five of these (no vowels, so no words), as the API server draws it.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
GENERATED_PREFIX_MAX = 58  # the longest prefix kept: the name stays within 63 characters

# Mutable: custom kinds come and go with their definitions (register_custom).
NAMESPACED = {kind for kind, r in RESOURCES.items() if r.namespaced}

_BY_WORD: dict[str, str] = {w: r.kind for r in RESOURCES.values() for w in r.words()}


def register_custom(resources: list[Resource]) -> None:
    """Make `resources` the custom kinds served, replacing those registered before. The
    tables change in place (modules hold them by name), key by key, only where they differ."""
    global _BY_WORD
    wanted = {r.key: r for r in resources}
    for key in [k for k, r in RESOURCES.items() if r.custom and k not in wanted]:
        RESOURCES.pop(key, None)
        NAMESPACED.discard(key)
    for key, r in wanted.items():
        if RESOURCES.get(key) != r:
            RESOURCES[key] = r
        (NAMESPACED.add if r.namespaced else NAMESPACED.discard)(key)
    words = {w: r.kind for r in RESOURCES.values() if not r.custom for w in r.words()}
    for r in resources:  # a built-in keeps its words, as kubectl prefers the core groups
        for word in (*r.words(), f"{r.name}.{r.group}", f"{r.singular}.{r.group}"):
            words.setdefault(word, r.key)
    _BY_WORD = words


def key_of(obj: Obj) -> str:
    """The store key of an object's kind: its kind, or `<Kind>.<group>` for a custom one."""
    kind = str(obj.get("kind"))
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    qualified = f"{kind}.{group}"
    if group and qualified in RESOURCES and RESOURCES[qualified].custom:
        return qualified
    return kind


def _group_suffix(kind: str) -> str:
    """kubectl names resources of a non-core group with it: `replicaset.apps`."""
    group = RESOURCES[kind].group
    return "." + group if group else ""


def plural(kind: str) -> str:
    return RESOURCES[kind].name + _group_suffix(kind)


def singular(kind: str) -> str:
    return RESOURCES[kind].singular + _group_suffix(kind)


def api_version(kind: str) -> str:
    return RESOURCES[kind].api_version


def new_uid() -> str:
    import uuid

    return str(uuid.uuid4())


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; naive datetimes are taken to be UTC rather than local time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_time(ts: str) -> datetime:
    """Parse an RFC 3339 timestamp (`2026-01-02T15:04:05Z`) into an aware UTC datetime."""
    match = _RFC3339_RE.fullmatch(ts)
    if match is None:
        raise ValueError(f"invalid RFC 3339 timestamp: {ts!r}")
    year, month, day, hour, minute, second, frac, zone = match.groups()
    # Python keeps microseconds; Go would keep nanoseconds, which never matters for ages.
    micros = int((frac or "0").ljust(9, "0")[:6])
    if zone == "Z":
        offset = timedelta(0)
    else:
        sign = 1 if zone[0] == "+" else -1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros
        )
        return (local - offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError) as err:
        raise ValueError(f"invalid RFC 3339 timestamp: {ts!r}: {err}") from None


def format_time(dt: datetime) -> str:
    """Format as metav1.Time serialises: UTC, whole seconds, trailing `Z`."""
    utc = as_utc(dt)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def now_rfc3339() -> str:
    """Current time as an RFC 3339 UTC timestamp, for creationTimestamp and friends."""
    return format_time(datetime.now(UTC))


def clone(value: Any) -> Any:
    """A deep copy of JSON data: every dict and list rebuilt, the leaves (immutable) shared.
    A third of copy.deepcopy's time, which keeps no memo for data without cycles."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


def uid_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("uid", ""))


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def controller_of(obj: Obj) -> Obj | None:
    """The ownerReference with controller: true, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def kind_for(resource: str) -> str | None:
    """The kind a kubectl resource word names (`po`, `pods`, `rc`, `Pod`...), or None."""
    return _BY_WORD.get(resource.lower())
