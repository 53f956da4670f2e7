"""Environment from ConfigMaps and Secrets at container creation, as the kubelet builds it."""

from __future__ import annotations

import pytest

from podctl.runtime import specs
from podctl.runtime.configenv import ConfigError, env_from, references

POD = {"metadata": {"name": "p", "namespace": "default"}, "spec": {}}
CM = {"kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"mode": "fast", "level": "3"}}
SECRET = {"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "czNjcmV0"}}
OBJECTS = {("ConfigMap", "app"): CM, ("Secret", "db"): SECRET}


def _ctx(objects: dict[tuple[str, str], dict[str, object]] | None = None) -> specs.PodContext:
    return specs.PodContext(pod_ip="", host_ip="", node_name="n",
                            config=OBJECTS if objects is None else objects)


def test_key_refs_and_env_from_with_prefix_then_env_overrides() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "app"}, "prefix": "APP_"},
                    {"secretRef": {"name": "db"}}],
        "env": [{"name": "APP_mode", "value": "slow"},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "L", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "level"}}},
                {"name": "X", "value": "$(APP_level)-$(PW)"}],
    }
    env = specs.container_env(POD, container, _ctx())
    assert env == {"APP_mode": "slow", "APP_level": "3", "password": "s3cret", "PW": "s3cret",
                   "L": "3", "X": "3-s3cret"}


@pytest.mark.parametrize(("var", "message"), [
    ({"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found'),
    ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
    ({"configMapKeyRef": {"name": "app", "key": "k"}},
     "couldn't find key k in ConfigMap default/app"),
    ({"secretKeyRef": {"name": "db", "key": "k"}}, "couldn't find key k in Secret default/db"),
])
def test_missing_objects_and_keys_stop_the_container(var: dict[str, object],
                                                     message: str) -> None:
    container = {"env": [{"name": "V", "valueFrom": var}]}
    with pytest.raises(ConfigError) as caught:
        specs.container_env(POD, container, _ctx())
    assert str(caught.value) == message
    optional = {k: {**v, "optional": True} for k, v in var.items()}  # type: ignore[dict-item]
    assert specs.container_env(POD, {"env": [{"name": "V", "valueFrom": optional}]},
                               _ctx()) == {}


def test_env_from_missing_source() -> None:
    with pytest.raises(ConfigError, match=r'^configmap "gone" not found$'):
        env_from("default", {"envFrom": [{"configMapRef": {"name": "gone"}}]}, {})
    assert env_from("default", {"envFrom": [{"secretRef": {"name": "gone", "optional": True}}]},
                    {}).env == {}


def test_invalid_names_are_skipped_with_a_warning() -> None:
    odd = {"kind": "ConfigMap", "metadata": {"name": "odd"},
           "data": {"ok": "1", "b=ad": "2", "a=lso": "3"}}
    result = env_from("ns1", {"envFrom": [{"configMapRef": {"name": "odd"}}]},
                      {("ConfigMap", "odd"): odd})
    assert result.env == {"ok": "1"}
    assert result.warnings == [
        "Keys [a=lso, b=ad] from the EnvFrom configmap ns1/odd were skipped since they are "
        "considered invalid environment variable names."]


def test_references_cover_env_env_from_and_volumes() -> None:
    pod = {"spec": {
        "containers": [{"envFrom": [{"secretRef": {"name": "s1"}}],
                        "env": [{"name": "a", "valueFrom": {"configMapKeyRef": {
                            "name": "c1", "key": "k"}}}]}],
        "volumes": [{"name": "v", "configMap": {"name": "c2"}},
                    {"name": "w", "secret": {"secretName": "s2"}}]}}
    assert references(pod) == {("Secret", "s1"), ("ConfigMap", "c1"), ("ConfigMap", "c2"),
                                ("Secret", "s2")}
