"""SessionService: login sessions with a limit, as a BMC keeps them.

A session idle for ``timeout`` lab seconds expires. When the limit is reached (or a
"sessions exhausted" fault holds) a new login answers 503 SessionLimitExceeded, which is
what BMCs with a small session table do.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.lab import Lab
from kanri.lab.redfish.common import (
    ROOT,
    body_of,
    collection,
    doc,
    error,
    lab_of,
    no_content,
    reply,
)

SESSIONS = f"{ROOT}/SessionService/Sessions"


@dataclass
class Session:
    id: str
    token: str
    username: str
    last_used: float  # lab seconds


class SessionStore:
    def __init__(self, timeout: float = 600.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._by_token: dict[str, Session] = {}

    def _expire(self, now: float) -> None:
        for token, session in list(self._by_token.items()):
            if now - session.last_used > self.timeout:
                del self._by_token[token]

    def open(self, username: str, now: float, limit: int) -> Session | None:
        with self._lock:
            self._expire(now)
            if len(self._by_token) >= limit:
                return None
            session = Session(
                secrets.token_hex(8).upper(), secrets.token_urlsafe(24), username, now
            )
            self._by_token[session.token] = session
            return session

    def touch(self, token: str, now: float) -> Session | None:
        with self._lock:
            self._expire(now)
            session = self._by_token.get(token)
            if session is not None:
                session.last_used = now
            return session

    def all(self) -> list[Session]:
        with self._lock:
            return sorted(self._by_token.values(), key=lambda s: s.id)

    def count(self) -> int:
        with self._lock:
            return len(self._by_token)

    def close(self, session_id: str) -> bool:
        with self._lock:
            for token, session in self._by_token.items():
                if session.id == session_id:
                    del self._by_token[token]
                    return True
            return False


def credentials_match(lab: Lab, user: str, password: str) -> bool:
    """In constant time, as bytes: compare_digest refuses str outside ASCII."""
    user_ok = secrets.compare_digest(user.encode(errors="replace"), lab.username.encode())
    password_ok = secrets.compare_digest(password.encode(errors="replace"), lab.password.encode())
    return user_ok and password_ok


def store_of(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def _session_doc(session: Session) -> dict[str, object]:
    return doc(
        f"{SESSIONS}/{session.id}",
        "#Session.v1_8_0.Session",
        Name=f"Session {session.id}",
        UserName=session.username,
        SessionType="Redfish",
    )


async def service(request: Request) -> Response:
    lab = lab_of(request)
    return reply(
        doc(
            f"{ROOT}/SessionService",
            "#SessionService.v1_2_0.SessionService",
            Name="Session Service",
            ServiceEnabled=True,
            SessionTimeout=int(store_of(request).timeout),
            Status={"State": "Enabled", "Health": "OK"},
            Sessions={"@odata.id": SESSIONS},
            Oem={
                "KanriLab": {
                    "@odata.type": "#KanriLab.v1_0_0.SessionService",
                    "SessionLimit": lab.session_limit,
                }
            },
        )
    )


async def sessions(request: Request) -> Response:
    body = collection(
        SESSIONS,
        "SessionCollection",
        "Sessions",
        (f"{SESSIONS}/{s.id}" for s in store_of(request).all()),
    )
    return reply(body)


async def login(request: Request) -> Response:
    lab = lab_of(request)
    data = await body_of(request)
    user, password = data.get("UserName"), data.get("Password")
    if not isinstance(user, str) or not isinstance(password, str):
        return error(400, "PropertyMissing", "UserName and Password are required strings")
    if not credentials_match(lab, user, password):
        return error(401, "NoValidSession", "the user name or password is wrong")
    fault = lab.bmc_faults.get("*")
    limit = 0 if fault is not None and fault.sessions_exhausted else lab.session_limit
    session = store_of(request).open(user, lab.clock.now(), limit)
    if session is None:
        return error(
            503, "SessionLimitExceeded", f"the session limit ({lab.session_limit}) is reached"
        )
    location = f"{SESSIONS}/{session.id}"
    return reply(_session_doc(session), 201, {"X-Auth-Token": session.token, "Location": location})


async def one(request: Request) -> Response:
    session_id = request.path_params["session_id"]
    for session in store_of(request).all():
        if session.id == session_id:
            return reply(_session_doc(session))
    return error(404, "ResourceMissingAtURI", f"no session {session_id}")


async def logout(request: Request) -> Response:
    session_id = request.path_params["session_id"]
    if store_of(request).close(session_id):
        return no_content()
    return error(404, "ResourceMissingAtURI", f"no session {session_id}")


def routes() -> list[Route]:
    return [
        Route(f"{ROOT}/SessionService", service, methods=["GET"]),
        Route(SESSIONS, sessions, methods=["GET"]),
        Route(SESSIONS, login, methods=["POST"]),
        Route(f"{SESSIONS}/{{session_id}}", one, methods=["GET"]),
        Route(f"{SESSIONS}/{{session_id}}", logout, methods=["DELETE"]),
    ]
