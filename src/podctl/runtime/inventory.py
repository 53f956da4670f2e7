"""Find podctl's containers with one list call; inspect only where a list says too little."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from podctl.runtime import naming
from podctl.runtime.client import container_list, docker_api, translate_errors
from podctl.runtime.network import NETWORK_NAME
from podctl.runtime.records import ContainerRecord, add_inspect, from_list_entry

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor


def list_containers(pod_uid: str | None = None) -> list[ContainerRecord]:
    """This home's containers (running or not), optionally of one pod."""
    label = f"{naming.POD_UID}={pod_uid}" if pod_uid else naming.home_selector()
    entries = container_list({"label": [label]})
    return [from_list_entry(e, NETWORK_NAME) for e in entries]


def cluster_dns_users(homeid: str) -> set[str]:
    """The uids of the home's pods whose sandbox was given the cluster DNS."""
    entries = container_list({"label": [f"{naming.HOME}={homeid}", naming.CLUSTER_DNS]})
    return {str((e.get("Labels") or {}).get(naming.POD_UID, "")) for e in entries} - {""}


def by_pod(records: Iterable[ContainerRecord]) -> dict[str, list[ContainerRecord]]:
    grouped: dict[str, list[ContainerRecord]] = defaultdict(list)
    for record in records:
        grouped[record.pod_uid].append(record)
    return grouped


def inspect(records: Iterable[ContainerRecord]) -> None:
    """Add inspect details (exit codes, times) to the given records, in parallel."""
    todo = [r for r in records if not r.inspected]
    if not todo:
        return
    api = docker_api()

    def one(record: ContainerRecord) -> None:
        import docker.errors

        try:
            info: dict[str, Any] = api.inspect_container(record.id)
        except docker.errors.NotFound:
            record.state = "removed"
            return
        add_inspect(record, info)

    with translate_errors():
        if len(todo) == 1:
            one(todo[0])
        else:
            list(_pool().map(one, todo))


@cache
def _pool() -> ThreadPoolExecutor:
    """Shared by every caller: a controller inspects on each sync, and starting threads
    for each would cost more than the inspects."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="inspect")


def needs_inspect(record: ContainerRecord) -> bool:
    """A table needs exit codes and finish times only of containers that are not running."""
    return not record.running
