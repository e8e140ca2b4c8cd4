"""One libvirt connection per host URI, shared by the libvirt drivers of a manager, and
libvirt's errors as kanri's.

A host is reached by the URI in its BMC field: ``qemu+ssh://root@host/system`` (or
``qemu+tls://``, ``qemu:///system``), or ``test:///abs/path/host.xml`` in tests. The
connection stays open and is reopened when libvirt says it is dead. libvirt's test driver
gives every open of a ``test:///file`` URI a private fresh copy of the file's host, so a
reopen there forgets what was done: one connection per host is also what keeps a test's
host alive.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import libvirt

from kanri.domain.errors import Conflict, KanriError, NotFound
from kanri.domain.model import Bmc
from kanri.domain.naming import normalize_bmc_url
from kanri.drivers.base import BmcAuthFailed, BmcProtocolError, BmcUnreachable

SHARED_KEY = "libvirt.connections"

# libvirt prints every error to stderr by default; kanri raises them instead.
libvirt.registerErrorHandler(lambda _ctx, _error: None, None)

_AUTH_ERRORS = {
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_AUTH_CANCELLED,
    libvirt.VIR_ERR_AUTH_UNAVAILABLE,
}
# The connection (or the ssh/TLS tunnel under it) is gone: reopen on the next call.
_GONE_ERRORS = {
    libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_INVALID_CONN,
}
_NOT_FOUND_ERRORS = {
    libvirt.VIR_ERR_NO_DOMAIN,
    libvirt.VIR_ERR_NO_STORAGE_POOL,
    libvirt.VIR_ERR_NO_NODE_DEVICE,
    libvirt.VIR_ERR_NO_INTERFACE,
}


def _message(error: libvirt.libvirtError) -> str:
    text = error.get_error_message() or str(error)
    return " ".join(text.split())


def _auth_callback(bmc: Bmc) -> list[Any]:
    """libvirt's ``openAuth`` credentials: the BMC's username and password for SASL or
    an ssh password prompt (keys, the usual way, need neither)."""

    def answer(credentials: list[list[Any]], _data: object) -> int:
        for cred in credentials:
            if cred[0] == libvirt.VIR_CRED_AUTHNAME:
                cred[4] = bmc.username or cred[3]
            elif cred[0] in (libvirt.VIR_CRED_PASSPHRASE, libvirt.VIR_CRED_NOECHOPROMPT):
                cred[4] = bmc.password
            else:
                return -1
        return 0

    kinds = [libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE, libvirt.VIR_CRED_NOECHOPROMPT]
    return [kinds, answer, None]


class Connections:
    """Open connections by URI, and one lock per host for check-then-change sequences
    (a pool check and the define that follows it)."""

    def __init__(self) -> None:
        self._conns: dict[str, libvirt.virConnect] = {}
        self._host_locks: dict[str, threading.RLock] = {}
        self._lock = threading.Lock()

    def _open(self, bmc: Bmc) -> libvirt.virConnect:
        normalize_bmc_url(bmc.url)  # Invalid for what is no URI libvirt could use
        try:
            if bmc.username or bmc.password:
                return libvirt.openAuth(bmc.url, _auth_callback(bmc), 0)
            return libvirt.open(bmc.url)
        except libvirt.libvirtError as e:
            if e.get_error_code() in _AUTH_ERRORS:
                raise BmcAuthFailed(bmc.url, _message(e)) from None
            raise BmcUnreachable(bmc.url, f"cannot connect: {_message(e)}") from None

    def get(self, bmc: Bmc) -> libvirt.virConnect:
        with self._lock:
            conn = self._conns.get(bmc.url)
        if conn is not None:
            try:
                if conn.isAlive():
                    return conn
            except libvirt.libvirtError:
                pass
            self.drop(bmc.url)
        fresh = self._open(bmc)
        with self._lock:
            # Another thread may have opened one meanwhile: keep the first, close ours.
            kept = self._conns.setdefault(bmc.url, fresh)
        if kept is not fresh:
            _close(fresh)
        return kept

    def host_lock(self, url: str) -> threading.RLock:
        with self._lock:
            return self._host_locks.setdefault(url, threading.RLock())

    def drop(self, url: str) -> None:
        with self._lock:
            conn = self._conns.pop(url, None)
        if conn is not None:
            _close(conn)

    @contextmanager
    def calling(self, bmc: Bmc, what: str) -> Iterator[libvirt.virConnect]:
        """The host's connection, with libvirt errors raised as kanri's; ``what`` names
        the request for the message ("define partition db-1")."""
        conn = self.get(bmc)
        try:
            yield conn
        except KanriError:
            raise
        except libvirt.libvirtError as e:
            raise self.error(bmc, what, e) from None

    def error(self, bmc: Bmc, what: str, e: libvirt.libvirtError) -> Exception:
        code = e.get_error_code()
        text = f"{what}: {_message(e)}"
        if code in _GONE_ERRORS:
            self.drop(bmc.url)
            return BmcUnreachable(bmc.url, text)
        if code in _AUTH_ERRORS:
            return BmcAuthFailed(bmc.url, text)
        if code in _NOT_FOUND_ERRORS:
            return NotFound(f"{bmc.url}: {text}")
        if code == libvirt.VIR_ERR_OPERATION_INVALID:
            return Conflict(f"{bmc.url}: {text}")
        return BmcProtocolError(bmc.url, text)

    def close(self) -> None:
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            _close(conn)


def _close(conn: libvirt.virConnect) -> None:
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()  # a connection that died under us has nothing left to close
