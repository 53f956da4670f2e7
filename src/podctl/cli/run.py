"""`podctl run`: one pod from flags, as `kubectl run` makes it."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option


@click.command("run", context_settings={"ignore_unknown_options": False})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--image", required=True, help="The container image.")
@click.option("--port", type=int, default=None, help="The port the container exposes.")
@click.option("-l", "--labels", default=None, help="Labels k=v,k2=v2 (default run=NAME).")
@click.option("--env", multiple=True, help="Environment variables K=V (repeatable).")
@click.option("--restart", type=click.Choice(["Always", "OnFailure", "Never"]),
              default="Always", show_default=True)
@click.option("--image-pull-policy", default=None,
              type=click.Choice(["Always", "IfNotPresent", "Never"]))
@click.option("--command", "as_command", is_flag=True,
              help="ARGS after -- are the command, not the arguments.")
@click.option("--dry-run", "dry_run", default="none", is_flag=False, flag_value="client",
              type=click.Choice(["none", "client", "server"]))
@click.option("-o", "--output", default=None, help="yaml|json: print the pod instead.")
@namespace_option
def run(name: str, args: tuple[str, ...], image: str, port: int | None, labels: str | None,
        env: tuple[str, ...], restart: str, image_pull_policy: str | None, as_command: bool,
        dry_run: str, output: str | None, namespace: str | None) -> None:
    """Create and start a pod running one image: podctl run NAME --image=IMG [-- ARGS]."""
    from podctl.manifest import Document, check_document, format_problems
    from podctl.ops.run import pod_manifest

    manifest = pod_manifest(name, image, port, labels, list(env), restart, image_pull_policy,
                            list(args), as_command, namespace)
    checked = check_document(Document("run", 0, manifest, None), namespace)
    if checked.problems or checked.obj is None:
        terminal.err(format_problems(checked.problems).rstrip("\n"))
        sys.exit(1)
    if output:
        from datetime import UTC, datetime

        from podctl.printers.output import render

        terminal.out(render([checked.obj], output, single=True, now=datetime.now(UTC)), end="")
        if dry_run != "none":
            return
    if dry_run != "none":
        terminal.out(f"pod/{name} created (dry run)")
        return
    from podctl.cli.create import warn_deferred
    from podctl.ops.create import create_object
    from podctl.ops.deferred import DockerWork
    from podctl.ops.session import open_store

    docker = DockerWork()
    terminal.out(create_object(open_store(), checked.obj, docker))
    warn_deferred(docker, [])


COMMANDS = [run]
