"""SPDY/3.1 framing, the part of it the port-forward protocol uses (no Python library keeps
SPDY alive; the framing is a few fixed layouts).

Every frame has an 8-byte head. A data frame: stream id (31 bits), flags (8: FIN), length
(24). A control frame: 1, version 3 (15 bits), type (16), flags (8), length (24). Header
blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib streams, one per direction for the whole
connection, primed with the spec's dictionary and flushed at the end of every block.

`Reader` turns a byte stream cut anywhere (the WebSocket tunnel carries whatever each write
of the peer held) into frames; a data frame's payload is handed on in the pieces it arrives
in, so nothing is held back waiting for a whole frame of up to 16 MiB.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN = 0x01
# RST_STREAM status codes (spdystream's Reset sends CANCEL).
PROTOCOL_ERROR, REFUSED_STREAM, CANCEL = 1, 3, 5
MAX_DATA = (1 << 24) - 1
# A control frame is held whole until it is parsed: kubectl's are about a hundred bytes.
MAX_CONTROL = 64 * 1024
MAX_HEADER_BLOCK = 64 * 1024  # after decompression: no zip bomb gets past it

_HEAD = struct.Struct(">II")
_CONTROL_HEAD = struct.Struct(">HHI")
_U32 = struct.Struct(">I")
_PAIR = struct.Struct(">II")

# The SPDY/3 header dictionary: length-prefixed header names and values, then a run of
# status codes, dates and content types.
_WORDS = [
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type",
    "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
    "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
    "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
    "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"
]
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504"
    "505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
    "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "
    "Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(_U32.pack(len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()

Headers = dict[str, list[str]]


class ProtocolError(Exception):
    """The peer broke the framing: the connection cannot go on."""


@dataclass(frozen=True)
class Data:
    """A piece of a data frame's payload; `fin` on the frame's last piece when it ends the
    sender's side of the stream."""

    stream: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True)
class SynStream:
    stream: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream: int
    status: int


@dataclass(frozen=True)
class Ping:
    id: int


@dataclass(frozen=True)
class GoAway:
    last_stream: int


@dataclass(frozen=True)
class Other:
    """A frame the port-forward protocol has no use for (SETTINGS, WINDOW_UPDATE, HEADERS,
    SYN_REPLY from a client): spdystream ignores them too."""

    kind: int


Frame = Data | SynStream | RstStream | Ping | GoAway | Other


class Reader:
    """Bytes in, frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._data_stream = 0  # the data frame whose payload is coming
        self._data_left = 0
        self._data_fin = False

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer += chunk
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        if self._data_left:
            return self._payload_piece()
        if len(self._buffer) < 8:
            return None
        first, second = _HEAD.unpack_from(self._buffer)
        flags, length = second >> 24, second & 0xFFFFFF
        if not first & 0x80000000:
            stream = first & 0x7FFFFFFF
            if stream == 0:
                raise ProtocolError("a data frame on stream 0")
            del self._buffer[:8]
            self._data_stream, self._data_left = stream, length
            self._data_fin = bool(flags & FLAG_FIN)
            return Data(stream, b"", self._data_fin) if length == 0 else self._payload_piece()
        if length > MAX_CONTROL:
            raise ProtocolError(f"a control frame of {length} bytes")
        if len(self._buffer) < 8 + length:
            return None
        body = bytes(self._buffer[8:8 + length])
        del self._buffer[:8 + length]
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"SPDY version {version}")
        return self._control(kind, flags, body)

    def _payload_piece(self) -> Data | None:
        if not self._buffer:
            return None
        take = min(self._data_left, len(self._buffer))
        piece = bytes(self._buffer[:take])
        del self._buffer[:take]
        self._data_left -= take
        return Data(self._data_stream, piece, self._data_fin and not self._data_left)

    def _control(self, kind: int, flags: int, body: bytes) -> Frame:
        if kind == SYN_STREAM:
            if len(body) < 10:
                raise ProtocolError("a short SYN_STREAM")
            stream = _U32.unpack_from(body)[0] & 0x7FFFFFFF
            if stream == 0:
                raise ProtocolError("SYN_STREAM for stream 0")
            return SynStream(stream, self._headers(body[10:]), bool(flags & FLAG_FIN))
        if kind in (SYN_REPLY, HEADERS):
            # Their header blocks move the shared zlib stream on: read, then drop.
            if len(body) < 4:
                raise ProtocolError("a short header frame")
            self._headers(body[4:])
            return Other(kind)
        if kind in (RST_STREAM, GOAWAY) and len(body) >= 8:
            number, status = _PAIR.unpack_from(body)
            if kind == GOAWAY:
                return GoAway(number & 0x7FFFFFFF)
            return RstStream(number & 0x7FFFFFFF, status)
        if kind == PING and len(body) == 4:
            return Ping(_U32.unpack(body)[0])
        if kind in (RST_STREAM, GOAWAY, PING):
            raise ProtocolError(f"a control frame of type {kind} with {len(body)} bytes")
        return Other(kind)

    def _headers(self, block: bytes) -> Headers:
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise ProtocolError(f"a header block that does not inflate: {exc}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError("a header block over 64 KiB")
        return parse_header_block(raw)


def parse_header_block(raw: bytes) -> Headers:
    """Names lower-cased as spdystream reads them; several values split at NUL."""
    try:
        count = _U32.unpack_from(raw)[0]
        at = 4
        headers: Headers = {}
        for _ in range(count):
            size = _U32.unpack_from(raw, at)[0]
            name = raw[at + 4:at + 4 + size].decode("latin-1").lower()
            at += 4 + size
            size = _U32.unpack_from(raw, at)[0]
            value = raw[at + 4:at + 4 + size].decode("latin-1")
            at += 4 + size
            if at > len(raw):
                raise ProtocolError("a header block shorter than it says")
            headers.setdefault(name, []).extend(value.split("\0"))
    except struct.error:
        raise ProtocolError("a header block shorter than it says") from None
    return headers


def header_block(headers: Headers) -> bytes:
    parts = [_U32.pack(len(headers))]
    for name, values in headers.items():
        value = "\0".join(values).encode("latin-1")
        parts += [_U32.pack(len(name)), name.lower().encode("latin-1"),
                  _U32.pack(len(value)), value]
    return b"".join(parts)


class Writer:
    """Frames out; SYN_REPLY's header blocks share one zlib stream."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=DICTIONARY)

    def syn_reply(self, stream: int, headers: Headers | None = None) -> bytes:
        block = self._deflate.compress(header_block(headers or {}))
        block += self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return control(SYN_REPLY, 0, _U32.pack(stream) + block)


def control(kind: int, flags: int, body: bytes) -> bytes:
    return _HEAD.pack(0x80000000 | VERSION << 16 | kind, flags << 24 | len(body)) + body


def data_head(stream: int, length: int, fin: bool = False) -> bytes:
    """The 8 bytes before a data frame's payload of `length` bytes."""
    return _HEAD.pack(stream, (FLAG_FIN if fin else 0) << 24 | length)


def data(stream: int, payload: bytes = b"", fin: bool = False) -> bytes:
    return data_head(stream, len(payload), fin) + payload


def rst_stream(stream: int, status: int) -> bytes:
    return control(RST_STREAM, 0, _PAIR.pack(stream, status))


def ping(ping_id: int) -> bytes:
    return control(PING, 0, _U32.pack(ping_id))
