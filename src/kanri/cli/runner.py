"""What the commands that run a manager in this process (serve, demo) check before starting.

Everything here runs before a Manager exists, so a bad setting or a taken port is one line
and an exit code, never a manager and a sync sweep started and torn down again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from typing import TYPE_CHECKING

from kanri.cli.errors import CliError, ExitCode
from kanri.settings import Settings

if TYPE_CHECKING:
    import uvicorn


def restrict_new_files() -> None:
    """Make every file and directory this process creates owner-only.

    The data directory holds the key that decrypts the BMC credentials, the admin API token
    and the database (SQLite creates kanri.db and its -wal/-shm files with the umask's
    mode); nobody but the manager's user has any business reading them.
    """
    os.umask(0o077)


def check_listen(host: str, port: int, what: str, flag: str) -> None:
    """Raise a usage error unless ``host:port`` can be listened on now, as uvicorn will."""
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise CliError(
            f"cannot listen on {where} for the {what}: {host!r} is not an address of this "
            f"machine or a host name ({reason}); check --host",
            ExitCode.USAGE,
        ) from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            # As asyncio's create_server does: reuse a port in TIME_WAIT, and keep IPv6
            # sockets off IPv4 so both families can be bound side by side.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise CliError(
                    f"cannot listen on {where} for the {what}: {_bind_reason(exc, port, flag)}",
                    ExitCode.USAGE,
                ) from None


def _bind_reason(exc: OSError, port: int, flag: str) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is in use (another kanri running?); choose another {flag}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "that address is not one of this machine's; check --host"
    if exc.errno == errno.EACCES:
        return f"permission denied (ports below 1024 need privileges); choose another {flag}"
    return exc.strerror or str(exc)


def prepare_data(settings: Settings) -> None:
    """Create (or tighten) the data directory and check the database URL, before a Manager."""
    try:
        settings.ensure_data_dir()
    except OSError as exc:
        raise CliError(
            f"cannot create the data directory {settings.data_dir}: {exc.strerror or exc} "
            "(set --data-dir or KANRI_DATA_DIR)",
            ExitCode.ERROR,
        ) from None
    check_database_url(settings.database_url)
    claim_data_dir(settings)


_claims: list[int] = []  # lock file descriptors, held open for the life of the process


def claim_data_dir(settings: Settings) -> None:
    """One manager per data directory: a conflict unless this process can lock it.

    Two managers on one data directory would each poll every machine and record every
    event twice. (Several managers share a PostgreSQL database, each with a data
    directory of its own.) The lock is the kernel's: it goes with the process, even one
    killed with -9.
    """
    path = settings.data_dir / "manager.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise CliError(
            f"another kanri manager (pid {holder}) is using the data directory "
            f"{settings.data_dir}; stop it, or give this one its own --data-dir",
            ExitCode.CONFLICT,
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _claims.append(fd)


def check_database_url(url: str) -> None:
    """A usage error unless ``url`` is a database URL kanri's store can use.

    The message never repeats the URL: it may hold a password.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    example = "sqlite:////PATH/kanri.db or postgresql+psycopg://USER:PASSWORD@HOST/kanri"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise CliError(
            f"KANRI_DATABASE_URL is not a database URL; use {example}", ExitCode.USAGE
        ) from None
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise CliError(
            f"KANRI_DATABASE_URL names a database kanri does not know ({parsed.drivername}); "
            f"use {example}",
            ExitCode.USAGE,
        ) from None


def run_server(server: uvicorn.Server) -> None:
    """Run uvicorn until Ctrl-C; a server that never started is exit 1, not uvicorn's 3."""
    from uvicorn.config import STARTUP_FAILURE

    failed = CliError("the kanri API did not start (the reason is logged above)", ExitCode.ERROR)
    # Live streams (kanri event watch) never end on their own: at a stop, they and any
    # request still in flight get 5 s, then are cut, so that the manager stops.
    server.config.timeout_graceful_shutdown = server.config.timeout_graceful_shutdown or 5
    try:
        server.run()
    except SystemExit as exc:
        if exc.code == STARTUP_FAILURE:
            raise failed from None
        raise
    if not server.started:
        raise failed
