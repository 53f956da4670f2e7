"""ConfigMaps and Secrets: the API server's rules and defaults, kubectl's create sources,
columns and describe layouts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podctl.errors import Invalid
from podctl.manifest.config_rules import (
    MAX_SIZE,
    config_key,
    decode_bytes,
    validate_configmap,
    validate_secret,
    validate_update,
)
from podctl.manifest.defaults import default_object
from podctl.manifest.update import merged
from podctl.ops.configdata import SourceError, Sources, build, parse_file_source
from podctl.printers.config import configmap_row, describe_configmap, describe_secret, secret_row

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _cm(**fields: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app", "namespace": "default",
                         "creationTimestamp": "2025-12-31T23:59:00Z"}, **fields}


def _secret(**fields: object) -> dict[str, object]:
    return {**_cm(**fields), "kind": "Secret", "metadata": {"name": "db", "namespace": "default"}}


@pytest.mark.parametrize(("key", "ok"), [
    ("key.name", True), ("KEY_NAME", True), ("a-b", True), (".hidden", True),
    ("a b", False), (".", False), ("..", False), ("..x", False), ("k" * 254, False),
])
def test_config_keys(key: str, ok: bool) -> None:
    assert (config_key(key) == []) is ok


def test_sizes_count_decoded_bytes_up_to_one_mebibyte() -> None:
    assert validate_configmap(_cm(data={"k": "x" * MAX_SIZE})) == []
    errs = validate_configmap(_cm(data={"k": "x" * MAX_SIZE, "l": "y"}))
    assert [e.message for e in errs] == ["[]: Too long: may not be more than 1048576 bytes"]
    big = base64.b64encode(b"\0" * (MAX_SIZE + 1)).decode()
    assert [e.message for e in validate_secret(_secret(data={"k": big}))] == [
        "data: Too long: may not be more than 1048576 bytes"]


def test_base64_errors_name_the_first_bad_byte() -> None:
    assert decode_bytes("c2VjcmV0") == b"secret"
    with pytest.raises(ValueError, match="at input byte 2"):
        decode_bytes("ab!c")
    with pytest.raises(ValueError, match="illegal base64 data"):
        decode_bytes("abc")


def test_secret_defaults_merge_string_data_into_data() -> None:
    out = default_object("Secret", _secret(data={"a": "MQ==", "b": "Mg=="},
                                           stringData={"b": "two", "c": "3"}), "default")
    assert out["type"] == "Opaque"
    assert "stringData" not in out
    assert out["data"] == {"a": "MQ==", "b": base64.b64encode(b"two").decode(), "c": "Mw=="}
    assert "spec" not in default_object("ConfigMap", _cm(data={"k": "v"}), "default")


def test_typed_secrets_need_their_keys() -> None:
    tls = _secret(type="kubernetes.io/tls", data={"tls.crt": "eA=="})
    assert [e.message for e in validate_secret(tls)] == ["data[tls.key]: Required value"]
    auth = _secret(type="kubernetes.io/basic-auth", stringData={"password": "p"})
    assert validate_secret(auth) == []


def test_immutable_objects_keep_their_data() -> None:
    old = _cm(data={"k": "v"}, immutable=True)
    assert validate_update(old, _cm(data={"k": "v"}, immutable=True)) == []
    messages = [e.message for e in validate_update(old, _cm(data={"k": "w"}))]
    assert messages == ["immutable: Forbidden: field is immutable when `immutable` is set",
                        "data: Forbidden: field is immutable when `immutable` is set"]
    with pytest.raises(Invalid, match='The ConfigMap "app" is invalid: data: Forbidden'):
        merged(old, _cm(data={"k": "w"}, immutable=True))
    changed = merged(_cm(data={"k": "v"}), _cm(data={"k": "w"}))
    assert changed["data"] == {"k": "w"}
    retyped = validate_update(_secret(), _secret(type="kubernetes.io/tls"))
    assert [e.message for e in retyped] == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable']


def test_create_sources(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.txt").write_text("A")
    (tmp_path / "dir" / "bin").write_bytes(b"\xff\x00")
    env = tmp_path / "app.env"
    env.write_bytes(b"\xef\xbb\xbfONE=1\n# comment\n\n   TWO='2'\n")
    cm = build("ConfigMap", "app", "default",
               Sources(literals=["k=v=w"], files=[f"{tmp_path}/dir"]))
    assert cm["data"] == {"a.txt": "A", "k": "v=w"}
    assert cm["binaryData"] == {"bin": "/wA="}
    cm = build("ConfigMap", "app", "default", Sources(env_files=[str(env)]))
    assert cm["data"] == {"ONE": "1", "TWO": "'2'"}
    secret = build("Secret", "db", "default", Sources(files=[f"pw={tmp_path}/dir/a.txt"]))
    assert secret["data"] == {"pw": "QQ=="} and secret["type"] == "Opaque"


@pytest.mark.parametrize(("kind", "sources", "message"), [
    ("ConfigMap", Sources(literals=["k=1", "k=2"]),
     'cannot add key "k", another key by that name already exists in Data for ConfigMap "app"'),
    ("Secret", Sources(literals=["k=1", "k=2"]),
     "cannot add key k, another key by that name already exists"),
    ("ConfigMap", Sources(literals=["a b=1"]), '"a b" is not a valid key name for a ConfigMap: '),
    ("Secret", Sources(literals=["a b=1"]), '"a b" is not valid key name for a Secret a valid'),
    ("ConfigMap", Sources(literals=["=1"]), "invalid literal source =1, expected key=value"),
    ("ConfigMap", Sources(literals=["k=1"], env_files=["x"]),
     "from-env-file cannot be combined with from-file or from-literal"),
    ("ConfigMap", Sources(files=["/no/such/file"]),
     "error reading /no/such/file: no such file or directory"),
])
def test_create_source_errors(kind: str, sources: Sources, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        build(kind, "app", "default", sources)
    assert str(caught.value).startswith(message)


def test_env_file_keys_must_be_env_names(tmp_path: Path) -> None:
    env = tmp_path / "bad.env"
    env.write_text("1x=2\n")
    with pytest.raises(SourceError, match='"1x" is not a valid key name: a valid environment'):
        build("ConfigMap", "app", "default", Sources(env_files=[str(env)]))


def test_file_source_forms() -> None:
    assert parse_file_source("/a/b.txt") == (None, "/a/b.txt")
    assert parse_file_source("k=/a/b.txt") == ("k", "/a/b.txt")
    with pytest.raises(SourceError, match="key names or file paths cannot contain '='"):
        parse_file_source("a=b=c")


def test_columns() -> None:
    assert configmap_row(_cm(data={"a": "1"}, binaryData={"b": "AA=="}), NOW, False) == [
        "app", "2", "60s"]
    assert secret_row({**_secret(data={"a": "MQ=="}), "type": "Opaque"}, NOW, False)[:3] == [
        "db", "Opaque", "1"]


def test_describe_secret_shows_sizes_never_values() -> None:
    text = describe_secret({**_secret(data={"password": base64.b64encode(b"s3cr3t!").decode(),
                                            "user": "YWRtaW4="}), "type": "Opaque"})
    assert text.splitlines()[-6:] == [
        "Type:  Opaque", "", "Data", "====", "password:  7 bytes", "user:      5 bytes"]
    assert "s3cr3t" not in text and "admin" not in text


def test_describe_configmap_prints_values_and_binary_sizes() -> None:
    text = describe_configmap(_cm(data={"b": "two\nlines", "a": "1"},
                                  binaryData={"z": "AAEC"}), [], NOW)
    assert text.split("\n")[4:] == [
        "", "Data", "====", "a:", "----", "1", "", "b:", "----", "two", "lines", "", "",
        "BinaryData", "====", "z: 3 bytes", "", "Events:  <none>", ""]
