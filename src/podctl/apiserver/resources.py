"""What the API serves: group versions, resources and subresources, as discovery shows them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from podctl.api import eventsv1, hpav1, meta
from podctl.api.crd import version_priority
from podctl.api.meta import Obj, Resource

_SUB_VERBS = ("get", "patch", "update")


def _subresources(resource: Resource) -> dict[str, tuple[str, tuple[str, ...]]]:
    """A resource's subresources from its kind's traits, with the kind their body is and
    the verbs they take."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    if resource.status:
        out["status"] = (resource.kind, _SUB_VERBS)
    if resource.kind == "Pod":
        out["log"] = ("Pod", ("get",))
        # kubectl drain evicts when discovery lists this, with policy/v1 Eviction bodies.
        out["eviction"] = ("Eviction", ("create",))
    if resource.scalable:
        out["scale"] = ("Scale", _SUB_VERBS)
    if resource.kind == "ServiceAccount":
        out["token"] = ("TokenRequest", ("create",))
    return out


# The group version of a subresource's kind outside its resource's group.
SUBRESOURCE_GROUPS = {"Scale": ("autoscaling", "v1"), "Eviction": ("policy", "v1"),
                      "TokenRequest": ("authentication.k8s.io", "v1")}
# Subresources per resource name.
SUBRESOURCES = {r.name: subs for r in meta.RESOURCES.values() if (subs := _subresources(r))}
# Kinds whose scale subresource is autoscaling/v1 Scale.
SCALABLE = frozenset(kind for kind, r in meta.RESOURCES.items() if r.scalable)


@dataclass(frozen=True)
class View:
    """A stored kind served in another group version's shape, converted on each answer
    (events.k8s.io/v1 Events are the core v1 Events; autoscaling/v1 HPAs the v2 ones)."""

    resource: Resource  # as discovery lists it: its own group version
    after: str  # the group version discovery lists it after, as upstream orders its groups
    convert: Callable[[Obj], Obj]  # a stored object as this group version serves it
    # A body in this group version as the stored kind; None: the view is read-only.
    to_stored: Callable[[Obj], Obj] | None = None
    # The fields of a body in this group version its Go type does not have.
    unknown: Callable[[Obj], list[str]] = lambda _body: []


VIEWS = (View(meta.RESOURCES["Event"]._replace(api_version=eventsv1.API_VERSION),
              "apps/v1", eventsv1.from_core),
         View(meta.RESOURCES["HorizontalPodAutoscaler"]._replace(api_version=hpav1.API_VERSION),
              "autoscaling/v2", hpav1.from_stored, hpav1.to_stored, hpav1.unknown_fields))
_VIEWED = {v.resource.api_version: v for v in VIEWS}


@dataclass(frozen=True)
class Target:
    """One resource of one group version, as a request path names it."""

    group: str  # "" for the core group
    version: str
    resource: Resource
    view: View | None = None  # another group version's shape of the stored kind

    @property
    def kind(self) -> str:
        """The kind's store key (a custom kind's carries its group)."""
        return self.resource.key

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def served_in(resource: Resource) -> tuple[str, ...]:
    """Every group/version serving a resource (a custom one may have several)."""
    if resource.custom:
        return tuple(f"{resource.group}/{v}" for v in resource.versions)
    return (resource.api_version,)


# Served beside the resource table, as an aggregated API is beside the built-in ones:
# metrics-server's group (podctl.apiserver.resourcemetrics). No store kind, no subresources,
# no OpenAPI of ours; get and list only.
AGGREGATED_RESOURCES = (
    Resource("nodes", "", (), "NodeMetrics", False, api_version="metrics.k8s.io/v1beta1",
             verbs=("get", "list"), validated=False),
    Resource("pods", "", (), "PodMetrics", True, api_version="metrics.k8s.io/v1beta1",
             verbs=("get", "list"), validated=False),
)
AGGREGATED_VERSIONS = frozenset(r.api_version for r in AGGREGATED_RESOURCES)


def group_versions() -> dict[str, list[Resource]]:
    """group/version -> its resources, in the order podctl lists kinds (the aggregated
    groups last, as the aggregator lists them)."""
    out: dict[str, list[Resource]] = {}
    for resource in [*meta.RESOURCES.values(), *AGGREGATED_RESOURCES]:
        for group_version in served_in(resource):
            out.setdefault(group_version, []).append(resource)
    for view in VIEWS:
        at = list(out).index(view.after) + 1 if view.after in out else len(out)
        entries = list(out.items())
        entries.insert(at, (view.resource.api_version, [view.resource]))
        out = dict(entries)
    return out


def find(group: str, version: str, name: str) -> Target | None:
    """The resource a path names (`/apis/apps/v1/deployments` -> Deployment)."""
    group_version = f"{group}/{version}" if group else version
    view = _VIEWED.get(group_version)
    if view is not None:
        return Target(group, version, view.resource, view) \
            if view.resource.name == name else None
    for resource in list(meta.RESOURCES.values()):
        if resource.name == name and group_version in served_in(resource):
            return Target(group, version, resource)
    return None


def target_of(kind: str) -> Target:
    resource = meta.RESOURCES[kind]
    group, _, version = resource.api_version.rpartition("/")
    return Target(group, version, resource)


