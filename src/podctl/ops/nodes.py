"""`podctl node add|stop|start|delete|load-image`: nodes as containers on the host's engine,
each running its own dockerd (kind's design, minikube's verbs). The host's engine stays
the first node."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from podctl import registry
from podctl.api import meta
from podctl.api.labels import validate_label_key, validate_label_value
from podctl.api.meta import Obj
from podctl.controllers.deletion import delete_at_once, delete_object
from podctl.controllers.ownersync import Key
from podctl.errors import (
    AlreadyExists,
    DockerUnavailable,
    Invalid,
    NodeUnavailable,
    NotFound,
    PodctlError,
)
from podctl.home import home_id
from podctl.locks import file_lock
from podctl.manifest.names import dns1123_subdomain
from podctl.node import container_node, ensure_node, post_address
from podctl.ops.taint import parse_taints
from podctl.runtime import engines, nodecontainers, podcidrs
from podctl.runtime.client import unix_socket
from podctl.runtime.configvolumes import VOLUMES_DIR
from podctl.runtime.images import copy_from_host, image_present
from podctl.store import Store

# How long a node's engine may take to answer after its container starts (it takes well
# under a second here; the bound for Ready is 30 s).
READY_TIMEOUT = 30.0


def parse_labels(specs: list[str]) -> dict[str, str]:
    """--label K=V, as `kubectl label` reads it."""
    labels = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq or not key:
            raise PodctlError(f"invalid label spec: {spec}")
        labels[key] = value
    return labels


def add_node(store: Store, name: str, labels: list[str], taints: list[str]) -> Obj:
    """A node container whose engine answers, registered as a Node with the given labels
    and taints; the stored Node. The host's node is registered first: it stays the first."""
    homeid = home_id(store.path.parent)
    wanted = _node_template(name, parse_labels(labels), parse_taints(taints)[0])
    _check(wanted)  # a bad name or label costs no container
    ensure_node(store)
    with _node_lock(name):
        if store.get("Node", "", name) is not None:
            raise AlreadyExists("nodes", name)
        _require_image()
        # Left by an add or delete that was interrupted: a node that never registered.
        nodecontainers.remove(homeid, name)
        return _make_node(store, homeid, wanted)


def _make_node(store: Store, homeid: str, wanted: Obj) -> Obj:
    name = meta.name_of(wanted)
    volumes = store.path.parent / VOLUMES_DIR
    volumes.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        nodecontainers.create(homeid, name, [str(volumes)])
        nodecontainers.wait_ready(engines.node_engine(homeid, name), READY_TIMEOUT)
        node = container_node(homeid, name)
        node["metadata"]["labels"].update(wanted["metadata"]["labels"])
        # Node IPAM's part (upstream's controller sets it just after registration): here
        # before, since the node's engine makes its pod network from it.
        cidr = str(podcidrs.reserve(homeid, name))
        node["spec"] = {**wanted["spec"], "podCIDR": cidr, "podCIDRs": [cidr]}
        return registry.create(store, node)
    except BaseException:
        nodecontainers.remove(homeid, name)
        raise


@contextlib.contextmanager
def _node_lock(name: str) -> Iterator[None]:
    """One command at a time changes a node (two adds of one name must not remove each
    other's container)."""
    with file_lock(f"node-{hashlib.sha256(name.encode()).hexdigest()[:12]}"):
        yield


def _require_image() -> None:
    with engines.using(None):
        if unix_socket() is None:
            # A node's socket is bind-mounted out to a path on this machine.
            raise PodctlError("node containers need the Docker engine on this machine "
                              "(DOCKER_HOST a unix socket)")
        if image_present(nodecontainers.NODE_IMAGE) is None:
            raise PodctlError(f'image "{nodecontainers.NODE_IMAGE}" is missing on the host\'s '
                              "Docker engine: run `make images`")


def _node_template(name: str, labels: dict[str, str], taints: list[Obj]) -> Obj:
    """What `node add` asks for, checked before anything is made."""
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {**labels, "kubernetes.io/hostname": name}},
            "spec": {"taints": taints} if taints else {}}


