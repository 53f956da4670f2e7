"""`podctl taint node NAME key=value:Effect|key:Effect-...`."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.completion import complete_resources


@click.command("taint")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@click.option("--overwrite", is_flag=True, help="Replace a taint of the same key and effect.")
def taint(args: tuple[str, ...], overwrite: bool) -> None:
    """Update the node's taints (DaemonSet pods must tolerate them):
    podctl taint node NAME key=value:NoSchedule key2:NoExecute- ..."""
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.ops.followup import follow_up
    from podctl.ops.session import open_store
    from podctl.ops.taint import taint_node

    # kubectl: resources first, then the taint changes (words with '=', ':' or a final '-').
    split = next((i for i, a in enumerate(args) if "=" in a or ":" in a or a.endswith("-")),
                 len(args))
    specs = list(args[split:])
    if not specs:
        raise PodctlError("at least one taint update is required")
    store = open_store()
    for kind, names in split_resource_args(args[:split]):
        if kind != "Node":
            raise PodctlError(f"invalid resource type {kind.lower()}s, only nodes are supported")
        for name in names:
            terminal.out(taint_node(store, name, specs, overwrite))
            follow_up(store, ("Node", "", name))  # DaemonSets and pending pods judge it again


COMMANDS = [taint]
