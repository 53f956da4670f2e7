"""`podctl create serviceaccount` and `podctl create token`."""

from __future__ import annotations

from podctl import registry
from podctl.api import identity, meta
from podctl.api.duration import parse_duration
from podctl.errors import Invalid, NotFound, PodctlError, ServerError
from podctl.store import Store


def create_service_account(store: Store | None, name: str, namespace: str,
                           dry_run: bool = False) -> str:
    """Validated as the API server would, then stored; kubectl's line."""
    obj = {"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": name, "namespace": namespace}}
    if dry_run:
        registry.validated(obj, namespace)
        return f"serviceaccount/{name} created (dry run)"
    assert store is not None
    registry.create(store, obj)
    return f"serviceaccount/{name} created"


def token_seconds(duration: str | None) -> int:
    """--duration in seconds as kubectl checks it (0 or none: the server's default)."""
    if not duration or duration == "0":
        return identity.DEFAULT_SECONDS
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise PodctlError(f'invalid argument "{duration}" for "--duration" flag: '
                          f"{exc}") from None
    if seconds < 0:
        raise PodctlError("--duration must be positive")
    if seconds != int(seconds):
        raise PodctlError("--duration cannot be expressed in units less than seconds")
    return int(seconds)


def create_token(store: Store, name: str, namespace: str, audiences: list[str],
                 duration: str | None) -> str:
    """A token for the service account, signed with the home's key: what the API's
    TokenRequest answers."""
    seconds = token_seconds(duration)
    try:
        identity.check_expiration(name, seconds)
        account = store.get("ServiceAccount", namespace, name)
        if account is None:
            raise NotFound(meta.plural("ServiceAccount"), name)
    except (ServerError, Invalid) as exc:
        raise PodctlError(f"failed to create token: {exc}") from None
    token, _ = identity.issue(store.path.parent, account,
                              audiences or list(identity.API_AUDIENCES), seconds)
    return token
