"""`podctl explain`: the fields of a kind from the bundled upstream documentation."""

from __future__ import annotations

import click

from podctl.cli import terminal


@click.command("explain")
@click.argument("args", nargs=-1)
@click.option("--recursive", is_flag=True,
              help="Print the fields of fields, names and types only.")
def explain(args: tuple[str, ...], recursive: bool) -> None:
    """Document a resource or one of its fields: `explain pods`,
    `explain pod.spec.containers.livenessProbe`."""
    from podctl.api.meta import kind_for
    from podctl.errors import PodctlError
    from podctl.manifest.explain import explain as render

    if not args:
        raise PodctlError('You must specify the type of resource to explain. Use "podctl '
                          'api-resources" for a complete list of supported resources.')
    if len(args) > 1:
        raise PodctlError("We accept only this format: explain RESOURCE")
    resource, _, path = args[0].partition(".")
    kind = kind_for(resource)
    if kind is None:  # a custom kind's word, known once the store's definitions are
        from podctl.ops.session import load_custom_kinds

        load_custom_kinds()
        kind = kind_for(resource)
    if kind is None:
        raise PodctlError(f'the server doesn\'t have a resource type "{resource}"')
    fields = [f for f in path.split(".") if f] if path else []
    terminal.out(render(kind, fields, recursive), end="")


COMMANDS = [explain]
