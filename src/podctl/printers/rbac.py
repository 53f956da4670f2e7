"""Roles and bindings: kubectl's table rows and describe layouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, annotations_multiline, multiline_map

ROLE_HEADERS = ["NAME", "CREATED AT"]
BINDING_HEADERS = ["NAME", "ROLE", "AGE"]
BINDING_WIDE_HEADERS = ["USERS", "GROUPS", "SERVICEACCOUNTS"]


def role_row(role: Obj, now: datetime, wide: bool) -> list[str]:
    return [role["metadata"]["name"], role["metadata"].get("creationTimestamp") or ""]


def binding_row(binding: Obj, now: datetime, wide: bool) -> list[str]:
    ref = binding.get("roleRef") or {}
    row = [binding["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}",
           age(binding["metadata"].get("creationTimestamp"), now)]
    if wide:
        row += [",".join(names) for names in subjects_strings(binding.get("subjects") or [])]
    return row


def subjects_strings(subjects: list[Obj]) -> tuple[list[str], list[str], list[str]]:
    """Users, groups and service accounts (`namespace/name`) of a binding's subjects."""
    users, groups, accounts = [], [], []
    for subject in subjects:
        name = str(subject.get("name", ""))
        if subject.get("kind") == "User":
            users.append(name)
        elif subject.get("kind") == "Group":
            groups.append(name)
        elif subject.get("kind") == "ServiceAccount":
            ns = subject.get("namespace")
            accounts.append(f"{ns}/{name}" if ns else name)
    return users, groups, accounts


def _go_list(values: list[str]) -> str:
    return "[" + " ".join(values) + "]"


def _breakdown(rule: Obj) -> list[Obj]:
    """kubectl's breakdown for describe: one rule per group and resource (and name), and
    per non-resource URL, each with the rule's verbs."""
    verbs = list(rule.get("verbs") or [])
    out: list[Obj] = []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            base = {"apiGroups": [group], "resources": [resource], "verbs": verbs}
            names = rule.get("resourceNames") or []
            out.extend([{**base, "resourceNames": [n]} for n in names] if names else [base])
    out.extend({"nonResourceURLs": [url], "verbs": verbs}
               for url in rule.get("nonResourceURLs") or [])
    return out


def _compact(rules: list[Obj]) -> list[Obj]:
    """Rules of one group and resource (no names, no URLs) merged, their verbs united."""
    simple: dict[tuple[str, str], Obj] = {}
    out: list[Obj] = []
    for rule in rules:
        if rule.get("resourceNames") or rule.get("nonResourceURLs"):
            out.append(rule)
            continue
        key = (rule["apiGroups"][0], rule["resources"][0])
        if key in simple:
            simple[key]["verbs"] += [v for v in rule["verbs"] if v not in simple[key]["verbs"]]
        else:
            simple[key] = {**rule, "verbs": list(rule["verbs"])}
            out.append(simple[key])
    return out


def _go_string(rule: Obj) -> str:
    """What kubectl sorts rules by: the Go PolicyRule's String()."""
    return ("&PolicyRule{" + ",".join(
        f"{field}:{_go_list(rule.get(key) or [])}" for field, key in (
            ("Verbs", "verbs"), ("APIGroups", "apiGroups"), ("Resources", "resources"),
            ("ResourceNames", "resourceNames"), ("NonResourceURLs", "nonResourceURLs")))
            + ",}")


def _resource_group(rule: Obj) -> str:
    resources, groups = rule.get("resources") or [], rule.get("apiGroups") or []
    if not resources:
        return ""
    name, slash, sub = resources[0].partition("/")
    if groups and groups[0]:
        name += "." + groups[0]
    return str(name) + (f"/{sub}" if slash else "")


def describe_role(role: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md = role["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    rules = _compact([r for rule in role.get("rules") or [] for r in _breakdown(rule)])
    rules.sort(key=_go_string)
    w.add(0, "PolicyRule:")
    w.add(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs")
    w.add(1, "---------\t-----------------\t--------------\t-----")
    for rule in rules:
        w.add(1, f"{_resource_group(rule)}\t{_go_list(rule.get('nonResourceURLs') or [])}\t"
                 f"{_go_list(rule.get('resourceNames') or [])}\t{_go_list(rule['verbs'])}")
    return w.text()


def describe_binding(binding: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md, ref = binding["metadata"], binding.get("roleRef") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, "Role:")
    w.add(1, f"Kind:\t{ref.get('kind', '')}")
    w.add(1, f"Name:\t{ref.get('name', '')}")
    w.add(0, "Subjects:")
    w.add(1, "Kind\tName\tNamespace")
    w.add(1, "----\t----\t---------")
    for subject in binding.get("subjects") or []:
        w.add(1, f"{subject.get('kind', '')}\t{subject.get('name', '')}\t"
                 f"{subject.get('namespace', '')}")
    return w.text()
