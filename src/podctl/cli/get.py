"""`podctl get`: tables and -o formats over stored objects and live status."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option, selector_option, split_resource_args
from podctl.cli.completion import complete_resources


@click.command("get")
@click.argument("args", nargs=-1, shell_complete=complete_resources)
@namespace_option
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@selector_option
@click.option("-o", "--output", default=None,
              help="wide|json|yaml|name|jsonpath=...|custom-columns=...")
@click.option("--show-labels", is_flag=True, help="Show all labels as the last column.")
@click.option("-L", "--label-columns", multiple=True,
              help="Show these label keys as columns (comma-separated, repeatable).")
@click.option("-w", "--watch", is_flag=True, help="After listing, watch for changes.")
@click.option("--no-headers", is_flag=True, help="Tables without their header line.")
@click.option("--sort-by", default=None, help="Order by a JSONPath, e.g. .metadata.name.")
def get(args: tuple[str, ...], namespace: str | None, all_namespaces: bool,
        selector: str | None, output: str | None, show_labels: bool,
        label_columns: tuple[str, ...], watch: bool, no_headers: bool,
        sort_by: str | None) -> None:
    """Display one or many resources (pods, rc, namespaces, nodes, all)."""
    from podctl.ops.get import GetRequest, get_objects
    from podctl.printers.output import check_format

    check_format(output, show_labels)
    request = GetRequest(
        targets=split_resource_args(args),
        namespace=None if all_namespaces else (namespace or "default"),
        selector=selector,
    )
    from podctl.errors import NotFound
    from podctl.ops.controller_hint import controller_hint

    missing: list[NotFound] = []
    unreachable: list[str] = []
    from podctl.api.meta import RESOURCES

    for deprecation in dict.fromkeys(RESOURCES[kind].deprecation
                                     for kind, _ in request.targets):
        if deprecation:
            terminal.warn(deprecation)
    objs, single = get_objects(request, missing, unreachable)
    if sort_by:
        from podctl.printers.output import sort_by as order

        objs = order(objs, sort_by)
    if unreachable:
        from podctl.ops.views import engine_down_warning

        terminal.warn(engine_down_warning(unreachable[0]))
    else:
        hint = controller_hint([o for o in objs if o["kind"] == "Pod"])
        if hint:
            terminal.warn(hint)
    columns = [k for spec in label_columns for k in spec.split(",") if k]
    with_kind = len({kind for kind, _ in request.targets}) > 1
    if objs or not missing:
        _print(objs, single, request.namespace, output, all_namespaces, show_labels, columns,
               header=not no_headers, with_kind=with_kind)
    for error in missing:
        terminal.err(error.render())
    if missing:
        sys.exit(1)
    if watch:
        from podctl.ops.get import watch_objects

        # kubectl prints the header once, with the first rows it shows.
        header_shown = bool(objs) or no_headers
        for changed in watch_objects(request):
            _print(changed, False, request.namespace, output, all_namespaces, show_labels,
                   columns, header=not header_shown, with_kind=with_kind)
            header_shown = True


def _print(objs: list[dict[str, object]], single: bool, namespace: str | None,
           output: str | None, all_namespaces: bool, show_labels: bool,
           label_columns: list[str], header: bool = True, with_kind: bool = False) -> None:
    from datetime import UTC, datetime

    from podctl.printers.output import is_table, render

    if not objs:
        if is_table(output):
            terminal.err(f"No resources found in {namespace} namespace." if namespace
                         else "No resources found")
        elif output in ("json", "yaml"):
            terminal.out(render([], output, single=False, now=datetime.now(UTC)), end="")
        return
    text = render(objs, output, single=single, now=datetime.now(UTC),
                  all_namespaces=all_namespaces, show_labels=show_labels,
                  label_columns=label_columns, headers=header, with_kind=with_kind)
    terminal.out(text, end="")


COMMANDS = [get]
