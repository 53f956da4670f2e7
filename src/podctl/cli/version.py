"""`podctl version` and `podctl api-resources`: what this client is and what it serves."""

from __future__ import annotations

from typing import Any

import click

from podctl.cli import terminal


@click.command("version")
@click.option("--client", "client_only", is_flag=True,
              help="Client version only (no Docker engine needed).")
@click.option("-o", "--output", type=click.Choice(["json", "yaml"]), default=None,
              help="One of 'yaml' or 'json'.")
def version(client_only: bool, output: str | None) -> None:
    """Print the client version and the Docker engine's (the server's) version."""
    from podctl.errors import DockerUnavailable
    from podctl.ops.version import client_version, schema_version, server_version

    info: dict[str, Any] = {"clientVersion": client_version(),
                            "kubernetesSchemaVersion": schema_version()}
    failure: DockerUnavailable | None = None
    if not client_only:
        try:
            info["serverVersion"] = server_version()
        except DockerUnavailable as exc:
            failure = exc
    _print_version(info, output)
    if failure is not None:
        # kubectl too shows what it knows before it reports the unreachable server.
        raise failure


def _print_version(info: dict[str, Any], output: str | None) -> None:
    if output == "json":
        import json

        terminal.out(json.dumps(info, indent=2))
        return
    if output == "yaml":
        import yaml

        terminal.out(yaml.safe_dump(info, default_flow_style=False, sort_keys=True), end="")
        return
    terminal.out(f"Client Version: {info['clientVersion']['gitVersion']}")
    terminal.out(f"Kubernetes Schema Version: {info['kubernetesSchemaVersion']}")
    server = info.get("serverVersion")
    if server:
        terminal.out(f"Server Version: {server['engine']} {server['gitVersion']} "
                     f"(API {server['apiVersion']}, {server['platform']})")


@click.command("api-resources")
@click.option("-o", "--output", type=click.Choice(["wide", "name"]), default=None,
              help="wide: add VERBS and CATEGORIES; name: resource names only.")
@click.option("--namespaced", type=click.BOOL, default=None,
              help="true: namespaced resources only; false: cluster-scoped only.")
@click.option("--no-headers", is_flag=True, help="Table without its header line.")
@click.option("--sort-by", type=click.Choice(["name", "kind"]), default=None,
              help="Order by name or kind (default: API group, then name).")
def api_resources(output: str | None, namespaced: bool | None, no_headers: bool,
                  sort_by: str | None) -> None:
    """Print the supported API resources: names, short names, scope and kind."""
    from podctl.api.meta import RESOURCES, plural
    from podctl.ops.session import load_custom_kinds
    from podctl.printers.table import render_table

    load_custom_kinds()  # the kinds the store's definitions serve are listed too
    rows = [r for r in RESOURCES.values() if namespaced is None or r.namespaced == namespaced]
    # As kubectl: the core group first, then the others by name (`apps`, ...).
    rows.sort(key=lambda r: r.kind if sort_by == "kind" else r.name if sort_by == "name"
              else (plural(r.key).partition(".")[2], r.name))
    if output == "name":
        for r in rows:
            terminal.out(plural(r.key))
        return
    headers = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    cells = [[r.name, ",".join(r.shortnames), r.api_version, str(r.namespaced).lower(), r.kind]
             for r in rows]
    if output == "wide":
        headers += ["VERBS", "CATEGORIES"]
        for r, row in zip(rows, cells, strict=True):
            row += [f"[{' '.join(r.verbs)}]", ",".join(r.categories)]
    terminal.out(render_table(headers, cells, header=not no_headers), end="")


COMMANDS = [version, api_resources]