def api_versions() -> Obj:
    """GET /api."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}


def api_group_list() -> Obj:
    """GET /apis: the named groups (the core group is /api's)."""
    by_group: dict[str, list[str]] = {}
    for group_version in group_versions():
        if "/" in group_version:
            group, version = group_version.split("/", 1)
            by_group.setdefault(group, []).append(version)
    groups = []
    for group, versions in by_group.items():
        entries = [{"groupVersion": f"{group}/{v}", "version": v}
                   for v in sorted(versions, key=version_priority)]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> Obj | None:
    """GET /apis/<group>."""
    for entry in api_group_list()["groups"]:
        if entry["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **entry}
    return None


def resource_list(group_version: str) -> Obj | None:
    """GET /api/v1 or /apis/<group>/<version>: resources with verbs, short names,
    categories, and their subresources."""
    resources = group_versions().get(group_version)
    if resources is None:
        return None
    out: list[Obj] = []
    for r in resources:
        entry: Obj = {"name": r.name, "singularName": r.singular, "namespaced": r.namespaced,
                      "kind": r.kind, "verbs": list(r.verbs)}
        if r.custom:
            entry["storageVersionHash"] = _storage_hash(r)
        if r.shortnames:
            entry["shortNames"] = list(r.shortnames)
        if r.categories:
            entry["categories"] = list(r.categories)
        out.append(entry)
        subs = _subresources(r) if r.custom else {} if r in AGGREGATED_RESOURCES \
            else SUBRESOURCES.get(r.name, {})
        for sub, (kind, verbs) in subs.items():
            sub_entry: Obj = {"name": f"{r.name}/{sub}", "singularName": "",
                              "namespaced": r.namespaced, "kind": kind, "verbs": list(verbs)}
            if kind in SUBRESOURCE_GROUPS:
                group, version = SUBRESOURCE_GROUPS[kind]
                sub_entry.update(group=group, version=version)
            out.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": out}


def _storage_hash(resource: Resource) -> str:
    """What upstream's discovery lists for a kind's storage (a hash of group, version and
    kind): clients only compare it."""
    import base64
    import hashlib

    digest = hashlib.sha256(f"{resource.key}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """Whether the Accept header asks first for the aggregated discovery document (kubectl
    1.30+ does, falling back to plain JSON): one request for /api and one for /apis then
    replace one per group version."""
    for media in accept.split(","):
        kind, *parameters = (part.strip() for part in media.split(";"))
        given = dict(p.partition("=")[::2] for p in parameters)
        if kind == "application/json" and (given.get("g"), given.get("v"), given.get("as")) == \
                ("apidiscovery.k8s.io", "v2", "APIGroupDiscoveryList"):
            return True
        if kind in ("application/json", "*/*", "application/*"):
            return False
    return False


def aggregated(core: bool) -> Obj:
    """GET /api (core) or /apis as apidiscovery.k8s.io/v2 APIGroupDiscoveryList: each
    group's versions with their resources and subresources, as upstream converts its
    resource lists (responseKind's group and version only where they differ)."""
    items: dict[str, Obj] = {}
    for group_version in group_versions():
        if ("/" not in group_version) != core:
            continue
        group, _, version = group_version.rpartition("/")
        listed = resource_list(group_version) or {"resources": []}
        item = items.setdefault(group, {"metadata": {"name": group, "creationTimestamp": None}
                                        if group else {"creationTimestamp": None},
                                        "versions": []})
        item["versions"].append({"version": version, "resources": _discovered(listed),
                                 "freshness": "Current"})
    for item in items.values():  # the preferred version first, as /apis lists them
        item["versions"].sort(key=lambda v: version_priority(v["version"]))
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": list(items.values())}


def _discovered(listed: Obj) -> list[Obj]:
    out: list[Obj] = []
    parents: dict[str, Obj] = {}
    for entry in listed["resources"]:
        kind = {"group": entry.get("group", ""), "version": entry.get("version", ""),
                "kind": entry["kind"]}
        name, _, sub = entry["name"].partition("/")
        if sub:
            parents[name].setdefault("subresources", []).append(
                {"subresource": sub, "responseKind": kind, "verbs": entry["verbs"]})
            continue
        resource: Obj = {"resource": name, "responseKind": kind,
                         "scope": "Namespaced" if entry["namespaced"] else "Cluster",
                         "singularResource": entry["singularName"], "verbs": entry["verbs"]}
        for field in ("shortNames", "categories"):
            if field in entry:
                resource[field] = entry[field]
        parents[name] = resource
        out.append(resource)
    return out


def version_info() -> Obj:
    """GET /version: the Kubernetes release whose API podctl serves (its schema's)."""
    import platform

    from podctl import __version__
    from podctl.manifest.schema import load_schema

    release = load_schema().version
    major, minor, *_ = release.split(".")
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine().lower(),
                                                           platform.machine().lower())
    return {"major": major, "minor": minor, "gitVersion": f"v{release}",
            "gitCommit": f"podctl-{__version__}", "gitTreeState": "clean",
            "buildDate": "", "goVersion": f"python{platform.python_version()}",
            "compiler": "podctl", "platform": f"linux/{machine}"}


def document(segments: list[str]) -> Obj | None:
    """The discovery document a path names, if it names one."""
    if segments == ["api"]:
        return api_versions()
    if segments == ["apis"]:
        return api_group_list()
    if segments == ["version"]:
        return version_info()
    if len(segments) == 2 and segments[0] == "api":
        return resource_list(segments[1])
    if len(segments) == 2 and segments[0] == "apis":
        return api_group(segments[1])
    if len(segments) == 3 and segments[0] == "apis":
        return resource_list(f"{segments[1]}/{segments[2]}")
    return None
