"""The ingress controller, as kind's recipe runs ingress-nginx: the IngressClass `nginx`
(the default class) from the cluster's start, and, while an Ingress of that class exists,
a system pod in kube-system on the host network of every node (ports 80 and 443, or the
ones run-controller was given; the host's pod is `ingress-nginx-controller`, a node
container's `ingress-nginx-controller-<node>`) whose nginx the controller configures on
every change of an Ingress, Service, Endpoints or Secret (a render, copied in, then a
reload);
each Ingress served gets `status.loadBalancer.ingress` (`localhost`, as kind's recipe
publishes it). The pods go with the last Ingress."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import mark_pod_deleting
from podctl.controllers.services import SYSTEM_NAMESPACE
from podctl.errors import AlreadyExists, Conflict, DockerUnavailable, NotFound
from podctl.home import home_id
from podctl.manifest.defaults import default_object
from podctl.manifest.networking_rules import DEFAULT_CLASS_ANNOTATION
from podctl.node import ensure_node
from podctl.proxy import apply
from podctl.proxy import ingress as proxy
from podctl.runtime import engines
from podctl.runtime.client import api_error
from podctl.store import Store

log = logging.getLogger("podctl.ingress")

POD = "ingress-nginx-controller"
CONTAINER = "controller"
CONTROLLER = "k8s.io/ingress-nginx"
# What status.loadBalancer says, as kind's recipe (--publish-status-address=localhost).
ADDRESS = [{"hostname": "localhost"}]
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"

_fake_lock = threading.Lock()
_fake: list[bytes] = []
# container id -> the digest of the configuration its nginx runs (read back from it): an
# unchanged render is not copied in again.
_installed: dict[str, str] = {}


def ensure_class(store: Store) -> None:
    """The `nginx` class, marked default, made at the cluster's start when missing."""
    if store.get("IngressClass", "", proxy.CLASS_NAME) is None:
        klass = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                 "metadata": {"name": proxy.CLASS_NAME,
                              "labels": {"app.kubernetes.io/name": "ingress-nginx",
                                         "app.kubernetes.io/component": "controller"},
                              "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
                 "spec": {"controller": CONTROLLER}}
        with contextlib.suppress(AlreadyExists):
            registry.create(store, klass)


def controller_pod(ports: proxy.Ports) -> Obj:
    """The proxy's pod, defaulted as if made from a manifest: host network, its ports."""
    pod: Obj = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": POD, "namespace": SYSTEM_NAMESPACE,
                     "labels": {"app.kubernetes.io/name": "ingress-nginx",
                                "app.kubernetes.io/component": "controller"},
                     # Made and remade by podctl itself, as the data plane's pods.
                     "annotations": {MIRROR_ANNOTATION: POD}},
        "spec": {"hostNetwork": True, "terminationGracePeriodSeconds": 1,
                 "containers": [{
                     "name": CONTAINER, "image": proxy.INGRESS_IMAGE,
                     "imagePullPolicy": "Never",
                     # ingress-nginx's manifest's requests: without them the proxy is
                     # BestEffort (2 CPU shares) and every busy pod beside it starves
                     # the one hop all Ingress traffic takes.
                     "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
                     "ports": [{"name": "http", "containerPort": ports.http,
                                "hostPort": ports.http, "protocol": "TCP"},
                               {"name": "https", "containerPort": ports.https,
                                "hostPort": ports.https, "protocol": "TCP"}]}]}}
    return default_object("Pod", pod, SYSTEM_NAMESPACE)


def _pod_ports(pod: Obj) -> proxy.Ports | None:
    found = {p.get("name"): p.get("containerPort")
             for c in pod["spec"].get("containers") or [] for p in c.get("ports") or []}
    if isinstance(found.get("http"), int) and isinstance(found.get("https"), int):
        return proxy.Ports(found["http"], found["https"])
    return None


def taken_ports(ports: proxy.Ports) -> list[int]:
    """The ports another program holds on this machine (its every address)."""
    taken = []
    for port in (ports.http, ports.https):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                taken.append(port)
    return taken


def pod_name(node: str, host: str) -> str:
    """The host's proxy keeps the one name; a node container's is named after its node."""
    return POD if node == host else f"{POD}-{node}"


def is_proxy(namespace: str, name: str) -> bool:
    """By its name (a pod's end names it alone): maybe one of the proxies."""
    return namespace == SYSTEM_NAMESPACE and (name == POD or name.startswith(POD + "-"))


def _ours(pod: Obj) -> bool:
    """One of the proxies podctl made, not a user's pod of a like name."""
    name = meta.name_of(pod)
    return is_proxy(meta.namespace_of(pod), name) and \
        (pod["metadata"].get("annotations") or {}).get(MIRROR_ANNOTATION) == name


