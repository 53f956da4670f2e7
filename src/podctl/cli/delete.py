"""`podctl delete`: by name, by file, by selector or --all."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import (
    filename_option,
    namespace_option,
    selector_option,
)
from podctl.cli.completion import complete_resources
from podctl.cli.resourceargs import split_resource_args


@click.command("delete")
@click.argument("args", nargs=-1, shell_complete=complete_resources)
@filename_option()
@namespace_option
@selector_option
@click.option("--all", "all_", is_flag=True, help="Delete every object of the type.")
@click.option("--grace-period", type=int, default=-1,
              help="Seconds to wait after SIGTERM before SIGKILL (-1: the pod's own).")
@click.option("--now", is_flag=True, help="Stop with a grace period of 1 second.")
@click.option("--force", is_flag=True, help="With --grace-period=0: kill at once.")
@click.option("--cascade", default="background",
              help="background|foreground: delete an RC's pods too; orphan: keep them.")
def delete(args: tuple[str, ...], filenames: tuple[str, ...], namespace: str | None,
           selector: str | None, all_: bool, grace_period: int, now: bool, force: bool,
           cascade: str) -> None:
    """Delete pods, replication controllers, ReplicaSets, Deployments or namespaces."""
    from podctl.errors import PodctlError
    from podctl.ops.delete import DeleteRequest, delete_objects, effective_grace, parse_cascade

    cascade, deprecation = parse_cascade(cascade)
    if deprecation:
        terminal.err(f"warning: {deprecation}")

    if now and grace_period != -1:
        raise PodctlError("--now and --grace-period cannot be specified together")
    grace = effective_grace(grace_period, now, force)
    if force and grace == 0:
        terminal.err("Warning: Immediate deletion does not wait for confirmation that the "
                     "running resource has been terminated. The resource may continue to run "
                     "on the cluster indefinitely.")
    if filenames:
        if args:
            raise PodctlError("resource(s) were provided, but no name was specified")
        targets = None
    else:
        targets = split_resource_args(args)
        if not selector and not all_ and not any(names for _, names in targets):
            raise PodctlError("resource(s) were provided, but no name was specified")
    request = DeleteRequest(targets=targets, filenames=list(filenames),
                            namespace=namespace, selector=selector, grace=grace,
                            force=force and grace == 0, cascade=cascade)
    ok = True
    for line, error in delete_objects(request):
        if error is not None:
            ok = False
            terminal.err(error.render())
        else:
            terminal.out(line)
    if not ok:
        sys.exit(1)


COMMANDS = [delete]
