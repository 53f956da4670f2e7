"""The store as commands open it: every write wakes the controller at once (a datagram on
its socket), so it reacts to a command without waiting for its resync."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from podctl.home import podctl_home
from podctl.notify import notify_controller
from podctl.store import Store
from podctl.store import open_store as open_plain_store

if TYPE_CHECKING:
    from ipaddress import IPv4Network


def open_store() -> Store:
    home = podctl_home()
    return open_plain_store(home, functools.partial(notify_controller, home))


def home_service_range() -> IPv4Network:
    """This home's /24 of service IPs, reserved on the engine the first time."""
    from podctl.home import home_id
    from podctl.runtime.servicenet import reserve_service_range  # off the read path

    return reserve_service_range(home_id())
