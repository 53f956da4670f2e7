"""Request bodies within budgets: at most MAX_BODY_BYTES (a 413 before any parsing, by
Content-Length or while a chunked body streams in), and every decoder bounded: JSON nesting
measured before parsing and without recursing, YAML through the CLI's parser (its alias and
depth budgets), protobuf by depth and varint length. Decoding is CPU work: callers run it in
a worker thread so one big body does not stall the other requests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from podctl.apiserver.status import ApiError
from podctl.manifest.yamlparse import MAX_DEPTH, parse_yaml

if TYPE_CHECKING:
    from aiohttp import web

T = TypeVar("T")
# The API server's maxRequestBodyBytes.
MAX_BODY_BYTES = 3 * 1024 * 1024
READ_CHUNK = 64 * 1024
# Possessive, and the closing quote optional: one pass however the quotes and escapes fall
# (a backtracking pattern took hours over `"\"\"\"…`, holding the interpreter lock). An
# unclosed string takes the rest of the text with it; the parser refuses that text anyway.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DUPLICATE_KEY = re.compile(r'mapping key "(.*)" already defined')
_YAML_PREFIX = "error converting YAML to JSON: yaml: "


# Decoding runs in its own few threads: hostile bodies then queue behind each other, never
# in front of the store reads every other request makes in the default executor.
_DECODERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="api-decode")


async def in_decoder(fn: Callable[..., T], *args: Any) -> T:
    """Run a decoder off the event loop, in the decoding threads."""
    return await asyncio.get_running_loop().run_in_executor(_DECODERS, fn, *args)


class BodyError(ValueError):
    """A body that does not decode; str() is the decoder's reason in Go's words."""


# A body left unread (a 413) is still received, so that a client that sends all of it
# before reading (Python's http.client, urllib3) finds the answer; but as raw bytes, never
# decrypted or parsed, in a thread, at most this much and for this long.
DISCARD_BYTES = 256 * 1024 * 1024
DISCARD_SECONDS = 10.0
# Each discarding thread waits in recv, without the interpreter lock. Past that many at
# once, a connection is closed at once, as Go's server closes it.
DISCARD_THREADS = 16
_DISCARDERS = ThreadPoolExecutor(max_workers=DISCARD_THREADS, thread_name_prefix="api-discard")
_DISCARD_SLOTS = threading.BoundedSemaphore(DISCARD_THREADS)


def too_large(detail: str = f"limit is {MAX_BODY_BYTES}") -> ApiError:
    return ApiError("RequestEntityTooLarge", f"Request entity too large: {detail}")


async def read_limited(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, refused once it is known to be over the limit: from Content-Length
    before reading anything, or as soon as a chunked body passes it."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(f"limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise too_large(f"limit is {limit}")
        chunks.append(chunk)


@dataclass
class Decoded:
    value: Any
    # Fields given twice: strict decoding errors (the last value wins otherwise, as in Go).
    duplicates: list[str] = field(default_factory=list)


def decode(raw: bytes, content_type: str) -> Decoded:
    """A request body by its media type: JSON, YAML or Kubernetes protobuf."""
    from podctl.apiserver import protobuf

    if content_type == protobuf.CONTENT_TYPE:
        try:
            return Decoded(protobuf.decode(raw))
        except ValueError as exc:  # ProtobufError, bad UTF-8, truncated input
            raise BodyError(str(exc)) from exc
    if content_type.endswith("yaml"):
        return decode_yaml(raw)
    return decode_json(raw)


def summary(raw: bytes, limit: int = 30) -> str:
    """The start of a body, as the API server quotes it in decoding errors."""
    if not raw:
        return "<empty>"
    more = " ..." if len(raw) > limit else ""
    if raw[:1] == b"{":
        return raw[:limit].decode("utf-8", "replace") + more
    return raw[:limit].hex() + more


# -- JSON -----------------------------------------------------------------------------------


def nesting_depth_exceeds(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether a JSON text nests deeper than `limit`, found without recursing: strings out,
    then each pass drops the innermost bracket pairs (one level per pass, in C)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    brackets = brackets.replace(b"{", b"[").replace(b"}", b"]")
    if b"[" * (limit + 1) in brackets:  # the usual attack, found in one scan
        return True
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:
            # Unbalanced: the parser reports it, unless it is open deeper than the limit.
            return brackets.count(b"[") > limit
        brackets = shorter
    return bool(brackets)


def decode_json(raw: bytes) -> Decoded:
    """JSON as the API server's decoder takes it: bounded nesting, no NaN or Infinity, the
    last of duplicate keys wins (each reported)."""
    if nesting_depth_exceeds(raw):
        raise BodyError("exceeded max depth")
    repeated: list[tuple[dict[str, Any], list[str]]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        again = []
        for key, value in items:
            if key in out:
                again.append(key)
            out[key] = value
        if again:
            repeated.append((out, again))
        return out

    try:
        value = json.loads(raw, object_pairs_hook=pairs, parse_constant=_no_constant,
                           parse_float=_finite)
    except BodyError:
        raise
    except json.JSONDecodeError as exc:
        raise BodyError(_json_error(exc)) from exc
    except (ValueError, RecursionError) as exc:  # bad UTF-8, a 5000-digit number
        raise BodyError(f"invalid character in JSON input: {exc}") from exc
    return Decoded(value, _duplicate_paths(value, repeated) if repeated else [])


def _duplicate_paths(value: Any, repeated: list[tuple[dict[str, Any], list[str]]]) -> list[str]:
    """`duplicate field "spec.replicas"` for each key given twice, found by a walk with a
    stack (the nesting is bounded, but no recursion is needed)."""
    keys = {id(obj): again for obj, again in repeated}  # the list keeps the ids alive
    out: list[str] = []
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            out += [f"duplicate field {json.dumps(_join(path, k))}" for k in keys.get(id(node), [])]
            stack += [(v, _join(path, k)) for k, v in reversed(node.items())]
        elif isinstance(node, list):
            stack += [(v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node)))]
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_kind(value: Any) -> str:
    """What Go's decoder calls a JSON value in its errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _no_constant(name: str) -> Any:
    raise BodyError(f"invalid character {_go_char(name[0])} looking for beginning of value")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise BodyError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return number


