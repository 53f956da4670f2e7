"""`podctl cp`."""

from __future__ import annotations

import click

from podctl.cli.common import namespace_option
from podctl.cli.completion import complete_containers


@click.command("cp")
@click.argument("source")
@click.argument("dest")
@namespace_option
@click.option("-c", "--container", default=None, shell_complete=complete_containers,
              help="Container name.")
def cp(source: str, dest: str, namespace: str | None, container: str | None) -> None:
    """Copy files to or from a container: podctl cp POD:PATH LOCAL, podctl cp LOCAL POD:PATH."""
    from podctl.ops.copy import copy

    copy(namespace or "default", source, dest, container)


COMMANDS = [cp]
