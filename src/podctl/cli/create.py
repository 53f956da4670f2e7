"""`podctl create -f`, `podctl create namespace`, `podctl validate`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, ClassVar

import click

from podctl.cli import terminal
from podctl.cli.common import (
    field_validation,
    filename_option,
    namespace_option,
    validate_option,
)

if TYPE_CHECKING:
    from podctl.api.meta import Obj
    from podctl.manifest import Checked
    from podctl.ops.deferred import DockerWork


class _AliasedGroup(click.Group):
    """Subcommands also answer to kubectl's aliases for them (`create ns`)."""

    aliases: ClassVar[dict[str, str]] = {"ns": "namespace", "cm": "configmap",
                                         "resourcequota": "quota", "sa": "serviceaccount"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))


@click.group("create", cls=_AliasedGroup, invoke_without_command=True)
@filename_option()
@namespace_option
@click.option("--dry-run", "dry_run", default="none",
              type=click.Choice(["none", "client", "server"]), is_flag=False, flag_value="client",
              help="client: only validate and print what would be created.")
@validate_option
@click.pass_context
def create(ctx: click.Context, filenames: tuple[str, ...], namespace: str | None,
           dry_run: str, validate: str) -> None:
    """Create objects from manifests (-f FILE|DIR|-), or a namespace."""
    if ctx.invoked_subcommand is not None:
        return
    if not filenames:
        raise click.UsageError("must specify one of -f and -k", ctx)
    ok = apply_manifests(filenames, namespace, dry_run != "none", field_validation(validate))
    if not ok:
        sys.exit(1)


def check_files(filenames: tuple[str, ...], namespace: str | None, validation: str = "Strict"
                ) -> tuple[bool, list[tuple[str, list[Checked]]]]:
    """Read and check every file, printing warnings and problems; the files that passed."""
    from podctl.manifest import check_document, excerpts, read_manifests

    ok = True
    passed: list[tuple[str, list[Checked]]] = []
    from podctl.ops.session import load_custom_kinds

    for result in read_manifests(list(filenames), sys.stdin):
        load_custom_kinds(doc.obj for doc in result.documents)
        checked = [check_document(doc, namespace, validation) for doc in result.documents]
        for c in checked:
            for warning in c.warnings:
                terminal.warn(warning)
        if result.problems:
            terminal.problems(excerpts(result.problems))
        for c in (c for c in checked if c.problems):
            terminal.err(_invalid_header(c.document.obj))
            terminal.problems(excerpts(c.problems))
        if result.problems or any(c.problems for c in checked):
            ok = False
        else:
            passed.append((result.file, checked))
    return ok, passed


def _invalid_header(obj: dict[str, object]) -> str:
    """kubectl's first words for an object the API server rejects."""
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "object"
    metadata = obj.get("metadata")
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    return f'The {kind} "{name}" is invalid:'


def apply_manifests(filenames: tuple[str, ...], namespace: str | None, dry_run: bool,
                    validation: str = "Strict") -> bool:
    """Create the objects of every file without problems. True if everything went."""
    ok, passed = check_files(filenames, namespace, validation)
    if dry_run:
        from podctl.api import meta

        for _, checked in passed:
            for c in checked:
                if c.obj is not None:
                    terminal.out(f"{meta.singular(meta.key_of(c.obj))}/{meta.name_of(c.obj)} "
                                 "created (dry run)")
        return ok
    return _create_all(passed, namespace, validation) and ok


def _create_all(checked_files: list[tuple[str, list[Checked]]], namespace: str | None,
                validation: str) -> bool:
    from podctl.ops.create import create_objects
    from podctl.ops.deferred import DockerWork
    from podctl.ops.session import open_store

    store = open_store()
    progress = terminal.pull_progress()
    docker = DockerWork()
    ok = True
    needy = []
    # The documents as written: the registry validates and defaults them, as the API does.
    documents = [(source, c.document.obj) for source, checked in checked_files
                 for c in checked if c.obj is not None]
    for obj, line, error in create_objects(store, documents, docker, progress, namespace,
                                           validation):
        if error is not None:
            ok = False
            terminal.err(error.render())
            continue
        terminal.out(line)
        if obj["kind"] in ("Pod", "ReplicationController", "ReplicaSet", "Deployment",
                           "DaemonSet", "StatefulSet", "Service"):
            needy.append(obj)
    warn_deferred(docker, needy)
    return ok


