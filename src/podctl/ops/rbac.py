"""`create role|clusterrole|rolebinding|clusterrolebinding`: the objects kubectl generates
from its flags (a rule per API group of the named resources; subjects users, then groups,
then service accounts), checked and stored as any other create."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, PodctlError
from podctl.manifest.rbac_rules import GROUP
from podctl.store import Store

# kubectl's list of the verbs `create role` accepts.
VALID_VERBS = ("*", "get", "delete", "list", "create", "update", "patch", "watch", "proxy",
               "deletecollection", "use", "bind", "escalate", "impersonate")


def _split(values: tuple[str, ...]) -> list[str]:
    return [part for value in values for part in value.split(",") if part]


def _resource(text: str) -> tuple[str, str]:
    """(group, resource[/subresource]) of `pods`, `deployments.apps`, `pods/log`."""
    base, slash, sub = text.partition("/")
    if base == "*":
        return "", text
    name, dot, group = base.partition(".")
    kind = meta.kind_for(name)
    if kind is None:
        raise PodctlError(f'the server doesn\'t have a resource type "{name}"')
    resource = meta.RESOURCES[kind]
    group = group if dot else resource.api_version.rpartition("/")[0]
    return group, resource.name + (f"/{sub}" if slash else "")


def build_role(kind: str, name: str, namespace: str, verbs: tuple[str, ...],
               resources: tuple[str, ...], resource_names: tuple[str, ...],
               urls: tuple[str, ...] = ()) -> Obj:
    wanted = _split(verbs)
    if not wanted:
        raise PodctlError("at least one verb must be specified")
    for verb in wanted:
        if verb not in VALID_VERBS and not urls:
            raise PodctlError(f"invalid verb: '{verb}'")
    if not resources and not urls:
        raise PodctlError("at least one resource must be specified")
    by_group: dict[str, list[str]] = {}
    for text in _split(resources):
        group, resource = _resource(text)
        by_group.setdefault(group, []).append(resource)
    rules: list[Obj] = []
    for group in sorted(by_group):
        rule: Obj = {"verbs": wanted, "apiGroups": [group], "resources": by_group[group]}
        if resource_names:
            rule["resourceNames"] = _split(resource_names)
        rules.append(rule)
    if urls:
        rules.append({"verbs": wanted, "nonResourceURLs": _split(urls)})
    md: Obj = {"name": name}
    if kind == "Role":
        md["namespace"] = namespace
    return {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": md, "rules": rules}


def build_binding(kind: str, name: str, namespace: str, cluster_role: str | None,
                  role: str | None, users: tuple[str, ...], groups: tuple[str, ...],
                  service_accounts: tuple[str, ...]) -> Obj:
    if (cluster_role is None) == (role is None) and kind == "RoleBinding":
        raise PodctlError("exactly one of clusterrole or role must be specified")
    if kind == "ClusterRoleBinding" and not cluster_role:
        raise PodctlError("required flag(s) \"clusterrole\" not set")
    subjects: list[Obj] = [{"kind": "User", "apiGroup": GROUP, "name": u} for u in users]
    subjects += [{"kind": "Group", "apiGroup": GROUP, "name": g} for g in groups]
    for account in service_accounts:
        sa_namespace, sep, sa_name = account.partition(":")
        if not sep or not sa_namespace or not sa_name:
            raise PodctlError(f"serviceaccount must be <namespace>:<name>, got {account}")
        subjects.append({"kind": "ServiceAccount", "namespace": sa_namespace,
                         "name": sa_name})
    md: Obj = {"name": name}
    if kind == "RoleBinding":
        md["namespace"] = namespace
    ref = {"apiGroup": GROUP, "kind": "ClusterRole" if cluster_role else "Role",
           "name": cluster_role or role}
    obj: Obj = {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": md, "roleRef": ref}
    if subjects:
        obj["subjects"] = subjects
    return obj


def create_rbac(store: Store | None, obj: Obj) -> str:
    """Check and store it (None: a client dry run); kubectl's line."""
    from podctl import registry
    from podctl.manifest import check_document
    from podctl.manifest.check import invalid_summary
    from podctl.manifest.load import Document

    kind, name = obj["kind"], obj["metadata"]["name"]
    checked = check_document(Document("-", 0, obj, None), obj["metadata"].get("namespace"))
    failed = f"failed to create {meta.RESOURCES[kind].singular}: "
    if checked.obj is None:
        raise PodctlError(failed + invalid_summary(kind, name, checked.problems))
    line = f"{meta.singular(kind)}/{name} created"
    if store is None:
        return f"{line} (dry run)"
    try:
        registry.create(store, checked.obj)
    except AlreadyExists as exc:
        raise PodctlError(f"{failed}{exc}") from exc
    return line
