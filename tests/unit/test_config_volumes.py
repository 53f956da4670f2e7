"""configMap and secret volume files: payload, modes, and the atomic `..data` swap."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podctl.printers.describe import describe_pod
from podctl.runtime.configvolumes import DATA, File, MountError, payload, refresh, write

CM = {"kind": "ConfigMap", "metadata": {"name": "app"},
      "data": {"a.conf": "one", "b.conf": "two"}, "binaryData": {"bin": "AAE="}}
SECRET = {"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "czNjcmV0"}}
OBJECTS = {("ConfigMap", "app"): CM, ("Secret", "db"): SECRET}
POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1",
                    "labels": {"app": "web", "tier": "front"},
                    "annotations": {"note": 'say "hi"'}},
       "spec": {"containers": [{"name": "main", "resources": {"limits": {"memory": "64Mi"},
                                                              "requests": {"cpu": "250m"}}}]}}


def test_all_keys_with_the_default_mode() -> None:
    files = payload(POD, {"name": "v", "configMap": {"name": "app"}}, OBJECTS)
    assert files == {"a.conf": File(b"one", 0o644), "b.conf": File(b"two", 0o644),
                     "bin": File(b"\0\1", 0o644)}


def test_items_modes_and_secrets() -> None:
    volume = {"name": "v", "secret": {"secretName": "db", "defaultMode": 0o400,
                                      "items": [{"key": "password", "path": "creds/pw"}]}}
    assert payload(POD, volume, OBJECTS) == {"creds/pw": File(b"s3cret", 0o400)}
    volume["secret"]["items"][0]["mode"] = 0o600  # type: ignore[index]
    assert payload(POD, volume, OBJECTS)["creds/pw"].mode == 0o600


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
        payload(POD, {"name": "v", **source}, OBJECTS)
    assert str(caught.value) == message
    kind = next(iter(source))
    optional = {kind: {**source[kind], "optional": True}}  # type: ignore[dict-item]
    assert payload(POD, {"name": "v", **optional}, OBJECTS) == {}


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
    write(target, payload(pod, pod["spec"]["volumes"][0], OBJECTS))  # type: ignore[index]
    changed = {("ConfigMap", "app"): {**CM, "data": {"a.conf": "new"}, "binaryData": {}}}
    assert refresh(tmp_path, pod, changed) == ["cfg"]
    assert (target / "a.conf").read_text() == "new" and not (target / "b.conf").exists()
    assert refresh(tmp_path, pod, {}) == []  # a deleted ConfigMap leaves the files
    assert (target / "a.conf").read_text() == "new"


def test_downward_api_files() -> None:
    volume = {"name": "info", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o600},
        {"path": "mem", "resourceFieldRef": {"containerName": "main",
                                             "resource": "limits.memory", "divisor": "1Mi"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "main",
                                             "resource": "requests.cpu", "divisor": "1m"}},
        {"path": "cpu-limit", "resourceFieldRef": {"containerName": "main",
                                                   "resource": "limits.cpu"}},
    ]}}
    files = payload(POD, volume, {}, {"cpu": "4", "memory": "8Gi"})
    assert files["labels"] == File(b'app="web"\ntier="front"', 0o644)
    assert files["annotations"].content == b'note="say \\"hi\\""'
    assert files["name"] == File(b"web", 0o600)
    assert files["mem"].content == b"64" and files["cpu"].content == b"250"
    assert files["cpu-limit"].content == b"4"  # no limit: the node's allocatable


def test_projected_merges_its_sources() -> None:
    volume = {"name": "all", "projected": {"defaultMode": 0o440, "sources": [
        {"configMap": {"name": "app", "items": [{"key": "a.conf", "path": "a"}]}},
        {"secret": {"name": "db"}},
        {"downwardAPI": {"items": [{"path": "ns",
                                    "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}
    assert payload(POD, volume, OBJECTS) == {"a": File(b"one", 0o440),
                                             "password": File(b"s3cret", 0o440),
                                             "ns": File(b"default", 0o440)}


def test_describe_pod_names_api_volumes_and_env_sources() -> None:
    pod = {"metadata": {"name": "p", "namespace": "default",
                        "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"containers": [{"name": "a", "image": "img",
                                    "envFrom": [{"secretRef": {"name": "db"}}]}],
                    "volumes": [
                        {"name": "cfg", "configMap": {"name": "app"}},
                        {"name": "creds", "secret": {"secretName": "db", "optional": True}},
                        {"name": "info", "downwardAPI": {"items": [
                            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                        {"name": "all", "projected": {"sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607,
                                                     "path": "token"}},
                            {"configMap": {"name": "app"}}]}}]},
           "status": {"phase": "Pending"}}
    lines = [" ".join(line.split()) for line in
             describe_pod(pod, [], datetime(2026, 1, 1, tzinfo=UTC)).splitlines()]
    for expected in ("Environment Variables from:", "db Secret Optional: false",
                     "Type: ConfigMap (a volume populated by a ConfigMap)", "Name: app",
                     "Type: Secret (a volume populated by a Secret)", "SecretName: db",
                     "Optional: true",
                     "Type: DownwardAPI (a volume populated by information about the pod)",
                     "metadata.labels -> labels",
                     "Type: Projected (a volume that contains injected data from multiple "
                     "sources)", "TokenExpirationSeconds: 3607", "ConfigMapName: app",
                     "Optional: false"):
        assert expected in lines
