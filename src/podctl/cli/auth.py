"""`podctl auth can-i`."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option


@click.group("auth")
def auth() -> None:
    """Inspect authorization."""


@auth.command("can-i")
@click.argument("verb")
@click.argument("target")
@click.option("--as", "as_user", default=None, help="The user to ask for.")
@click.option("--as-group", "as_groups", multiple=True, help="A group of --as (repeatable).")
@click.option("--subresource", default="", help="The subresource (log, exec, scale...).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Ask for every namespace.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; the exit code answers.")
@namespace_option
def can_i(verb: str, target: str, as_user: str | None, as_groups: tuple[str, ...],
          subresource: str, all_namespaces: bool, quiet: bool,
          namespace: str | None) -> None:
    """Check whether an action is allowed: podctl auth can-i VERB TYPE[/NAME] [--as USER]."""
    from podctl.ops.auth import attributes, subject
    from podctl.ops.auth import can_i as decide
    from podctl.ops.session import open_store

    attrs = attributes(subject(as_user, as_groups), verb, target, namespace or "default",
                       subresource, all_namespaces)
    allowed = decide(open_store(), attrs)
    if not quiet:
        terminal.out("yes" if allowed else "no")
    if not allowed:
        sys.exit(1)


COMMANDS = [auth]
