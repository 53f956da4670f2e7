"""Shell completion: `podctl completion bash|zsh|fish` and the callbacks that complete
resource types and the names of stored objects.

Completion runs on every TAB press through click's `_PODCTL_COMPLETE` protocol: the
callbacks read the store read-only and never touch Docker, and everything beyond click is
imported inside them so that loading the command tree stays cheap.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL; load it with e.g.
    `source <(podctl completion bash)`."""
    from click.shell_completion import get_completion_class

    from podctl.cli import terminal

    root = ctx.find_root()
    cls = get_completion_class(shell)
    if cls is None:  # click knows every shell in SHELLS; this guards a click upgrade
        raise click.UsageError(f"unsupported shell {shell!r}")
    name = root.info_name or "podctl"
    script = cls(root.command, {}, name, f"_{name.replace('-', '_').upper()}_COMPLETE")
    terminal.out(script.source())


def _namespace(ctx: click.Context) -> str:
    return str(ctx.params.get("namespace") or "default")


def _names(kind: str, namespace: str) -> list[str]:
    from podctl.store.names import object_names

    return object_names(kind, namespace)


def _resource_words(incomplete: str) -> list[str]:
    """Resource types for a first argument: plural names, else any spelling that fits."""
    from podctl.api.meta import RESOURCES

    # As kubectl completes `api-resources --verbs=get`: not the reviews, which are only asked.
    readable = [r for r in RESOURCES.values() if "get" in r.verbs]
    plurals = [r.name for r in readable if r.name.startswith(incomplete.lower())]
    if plurals:
        return sorted(plurals)
    return sorted({w for r in readable for w in r.words() if w.startswith(incomplete.lower())})


def _slash_names(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    """`pod/ku<TAB>` -> `pod/kubia`: names of the type before the slash."""
    from podctl.api.meta import kind_for

    word, _, prefix = incomplete.partition("/")
    kind = kind_for(word)
    if kind is None:
        return []
    return [CompletionItem(f"{word}/{n}") for n in _names(kind, _namespace(ctx))
            if n.startswith(prefix)]


def complete_resources(ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[CompletionItem]:
    """`get <TAB>`: resource types; `get pods <TAB>`: their names; `get pod/<TAB>` too."""
    from podctl.api.meta import kind_for

    if "/" in incomplete:
        return _slash_names(ctx, incomplete)
    given = [str(a) for a in ctx.params.get(param.name or "") or ()]
    if not given:
        return [CompletionItem(w) for w in _resource_words(incomplete)]
    if "/" in given[0]:
        return []
    kind = kind_for(given[0].split(",")[0])
    if kind is None:
        return []
    return [CompletionItem(n) for n in _names(kind, _namespace(ctx))
            if n.startswith(incomplete) and n not in given[1:]]


def complete_pods(ctx: click.Context, param: click.Parameter,
                  incomplete: str) -> list[CompletionItem]:
    """A pod argument (`logs`, `exec`, `port-forward`): pod names, or TYPE/NAME."""
    if "/" in incomplete:
        return _slash_names(ctx, incomplete)
    return [CompletionItem(n) for n in _names("Pod", _namespace(ctx)) if n.startswith(incomplete)]


def complete_namespaces(ctx: click.Context, param: click.Parameter,
                        incomplete: str) -> list[CompletionItem]:
    """`-n <TAB>`: the namespaces in the store."""
    return [CompletionItem(n) for n in _names("Namespace", "") if n.startswith(incomplete)]


def complete_nodes(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    """`drain <TAB>`, `cordon <TAB>`: the nodes in the store, each named once."""
    given = [str(a) for a in ctx.params.get(param.name or "") or ()]
    return [CompletionItem(n) for n in _names("Node", "")
            if n.startswith(incomplete) and n not in given]


def complete_containers(ctx: click.Context, param: click.Parameter,
                        incomplete: str) -> list[CompletionItem]:
    """`-c <TAB>`: the containers of the pod already named on the command line."""
    from podctl.store.names import container_names

    namespace, pod = _pod_named(ctx)
    if not pod:
        return []
    return [CompletionItem(n) for n in container_names(namespace, pod)
            if n.startswith(incomplete)]


def _pod_named(ctx: click.Context) -> tuple[str, str]:
    """Namespace and pod of `logs POD`, `exec pod/POD` or `cp [NS/]POD:path`, if given.

    While an option's value is being completed click has not yet bound the positional
    arguments; they are still in ``ctx.args``.
    """
    if "pod" in ctx.params:
        pod = str(ctx.params["pod"] or (ctx.args[0] if ctx.args else ""))
        word, slash, name = pod.partition("/")
        if not slash:
            return _namespace(ctx), pod
        from podctl.api.meta import kind_for

        return _namespace(ctx), (name if kind_for(word) == "Pod" else "")
    words = [str(ctx.params.get(k) or "") for k in ("source", "dest")] + list(ctx.args)
    for value in words:
        if ":" in value:
            namespace, _, name = value.partition(":")[0].rpartition("/")
            return namespace or _namespace(ctx), name
    return _namespace(ctx), ""


COMMANDS = [completion]
