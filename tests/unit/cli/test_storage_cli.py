"""kanri storage / volume against a recorded API: what each command asks for."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest
from typer.testing import CliRunner

from kanri.cli import storage
from kanri.cli.client import Api
from kanri.cli.context import CliContext


@pytest.fixture
def asked() -> list[httpx.Request]:
    return []


@pytest.fixture
def context(asked: list[httpx.Request]) -> CliContext:
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(
            404,
            json={"type": "urn:kanri:problem:not-found", "status": 404, "detail": "no such"},
        )

    api = Api("http://kanri.test", "t0k")
    api._http = httpx.Client(base_url=api.url, transport=httpx.MockTransport(answer))
    return CliContext(_api=api)


@pytest.mark.parametrize("args", [["remove", "--yes"], ["show"]])
@pytest.mark.parametrize("name", ["x/../../machines/blade-01", "..", "a?b", "a#b"])
def test_a_name_is_one_path_segment_whatever_it_holds(
    context: CliContext, asked: list[httpx.Request], args: list[str], name: str
) -> None:
    """httpx resolves dot segments: 'storage remove x/../../machines/blade-01' must not
    become DELETE /api/v1/machines/blade-01."""
    done = CliRunner().invoke(storage.app, [*args, name], obj=context)
    assert asked, done.output
    for request in asked:
        assert request.url.raw_path.startswith(b"/api/v1/storage/"), request.url
        segment = request.url.raw_path.removeprefix(b"/api/v1/storage/").split(b"/")[0]
        assert unquote(segment.decode()) == name  # what the API routes on


def test_volume_list_asks_each_array_by_its_quoted_name(
    context: CliContext, asked: list[httpx.Request]
) -> None:
    done = CliRunner().invoke(storage.volume_app, ["--storage", "../machines"], obj=context)
    assert len(asked) == 1, done.output
    (request,) = asked
    assert request.url.raw_path == b"/api/v1/storage/%2E%2E%2Fmachines/volumes"