def _check(node: Obj) -> None:
    """The API server's checks of what `node add` asks for (its name, as a Node's; its
    labels, the hostname label's value among them: at most 63 characters)."""
    name = meta.name_of(node)
    problems = [f'metadata.name: Invalid value: "{name}": {detail}'
                for detail in dns1123_subdomain(name)]
    for key, value in meta.labels_of(node).items():
        problems += [f'metadata.labels: Invalid value: "{key}": {detail}'
                     for detail in validate_label_key(key)]
        problems += [f'metadata.labels: Invalid value: "{value}": {detail}'
                     for detail in validate_label_value(value)]
    if problems:
        joined = problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]"
        raise Invalid(f'The Node "{name}" is invalid: {joined}', "Node", name)


def _managed_node(store: Store, name: str) -> Obj:
    node = store.get("Node", "", name)
    if node is None:
        raise NotFound("nodes", name)
    kind = engines.kind_of(node)
    if kind == engines.HOST:
        raise PodctlError(f'node "{name}" is the first node, the host\'s own Docker engine: '
                          "podctl does not stop, start or delete it")
    if kind != engines.CONTAINER:
        raise PodctlError(f'node "{name}" is not a node container of this home '
                          "(registered through the API: no engine of podctl runs it)")
    return node


def stop_node(store: Store, name: str) -> None:
    """The node's container is killed, as a machine that loses power: its pods get no
    graceful deletion, and their objects stay as they were."""
    with _node_lock(name):
        _managed_node(store, name)
        nodecontainers.kill(home_id(store.path.parent), name)


def start_node(store: Store, name: str) -> None:
    """The node's container again, with its engine's images and containers (its volume);
    once its engine answers, its kubelet restarts pods per their restart policy."""
    homeid = home_id(store.path.parent)
    with _node_lock(name):
        node = _managed_node(store, name)
        nodecontainers.start(homeid, name)
        nodecontainers.wait_ready(engines.engine_of(homeid, node) or
                                  engines.node_engine(homeid, name), READY_TIMEOUT)
        post_address(store, name, nodecontainers.address(
            nodecontainers.inspect(homeid, name) or {}))


def delete_node(store: Store, name: str) -> list[Key]:
    """The node container, its volume and its Node go, and its pods with them (the pod
    garbage collector's part for pods bound to a node that no longer exists: deleted at
    once, no kubelet is left to stop them); the keys of the owners to wake. A node
    container whose Node was deleted through the API goes too."""
    homeid = home_id(store.path.parent)
    with _node_lock(name):
        try:
            _managed_node(store, name)
        except NotFound:
            if nodecontainers.inspect(homeid, name) is None:
                raise
        nodecontainers.remove(homeid, name)
        with contextlib.suppress(NotFound):
            delete_object(store, "Node", "", name)
    wake: list[Key] = [("Node", "", name)]
    for pod in store.list("Pod"):
        if pod["spec"].get("nodeName") != name:
            continue
        delete_at_once(store, "Pod", meta.namespace_of(pod), meta.name_of(pod),
                       meta.uid_of(pod))
        owner = meta.controller_of(pod)
        if owner is not None:
            wake.append((str(owner.get("kind")), meta.namespace_of(pod),
                         str(owner.get("name"))))
    return wake


def pods_on(store: Store, name: str) -> list[Key]:
    """The keys of the pods bound to the node (its kubelet's work after a start)."""
    return [("Pod", meta.namespace_of(p), meta.name_of(p)) for p in store.list("Pod")
            if p["spec"].get("nodeName") == name]


@dataclass(frozen=True)
class Loaded:
    node: str
    image_id: str
    copied: bool  # False: the node had it already


def load_image(store: Store, image: str, nodes: list[str]) -> Iterator[Loaded]:
    """Copy an image of the host's engine into every node container (or those named), as
    `kind load docker-image` does; each node as it is done."""
    with engines.using(None):
        info = image_present(image)
    if info is None:
        raise PodctlError(f'image "{image}" not present on the host\'s Docker engine')
    image_id = str(info["Id"])
    targets = [_managed_node(store, name) for name in nodes] if nodes else [
        n for n in store.list("Node") if engines.kind_of(n) == engines.CONTAINER]
    homeid = home_id(store.path.parent)
    for node in targets:
        try:
            with engines.using(engines.engine_of(homeid, node)):
                present = image_present(image)
                if present is not None and str(present["Id"]) == image_id:
                    yield Loaded(meta.name_of(node), image_id, False)
                    continue
                copy_from_host(image, replace=True)
        except NodeUnavailable:
            raise
        except DockerUnavailable as exc:
            raise NodeUnavailable(meta.name_of(node), exc.detail) from exc
        yield Loaded(meta.name_of(node), image_id, True)
