"""The CLI's way to the API: one HTTP client with the token, errors turned into exit codes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from kanri.cli.errors import CliError, ExitCode, code_for_status
from kanri.settings import Settings, api_url


def find_token(token: str | None, token_file: Path | None) -> str:
    if token:
        return token
    if env := os.environ.get("KANRI_TOKEN"):
        return env
    path = token_file or Settings.from_env().token_file
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise CliError(
            f"no API token: {path} does not exist (start 'kanri serve' once, "
            "or pass --token / set KANRI_TOKEN / KANRI_DATA_DIR)",
            ExitCode.API,
        ) from None
    except PermissionError:
        raise CliError(f"cannot read the API token file {path}", ExitCode.API) from None


class Api:
    def __init__(self, url: str | None, token: str, timeout: float = 120.0) -> None:
        self.url = (url or api_url()).rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach the kanri API at {self.url}: {exc or type(exc).__name__} "
                "(is 'kanri serve' running? set --url or KANRI_URL)",
                ExitCode.API,
            ) from None
        if response.status_code >= 400:
            raise CliError(_detail(response), code_for_status(response.status_code))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def close(self) -> None:
        self._http.close()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict) and "detail" in body:
        if response.status_code == 401:
            return f"the kanri API refused the token: {body['detail']}"
        return str(body["detail"])
    return f"HTTP {response.status_code}: {body}"
