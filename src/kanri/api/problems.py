"""Errors as RFC 9457 problem bodies: one status, one title, one line of detail."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from kanri.domain.errors import (
    BmcAuthFailed,
    BmcError,
    BmcUnreachable,
    Conflict,
    Invalid,
    KanriError,
    NotFound,
    SystemNotFound,
)

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

# Most specific first. BMC failures are the BMC's, not the caller's: 502/504, never 401.
_STATUS: list[tuple[type[KanriError], int, str, str]] = [
    (NotFound, 404, "not-found", "Not found"),
    (Conflict, 409, "conflict", "Conflict"),
    (Invalid, 422, "invalid", "Invalid request"),
    (BmcAuthFailed, 502, "bmc-auth-failed", "BMC rejected the credentials"),
    (BmcUnreachable, 504, "bmc-unreachable", "BMC unreachable"),
    (SystemNotFound, 502, "bmc-system-not-found", "BMC does not manage that system"),
    (BmcError, 502, "bmc-error", "BMC error"),
]


def problem(status: int, kind: str, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": f"urn:kanri:problem:{kind}", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type=PROBLEM,
    )


def _for_kanri_error(exc: KanriError) -> JSONResponse:
    for cls, status, kind, title in _STATUS:
        if isinstance(exc, cls):
            return problem(status, kind, title, str(exc))
    return problem(500, "error", "Error", str(exc))


def install(app: FastAPI) -> None:
    @app.exception_handler(KanriError)
    async def kanri_error(request: Request, exc: KanriError) -> JSONResponse:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _for_kanri_error(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error["msg"])
        return problem(422, "invalid", "Invalid request", "; ".join(parts))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        response = problem(exc.status_code, "http", str(exc.detail), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The details (an SQL statement, a stack) are for the log, not for the caller.
        incident = secrets.token_hex(4)
        log.exception("%s %s failed [incident %s]", request.method, request.url.path, incident)
        return problem(
            500,
            "internal",
            "Internal error",
            f"kanri failed unexpectedly ({type(exc).__name__}); "
            f"see the manager's log for incident {incident}",
        )
