"""The standard-library path to the engine (runtime.client.engine_call) against the SDK on
the same engine: same answers, same exceptions, and the SDK's session for other hosts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest

from podctl.errors import DockerUnavailable
from podctl.runtime import client
from tests.integration.conftest import PAUSE_IMAGE


@pytest.fixture
def labelled(docker_client: docker.DockerClient) -> Iterator[str]:
    """A label on two stopped containers made for this test."""
    label = f"io.podctl.test-socket={uuid.uuid4().hex[:10]}"
    made = [docker_client.api.create_container(PAUSE_IMAGE, labels=dict([label.split("=")]))
            for _ in range(2)]
    yield label
    for container in made:
        docker_client.api.remove_container(container, force=True)


@pytest.mark.parametrize("through_sdk", [False, True])
def test_a_list_is_the_sdk_s_list(docker_client: docker.DockerClient, labelled: str,
                                  through_sdk: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if through_sdk:  # as for a tcp:// or ssh:// DOCKER_HOST
        monkeypatch.setattr(client, "unix_socket", lambda: None)
    mine = client.container_list({"label": [labelled]})
    theirs = docker_client.api.containers(all=True, filters={"label": labelled})
    assert len(mine) == 2
    assert sorted(mine, key=lambda c: c["Id"]) == sorted(theirs, key=lambda c: c["Id"])


@pytest.mark.parametrize("through_sdk", [False, True])
def test_errors_are_the_sdk_s_errors(docker_client: docker.DockerClient, through_sdk: bool,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if through_sdk:
        monkeypatch.setattr(client, "unix_socket", lambda: None)
    missing = f"podctl-no-such-{uuid.uuid4().hex[:8]}"
    with pytest.raises(docker.errors.NotFound) as mine:
        client.engine_call("GET", f"/containers/{missing}/json")
    with pytest.raises(docker.errors.NotFound) as theirs:
        docker_client.api.inspect_container(missing)
    assert (mine.value.status_code, mine.value.explanation) == (
        theirs.value.status_code, theirs.value.explanation)
    with pytest.raises(docker.errors.ImageNotFound):
        client.engine_call("GET", f"/images/{missing}:1/json")
    assert client.engine_call("GET", f"/containers/{missing}/json", allow=(404,)) is None


def test_a_missing_socket_is_an_unreachable_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailable, match="no daemon socket"):
        client.ping()
    with pytest.raises(DockerUnavailable, match="no daemon socket"):
        client.container_list({})
