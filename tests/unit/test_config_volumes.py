"""configMap and secret volume files: payload, modes, and the atomic `..data` swap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podctl.runtime.configvolumes import DATA, File, MountError, payload, refresh, write

CM = {"kind": "ConfigMap", "metadata": {"name": "app"},
      "data": {"a.conf": "one", "b.conf": "two"}, "binaryData": {"bin": "AAE="}}
SECRET = {"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "czNjcmV0"}}
OBJECTS = {("ConfigMap", "app"): CM, ("Secret", "db"): SECRET}


def test_all_keys_with_the_default_mode() -> None:
    files = payload({"name": "v", "configMap": {"name": "app"}}, OBJECTS)
    assert files == {"a.conf": File(b"one", 0o644), "b.conf": File(b"two", 0o644),
                     "bin": File(b"\0\1", 0o644)}


def test_items_modes_and_secrets() -> None:
    volume = {"name": "v", "secret": {"secretName": "db", "defaultMode": 0o400,
                                      "items": [{"key": "password", "path": "creds/pw"}]}}
    assert payload(volume, OBJECTS) == {"creds/pw": File(b"s3cret", 0o400)}
    volume["secret"]["items"][0]["mode"] = 0o600  # type: ignore[index]
    assert payload(volume, OBJECTS)["creds/pw"].mode == 0o600


@pytest.mark.parametrize(("source", "message"), [
    ({"configMap": {"name": "gone"}},
     'MountVolume.SetUp failed for volume "v" : configmap "gone" not found'),
    ({"secret": {"secretName": "gone"}},
     'MountVolume.SetUp failed for volume "v" : secret "gone" not found'),
    ({"configMap": {"name": "app", "items": [{"key": "nope", "path": "x"}]}},
     'MountVolume.SetUp failed for volume "v" : configmap references non-existent config '
     "key: nope"),
])
def test_missing_sources(source: dict[str, object], message: str) -> None:
    with pytest.raises(MountError) as caught:
        payload({"name": "v", **source}, OBJECTS)
    assert str(caught.value) == message
    kind = next(iter(source))
    optional = {kind: {**source[kind], "optional": True}}  # type: ignore[dict-item]
    assert payload({"name": "v", **optional}, OBJECTS) == {}


def test_write_swaps_data_and_keeps_visible_links(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    assert write(target, {"a": File(b"1", 0o644), "d/b": File(b"2", 0o400)})
    first = os.readlink(target / DATA)
    assert (target / "a").read_bytes() == b"1" and (target / "d" / "b").read_bytes() == b"2"
    assert os.readlink(target / "a") == f"{DATA}/a"
    assert (target / "d" / "b").stat().st_mode & 0o777 == 0o400
    assert not write(target, {"a": File(b"1", 0o644), "d/b": File(b"2", 0o400)})
    assert write(target, {"a": File(b"changed", 0o644)})
    assert os.readlink(target / DATA) != first
    assert not (target / first).exists()
    assert (target / "a").read_bytes() == b"changed"
    assert not (target / "d").exists()
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith("..")) == ["a"]


def test_refresh_follows_the_object_only_once_written(tmp_path: Path) -> None:
    pod = {"metadata": {"uid": "u1"},
           "spec": {"volumes": [{"name": "cfg", "configMap": {"name": "app"}}]}}
    assert refresh(tmp_path, pod, OBJECTS) == []  # never started: nothing to update
    target = tmp_path / "volumes" / "u1" / "cfg"
    write(target, payload(pod["spec"]["volumes"][0], OBJECTS))  # type: ignore[index]
    changed = {("ConfigMap", "app"): {**CM, "data": {"a.conf": "new"}, "binaryData": {}}}
    assert refresh(tmp_path, pod, changed) == ["cfg"]
    assert (target / "a.conf").read_text() == "new" and not (target / "b.conf").exists()
    assert refresh(tmp_path, pod, {}) == []  # a deleted ConfigMap leaves the files
    assert (target / "a.conf").read_text() == "new"
