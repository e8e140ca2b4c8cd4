"""What every route needs: the manager, and a caller with a valid bearer token."""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kanri.engine.manager import Manager

_bearer = HTTPBearer(auto_error=False, description="kanri API token (see the admin.token file)")


def get_manager(request: Request) -> Manager:
    manager: Manager = request.app.state.manager
    return manager


class _TokenCache:
    """Valid tokens for a short while, so each request does not hit the database."""

    ttl = 30.0

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def lookup(self, manager: Manager, token: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(token)
        if hit and now - hit[1] < self.ttl:
            return hit[0]
        name = manager.repo.check_token(token)
        if name is not None:
            with self._lock:
                self._seen[token] = (name, now)
        return name


_tokens = _TokenCache()


def caller(
    manager: Annotated[Manager, Depends(get_manager)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The token's name; 401 without a valid bearer token."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers=challenge)
    name = _tokens.lookup(manager, credentials.credentials)
    if name is None:
        raise HTTPException(401, "invalid token", headers=challenge)
    return name


ManagerDep = Annotated[Manager, Depends(get_manager)]
CallerDep = Annotated[str, Depends(caller)]
