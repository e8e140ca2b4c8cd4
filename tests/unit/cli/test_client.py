"""The CLI's HTTP client: what each way of failing to get an answer is called."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from kanri.cli.client import Api, check_api_url
from kanri.cli.errors import CliError, ExitCode


@pytest.fixture
def silent_api() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_api_that_accepts_but_does_not_answer_is_a_timeout(silent_api: str) -> None:
    api = Api(silent_api, "t0k", timeout=0.5)
    with pytest.raises(CliError) as caught:
        api.get("/api/v1/status")
    api.close()
    assert caught.value.code == ExitCode.TIMEOUT
    assert str(caught.value) == f"the kanri API at {silent_api} did not answer within 0.5 s"


def test_an_api_that_is_not_there_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        api = Api(url, "t0k", timeout=0.5)
        with pytest.raises(CliError) as caught:
            api.get("/api/v1/status")
    api.close()
    assert caught.value.code == ExitCode.API
    assert "is 'kanri serve' running?" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [("http://127.0.0.1:8642/", "http://127.0.0.1:8642"), ("https://[::1]:1", "https://[::1]:1")],
)
def test_good_api_urls(url: str, expected: str) -> None:
    assert check_api_url(url) == expected


@pytest.mark.parametrize("url", ["http://[::1", "127.0.0.1:8642", "kanri:8642", "http://", ""])
def test_bad_api_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(CliError) as caught:
        check_api_url(url)
    assert caught.value.code == ExitCode.USAGE
