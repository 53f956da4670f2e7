"""`podctl set image deployment/NAME CONTAINER=IMAGE...`."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option
from podctl.cli.completion import complete_resources


@click.group("set")
def set_group() -> None:
    """Change parts of an object: set image."""


@set_group.command("image")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
def image(args: tuple[str, ...], namespace: str | None) -> None:
    """Change a Deployment's or DaemonSet's container images, which rolls it out:
    set image deployment/NAME CONTAINER=IMAGE... (CONTAINER * means all)."""
    from podctl.cli.create import warn_deferred
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.ops.deferred import DockerWork
    from podctl.ops.deployment import set_image
    from podctl.ops.followup import after_write
    from podctl.ops.session import open_store

    # kubectl reads the first KEY=VALUE word as the start of the image list.
    split = next((i for i, a in enumerate(args) if "=" in a), len(args))
    images = dict(a.split("=", 1) for a in args[split:])
    if not images:
        raise PodctlError("at least one image update is required")
    store, ns, docker = open_store(), namespace or "default", DockerWork()
    for kind, names in split_resource_args(args[:split]):
        if kind not in ("Deployment", "DaemonSet", "StatefulSet"):
            raise PodctlError(f"{kind.lower()}s are not supported, only deployments, "
                              "daemonsets and statefulsets")
        for name in names:
            terminal.out(set_image(store, ns, name, images, kind))
            after_write(store, store.require(kind, ns, name), docker)
    warn_deferred(docker, [])


COMMANDS = [set_group]