def warn_deferred(docker: DockerWork, written: list[Obj]) -> None:
    """One warning: the engine is down (which says to start a controller too), else the
    controller hint when the written objects need one."""
    from podctl.ops.controller_hint import controller_hint

    warning = docker.warning() or controller_hint(written)
    if warning:
        terminal.warn(warning)


@create.command("namespace")
@click.argument("name")
@click.option("--dry-run", "dry_run", default="none",
              type=click.Choice(["none", "client", "server"]), is_flag=False,
              flag_value="client")
def create_namespace(name: str, dry_run: str) -> None:
    """Create a namespace."""
    from podctl.ops.namespaces import create_namespace as make
    from podctl.ops.session import open_store

    dry = dry_run != "none"
    terminal.out(make(None if dry else open_store(), name, dry))


@create.command("serviceaccount")
@click.argument("name")
@click.option("--dry-run", "dry_run", default="none",
              type=click.Choice(["none", "client", "server"]), is_flag=False,
              flag_value="client")
@namespace_option
def create_serviceaccount(name: str, dry_run: str, namespace: str | None) -> None:
    """Create a service account (alias: sa)."""
    from podctl.ops.identity import create_service_account
    from podctl.ops.session import open_store

    dry = dry_run != "none"
    terminal.out(create_service_account(None if dry else open_store(), name,
                                        namespace or "default", dry))


@create.command("token")
@click.argument("name")
@click.option("--duration", default=None,
              help="Requested lifetime of the token (e.g. 10m, 1h); the server may cap it.")
@click.option("--audience", "audiences", multiple=True,
              help="Audience of the token (repeatable); the API server's by default.")
@namespace_option
def create_token(name: str, duration: str | None, audiences: tuple[str, ...],
                 namespace: str | None) -> None:
    """Request a bound token for a service account."""
    from podctl.ops.identity import create_token as make
    from podctl.ops.session import open_store

    terminal.out(make(open_store(), name, namespace or "default", list(audiences),
                      duration))


def _source_options(fn: Any) -> Any:
    for option in (
        click.option("--from-literal", "literals", multiple=True, metavar="KEY=VALUE",
                     help="A key and its literal value (repeatable)."),
        click.option("--from-file", "files", multiple=True, metavar="[KEY=]PATH",
                     help="A file (key: its name unless given) or a directory's files."),
        click.option("--from-env-file", "env_files", multiple=True, metavar="PATH",
                     help="KEY=value lines, one key each."),
        click.option("--dry-run", "dry_run", default="none",
                     type=click.Choice(["none", "client", "server"]), is_flag=False,
                     flag_value="client"),
        click.option("-o", "--output", default=None,
                     help="yaml|json|name: print the object instead."),
        namespace_option,
    ):
        fn = option(fn)
    return fn


def _create_config(kind: str, name: str, namespace: str | None, literals: tuple[str, ...],
                   files: tuple[str, ...], env_files: tuple[str, ...], dry_run: str,
                   output: str | None, secret_type: str | None = None) -> None:
    from datetime import UTC, datetime

    from podctl.ops.configdata import Sources, build, create_config
    from podctl.ops.session import open_store
    from podctl.printers.output import check_format, render

    if output:
        check_format(output, False)
    sources = Sources(list(literals), list(files), list(env_files))
    obj = build(kind, name, namespace or "default", sources, secret_type)
    dry = dry_run != "none"
    store = None if dry else open_store()
    line = create_config(store, obj, dry)
    if not output:
        terminal.out(line)
        return
    shown = obj if store is None else store.get(kind, obj["metadata"]["namespace"], name)
    terminal.out(render([shown or obj], output, single=True, now=datetime.now(UTC)), end="")


@create.command("configmap")
@click.argument("name")
@_source_options
def create_configmap(name: str, namespace: str | None, literals: tuple[str, ...],
                     files: tuple[str, ...], env_files: tuple[str, ...], dry_run: str,
                     output: str | None) -> None:
    """Create a ConfigMap from literals, files, directories or env files."""
    _create_config("ConfigMap", name, namespace, literals, files, env_files, dry_run, output)


@create.group("secret")
def create_secret() -> None:
    """Create a Secret (generic)."""


