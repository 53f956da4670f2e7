"""The store as commands open it: every write wakes the controller at once (a datagram on
its socket), so it reacts to a command without waiting for its resync."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from podctl.home import podctl_home
from podctl.notify import notify_controller
from podctl.store import Store
from podctl.store import open_store as open_plain_store

if TYPE_CHECKING:
    from ipaddress import IPv4Network


def open_store() -> Store:
    home = podctl_home()
    return open_plain_store(home, functools.partial(notify_controller, home))


def load_custom_kinds(objs: Iterable[Any] | None = None) -> None:
    """Serve in this process the custom kinds the store's definitions define: a command
    meets a resource word or a manifest before it opens the store. With `objs`, only when
    one of them is of a kind podctl does not build in."""
    from podctl.api import meta

    if objs is not None and all(_built_in(o, meta.RESOURCES) for o in objs):
        return
    open_store().close()


def _built_in(obj: Any, resources: dict[str, Any]) -> bool:
    if not isinstance(obj, dict):
        return True
    resource = resources.get(str(obj.get("kind")))
    return resource is not None and not resource.custom and \
        obj.get("apiVersion") == resource.api_version


def home_service_range() -> IPv4Network:
    """This home's /24 of service IPs, reserved on the engine the first time."""
    from podctl.home import home_id
    from podctl.runtime.servicenet import reserve_service_range  # off the read path

    return reserve_service_range(home_id())
