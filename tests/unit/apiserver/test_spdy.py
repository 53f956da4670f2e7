"""SPDY/3.1 framing for the port-forward tunnel: frames cut anywhere, header blocks through
the session's shared zlib streams, and the bounds a hostile client meets."""

from __future__ import annotations

import struct
import zlib

import pytest

from podctl.apiserver import spdy


class Client:
    """kubectl's side of the framing, as spdystream writes it."""

    def __init__(self) -> None:
        self.deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=spdy.DICTIONARY)
        self.inflate = zlib.decompressobj(zdict=spdy.DICTIONARY)

    def syn_stream(self, stream: int, headers: spdy.Headers, flags: int = 0) -> bytes:
        block = self.deflate.compress(spdy.header_block(headers))
        block += self.deflate.flush(zlib.Z_SYNC_FLUSH)
        return spdy.control(spdy.SYN_STREAM, flags, struct.pack(">IIH", stream, 0, 0) + block)

    def reply_headers(self, frame: bytes) -> spdy.Headers:
        """The headers of a SYN_REPLY the server wrote."""
        assert struct.unpack(">HH", frame[:4]) == (0x8000 | 3, spdy.SYN_REPLY)
        return spdy.parse_header_block(self.inflate.decompress(frame[12:]))


def test_the_dictionary_is_the_specs() -> None:
    # zlib names a dictionary by its Adler-32: spdystream's reader checks it.
    assert (len(spdy.DICTIONARY), zlib.adler32(spdy.DICTIONARY)) == (1423, 3821447106)


def test_frames_cut_anywhere_read_the_same() -> None:
    client = Client()
    headers = {"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]}
    wire = (client.syn_stream(1, headers) + spdy.data(1, b"hello") + spdy.ping(7)
            + spdy.data(1, b"", fin=True) + spdy.rst_stream(3, spdy.CANCEL)
            + client.syn_stream(5, {**headers, "requestid": ["1"]}))
    whole = spdy.Reader().feed(wire)
    assert whole == [spdy.SynStream(1, headers), spdy.Data(1, b"hello"), spdy.Ping(7),
                     spdy.Data(1, b"", fin=True), spdy.RstStream(3, spdy.CANCEL),
                     spdy.SynStream(5, {**headers, "requestid": ["1"]})]
    for size in (1, 3, 8, 13):
        reader = spdy.Reader()
        frames = [f for at in range(0, len(wire), size) for f in reader.feed(wire[at:at + size])]
        data = b"".join(f.data for f in frames if isinstance(f, spdy.Data) and f.stream == 1)
        assert data == b"hello"
        assert [f for f in frames if not isinstance(f, spdy.Data)] == \
            [f for f in whole if not isinstance(f, spdy.Data)]
        # FIN comes with the last piece of its frame only.
        assert [f.fin for f in frames if isinstance(f, spdy.Data)][-1] is True


def test_a_data_frame_is_handed_on_as_it_arrives() -> None:
    reader = spdy.Reader()
    frame = spdy.data(9, b"x" * 1000, fin=True)
    assert reader.feed(frame[:508]) == [spdy.Data(9, b"x" * 500)]
    assert reader.feed(frame[508:]) == [spdy.Data(9, b"x" * 500, fin=True)]


def test_syn_reply_headers_share_one_zlib_stream() -> None:
    writer, client = spdy.Writer(), Client()
    first, second = writer.syn_reply(1), writer.syn_reply(3, {"x": ["a", "b"]})
    assert client.reply_headers(first) == {}
    assert client.reply_headers(second) == {"x": ["a", "b"]}


def test_other_frames_are_skipped_but_keep_the_header_stream_in_step() -> None:
    client = Client()
    settings = spdy.control(spdy.SETTINGS, 0, struct.pack(">I", 0))
    window = spdy.control(spdy.WINDOW_UPDATE, 0, struct.pack(">II", 1, 1000))
    block = client.deflate.compress(spdy.header_block({"a": ["b"]}))
    block += client.deflate.flush(zlib.Z_SYNC_FLUSH)
    headers = spdy.control(spdy.HEADERS, 0, struct.pack(">I", 1) + block)
    frames = spdy.Reader().feed(settings + window + headers
                                + client.syn_stream(3, {"port": ["1"]}))
    assert frames == [spdy.Other(spdy.SETTINGS), spdy.Other(spdy.WINDOW_UPDATE),
                      spdy.Other(spdy.HEADERS), spdy.SynStream(3, {"port": ["1"]})]


@pytest.mark.parametrize("wire", [
    spdy.control(spdy.SYN_STREAM, 0, b"\0" * (spdy.MAX_CONTROL + 1)),  # oversized
    struct.pack(">HHI", 0x8000 | 2, spdy.PING, 4) + b"\0\0\0\1",  # SPDY/2
    spdy.control(spdy.SYN_STREAM, 0, struct.pack(">IIH", 1, 0, 0) + b"not zlib"),
    spdy.control(spdy.PING, 0, b"\0\0"),
    spdy.data(0, b"x"),
])
def test_broken_framing_ends_the_session(wire: bytes) -> None:
    with pytest.raises(spdy.ProtocolError):
        spdy.Reader().feed(wire)


def test_a_header_bomb_is_refused() -> None:
    client = Client()
    huge = {"x": ["a" * (spdy.MAX_HEADER_BLOCK * 4)]}
    frame = client.syn_stream(1, huge)
    assert len(frame) < spdy.MAX_CONTROL  # small on the wire, huge inflated
    with pytest.raises(spdy.ProtocolError, match="over 64 KiB"):
        spdy.Reader().feed(frame)


def test_a_header_block_shorter_than_it_says() -> None:
    with pytest.raises(spdy.ProtocolError):
        spdy.parse_header_block(struct.pack(">II", 1, 100) + b"abc")