def sync_ingress(store: Store, ports: proxy.Ports) -> dict[str, Any]:
    """Bring the proxies in line with the store: one per node (the host's and each node
    container's, as a DaemonSet on hostNetwork) while an Ingress is served, their
    configuration, the served Ingresses' status. What it did, for the log."""
    ingresses = proxy.served(store.list("Ingress"))
    host = meta.name_of(ensure_node(store)) if ingresses else ""
    nodes = {meta.name_of(n): n for n in store.list("Node")
             if engines.kind_of(n) is not None} if ingresses else {}
    done: dict[str, Any] = {}
    live = []
    for pod in store.list("Pod", SYSTEM_NAMESPACE):
        if not _ours(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        node = str(pod["spec"].get("nodeName") or "")
        if node in nodes and _pod_ports(pod) == ports and \
                meta.name_of(pod) == pod_name(node, host):
            live.append(pod)
        else:
            mark_pod_deleting(store, pod)  # its end wakes this sync, which makes it again
            done["proxy"] = "stopping"
    for node in nodes:
        if store.get("Pod", SYSTEM_NAMESPACE, pod_name(node, host)) is None:
            done.update(_start(store, ports, node, host))
    if not live:
        return done
    rendered = proxy.render(ingresses, store.list("Service"), store.list("Endpoints"),
                            store.list("Secret"), ports, fake_certificate())
    homeid = home_id(store.path.parent)
    installed = [_install(pod, engines.engine_of(homeid, nodes[pod["spec"]["nodeName"]]),
                          rendered) for pod in live]
    # The proxies gone take their entries along.
    for container in set(_installed) - {c for c, _ in installed}:
        del _installed[container]
    outcomes = [o for _, o in installed]
    if not any(outcomes):
        return done  # no proxy runs it yet: nothing to publish
    published = sum(_publish(store, ing) for ing in ingresses)
    changed = [o for o in outcomes if o not in ("", "unchanged")]
    if not changed and not published:
        return done
    return {**done, "proxy": changed[0] if changed else "unchanged",
            "proxies": len(live), "ingresses": len(ingresses),
            **({"published": published} if published else {})}


def _install(pod: Obj, engine: engines.Engine | None,
             rendered: proxy.Rendered) -> tuple[str, str]:
    """The render into one proxy, on its node's engine: its container and nginx's verdict;
    "" while its container is not running (its start wakes this sync) or its node's
    engine does not answer (its node's return wakes it)."""
    digest = proxy.conf_digest(rendered)
    try:
        with engines.using(engine):
            container = apply.find_container(meta.uid_of(pod), CONTAINER)
            if container is None:
                return "", ""
            if _installed.get(container) == digest:
                return container, "unchanged"
            done = proxy.install(container, rendered)
    except (DockerUnavailable, api_error()) as exc:
        if engine is None:
            raise  # the host's engine: the sync is tried again
        log.warning("ingress: the proxy on node %s: %s", pod["spec"]["nodeName"], exc)
        return "", ""
    _installed[container] = digest
    return container, done


def _start(store: Store, ports: proxy.Ports, node: str, host: str) -> dict[str, Any]:
    # Only the host's ports can be another program's: a node container's are its own.
    taken = taken_ports(ports) if node == host else []
    if taken:
        # The pod would start and nginx would not listen: say so once per attempt.
        log.warning("ingress: port %s is taken on this machine; run-controller "
                    "--ingress-http-port/--ingress-https-port move the ingress controller",
                    ", ".join(map(str, taken)))
    registry.ensure_namespace(store, SYSTEM_NAMESPACE)
    pod = controller_pod(ports)
    pod["metadata"]["name"] = pod["metadata"]["annotations"][MIRROR_ANNOTATION] = \
        pod_name(node, host)
    pod["spec"]["nodeName"] = node
    with contextlib.suppress(AlreadyExists):
        store_and_bind(store, pod)
    return {"proxy": "created", **({"ports taken": taken} if taken else {})}


def _publish(store: Store, ing: Obj) -> bool:
    """status.loadBalancer.ingress, written with the version read; whether it changed."""
    status = ing.get("status") or {}
    if (status.get("loadBalancer") or {}).get("ingress") == ADDRESS:
        return False
    updated = meta.clone(ing)
    updated["status"] = {**status, "loadBalancer": {"ingress": ADDRESS}}
    try:
        store.update_status(updated)
    except (Conflict, NotFound):
        return False  # changed meanwhile: its change syncs the proxy again
    return True


def fake_certificate() -> bytes:
    """One per controller process, made on first use."""
    with _fake_lock:
        if not _fake:
            _fake.append(proxy.fake_certificate())
        return _fake[0]
