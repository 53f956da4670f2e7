"""RBAC's controllers: the bootstrap policy (upstream's default ClusterRoles and bindings,
made at start when missing and reconciled when changed, as the API server's post-start
hook does) and the
ClusterRole aggregation controller (an aggregated role holds the rules of every role its
selectors match, kept up to date as those change)."""

from __future__ import annotations

import functools
import logging
from contextlib import suppress

from podctl import registry
from podctl.api import meta, rbac_bootstrap
from podctl.api.meta import Obj
from podctl.api.rbac import aggregated_rules, missing_rules
from podctl.errors import AlreadyExists
from podctl.store import Store

log = logging.getLogger("podctl.controller")


AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"


def ensure_bootstrap_policy(store: Store) -> None:
    """Make every default ClusterRole and ClusterRoleBinding that does not exist and
    reconcile those that do (unless annotated autoupdate "false"), then aggregate."""
    for obj in [*rbac_bootstrap.cluster_roles(), *rbac_bootstrap.cluster_role_bindings()]:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if store.get(kind, "", name) is None:
            with suppress(AlreadyExists):  # another process made it first
                registry.create(store, obj)
        else:
            registry.mutate(store, kind, "", name, functools.partial(reconcile, default=obj))
    sync_aggregation(store)


def reconcile(current: Obj, default: Obj) -> bool:
    """Upstream's reconciliation of a default object: the labels, annotations, rules (of
    a role that aggregates nothing) and subjects it lacks are added back, as atomic rules
    for rules; what a user added is kept. Whether it changed."""
    md = current["metadata"]
    if (md.get("annotations") or {}).get(AUTOUPDATE) == "false":
        return False
    changed = False
    for key in ("labels", "annotations"):
        have = md.setdefault(key, {})
        for label, value in default["metadata"].get(key, {}).items():
            if label not in have:
                have[label], changed = value, True
    if current["kind"] == "ClusterRole":
        if "aggregationRule" in default:
            if current.get("aggregationRule") is None:
                current["aggregationRule"], changed = default["aggregationRule"], True
        else:
            missing = missing_rules(current.get("rules") or [], default["rules"])
            if missing:
                current["rules"], changed = [*(current.get("rules") or []), *missing], True
    else:
        subjects = current.setdefault("subjects", [])
        for subject in default["subjects"]:
            if subject not in subjects:
                subjects.append(subject)
                changed = True
    return changed


# Aggregated roles may aggregate aggregated roles (admin takes edit's, edit takes view's):
# passes until nothing changes, at most this many.
MAX_PASSES = 8


def sync_aggregation(store: Store) -> None:
    """Every aggregated ClusterRole's rules, from the roles its selectors match now."""
    for _ in range(MAX_PASSES):
        if not _aggregate_once(store):
            return


def _aggregate_once(store: Store) -> bool:
    changed = False
    roles = store.list("ClusterRole")
    for role in roles:
        rules = aggregated_rules(role, roles)
        if rules is None or rules == (role.get("rules") or []):
            continue
        name = meta.name_of(role)

        def change(current: Obj, wanted: list[Obj] = rules) -> bool:
            if current.get("rules") == wanted:
                return False
            current["rules"] = wanted
            return True

        registry.mutate(store, "ClusterRole", "", name, change)
        log.info("clusterrole %s: aggregated %d rules", name, len(rules))
        changed = True
    return changed


def sync_cluster_role(store: Store, _namespace: str, _name: str) -> None:
    """Any ClusterRole's change may change what an aggregated one holds."""
    sync_aggregation(store)