@create_secret.command("generic")
@click.argument("name")
@_source_options
@click.option("--type", "secret_type", default=None, help="The Secret's type (default Opaque).")
def create_secret_generic(name: str, namespace: str | None, literals: tuple[str, ...],
                          files: tuple[str, ...], env_files: tuple[str, ...], dry_run: str,
                          output: str | None, secret_type: str | None) -> None:
    """Create a Secret from literals, files, directories or env files."""
    _create_config("Secret", name, namespace, literals, files, env_files, dry_run, output,
                   secret_type)


@create.command("deployment")
@click.argument("name")
@click.option("--image", "images", multiple=True, required=True,
              help="A container's image (repeatable: one container each).")
@click.option("--replicas", type=int, default=1, show_default=True,
              help="Number of replicas to create.")
@click.option("--port", type=int, default=-1, help="The port the first container exposes.")
@click.option("--dry-run", "dry_run", default="none",
              type=click.Choice(["none", "client", "server"]), is_flag=False,
              flag_value="client")
@namespace_option
def create_deployment(name: str, images: tuple[str, ...], replicas: int, port: int,
                      dry_run: str, namespace: str | None) -> None:
    """Create a Deployment running the given images (labels app=NAME)."""
    from podctl.errors import AlreadyExists, PodctlError
    from podctl.manifest import check_document
    from podctl.manifest.load import Document
    from podctl.ops.create import create_object
    from podctl.ops.deferred import DockerWork
    from podctl.ops.deployment import build_deployment
    from podctl.ops.session import open_store

    obj = build_deployment(name, list(images), replicas, port)
    checked = check_document(Document("-", 0, obj, None), namespace)
    # kubectl wraps the API server's answer: `failed to create deployment: <status error>`.
    failed = "failed to create deployment: "
    if checked.obj is None:
        messages = [p.message for p in checked.problems]
        detail = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
        raise PodctlError(f'{failed}Deployment.apps "{name}" is invalid: {detail}')
    if dry_run != "none":
        terminal.out(f"deployment.apps/{name} created (dry run)")
        return
    docker = DockerWork()
    try:
        terminal.out(create_object(open_store(), checked.obj, docker))
    except AlreadyExists as exc:
        raise PodctlError(f"{failed}{exc}") from exc
    warn_deferred(docker, [checked.obj])


@create.command("quota")
@click.argument("name")
@click.option("--hard", default="", help="A comma-delimited set of resource=quantity pairs.")
@click.option("--scopes", default="", help="A comma-delimited set of quota scopes.")
@click.option("--dry-run", "dry_run", default="none",
              type=click.Choice(["none", "client", "server"]), is_flag=False,
              flag_value="client")
@click.option("-o", "--output", default=None, help="yaml|json|name: print the object instead.")
@namespace_option
def create_quota(name: str, hard: str, scopes: str, dry_run: str, output: str | None,
                 namespace: str | None) -> None:
    """Create a ResourceQuota (kubectl create quota)."""
    from datetime import UTC, datetime

    from podctl import registry
    from podctl.api import meta
    from podctl.ops.quota import build_quota
    from podctl.ops.session import open_store
    from podctl.printers.output import check_format, render

    if output:
        check_format(output, False)
    obj = build_quota(name, hard, scopes)
    dry = dry_run != "none"
    store = open_store()
    stored = registry.create(store, obj, namespace, dry_run=dry)
    if not dry:
        from podctl.ops.followup import follow_up

        follow_up(store, ("ResourceQuota", meta.namespace_of(stored), name))
        stored = store.get("ResourceQuota", meta.namespace_of(stored), name) or stored
    if output:
        terminal.out(render([stored], output, single=True, now=datetime.now(UTC)), end="")
    else:
        terminal.out(f"resourcequota/{name} created" + (" (dry run)" if dry else ""))


@create.command("job")
@click.argument("name")
@click.argument("command", nargs=-1)
@click.option("--image", default=None, help="The image of the Job's one container.")
@click.option("--from", "source", default=None, metavar="cronjob/NAME",
              help="Copy the Job template of this CronJob.")
@namespace_option
def create_job(name: str, command: tuple[str, ...], image: str | None, source: str | None,
               namespace: str | None) -> None:
    """Create a Job from an image and command (after --), or from a CronJob's template."""
    from podctl.ops.jobs import build_job
    from podctl.ops.jobs import create_job as make
    from podctl.ops.session import open_store

    store = open_store()
    job = build_job(store, name, namespace or "default", image, list(command), source)
    terminal.out(make(store, job))


