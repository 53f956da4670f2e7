"""`podctl apply -f` and `podctl edit`."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import (
    field_validation,
    filename_option,
    namespace_option,
    validate_option,
)
from podctl.cli.completion import complete_resources


@click.command("apply")
@filename_option(required=True)
@namespace_option
@validate_option
@click.option("--server-side", "server_side", is_flag=True,
              help="Apply in the server: a structured merge that tracks who owns each field.")
@click.option("--force-conflicts", "force", is_flag=True,
              help="With --server-side: take the fields other managers own.")
@click.option("--field-manager", "manager", default="kubectl", show_default=True,
              help="The manager the applied fields belong to (with --server-side).")
def apply(filenames: tuple[str, ...], namespace: str | None, validate: str, server_side: bool,
          force: bool, manager: str) -> None:
    """Create objects, or update existing ones (an RC's replicas, selector, template)."""
    from podctl.api import meta
    from podctl.cli.create import check_files, warn_deferred
    from podctl.errors import PodctlError
    from podctl.ops.apply import apply_object, server_side_apply
    from podctl.ops.deferred import DockerWork
    from podctl.ops.session import open_store

    ok, passed = check_files(filenames, namespace, field_validation(validate))
    store = open_store()
    docker = DockerWork()
    for source, checked in passed:
        for c in checked:
            if c.obj is None:
                continue
            try:
                if server_side:
                    written = {**c.document.obj, "metadata": {
                        **c.document.obj.get("metadata", {}),
                        "namespace": meta.namespace_of(c.obj)}}
                    line, warning = server_side_apply(store, written, docker, manager, force,
                                                      field_validation(validate)), None
                else:
                    line, warning = apply_object(store, c.obj, c.document.obj, source,
                                                 docker, field_validation(validate))
            except PodctlError as exc:
                ok = False
                terminal.err(exc.render())
                continue
            if warning:
                terminal.warn(warning)
            terminal.out(line)
    warn_deferred(docker, [])
    if not ok:
        sys.exit(1)


@click.command("edit")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
def edit(args: tuple[str, ...], namespace: str | None) -> None:
    """Edit an object in $EDITOR (validated on save): podctl edit rc NAME."""
    import yaml

    from podctl.api import meta
    from podctl.cli.create import warn_deferred
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.manifest import check_document, format_problems
    from podctl.manifest.load import parse_text
    from podctl.ops.apply import update_object
    from podctl.ops.deferred import DockerWork
    from podctl.ops.session import open_store
    from podctl.printers.output import without_managed_fields

    store = open_store()
    docker = DockerWork()
    for kind, names in split_resource_args(args):
        for name in names:
            existing = store.require(kind, namespace or "default", name)
            # as kubectl edit shows it: no status, no managedFields
            shown = without_managed_fields({k: v for k, v in existing.items()
                                            if k != "status"})
            original = _header() + yaml.safe_dump(shown, sort_keys=True)
            edited = _run_editor(original, f"{meta.singular(kind)}-{name}")
            if edited == original:
                terminal.out("Edit cancelled, no changes made.")
                continue
            parsed = parse_text(edited, "edited")
            checked = [check_document(d, namespace) for d in parsed.documents]
            problems = list(parsed.problems) + [p for c in checked for p in c.problems]
            if problems or len(checked) != 1 or checked[0].obj is None:
                kept = _keep(edited)
                terminal.err(format_problems(problems).rstrip("\n"))
                raise PodctlError(f"A copy of your changes has been stored to \"{kept}\"")
            changed = update_object(store, existing, checked[0].obj, docker)
            verb = "edited" if changed else "skipped (no change)"
            terminal.out(f"{meta.singular(kind)}/{name} {verb}")
    warn_deferred(docker, [])


def _header() -> str:
    return ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
            "# and an empty file will abort the edit. If an error occurs while saving this "
            "file will be\n# reopened with the relevant failures.\n#\n")


def _run_editor(text: str, stem: str) -> str:
    import os
    import shlex
    import subprocess
    import tempfile

    from podctl.errors import PodctlError

    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", prefix=f"podctl-edit-{stem}-", suffix=".yaml",
                                     delete=False) as handle:
        handle.write(text)
        path = handle.name
    try:
        # kubectl hands an editor with arguments to the shell, quoting and all
        command = [os.environ.get("SHELL") or "/bin/sh", "-c", f"{editor} {shlex.quote(path)}"] \
            if " " in editor else [editor, path]
        if subprocess.run(command).returncode != 0:
            raise PodctlError(f'there was a problem with the editor "{editor}"')
        with open(path) as edited:
            return edited.read()
    finally:
        os.unlink(path)


def _keep(text: str) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("w", prefix="podctl-edit-", suffix=".yaml",
                                     delete=False) as handle:
        handle.write(text)
        return handle.name


COMMANDS = [apply, edit]
