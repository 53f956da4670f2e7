"""`podctl get`: its click command; the work is `cli/getcmd.py`'s."""

from __future__ import annotations

import click

from podctl.cli.common import namespace_option, selector_option
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
@click.option("--show-managed-fields", is_flag=True,
              help="Keep metadata.managedFields in json, yaml and jsonpath output.")
def get(args: tuple[str, ...], namespace: str | None, all_namespaces: bool,
        selector: str | None, output: str | None, show_labels: bool,
        label_columns: tuple[str, ...], watch: bool, no_headers: bool,
        sort_by: str | None, show_managed_fields: bool) -> None:
    """Display one or many resources (pods, rc, namespaces, nodes, all)."""
    from podctl.cli.getcmd import GetArgs, run

    run(GetArgs(args=args, namespace=namespace, all_namespaces=all_namespaces,
                selector=selector, output=output, show_labels=show_labels,
                label_columns=label_columns, watch=watch, no_headers=no_headers,
                sort_by=sort_by, show_managed_fields=show_managed_fields))


COMMANDS = [get]
