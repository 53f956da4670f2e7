"""`podctl get`'s work, without click: the click command and the launcher's quick path (a
`get` whose every argument `quick_args` knows, which skips importing click: a third of its
start) both call `run` with the same `GetArgs`."""

from __future__ import annotations

import sys
from typing import NamedTuple

from podctl.cli import terminal


class GetArgs(NamedTuple):
    args: tuple[str, ...]
    namespace: str | None = None
    all_namespaces: bool = False
    selector: str | None = None
    output: str | None = None
    show_labels: bool = False
    label_columns: tuple[str, ...] = ()
    watch: bool = False
    no_headers: bool = False
    sort_by: str | None = None
    show_managed_fields: bool = False


# The options the quick path reads, as click's command declares them (tests/unit/
# test_get_quick.py holds the two to the same reading); any other argument goes to click.
_VALUED = {"-n": "namespace", "--namespace": "namespace", "-l": "selector",
           "--selector": "selector", "-o": "output", "--output": "output"}
_FLAGS = {"-A": "all_namespaces", "--all-namespaces": "all_namespaces",
          "--show-labels": "show_labels", "--no-headers": "no_headers",
          "--show-managed-fields": "show_managed_fields"}


def quick_args(argv: list[str]) -> GetArgs | None:
    """`GetArgs` for the words after `get` when each is a resource argument or one of the
    common options (`-n NS`, `-nNS`, `--namespace=NS`, likewise -l and -o; -A,
    --show-labels, --no-headers); None for anything else (help, -w, --sort-by, a `--`...),
    which click parses."""
    positional: list[str] = []
    values: dict[str, object] = {}
    words = iter(argv)
    for word in words:
        if not word.startswith("-") or word == "-":
            positional.append(word)
        elif word in _FLAGS:
            values[_FLAGS[word]] = True
        elif word in _VALUED:
            value = next(words, None)
            if value is None:
                return None
            values[_VALUED[word]] = value
        elif word.startswith("--"):
            name, equals, value = word.partition("=")
            if not equals or name not in _VALUED:
                return None
            values[_VALUED[name]] = value
        elif word[:2] in _VALUED:
            # click's reading of a short option with its value attached: `-nNS`, and
            # `-n=NS` as the value `=NS`.
            values[_VALUED[word[:2]]] = word[2:]
        else:
            return None
    return GetArgs(args=tuple(positional), **values)  # type: ignore[arg-type]


def run(request_args: GetArgs) -> None:
    from podctl.api.meta import NAMESPACED, RESOURCES
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import NotFound
    from podctl.ops.controller_hint import controller_hint
    from podctl.ops.get import GetRequest, get_objects
    from podctl.printers.output import check_format

    a = request_args
    check_format(a.output, a.show_labels)
    request = GetRequest(
        targets=split_resource_args(a.args),
        namespace=None if a.all_namespaces else (a.namespace or "default"),
        selector=a.selector,
    )
    missing: list[NotFound] = []
    unreachable: list[str] = []
    for deprecation in dict.fromkeys(RESOURCES[kind].deprecation
                                     for kind, _ in request.targets):
        if deprecation:
            terminal.warn(deprecation)
    objs, single = get_objects(request, missing, unreachable)
    if a.sort_by:
        from podctl.printers.output import sort_by as order

        objs = order(objs, a.sort_by)
    if unreachable:
        from podctl.ops.views import engine_down_warning

        terminal.warn(engine_down_warning(unreachable[0]))
    else:
        hint = controller_hint([o for o in objs if o["kind"] == "Pod"])
        if hint:
            terminal.warn(hint)
    columns = [k for spec in a.label_columns for k in spec.split(",") if k]
    with_kind = len({kind for kind, _ in request.targets}) > 1
    # kubectl names the namespace it looked in only when some kind asked for lives in one.
    looked_in = request.namespace if any(kind in NAMESPACED for kind, _ in request.targets) \
        else None
    if objs or not missing:
        _print(objs, single, looked_in, a, columns, header=not a.no_headers,
               with_kind=with_kind)
    for error in missing:
        terminal.err(error.render())
    if missing:
        sys.exit(1)
    if a.watch:
        from podctl.ops.get import watch_objects

        # kubectl prints the header once, with the first rows it shows.
        header_shown = bool(objs) or a.no_headers
        for changed in watch_objects(request):
            _print(changed, False, looked_in, a, columns, header=not header_shown,
                   with_kind=with_kind)
            header_shown = True


def _print(objs: list[dict[str, object]], single: bool, namespace: str | None, a: GetArgs,
           label_columns: list[str], header: bool, with_kind: bool) -> None:
    from datetime import UTC, datetime

    from podctl.printers.output import is_table, render, without_managed_fields

    if not objs:
        if is_table(a.output):
            terminal.err(f"No resources found in {namespace} namespace." if namespace
                         else "No resources found")
        elif a.output in ("json", "yaml"):
            terminal.out(render([], a.output, single=False, now=datetime.now(UTC)), end="")
        return
    if not a.show_managed_fields:  # as kubectl prints objects by default
        objs = [without_managed_fields(o) for o in objs]
    text = render(objs, a.output, single=single, now=datetime.now(UTC),
                  all_namespaces=a.all_namespaces, show_labels=a.show_labels,
                  label_columns=label_columns, headers=header, with_kind=with_kind)
    terminal.out(text, end="")
