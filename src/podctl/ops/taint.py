"""`taint node`: kubectl's taint specs (key=value:Effect, key:Effect, key-, key:Effect-)
applied to the stored Node, with its result words (tainted, untainted, modified)."""

from __future__ import annotations

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import NotFound, PodctlError
from podctl.store import Store

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _effect(effect: str) -> str:
    if effect not in EFFECTS:
        raise PodctlError(f"invalid taint effect: {effect}, unsupported taint effect")
    return effect


def parse_taints(specs: list[str]) -> tuple[list[Obj], list[Obj]]:
    """(taints to add, taints to remove: key plus an optional effect)."""
    add: list[Obj] = []
    remove: list[Obj] = []
    for spec in specs:
        if spec.endswith("-"):
            key, _, effect = spec[:-1].partition(":")
            remove.append({"key": key, **({"effect": _effect(effect)} if effect else {})})
            continue
        head, colon, effect = spec.rpartition(":")
        if not colon or not head:
            raise PodctlError(f"invalid taint spec: {spec}")
        key, _, value = head.partition("=")
        taint: Obj = {"key": key, "effect": _effect(effect)}
        if value:
            taint["value"] = value
        add.append(taint)
    return add, remove


def _same(a: Obj, b: Obj) -> bool:
    return bool(a.get("key") == b.get("key") and a.get("effect") == b.get("effect"))


def _spec_text(taint: Obj) -> str:
    return str(taint["key"]) + (f":{taint['effect']}" if taint.get("effect") else "")


def taint_node(store: Store, name: str, specs: list[str], overwrite: bool) -> str:
    add, remove = parse_taints(specs)
    operation = ""

    def change(node: Obj) -> bool:
        nonlocal operation
        old: list[Obj] = list((node.get("spec") or {}).get("taints") or [])
        if not overwrite:
            clash = [t["key"] for t in add if any(_same(t, o) for o in old)]
            if clash:
                raise PodctlError(f"Node {name} already has {','.join(clash)} taint(s) with "
                                  "same effect(s) and --overwrite is false")
        new = list(add) + [o for o in old if not any(_same(o, t) for t in add)]
        added = len(new) != len(old)
        deleted = False
        for gone in remove:
            kept = [t for t in new if not (t.get("key") == gone["key"] and (
                "effect" not in gone or t.get("effect") == gone["effect"]))]
            if len(kept) == len(new):
                raise PodctlError(f'taint "{_spec_text(gone)}" not found')
            deleted, new = True, kept
        operation = ("modified" if (added and deleted) or overwrite
                     else "tainted" if added else "untainted")
        spec = node.setdefault("spec", {})
        if new:
            spec["taints"] = new
        else:
            spec.pop("taints", None)
        return new != old

    if registry.mutate(store, "Node", "", name, change) is None:
        raise NotFound(meta.plural("Node"), name)
    return f"node/{name} {operation}"
