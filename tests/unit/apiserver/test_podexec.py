"""The channel framing of pods/exec and pods/attach and the Status kubectl takes the exit
code from."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import make_mocked_request

from podctl.apiserver import podexec
from podctl.apiserver.status import ApiError


def test_frames_carry_their_channel_first() -> None:
    assert podexec.frame(podexec.STDERR, b"oops") == b"\x02oops"
    assert podexec.frame(podexec.STDOUT) == b"\x01"
    assert podexec.parse(b"\x00hello") == (podexec.STDIN, b"hello")
    assert podexec.parse(bytes([podexec.CLOSE, podexec.STDIN])) == (255, b"\x00")
    assert podexec.parse(b"") is None


def test_a_non_zero_exit_is_a_status_with_the_code_as_cause() -> None:
    status = podexec.exit_status(["sh", "-c", "exit 3"], 3)
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert json.loads(json.dumps(podexec.success())) == {"metadata": {}, "status": "Success"}


def test_terminal_sizes() -> None:
    assert podexec.terminal_size(b'{"Width": 80, "Height": 24}') == (80, 24)
    assert podexec.terminal_size(b'{"Width": 0, "Height": 24}') is None
    assert podexec.terminal_size(b"not json") is None
    assert podexec.terminal_size(b'{"Height": 24}') is None


def test_query_options() -> None:
    request = make_mocked_request(
        "GET", "/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=echo%20x"
        "&container=c&stdin=true&tty=true&stderr=false")
    opts = podexec.options(request, attach=False)
    assert opts == podexec.Options("c", ["sh", "-c", "echo x"], stdin=True, stdout=True,
                                   stderr=False, tty=True)
    with pytest.raises(ApiError, match="at least 1 command"):
        podexec.options(make_mocked_request("GET", "/x?stdout=true"), attach=False)
    assert podexec.options(make_mocked_request("GET", "/x?stdout=true"), attach=True).command \
        == []
    with pytest.raises(ApiError, match="at least one of stdin, stdout, stderr"):
        podexec.options(make_mocked_request("GET", "/x?command=ls&stdout=false&stderr=false"),
                        attach=False)
