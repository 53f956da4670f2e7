"""The port-forward session as kubectl drives it, against real loopback sockets standing in
for the pod: streams paired by requestID, bytes both ways, half-close, resets, the kubelet's
refusals and error messages."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from podctl.apiserver import podportforward, spdy
from podctl.apiserver.podportforward import DialError, Session, stream_problem
from podctl.portforward.forward import dial
from tests.unit.apiserver.test_spdy import Client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Kubectl:
    """The client side of one session: frames in, what the server sent read back."""

    def __init__(self, dialer: podportforward.Dialer) -> None:
        self.out: asyncio.Queue[bytes] = asyncio.Queue()
        self.session = Session(self._sent, dialer)
        self.client = Client()
        self.reader = spdy.Reader()
        self.frames: list[spdy.Frame | bytes] = []

    async def _sent(self, data: bytes) -> None:
        await self.out.put(data)

    async def open(self, request_id: str, port: int, first: int) -> None:
        """The error stream, then the data stream, as client-go creates them."""
        for stream, kind in ((first, "error"), (first + 2, "data")):
            await self.session.feed(self.client.syn_stream(
                stream, {"streamtype": [kind], "port": [str(port)], "requestid": [request_id]}))

    async def next(self) -> spdy.Frame | tuple[str, int]:
        """The next frame the server sent; a SYN_REPLY as ("reply", stream)."""
        while True:
            data = await asyncio.wait_for(self.out.get(), 10)
            if data[:4] == b"\x80\x03\x00\x02":
                self.client.reply_headers(data)
                return "reply", int.from_bytes(data[8:12], "big")
            frames = self.reader.feed(data)
            if frames:
                assert len(frames) == 1
                return frames[0]

    async def read_stream(self, stream: int) -> bytes:
        """Data of `stream` until its FIN (other frames must not come between)."""
        got = b""
        while True:
            frame = await self.next()
            assert isinstance(frame, spdy.Data) and frame.stream == stream, frame
            got += frame.data
            if frame.fin:
                return got


@contextlib.asynccontextmanager
async def pod(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def to_loopback(port: int) -> socket.socket:
    try:
        return await dial("127.0.0.1", port)
    except OSError as exc:
        raise DialError(f"error forwarding port {port} to pod p, uid u: {exc}") from exc


async def upper_until_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers after the client's half-close: all it read, upper-cased."""
    writer.write((await reader.read()).upper())
    await writer.drain()
    writer.close()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


def test_a_connection_half_closed_by_kubectl_gets_its_answer() -> None:
    async def test() -> None:
        async with pod(upper_until_eof) as port:
            kubectl = Kubectl(to_loopback)
            await kubectl.open("0", port, 1)
            assert [await kubectl.next(), await kubectl.next()] == [("reply", 1), ("reply", 3)]
            await kubectl.session.feed(spdy.data(3, b"hello ") + spdy.data(3, b"pod"))
            await kubectl.session.feed(spdy.data(3, fin=True))  # kubectl's half-close
            assert await kubectl.read_stream(3) == b"HELLO POD"
            # kubectl resets the data stream once it has read it all: the error stream ends
            # empty (no error).
            await kubectl.session.feed(spdy.rst_stream(3, spdy.CANCEL))
            assert await kubectl.read_stream(1) == b""
            await kubectl.session.close()

    run(test)


def test_the_pod_half_closes_and_kubectl_still_sends() -> None:
    async def test() -> None:
        received = asyncio.get_running_loop().create_future()

        async def greet_then_read(reader: asyncio.StreamReader,
                                  writer: asyncio.StreamWriter) -> None:
            writer.write(b"hi")
            writer.write_eof()
            received.set_result(await reader.read())
            writer.close()

        async with pod(greet_then_read) as port:
            kubectl = Kubectl(to_loopback)
            await kubectl.open("7", port, 5)
            assert [await kubectl.next(), await kubectl.next()] == [("reply", 5), ("reply", 7)]
            assert await kubectl.read_stream(7) == b"hi"
            await kubectl.session.feed(spdy.data(7, b"late words", fin=True))
            assert await received == b"late words"
            assert await kubectl.read_stream(5) == b""  # both sides done: the pair ends
            await kubectl.session.close()

    run(test)


def test_many_connections_on_one_session_and_bulk_data() -> None:
    async def test() -> None:
        async with pod(upper_until_eof) as port:
            kubectl = Kubectl(to_loopback)
            for n in range(20):
                await kubectl.open(str(n), port, 1 + 4 * n)
            blob = bytes(range(256)) * 20000  # 5 MB through one stream
            await kubectl.session.feed(spdy.data(3, blob, fin=True))
            for n in range(1, 20):
                await kubectl.session.feed(spdy.data(3 + 4 * n, f"c{n}".encode(), fin=True))
            answers: dict[int, bytes] = {}
            fins: set[int] = set()
            while len(fins) < 20:
                frame = await kubectl.next()
                if isinstance(frame, spdy.Data):
                    answers[frame.stream] = answers.get(frame.stream, b"") + frame.data
                    if frame.fin and frame.stream % 4 == 3:  # a data stream's end
                        fins.add(frame.stream)
            assert answers[3] == blob.upper()
            assert all(answers[3 + 4 * n] == f"C{n}".encode() for n in range(1, 20))
            await kubectl.session.close()

    run(test)


