"""`podctl describe`: kubectl's detailed view with events."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option, selector_option
from podctl.cli.completion import complete_resources
from podctl.cli.resourceargs import split_resource_args


@click.command("describe")
@click.argument("args", nargs=-1, shell_complete=complete_resources)
@namespace_option
@click.option("-A", "--all-namespaces", is_flag=True)
@selector_option
def describe(args: tuple[str, ...], namespace: str | None, all_namespaces: bool,
             selector: str | None) -> None:
    """Show details of objects of any kind podctl serves, with their events."""
    from podctl.ops.describe import describe_objects
    from podctl.ops.get import GetRequest

    request = GetRequest(targets=split_resource_args(args),
                         namespace=None if all_namespaces else (namespace or "default"),
                         selector=selector)
    unreachable: list[str] = []
    texts = describe_objects(request, unreachable)
    if unreachable:
        from podctl.ops.views import engine_down_warning

        terminal.warn(engine_down_warning(unreachable[0]))
    if not texts:
        where = f" in {request.namespace} namespace" if request.namespace else ""
        terminal.err(f"No resources found{where}.")
        return
    # kubectl writes two newlines before every description after the first.
    terminal.out("\n\n".join(texts), end="")


COMMANDS = [describe]
