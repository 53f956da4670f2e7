"""kubectl's resource arguments, parsed without click (`get`'s quick path uses them)."""

from __future__ import annotations


def split_resource_args(args: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """kubectl's resource arguments: `pods a b`, `pod/a rc/b`, `pods,rc` -> (kind, names)."""
    from podctl.api.meta import RESOURCES, kind_for
    from podctl.errors import PodctlError

    def kind_of(word: str) -> str:
        kind = kind_for(word)
        if kind is None:  # a custom kind's word, known once the store's definitions are
            from podctl.ops.session import load_custom_kinds

            load_custom_kinds()
            kind = kind_for(word)
        if kind is None:
            raise PodctlError(f'the server doesn\'t have a resource type "{word}"')
        return kind

    if not args:
        raise PodctlError("You must specify the type of resource to get. Use \"podctl "
                          "api-resources\" for a complete list of supported resources.")
    if all("/" in a for a in args):
        pairs: dict[str, list[str]] = {}
        for arg in args:
            word, _, name = arg.partition("/")
            pairs.setdefault(kind_of(word), []).append(name)
        return list(pairs.items())
    if any("/" in a for a in args):
        raise PodctlError("there is no need to specify a resource type as a separate argument "
                          "when passing arguments in resource/name form (e.g. 'podctl get "
                          "resource/<resource_name>' instead of 'podctl get resource "
                          "resource/<resource_name>'")
    first, names = args[0], list(args[1:])
    words = first.split(",")
    if "all" in words:
        from podctl.ops.session import load_custom_kinds

        load_custom_kinds()  # custom kinds may be in the category too
        words = [w for w in words if w != "all"] + [
            r.name for r in RESOURCES.values() if "all" in r.categories]
    kinds = list(dict.fromkeys(kind_of(w) for w in words))
    return [(kind, names) for kind in kinds]
