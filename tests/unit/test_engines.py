"""Which engine a runtime call goes to (runtime.engines), and node add's checks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from podctl.errors import Invalid, PodctlError
from podctl.ops.nodes import _check, _node_template, parse_labels
from podctl.runtime import engines
from podctl.runtime.client import unix_socket


def node(name: str, kind: str | None, cidr: str | None = None) -> dict[str, object]:
    annotations = {engines.ENGINE_ANNOTATION: kind} if kind else {}
    return {"metadata": {"name": name, "annotations": annotations},
            "spec": {"podCIDR": cidr} if cidr else {}}


def test_a_node_socket_path_fits_a_unix_socket_whatever_the_name() -> None:
    engine = engines.node_engine("0123456789", "n" * 253)
    assert len(engine.socket.encode()) < 108
    assert engine.socket != engines.node_engine("0123456789", "n" * 252).socket
    assert engine.socket != engines.node_engine("9876543210", "n" * 253).socket


def test_which_nodes_have_a_kubelet_here_and_their_engines() -> None:
    assert engines.kind_of(node("host", engines.HOST)) == engines.HOST
    assert engines.engine_of("h", node("host", engines.HOST)) is None  # DOCKER_HOST's
    assert engines.kind_of(node("fake", None)) is None  # registered through the API alone
    assert engines.kind_of(node("odd", "something")) is None
    engine = engines.engine_of("h", node("n2", engines.CONTAINER, "10.244.1.0/24"))
    assert engine == engines.Engine("n2", engines.node_engine("h", "n2").socket,
                                    "10.244.1.0/24")


def test_calls_go_to_the_block_engine_and_pools_carry_it() -> None:
    engine = engines.node_engine("h", "n2")
    host = unix_socket()
    with engines.using(engine):
        assert unix_socket() == engine.socket
        with ThreadPoolExecutor(max_workers=1) as pool:
            # A pool's thread does not inherit the block's engine unless it is carried.
            assert pool.submit(unix_socket).result() == host
            assert pool.submit(engines.carry(unix_socket)).result() == engine.socket
        with engines.using(None):
            assert unix_socket() == host
        assert unix_socket() == engine.socket
    assert unix_socket() == host
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(engines.bound(engine, unix_socket)).result() == engine.socket


def test_node_add_checks_name_and_labels_as_the_api_server() -> None:
    _check(_node_template("n2", {"tier": "back"}, []))
    with pytest.raises(Invalid) as bad:
        _check(_node_template("Bad_Name", {}, []))
    assert str(bad.value).startswith(
        'The Node "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain")
    # The hostname label carries the name: a label value has at most 63 characters.
    with pytest.raises(Invalid, match="must be no more than 63 characters"):
        _check(_node_template("n" * 64, {}, []))
    with pytest.raises(Invalid, match=r'metadata\.labels: Invalid value: "bad key"'):
        _check(_node_template("n2", {"bad key": "v"}, []))
    assert parse_labels(["a=1", "b="]) == {"a": "1", "b": ""}
    with pytest.raises(PodctlError, match="invalid label spec: nolabel"):
        parse_labels(["nolabel"])


def test_a_node_that_is_down_holds_up_only_its_own_work(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from podctl.errors import NodeUnavailable
    from podctl.ops.deferred import PENDING, DockerWork
    from podctl.runtime import client

    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    monkeypatch.setattr(client, "ping", lambda: None)  # the host's engine answers
    work = DockerWork()
    done: list[str] = []

    def on_n2() -> None:
        raise NodeUnavailable("n2", "connection refused")

    work.run(on_n2, PENDING)
    work.run(lambda: done.append("on the host"), PENDING)
    assert done == ["on the host"]
    assert work.warning() == (
        "node n2 does not answer: the change is stored and its pods stay Pending until it "
        "is back and a controller runs (`podctl run-controller --detach`)")
    assert str(NodeUnavailable("n2", "connection refused")) == (
        'node "n2" does not answer (connection refused); start it with `podctl node start '
        'n2`')
