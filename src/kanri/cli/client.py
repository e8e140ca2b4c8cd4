"""The CLI's way to the API: one HTTP client with the token, errors turned into exit codes."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from kanri.cli.errors import CliError, ExitCode, code_for_status
from kanri.cli.output import warn
from kanri.settings import Settings, api_url


def find_token(token: str | None, token_file: Path | None) -> str:
    if token:
        return _check_token(token, "--token or KANRI_TOKEN")
    if env := os.environ.get("KANRI_TOKEN"):
        return _check_token(env, "KANRI_TOKEN")
    path = token_file or Settings.from_env().token_file
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except FileNotFoundError:
        if token_file is not None:
            raise CliError(f"the API token file {path} does not exist", ExitCode.USAGE) from None
        raise CliError(
            f"no API token: {path} does not exist (start 'kanri serve' once, "
            "or pass --token / set KANRI_TOKEN / KANRI_DATA_DIR)",
            ExitCode.API,
        ) from None
    except UnicodeDecodeError:
        raise CliError(
            f"the API token file {path} is not text (a token is printable ASCII)", ExitCode.USAGE
        ) from None
    except OSError as exc:
        raise CliError(
            f"cannot read the API token file {path}: {exc.strerror or exc}", ExitCode.USAGE
        ) from None
    if mode & 0o077:
        warn(
            f"the API token file {path} can be read by others (mode {stat.S_IMODE(mode):04o}); "
            f"chmod 600 {path}"
        )
    return _check_token(text.strip(), f"the token file {path}")


def _check_token(token: str, source: str) -> str:
    """A token goes into an HTTP header: printable ASCII without spaces, or a usage error."""
    if not token:
        raise CliError(f"the API token from {source} is empty", ExitCode.USAGE)
    if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
        raise CliError(
            f"the API token from {source} is not a token: it must be printable ASCII "
            "without spaces",
            ExitCode.USAGE,
        )
    return token


def check_api_url(url: str) -> str:
    """The API's base URL without trailing slashes, or a usage error saying what is wrong."""
    example = "e.g. http://127.0.0.1:8642"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise CliError(
            f"the kanri API URL {url!r} (--url or KANRI_URL) is not a URL: {exc}; {example}",
            ExitCode.USAGE,
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError(
            f"the kanri API URL {url!r} (--url or KANRI_URL) must be http:// or https:// "
            f"and a host, {example}",
            ExitCode.USAGE,
        )
    return url.rstrip("/")


class Api:
    def __init__(self, url: str | None, token: str, timeout: float = 120.0) -> None:
        self.url = check_api_url(url or api_url())
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise self._unreachable(exc) from None
            # Connected, but no answer: the manager is up and stuck or overloaded.
            raise CliError(
                f"the kanri API at {self.url} did not answer within {self.timeout:g} s",
                ExitCode.TIMEOUT,
            ) from None
        except httpx.RequestError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            raise CliError(_detail(response), code_for_status(response.status_code))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"{self.url} answered {method} {path} with something other than JSON "
                "(is --url or KANRI_URL the kanri API?)",
                ExitCode.API,
            ) from None

    def _unreachable(self, exc: httpx.RequestError) -> CliError:
        return CliError(
            f"cannot reach the kanri API at {self.url}: {exc or type(exc).__name__} "
            "(is 'kanri serve' running? set --url or KANRI_URL)",
            ExitCode.API,
        )

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


def resource_path(collection: str, name: str, *rest: str) -> str:
    """``/api/v1/<collection>/<name>[/<rest>...]`` with the name one path segment whatever
    it holds: httpx resolves dot segments and stops at ``?`` and ``#``, so a name like
    ``x/../../storage/a1`` must never become a request about another resource."""
    segment = quote(name, safe="").replace(".", "%2E")
    return "/".join([f"/api/v1/{collection}", segment, *rest])
