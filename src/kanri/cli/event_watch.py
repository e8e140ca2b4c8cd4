"""Following the API's live event stream (Server-Sent Events): frames parsed, the stream
resumed with Last-Event-ID whenever it drops."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from kanri.cli.errors import CliError, ExitCode, code_for_status
from kanri.cli.output import warn

STREAM_PATH = "/api/v1/events/stream"
# The API sends a keepalive comment every 15 s: a stream silent for longer is dead.
SILENCE_SECONDS = 45.0
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True, slots=True)
class Frame:
    id: str | None
    data: dict[str, Any]


def parse(lines: Iterable[str]) -> Iterator[Frame]:
    """SSE frames with data; comments (keepalives) and other fields are skipped."""
    frame_id: str | None = None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield Frame(frame_id, json.loads("\n".join(data)))
            frame_id, data = None, []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                frame_id = value
            elif name == "data":
                data.append(value)


def _refused(response: httpx.Response) -> CliError:
    response.read()
    try:
        detail = str(response.json().get("detail", response.text))
    except ValueError:
        detail = f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code == 401:
        detail = f"the kanri API refused the token: {detail}"
    return CliError(detail, code_for_status(response.status_code))


def follow(
    url: str,
    token: str,
    params: dict[str, str],
    on_event: Callable[[dict[str, Any]], None],
    forever: bool = True,
) -> None:
    """Print what the stream says until interrupted. The first connection failing is an
    error (exit 6); later drops are retried, resuming after the last event seen."""
    last_id: str | None = None
    connected = False
    failures = 0
    while True:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        timeout = httpx.Timeout(10.0, connect=5.0, read=SILENCE_SECONDS)
        try:
            with httpx.stream(
                "GET", url + STREAM_PATH, params=params, headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    raise _refused(response)
                connected, failures = True, 0
                for frame in parse(response.iter_lines()):
                    on_event(frame.data)
                    if frame.id is not None:
                        last_id = frame.id
        except httpx.TransportError as exc:
            if not connected:
                raise CliError(
                    f"cannot reach the kanri API at {url}: {exc or type(exc).__name__} "
                    "(is 'kanri serve' running? set --url or KANRI_URL)",
                    ExitCode.API,
                ) from None
            warn(f"the event stream dropped ({exc or type(exc).__name__}); reconnecting")
        if not forever:
            return
        time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
        failures += 1