def test_a_refused_port_is_reported_on_the_error_stream() -> None:
    async def test() -> None:
        async with pod(upper_until_eof) as port:
            pass  # the port is free again: nothing listens
        kubectl = Kubectl(to_loopback)
        await kubectl.open("0", port, 1)
        assert [await kubectl.next(), await kubectl.next()] == [("reply", 1), ("reply", 3)]
        message = await kubectl.next()
        assert isinstance(message, spdy.Data) and message.stream == 1
        assert message.data.decode().startswith(
            f"error forwarding port {port} to pod p, uid u: ")
        assert await kubectl.read_stream(3) == b""
        assert await kubectl.read_stream(1) == b""
        await kubectl.session.close()

    run(test)


def test_streams_the_kubelet_refuses_are_reset() -> None:
    async def test() -> None:
        kubectl = Kubectl(to_loopback)
        await kubectl.session.feed(kubectl.client.syn_stream(1, {"streamtype": ["data"]}))
        assert await kubectl.next() == spdy.RstStream(1, spdy.CANCEL)
        await kubectl.session.feed(spdy.ping(9))
        assert await kubectl.next() == spdy.Ping(9)
        await kubectl.session.close()

    run(test)


def test_the_kubelets_words_for_bad_stream_headers() -> None:
    assert stream_problem({}) == '"port" header is required'
    assert stream_problem({"port": ["http"]}) == (
        'unable to parse "http" as a port: strconv.ParseUint: parsing "http": invalid syntax')
    assert stream_problem({"port": ["70000"]}) == (
        'unable to parse "70000" as a port: strconv.ParseUint: parsing "70000": '
        "value out of range")
    assert stream_problem({"port": ["0"]}) == 'port "0" must be > 0'
    assert stream_problem({"port": ["80"]}) == '"streamType" header is required'
    assert stream_problem({"port": ["80"], "streamtype": ["x"]}) == 'invalid stream type "x"'
    assert stream_problem({"port": ["80"], "streamtype": ["error"]}) is None


def test_old_clients_pair_by_stream_id_and_a_second_data_stream_is_an_error() -> None:
    async def test() -> None:
        async with pod(upper_until_eof) as port:
            kubectl = Kubectl(to_loopback)
            for stream, kind in ((1, "error"), (3, "data")):  # no requestID header
                await kubectl.session.feed(kubectl.client.syn_stream(
                    stream, {"streamtype": [kind], "port": [str(port)]}))
            assert [await kubectl.next(), await kubectl.next()] == [("reply", 1), ("reply", 3)]
            await kubectl.session.feed(kubectl.client.syn_stream(
                5, {"streamtype": ["data"], "port": [str(port)], "requestid": ["x"]}))
            await kubectl.session.feed(kubectl.client.syn_stream(
                7, {"streamtype": ["error"], "port": [str(port)], "requestid": ["x"]}))
            await kubectl.session.feed(kubectl.client.syn_stream(
                9, {"streamtype": ["data"], "port": [str(port)], "requestid": ["x"]}))
            frames = [await kubectl.next() for _ in range(4)]
            assert ("reply", 9) in frames
            assert spdy.Data(7, b"error processing stream for request x: data stream already "
                             b"assigned") in frames
            await kubectl.session.close()

    run(test)


def test_a_pair_left_half_made_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(podportforward, "PAIR_SECONDS", 0.1)

    async def test() -> None:
        kubectl = Kubectl(to_loopback)
        await kubectl.session.feed(kubectl.client.syn_stream(
            1, {"streamtype": ["error"], "port": ["80"], "requestid": ["4"]}))
        assert await kubectl.next() == ("reply", 1)
        assert await kubectl.next() == spdy.Data(
            1, b"(conn=tunnel, request=4) timed out waiting for streams")
        assert await kubectl.next() == spdy.Data(1, b"", fin=True)
        await kubectl.session.close()

    run(test)


def test_closing_the_session_closes_the_pods_connections() -> None:
    async def test() -> None:
        ended = asyncio.get_running_loop().create_future()

        async def wait_for_eof(reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
            writer.write(b"ready")
            ended.set_result(await reader.read())
            writer.close()

        async with pod(wait_for_eof) as port:
            kubectl = Kubectl(to_loopback)
            await kubectl.open("0", port, 1)
            assert [await kubectl.next(), await kubectl.next()] == [("reply", 1), ("reply", 3)]
            assert await kubectl.next() == spdy.Data(3, b"ready")
            await kubectl.session.close()
            assert await asyncio.wait_for(ended, 5) == b""

    run(test)


def test_the_python_clients_ports_query() -> None:
    from podctl.apiserver.podportforward import channel_ports
    from podctl.apiserver.status import ApiError

    assert channel_ports(["8080,9090", "53"]) == [8080, 9090, 53]
    for values, message in (([], 'query parameter "ports" is required'),
                            ([""], 'query parameter "ports" cannot be empty'),
                            (["80,http"], 'unable to parse "80,http" as a port'),
                            (["70000"], 'unable to parse "70000" as a port'),
                            (["0"], 'port "0" must be > 0'),
                            ([",".join(["1"] * 65)], "at most 64 ports on one connection")):
        with pytest.raises(ApiError) as refused:
            channel_ports(values)
        assert (refused.value.reason, refused.value.message) == ("BadRequest", message)


def test_closing_the_session_ends_a_dial_under_way() -> None:
    async def test() -> None:
        dialling, cancelled = asyncio.Event(), asyncio.Event()

        async def never(port: int) -> socket.socket:
            dialling.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            raise AssertionError("not reached")

        kubectl = Kubectl(never)
        await kubectl.open("0", 80, 1)
        await asyncio.wait_for(dialling.wait(), 5)
        await asyncio.wait_for(kubectl.session.close(), 5)
        assert cancelled.is_set()

    run(test)
