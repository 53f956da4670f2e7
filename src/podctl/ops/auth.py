"""`auth can-i`: what RBAC lets a user do, decided from the stored roles and bindings as the
API server decides it. podctl's own commands act as the home's admin (system:masters),
so without --as the answer is always yes, as kubectl's is for a cluster admin."""

from __future__ import annotations

from podctl.api import meta, rbac
from podctl.api.rbac import Attributes, Policy, User
from podctl.errors import PodctlError
from podctl.store import Store

ADMIN = User("kubernetes-admin", "", ("system:masters", "system:authenticated"))


def subject(as_user: str | None, as_groups: tuple[str, ...]) -> User:
    """The user asking: the admin, or whom --as/--as-group name (groups as impersonation
    gives them)."""
    if as_user is None:
        if as_groups:
            raise PodctlError("requested group impersonation without impersonating a user")
        return ADMIN
    groups = list(as_groups)
    if as_user.startswith(rbac.SA_PREFIX) and as_user.count(":") == 3:
        namespace = as_user.split(":")[2]
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", *groups]
    if "system:authenticated" not in groups and "system:unauthenticated" not in groups:
        groups.append("system:authenticated")
    return User(as_user, "", tuple(groups))


def attributes(user: User, verb: str, target: str, namespace: str, subresource: str,
               all_namespaces: bool) -> Attributes:
    """kubectl's reading of `can-i VERB TYPE[/NAME]` or `can-i VERB /path`."""
    if target.startswith("/"):
        return Attributes(user, verb, path=target, resource_request=False)
    word, _, name = target.partition("/")
    base, dot, group = word.partition(".")
    kind = meta.kind_for(base)
    if kind is None:
        resource = base
    else:
        found = meta.RESOURCES[kind]
        resource = found.name
        group = group if dot else found.api_version.rpartition("/")[0]
        if not found.namespaced:
            all_namespaces = True
    return Attributes(user, verb, "" if all_namespaces else namespace, group, resource,
                      subresource, name)


def can_i(store: Store, attrs: Attributes) -> bool:
    if "system:masters" in attrs.user.groups:
        return True
    objs = [obj for kind in rbac.KINDS for obj in store.list(kind)]
    return rbac.authorize(Policy.of(objs), attrs)[0]
