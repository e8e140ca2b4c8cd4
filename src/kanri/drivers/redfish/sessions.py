"""Good BMC manners: one reused sushy client per BMC, a cap on requests in flight to it,
bounded timeouts and retries, and a logout when the manager stops.

A BMC has a handful of session slots and a slow CPU; a manager that logs in for every
poll fills the slots and locks operators out of the BMC's own web page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
import sushy
import sushy.exceptions as sushy_exc
from sushy.auth import SessionOrBasicAuth
from sushy.connector import Connector

from kanri.domain.errors import Invalid
from kanri.domain.model import Bmc
from kanri.domain.naming import normalize_bmc_url
from kanri.drivers.base import BmcUnreachable, DriverOptions, SystemNotFound
from kanri.drivers.redfish import transport
from kanri.drivers.redfish.errors import attempts, nothing_was_sent, timed_out, to_driver_error
from kanri.drivers.redfish.mapping import JsonDoc, MalformedAnswer, member_paths, system_id_of

LOG = logging.getLogger(__name__)
T = TypeVar("T")


def check_bmc_url(url: str) -> str:
    """``scheme://host[:port]`` of a BMC URL, or :class:`Invalid` before any network I/O.

    The spelling is the domain's (:func:`kanri.domain.naming.normalize_bmc_url`), so the
    client pool's keys and the store's BMC rows agree; Redfish adds only that the scheme
    is http or https.
    """
    canonical = normalize_bmc_url(url)
    if urlsplit(canonical).scheme not in ("http", "https"):
        raise Invalid(f"invalid BMC URL {url!r}: the scheme must be https:// or http://")
    return canonical


def check_credentials(username: str, password: str) -> None:
    """:class:`Invalid` before any network I/O when the credentials cannot be sent.

    HTTP basic auth (which sushy falls back to, and which BMCs without a SessionService
    need) encodes them as Latin-1; requests would otherwise fail mid-request with a
    UnicodeEncodeError that reads as a BMC failure. Which auth a BMC takes is known only
    after the service root is read, so the rule holds for every BMC.
    """
    for what, text in (("user name", username), ("password", password)):
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            raise Invalid(f"the BMC {what} must be Latin-1 text for HTTP basic auth") from None


# HTTP answers that mean "no such document". A system document or collection that answers
# anything else (500, 503, 400...) is a BMC error, not an absence: a chassis whose blade
# 3 answers 500 must not be registered as a chassis of two blades.
ABSENT = frozenset({404, 410})


class RedfishClient:
    """One logged-in sushy client for one BMC, with typed JSON reads.

    The connector and the auth object are built here and handed to ``sushy.Sushy`` so that
    kanri holds them by public name: the connector for plain GETs, the auth for logout.
    """

    def __init__(
        self, url: str, username: str, password: str, verify: bool, options: DriverOptions
    ):
        self.url = url
        # sushy reads 0 retries as "3" and a 0 s delay as "2 s" between connection
        # attempts, so never hand it a 0. ``retries`` here means: connection attempts per
        # request, and extra attempts of a GET that got a 5xx.
        self.connector: Any = Connector(
            url,
            verify=verify,
            server_side_retries=attempts(options),
            server_side_retries_delay=max(0.01, options.retry_delay),
            default_request_timeout=options.read_timeout,
            connect_timeout=options.connect_timeout,
        )
        transport.install(self.connector)  # before sushy logs in: it sets auth on the session
        self.auth: Any = SessionOrBasicAuth(username=username, password=password)
        try:
            # Reads the service root, then opens a session, or falls back to basic auth
            # when there is no SessionService (sushy-tools has none).
            self.root: Any = sushy.Sushy(
                url, verify=verify, auth=self.auth, connector=self.connector
            )
        except BaseException:
            self.connector.close()
            raise
        self._system_paths: dict[str, str] = {}

    def get(self, path: str) -> JsonDoc:
        """A required document: every HTTP error raises (5xx after the usual retries)."""
        doc = self.connector.get(path).json()
        if not isinstance(doc, dict):
            raise MalformedAnswer(f"{path} is not a JSON object")
        return doc

    def get_present(self, path: str) -> JsonDoc | None:
        """A system document or a page of the Systems collection, or None when the BMC
        says it does not exist (404, 410: a partition deleted since it was listed).

        Any other HTTP error raises, 5xx after the usual retries: a system that answers
        500 exists but cannot be read, and skipping it would register half a chassis.
        """
        try:
            return self.get(path)
        except sushy_exc.HTTPError as exc:
            if exc.status_code in ABSENT and not isinstance(exc, sushy_exc.AccessError):
                return None
            raise

    def get_optional(self, path: str) -> JsonDoc | None:
        """An optional inventory part (Processors, Memory, EthernetInterfaces,
        NetworkInterfaces and what they link to), or None when the BMC does not offer it.

        Deliberately more tolerant than :meth:`get_present`: any HTTP error but 401/403
        counts as "not offered", 5xx included, because BMCs answer 501 or even 500 for
        parts they do not implement (sushy-tools: 501 for Processors, 500 for Storage).
        A missing part makes a field unknown; it never hides a machine. No 5xx retries
        here either: retrying a permanent "not implemented" only costs time. Credentials
        and connection failures still raise: a BMC that went away mid-discovery is not an
        inventory without NICs.
        """
        try:
            # server_side_retries_left is a parameter of sushy's Connector._op that get()
            # passes through.
            doc = self.connector.get(path, server_side_retries_left=0).json()
        except sushy_exc.AccessError:
            raise
        except sushy_exc.HTTPError as exc:
            LOG.debug("%s%s not offered: HTTP %s", self.url, path, exc.status_code)
            return None
        except ValueError:  # not JSON: as good as absent for an optional part
            return None
        return doc if isinstance(doc, dict) else None

    @property
    def systems_path(self) -> str:
        path = self.root.json.get("Systems", {}).get("@odata.id")
        if not isinstance(path, str):
            raise MalformedAnswer("the service root has no Systems collection")
        return path

    def system_paths(self) -> list[str]:
        # Strict paging too: a page that fails is part of the machine list, not optional.
        return member_paths(self.get(self.systems_path), self.get_present)

    def remember(self, system_id: str, path: str) -> None:
        self._system_paths[system_id] = path

    def system(self, system_id: str) -> tuple[str, JsonDoc]:
        """The path and document of the system whose ``Id`` is ``system_id``.

        Tries ``<Systems>/<id>`` first; Redfish does not promise that URIs end in the
        ``Id`` (DMTF's own mockups break it), so on a miss the collection is searched.
        """
        guess = self._system_paths.get(system_id) or (
            f"{self.systems_path.rstrip('/')}/{quote(system_id, safe='')}"
        )
        doc = self.get_present(guess)
        if doc is not None and doc.get("Id") == system_id:
            self.remember(system_id, guess)
            return guess, doc
        for path in self.system_paths():
            if path == guess:
                continue
            candidate = self.get_present(path)
            if candidate is not None and system_id_of(candidate) == system_id:
                self.remember(system_id, path)
                return path, candidate
        raise SystemNotFound(self.url, f"no system {system_id!r}")

    def sushy_system(self, path: str) -> Any:
        return self.root.get_system(path)

    def close(self, logout: bool = True) -> None:
        """Delete the session (if one was opened) and close the connections; never raise.

        ``logout=False`` after a connection failure: a DELETE to a BMC that just failed
        to answer would only wait out the timeouts again.
        """
        if logout:
            try:
                self.auth.close()
            except Exception as exc:  # a dead BMC at shutdown must not stop the manager
                LOG.info("logout from %s failed: %s", self.url, exc)
        self.connector.close()


@dataclass(frozen=True, slots=True)
class _Key:
    url: str
    username: str
    verify: bool


class _Login:
    """One login in progress: whoever else needs the same client waits for its outcome."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.outcome: Future[RedfishClient] = Future()


class _Slot:
    """The client of one (BMC, user) and the login in progress, if any.

    ``lock`` guards these fields only and is never held across network I/O: a login to a
    hung BMC takes the timeouts of several requests, and callers that queued behind a
    lock held meanwhile would each wait that long in turn, then try again themselves.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: RedfishClient | None = None
        self.password: str | None = None
        self.login: _Login | None = None


CLOSE_WAIT = 5.0  # seconds a closing pool waits for a login in progress


def login_wait(options: DriverOptions) -> float:
    """How long a caller waits for another caller's login before giving up: what that
    login may cost within its timeouts (service root, SessionService, the session POST),
    each request ``attempts`` times."""
    per_request = attempts(options) * (
        options.connect_timeout + options.read_timeout + options.retry_delay
    )
    return 3 * per_request


class SessionPool:
    """Clients for every BMC one manager talks to; shared by the Redfish drivers."""

    def __init__(self, options: DriverOptions):
        self.options = options
        self._lock = threading.Lock()
        self._slots: dict[_Key, _Slot] = {}
        self._caps: dict[str, threading.BoundedSemaphore] = {}
        self._login_wait = login_wait(options)

    def run(self, bmc: Bmc, work: Callable[[RedfishClient], T], *, idempotent: bool = True) -> T:
        """``work(client)`` within the BMC's concurrency cap, with errors mapped.

        A reused client whose connection fails (refused, dropped) is replaced and the work
        tried once more: the BMC may have restarted and forgotten our session. Not after a
        timeout: a BMC that did not answer is slow or hung, and a new login would only wait
        out the same timeouts again; the session stays, as it is still good. Work that
        changes the machine (``idempotent=False``) is repeated only if the request never
        left.
        """
        url = check_bmc_url(bmc.url)
        check_credentials(bmc.username, bmc.password)
        key = _Key(url, bmc.username, bmc.verify_tls)
        slot, cap = self._slot(key)
        with cap:
            try:
                client, reused = self._client(slot, key, bmc.password)
                try:
                    return work(client)
                except (sushy_exc.ConnectionError, requests.RequestException) as exc:
                    if timed_out(exc):
                        raise
                    self._discard(slot, client)
                    if not reused or not (idempotent or nothing_was_sent(exc)):
                        raise
                    LOG.info("reconnecting to %s after: %s", url, exc)
                client, _ = self._client(slot, key, bmc.password)
                return work(client)
            except Exception as exc:
                raise to_driver_error(exc, bmc.url, self.options) from exc

    def _slot(self, key: _Key) -> tuple[_Slot, threading.BoundedSemaphore]:
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
            cap = self._caps.get(key.url)
            if cap is None:
                cap = threading.BoundedSemaphore(max(1, self.options.per_bmc_concurrency))
                self._caps[key.url] = cap
            return slot, cap

    def _client(self, slot: _Slot, key: _Key, password: str) -> tuple[RedfishClient, bool]:
        """The slot's client (reused: True), or a new one from one login at a time.

        Callers that arrive while a login with the same password is in progress share its
        outcome, client or error, instead of logging in again themselves; they wait at
        most :func:`login_wait`, then fail as "busy logging in".
        """
        while True:
            with slot.lock:
                if slot.client is not None and slot.password == password:
                    return slot.client, True
                login = slot.login
                if login is None:
                    login = slot.login = _Login(password)
                    old, slot.client = slot.client, None
                    break
            if not wait([login.outcome], timeout=self._login_wait).done:
                raise BmcUnreachable(
                    key.url,
                    f"busy logging in: another request's login to the BMC has taken "
                    f"over {self._login_wait:g}s",
                )
            try:
                client = login.outcome.result()
            except Exception:
                if login.password == password:
                    raise
                continue  # another password's login failed: try ours
            if login.password == password:
                return client, False
            # another password's login ended: look again (ours replaces it)
        try:
            if old is not None:  # the password changed: log the old session out first
                old.close()
            client = RedfishClient(key.url, key.username, password, key.verify, self.options)
        except BaseException as exc:
            with slot.lock:
                slot.login = None
            login.outcome.set_exception(exc)
            raise
        with slot.lock:
            slot.client, slot.password, slot.login = client, password, None
        login.outcome.set_result(client)
        return client, False

    @staticmethod
    def _discard(slot: _Slot, client: RedfishClient) -> None:
        with slot.lock:
            if slot.client is client:
                slot.client = None
        client.close(logout=False)

    def client_of(self, bmc: Bmc) -> RedfishClient | None:
        """The cached client for ``bmc``, if any (for tests and diagnostics)."""
        key = _Key(check_bmc_url(bmc.url), bmc.username, bmc.verify_tls)
        with self._lock:
            slot = self._slots.get(key)
        return slot.client if slot is not None else None

    def close(self) -> None:
        """Log out of every BMC. The pool stays usable: new clients are made on demand.

        A login in progress is waited for briefly so that its session is logged out too;
        not for long: a manager stopping must not hang on a BMC that does not answer (the
        BMC expires a session nobody logged out).
        """
        with self._lock:
            slots = list(self._slots.values())
        for slot in slots:
            with slot.lock:
                login = slot.login
            if login is not None:  # failed or too slow: nothing of it to log out
                wait([login.outcome], timeout=min(self._login_wait, CLOSE_WAIT))
            with slot.lock:
                client, slot.client = slot.client, None
            if client is not None:
                client.close()
