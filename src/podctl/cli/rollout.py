"""`podctl rollout status deployment/NAME`."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option
from podctl.cli.completion import complete_resources
from podctl.cli.wait import _seconds


@click.group("rollout")
def rollout() -> None:
    """Manage the rollout of a Deployment, DaemonSet or StatefulSet."""


@rollout.command("status")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
@click.option("-w", "--watch", default=True, show_default=True, type=bool,
              help="Watch until the rollout is over (false: print the status once).")
@click.option("--timeout", default="0s", show_default=True,
              help="How long to watch; 0 means forever (30s, 5m, 1h...).")
def status(args: tuple[str, ...], namespace: str | None, watch: bool, timeout: str) -> None:
    """Print a Deployment's rollout status until it is done: rollout status deployment/NAME."""
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.ops.deployment import rollout_status
    from podctl.ops.session import open_store

    targets = split_resource_args(args)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise PodctlError("rollout status requires exactly one resource: deployment/NAME")
    kind, names = targets[0]
    if kind not in ROLLED:
        raise PodctlError(f"no status viewer has been implemented for {kind}")
    for line in rollout_status(open_store(), namespace or "default", names[0], watch,
                               _seconds(timeout), kind):
        terminal.out(line)


# The kinds rollout status, history, undo and restart work on.
ROLLED = ("Deployment", "DaemonSet", "StatefulSet")


def _one_rolled(args: tuple[str, ...]) -> tuple[str, str]:
    """(kind, name) of one Deployment, DaemonSet or StatefulSet."""
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError

    targets = split_resource_args(args)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise PodctlError("exactly one resource is required: deployment/NAME")
    kind, names = targets[0]
    if kind not in ROLLED:
        raise PodctlError(f"no history viewer has been implemented for {kind}")
    return kind, names[0]


def _one_deployment(args: tuple[str, ...]) -> str:
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError

    targets = split_resource_args(args)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise PodctlError("exactly one resource is required: deployment/NAME")
    kind, names = targets[0]
    if kind != "Deployment":
        raise PodctlError(f"{kind.lower()}s are not supported, only deployments")
    return names[0]


@rollout.command("pause")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
def pause(args: tuple[str, ...], namespace: str | None) -> None:
    """Hold a Deployment's template changes back: rollout pause deployment/NAME."""
    from podctl.ops.deployment import set_paused
    from podctl.ops.session import open_store

    terminal.out(set_paused(open_store(), namespace or "default", _one_deployment(args), True))


@rollout.command("resume")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
def resume(args: tuple[str, ...], namespace: str | None) -> None:
    """Roll out what changed while paused: rollout resume deployment/NAME."""
    from podctl.cli.create import warn_deferred
    from podctl.ops.deferred import PENDING, DockerWork
    from podctl.ops.deployment import set_paused
    from podctl.ops.followup import follow_up
    from podctl.ops.session import open_store

    store, name, ns = open_store(), _one_deployment(args), namespace or "default"
    terminal.out(set_paused(store, ns, name, False))
    docker = DockerWork()
    docker.run(lambda: follow_up(store, ("Deployment", ns, name)), PENDING)
    warn_deferred(docker, [])


@rollout.command("history")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
@click.option("--revision", type=int, default=0, help="Show this revision's pod template.")
def history(args: tuple[str, ...], namespace: str | None, revision: int) -> None:
    """List a Deployment's, DaemonSet's or StatefulSet's revisions:
    rollout history deployment/NAME."""
    from podctl.ops.deployment import rollout_history
    from podctl.ops.revisions import rollout_history as revision_history
    from podctl.ops.session import open_store

    kind, name = _one_rolled(args)
    ns = namespace or "default"
    if kind == "Deployment":
        text = rollout_history(open_store(), ns, name, revision)
    else:
        text = revision_history(open_store(), kind, ns, name, revision)
    terminal.out(text, end="")


@rollout.command("undo")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
@click.option("--to-revision", type=int, default=0,
              help="The revision to go back to (default: the previous one).")
def undo(args: tuple[str, ...], namespace: str | None, to_revision: int) -> None:
    """Go back to an earlier revision's template: rollout undo deployment/NAME (or a
    DaemonSet's or StatefulSet's)."""
    from podctl.cli.create import warn_deferred
    from podctl.ops.deferred import PENDING, DockerWork
    from podctl.ops.deployment import rollout_undo
    from podctl.ops.followup import follow_up
    from podctl.ops.revisions import rollout_undo as revision_undo
    from podctl.ops.session import open_store

    (kind, name), store, ns = _one_rolled(args), open_store(), namespace or "default"
    if kind == "Deployment":
        line = rollout_undo(store, ns, name, to_revision)
    else:
        line = revision_undo(store, kind, ns, name, to_revision)
    terminal.out(line)
    if line.endswith("rolled back"):
        docker = DockerWork()
        docker.run(lambda: follow_up(store, (kind, ns, name)), PENDING)
        warn_deferred(docker, [])


@rollout.command("restart")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
def restart(args: tuple[str, ...], namespace: str | None) -> None:
    """Replace a Deployment's or DaemonSet's pods by a rollout:
    rollout restart deployment/NAME|daemonset/NAME."""
    from podctl.cli.create import warn_deferred
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.ops.deferred import PENDING, DockerWork
    from podctl.ops.deployment import rollout_restart
    from podctl.ops.followup import follow_up
    from podctl.ops.session import open_store

    targets = split_resource_args(args)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise PodctlError("exactly one resource is required: deployment/NAME")
    kind, [name] = targets[0]
    if kind not in ROLLED:
        raise PodctlError(f"{kind.lower()}s are not supported, only deployments, "
                          "daemonsets and statefulsets")
    store, ns = open_store(), namespace or "default"
    terminal.out(rollout_restart(store, ns, name, kind))
    docker = DockerWork()
    docker.run(lambda: follow_up(store, (kind, ns, name)), PENDING)
    warn_deferred(docker, [])


COMMANDS = [rollout]
