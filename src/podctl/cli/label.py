"""`podctl label` and `podctl scale`."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option, selector_option
from podctl.cli.completion import complete_resources


def _metadata_command(name: str, field: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
    @namespace_option
    @selector_option
    @click.option("--all", "all_", is_flag=True, help="Every object of the type.")
    @click.option("--overwrite", is_flag=True, help="Allow changing an existing value.")
    def command(args: tuple[str, ...], namespace: str | None, selector: str | None,
                all_: bool, overwrite: bool) -> None:
        _update_metadata(field, args, namespace, selector, all_, overwrite)

    return command


def _update_metadata(field: str, args: tuple[str, ...], namespace: str | None,
                     selector: str | None, all_: bool, overwrite: bool) -> None:
    from podctl.api.meta import NAMESPACED
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import NotFound, PodctlError
    from podctl.ops.label import parse_changes, relabel
    from podctl.ops.session import open_store
    from podctl.ops.views import select, user_selector

    targets_args = [a for a in args if "=" not in a and not a.endswith("-")]
    changes, removals = parse_changes([a for a in args if a not in targets_args])
    if not changes and not removals:
        raise PodctlError(f"at least one {field[:-1]} update is required")
    targets = split_resource_args(tuple(targets_args))
    store = open_store()
    ok = True
    for kind, names in targets:
        ns = namespace or "default"
        if not names and not (all_ or selector):
            raise PodctlError("resource(s) were provided, but no name was specified")
        pool = store.list(kind, ns if kind in NAMESPACED else None)
        try:
            objs = select(pool, names, user_selector(selector), kind)
        except NotFound as exc:
            terminal.err(exc.render())
            ok = False
            continue
        for obj in objs:
            terminal.out(relabel(store, obj, changes, removals, overwrite, field))
        if kind == "Node" and objs and field == "labels":
            from podctl.ops.followup import follow_up

            # Pending pods and DaemonSets judge the node again.
            follow_up(store, *(("Node", "", str(o["metadata"]["name"])) for o in objs))
    if not ok:
        sys.exit(1)


label = _metadata_command(
    "label", "labels", "Update labels: podctl label pods|rc|node NAME... k=v k2- [--overwrite].")
annotate = _metadata_command(
    "annotate", "annotations",
    "Update annotations: podctl annotate pods|rc|node NAME... k=v k2- [--overwrite].")


@click.command("scale")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
@click.option("--replicas", type=int, required=True, help="The new desired count.")
def scale(args: tuple[str, ...], namespace: str | None, replicas: int) -> None:
    """Set a replication controller's or ReplicaSet's replica count:
    podctl scale rc NAME --replicas=N."""
    from podctl.cli.create import warn_deferred
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.ops.deferred import DockerWork
    from podctl.ops.replication import scale as do_scale
    from podctl.ops.session import open_store

    store = open_store()
    docker = DockerWork()
    for kind, names in split_resource_args(args):
        if kind not in ("ReplicationController", "ReplicaSet", "Deployment", "StatefulSet"):
            raise PodctlError(f'cannot scale {kind.lower()}s: only replicationcontrollers, '
                              "replicasets, deployments and statefulsets have a scale")
        for name in names:
            terminal.out(do_scale(store, kind, namespace or "default", name, replicas, docker))
    warn_deferred(docker, [])


COMMANDS = [label, annotate, scale]
