"""The CLI's way to a running lab's control API (``/lab/v1``): HTTP with the lab's
credentials, every failure one message and an exit code."""

from __future__ import annotations

import os
from typing import Annotated, Any

import httpx
import typer

from kanri.cli.errors import CliError, ExitCode, code_for_status

DEFAULT_LAB_URL = "http://127.0.0.1:8001"
DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "password"  # noqa: S105 - the lab's documented default, as it prints

LabUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--lab", help=f"the lab's URL [env KANRI_LAB_URL; {DEFAULT_LAB_URL}]", show_default=False
    ),
]
LabUserOpt = Annotated[str, typer.Option("--lab-user", help="the lab's user name")]
LabPasswordOpt = Annotated[
    str, typer.Option("--lab-password", help="the lab's password", envvar="KANRI_LAB_PASSWORD")
]


class LabClient:
    def __init__(self, url: str | None, user: str, password: str, timeout: float = 30.0) -> None:
        self.url = _check_url(url or os.environ.get("KANRI_LAB_URL") or DEFAULT_LAB_URL)
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.url, auth=(user, password), timeout=httpx.Timeout(timeout, connect=5.0)
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, f"/lab/v1{path}", **kwargs)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise self._unreachable(exc) from None
            raise CliError(
                f"the lab at {self.url} did not answer within {self.timeout:g} s", ExitCode.TIMEOUT
            ) from None
        except httpx.RequestError as exc:
            raise self._unreachable(exc) from None
        if response.status_code == 401:
            raise CliError(
                f"the lab at {self.url} refused the user name or password "
                "(--lab-user, --lab-password)",
                ExitCode.API,
            )
        try:
            body = response.json()
        except ValueError:
            raise CliError(
                f"{self.url} answered with something other than JSON (is --lab or KANRI_LAB_URL "
                "a kanri lab?)",
                ExitCode.API,
            ) from None
        if response.status_code >= 400:
            message = body.get("error") if isinstance(body, dict) else None
            raise CliError(
                str(message or f"HTTP {response.status_code}: {body}"),
                code_for_status(response.status_code),
            )
        return body

    def _unreachable(self, exc: httpx.RequestError) -> CliError:
        return CliError(
            f"cannot reach the lab at {self.url}: {exc or type(exc).__name__} "
            "(is 'kanri lab serve' running? set --lab or KANRI_LAB_URL)",
            ExitCode.API,
        )

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request(
            "DELETE", path, params={k: v for k, v in params.items() if v is not None}
        )


def _check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError(
            f"the lab URL {url!r} (--lab or KANRI_LAB_URL) must be http:// or https:// and a "
            f"host, e.g. {DEFAULT_LAB_URL}",
            ExitCode.USAGE,
        )
    return url.rstrip("/")
