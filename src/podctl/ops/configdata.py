"""`create configmap` and `create secret generic`: the object kubectl builds from literals,
files, directories and env files, in kubectl's words when a source is wrong."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import Invalid, PodctlError
from podctl.manifest.config_rules import config_key, validate_configmap, validate_secret
from podctl.ops.create import create_object
from podctl.ops.deferred import DockerWork
from podctl.store import Store

ENV_NAME = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_NAME_RE = re.compile(f"^{ENV_NAME}$")
ENV_NAME_MESSAGE = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', "
    "'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
    f"'MyEnvName1', regex used for validation is '{ENV_NAME}')"
)


class SourceError(PodctlError):
    """A --from-* source kubectl refuses."""


@dataclass
class Sources:
    literals: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)


def parse_literal(source: str) -> tuple[str, str]:
    """`key=value`, split at the first `=`; the value is kept as given."""
    key, sep, value = source.partition("=")
    if not sep or not key:
        raise SourceError(f"invalid literal source {source}, expected key=value")
    return key, value


def parse_file_source(source: str) -> tuple[str | None, str]:
    """`[key=]path`: the key (None: the file's basename) and the path."""
    count = source.count("=")
    if count == 0:
        return None, source
    if count > 1:
        raise SourceError("key names or file paths cannot contain '='")
    key, path = source.split("=")
    if not key:
        raise SourceError(f"key name for file path {path} missing")
    if not path:
        raise SourceError(f"file path for key name {key} missing")
    return key, path


def read_env_file(path: str) -> list[tuple[str, str]]:
    """KEY=value lines; a bare KEY takes this process's environment value (if set)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(f"error reading {path}: {exc.strerror.lower() if exc.strerror else exc}"
                          ) from None
    pairs: list[tuple[str, str]] = []
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        if number == 1:
            line_bytes = line_bytes.removeprefix(b"\xef\xbb\xbf")
        try:
            line = line_bytes.decode()
        except UnicodeDecodeError:
            raise SourceError(f"env file {path} contains invalid utf8 bytes at line {number}: "
                              f"{line_bytes!r}") from None
        line = line.rstrip("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not _ENV_NAME_RE.match(key):
            raise SourceError(f'"{key}" is not a valid key name: {ENV_NAME_MESSAGE}')
        if sep:
            pairs.append((key, value))
        elif key in os.environ:
            pairs.append((key, os.environ[key]))
    return pairs


def _file_entries(source: str) -> list[tuple[str, bytes]]:
    key, path = parse_file_source(source)
    target = Path(path)
    try:
        if target.is_dir():
            if key is not None:
                raise SourceError("cannot give a key name for a directory path")
            return [(item.name, item.read_bytes()) for item in sorted(target.iterdir())
                    if item.is_file()]
        return [(key or target.name, target.read_bytes())]
    except OSError as exc:
        raise SourceError(f"error reading {path}: "
                          f"{(exc.strerror or str(exc)).lower()}") from None


class _Builder:
    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        self.data: dict[str, str] = {}
        self.binary: dict[str, str] = {}

    def add(self, key: str, value: bytes) -> None:
        details = config_key(key)
        if self.kind == "ConfigMap":
            if details:
                raise SourceError(f'"{key}" is not a valid key name for a ConfigMap: '
                                  + ";".join(details))
            if key in self.data or key in self.binary:
                raise SourceError(f'cannot add key "{key}", another key by that name already '
                                  f'exists in Data for ConfigMap "{self.name}"')
            try:
                self.data[key] = value.decode()
            except UnicodeDecodeError:
                self.binary[key] = base64.b64encode(value).decode()
            return
        if details:
            raise SourceError(f'"{key}" is not valid key name for a Secret ' + ";".join(details))
        if key in self.data:
            raise SourceError(f"cannot add key {key}, another key by that name already exists")
        self.data[key] = base64.b64encode(value).decode()


def build(kind: str, name: str, namespace: str, sources: Sources,
          secret_type: str | None = None) -> Obj:
    """The ConfigMap or Secret kubectl would send for these sources."""
    if sources.env_files and (sources.files or sources.literals):
        raise SourceError("from-env-file cannot be combined with from-file or from-literal")
    builder = _Builder(kind, name)
    for source in sources.files:
        for key, content in _file_entries(source):
            builder.add(key, content)
    for literal in sources.literals:
        key, text = parse_literal(literal)
        builder.add(key, text.encode())
    for env_file in sources.env_files:
        for key, text in read_env_file(env_file):
            builder.add(key, text.encode())
    obj: Obj = {"apiVersion": "v1", "kind": kind,
                "metadata": {"name": name, "namespace": namespace}}
    if kind == "Secret":
        obj["type"] = secret_type or "Opaque"
    if builder.data:
        obj["data"] = builder.data
    if builder.binary:
        obj["binaryData"] = builder.binary
    return obj


def create_config(store: Store | None, obj: Obj, dry_run: bool = False) -> str:
    """Validate the built object as the API server would, then store it; kubectl's line."""
    errs = (validate_configmap if obj["kind"] == "ConfigMap" else validate_secret)(obj)
    if errs:
        body = errs[0].message if len(errs) == 1 else "\n" + "\n".join(
            f"* {e.message}" for e in errs)
        raise Invalid(f'The {obj["kind"]} "{meta.name_of(obj)}" is invalid: {body}')
    line = f"{meta.singular(meta.key_of(obj))}/{meta.name_of(obj)} created"
    if dry_run:
        return line + " (dry run)"
    assert store is not None
    return create_object(store, obj, DockerWork())