def _dry_run_option(fn: Any) -> Any:
    return click.option("--dry-run", "dry_run", default="none",
                        type=click.Choice(["none", "client", "server"]), is_flag=False,
                        flag_value="client")(fn)


def _store_unless(dry_run: str) -> Any:
    from podctl.ops.session import open_store

    return None if dry_run != "none" else open_store()


def _role_options(fn: Any) -> Any:
    for option in (
        click.option("--verb", "verbs", multiple=True, required=True,
                     help="Verbs the rule allows (comma-separated or repeated)."),
        click.option("--resource", "resources", multiple=True,
                     help="Resources the rule applies to (pods, deployments.apps, pods/log)."),
        click.option("--resource-name", "resource_names", multiple=True,
                     help="Names of the resources the rule applies to."),
        _dry_run_option,
    ):
        fn = option(fn)
    return fn


@create.command("role")
@click.argument("name")
@_role_options
@namespace_option
def create_role(name: str, verbs: tuple[str, ...], resources: tuple[str, ...],
                resource_names: tuple[str, ...], dry_run: str, namespace: str | None) -> None:
    """Create a Role with a single rule per API group."""
    from podctl.ops.rbac import build_role, create_rbac

    obj = build_role("Role", name, namespace or "default", verbs, resources, resource_names)
    terminal.out(create_rbac(_store_unless(dry_run), obj))


@create.command("clusterrole")
@click.argument("name")
@_role_options
@click.option("--non-resource-url", "urls", multiple=True,
              help="Partial URLs the rule allows (/logs/*).")
def create_clusterrole(name: str, verbs: tuple[str, ...], resources: tuple[str, ...],
                       resource_names: tuple[str, ...], dry_run: str,
                       urls: tuple[str, ...]) -> None:
    """Create a ClusterRole."""
    from podctl.ops.rbac import build_role, create_rbac

    obj = build_role("ClusterRole", name, "", verbs, resources, resource_names, urls)
    terminal.out(create_rbac(_store_unless(dry_run), obj))


def _binding_options(fn: Any) -> Any:
    for option in (
        click.option("--clusterrole", "cluster_role", default=None,
                     help="The ClusterRole this binding refers to."),
        click.option("--user", "users", multiple=True, help="Usernames to bind to the role."),
        click.option("--group", "groups", multiple=True, help="Groups to bind to the role."),
        click.option("--serviceaccount", "service_accounts", multiple=True,
                     metavar="NAMESPACE:NAME", help="Service accounts to bind to the role."),
        _dry_run_option,
    ):
        fn = option(fn)
    return fn


@create.command("rolebinding")
@click.argument("name")
@_binding_options
@click.option("--role", default=None, help="The Role this binding refers to.")
@namespace_option
def create_rolebinding(name: str, cluster_role: str | None, users: tuple[str, ...],
                       groups: tuple[str, ...], service_accounts: tuple[str, ...],
                       dry_run: str, role: str | None, namespace: str | None) -> None:
    """Create a RoleBinding for a Role or ClusterRole."""
    from podctl.ops.rbac import build_binding, create_rbac

    obj = build_binding("RoleBinding", name, namespace or "default", cluster_role, role, users,
                        groups, service_accounts)
    terminal.out(create_rbac(_store_unless(dry_run), obj))


@create.command("clusterrolebinding")
@click.argument("name")
@_binding_options
def create_clusterrolebinding(name: str, cluster_role: str | None, users: tuple[str, ...],
                              groups: tuple[str, ...], service_accounts: tuple[str, ...],
                              dry_run: str) -> None:
    """Create a ClusterRoleBinding for a ClusterRole."""
    from podctl.ops.rbac import build_binding, create_rbac

    obj = build_binding("ClusterRoleBinding", name, "", cluster_role, None, users, groups,
                        service_accounts)
    terminal.out(create_rbac(_store_unless(dry_run), obj))


@click.command("validate")
@filename_option(required=True)
@namespace_option
def validate(filenames: tuple[str, ...], namespace: str | None) -> None:
    """Check manifests against the Kubernetes v1 schema and rules, without Docker."""
    ok, passed = check_files(filenames, namespace)
    for source, checked in passed:
        terminal.out(f"{source}: {len(checked)} object(s) valid")
    if not ok:
        sys.exit(1)


COMMANDS = [create, validate]