_JSON_CONTEXT = {
    "Expecting value": "looking for beginning of value",
    "Expecting property name enclosed in double quotes":
        "looking for beginning of object key string",
    "Expecting ':' delimiter": "after object key",
    "Expecting ',' delimiter": "after object key:value pair",
    "Extra data": "after top-level value",
    "Invalid control character at": "in string literal",
    "Invalid \\escape": "in string escape code",
}


def _json_error(exc: json.JSONDecodeError) -> str:
    """Python's JSON error in the words of Go's decoder."""
    if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
        return "unexpected end of JSON input"
    context = _JSON_CONTEXT.get(exc.msg, exc.msg[:1].lower() + exc.msg[1:])
    return f"invalid character {_go_char(exc.doc[exc.pos])} {context}"


def _go_char(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + json.dumps(ch)[1:-1] + "'"


# -- YAML -----------------------------------------------------------------------------------


def decode_yaml(raw: bytes) -> Decoded:
    """The first YAML document, through the CLI's parser: aliases, depth and tags bounded
    as for `podctl create -f`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError("error converting YAML to JSON: yaml: invalid leading UTF-8 "
                        "octet") from exc
    result = parse_yaml(text)
    duplicates = []
    for issue in result.issues:
        found = _DUPLICATE_KEY.match(issue.message)
        if found and not result.fatal:
            duplicates.append(f"yaml: unmarshal errors:\n  line {issue.line}: key "
                              f'"{found.group(1)}" already set in map')
            continue
        if issue.message.startswith(_YAML_PREFIX):  # a syntax error, worded as kubectl's
            raise BodyError(issue.message)
        where = f"line {issue.line}: " if issue.line is not None else ""
        raise BodyError(f"{_YAML_PREFIX}{where}{issue.message}")
    return Decoded(result.docs[0].value if result.docs else None, duplicates)


async def refuse_unread(request: web.Request, response: web.Response) -> web.StreamResponse:
    """Answer a request whose body is left unread (a 413), then take in the rest of the
    body below TLS and HTTP: the connection's own reading paused, its socket read in a
    thread and dropped, until the client closes or the bounds are reached. aiohttp would
    decrypt and parse every byte of it on the event loop every other request needs."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    transport = request.transport
    raw = transport.get_extra_info("socket") if transport is not None else None
    if transport is not None and raw is not None and _DISCARD_SLOTS.acquire(blocking=False):
        try:
            loop = asyncio.get_running_loop()
            flushed = loop.time() + 1.0
            while transport.get_write_buffer_size() and loop.time() < flushed:
                await asyncio.sleep(0.005)
            transport.pause_reading()
            await loop.run_in_executor(_DISCARDERS, _discard, os.dup(raw.fileno()))
        finally:
            _DISCARD_SLOTS.release()
    request.protocol.force_close()
    return response


def _discard(fd: int) -> None:
    """Receive and drop a socket's bytes until it closes, DISCARD_BYTES or DISCARD_SECONDS."""
    buffer = bytearray(1024 * 1024)
    deadline = time.monotonic() + DISCARD_SECONDS
    with socket.socket(fileno=fd) as sock:
        received = 0
        while received < DISCARD_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            try:
                count = sock.recv_into(buffer)
            except OSError:  # the timeout, or a reset
                return
            if count == 0:
                return
            received += count
