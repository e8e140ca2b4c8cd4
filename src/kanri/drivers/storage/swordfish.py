"""Storage arrays over Swordfish-style Redfish: the kanri lab's SAN, and arrays shaped
like it. Volumes live under the service's one Storage resource; host groups are the
Connections of the one fabric that has them.

The driver shares the Redfish drivers' session pool (:mod:`kanri.drivers.redfish`): one
login per array and user, bounded timeouts, a cap on requests in flight, and a request
that changes something is never sent again after its answer was lost. A host group's
mappings change by read, then ``PATCH`` with ``If-Match``: two managers mapping LUNs at
once cannot undo each other's work, and a repeated map or unmap is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import quote

import sushy.exceptions as sushy_exc

from kanri.domain.errors import Conflict, Invalid, KanriError, NotFound
from kanri.domain.model import Bmc
from kanri.domain.storage import (
    HostGroup,
    StorageArray,
    Volume,
    check_lun,
    check_object_id,
    normalize_initiators,
    plan_map,
)
from kanri.drivers.base import BmcProtocolError
from kanri.drivers.redfish.common import RedfishDriverBase
from kanri.drivers.redfish.errors import one_line
from kanri.drivers.redfish.mapping import JsonDoc, link, member_paths
from kanri.drivers.redfish.sessions import RedfishClient
from kanri.drivers.registry import DriverContext
from kanri.drivers.storage.swordfish_mapping import (
    endpoint_identity,
    endpoint_links,
    expanded_members,
    host_group_of,
    initiators_body,
    oem_initiators,
    volume_info,
    volume_of,
)

T = TypeVar("T")

# Read-modify-write rounds of a host group's mappings before giving up. Each lost round
# is another writer's won one, so N writers at once need N rounds at most.
CHANGE_ATTEMPTS = 5

# What an array's refusal (4xx) means to an operator.
_REFUSALS: dict[int, type[KanriError]] = {
    HTTPStatus.BAD_REQUEST: Invalid,
    HTTPStatus.NOT_FOUND: NotFound,
    HTTPStatus.CONFLICT: Conflict,
    HTTPStatus.UNPROCESSABLE_ENTITY: Invalid,
}


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where an array keeps its volumes and host groups."""

    volumes: str
    connections: str


def _refusal(url: str, exc: BmcProtocolError) -> KanriError:
    """The domain error for an array that refused a request; ``exc`` itself otherwise."""
    cause = exc.__cause__
    if isinstance(cause, sushy_exc.HTTPError) and not isinstance(cause, sushy_exc.AccessError):
        kind = _REFUSALS.get(cause.status_code or 0)
        if kind is not None:
            detail = cause.detail or HTTPStatus(cause.status_code or 400).phrase
            return kind(f"{url}: {one_line(str(detail))}")
    return exc


class SwordfishStorage(RedfishDriverBase):
    """:class:`kanri.drivers.base.StorageDriver` over Swordfish-style Redfish."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self._layouts: dict[str, _Layout] = {}

    # plumbing ----------------------------------------------------------------------------
    def _run(
        self, array: StorageArray, work: Callable[[RedfishClient], T], *, idempotent: bool = True
    ) -> T:
        """``work`` with every failure the array's (``Bmc*``): a 404 while logging in or
        finding the layout means the URL is no storage array, not that the caller named
        something that does not exist."""
        bmc = Bmc(array.url, array.username, array.password, array.verify_tls)
        try:
            return self.sessions.run(bmc, work, idempotent=idempotent)
        except Invalid as exc:  # the session pool checks URL and credentials in BMC words
            raise Invalid(str(exc).replace("BMC", "array")) from None

    def _request(
        self,
        array: StorageArray,
        work: Callable[[RedfishClient, _Layout], T],
        *,
        idempotent: bool = False,
    ) -> T:
        """One request about a named volume or host group: the layout is found first by
        the reads' rules, so that only this request's refusal (404, 409, 400) reads as
        :class:`NotFound`, :class:`Conflict` or :class:`Invalid`."""
        layout = self._run(array, self._layout)
        try:
            return self._run(array, lambda client: work(client, layout), idempotent=idempotent)
        except BmcProtocolError as exc:
            refusal = _refusal(array.url, exc)
            if refusal is exc:
                raise
            raise refusal from exc

    def _layout(self, client: RedfishClient) -> _Layout:
        cached = self._layouts.get(client.url)
        if cached is not None:
            return cached
        root: JsonDoc = client.root.json
        storage_path, fabrics_path = link(root, "Storage"), link(root, "Fabrics")
        if storage_path is None or fabrics_path is None:
            raise BmcProtocolError(
                client.url, "not a storage array: the service root lists no Storage or Fabrics"
            )
        arrays = member_paths(client.get(storage_path), client.get_present)
        if len(arrays) != 1:
            raise BmcProtocolError(
                client.url, f"the service has {len(arrays)} Storage resources; kanri drives one"
            )
        volumes = link(client.get(arrays[0]), "Volumes")
        connections = None
        for path in member_paths(client.get(fabrics_path), client.get_present):
            connections = link(client.get(path), "Connections")
            if connections is not None:
                break
        if volumes is None or connections is None:
            raise BmcProtocolError(
                client.url, "the array offers no Volumes or no fabric Connections (host groups)"
            )
        layout = self._layouts[client.url] = _Layout(volumes, connections)
        return layout

    @staticmethod
    def _members(client: RedfishClient, path: str) -> list[JsonDoc]:
        """Every member of a collection: in one request where ``$expand`` works."""
        whole = client.get_optional(f"{path}?$expand=.")
        members = expanded_members(whole) if whole is not None else None
        if members is not None:
            return members
        return [client.get(p) for p in member_paths(client.get(path), client.get_present)]

    @staticmethod
    def _group_path(layout: _Layout, group_id: str) -> str:
        return f"{layout.connections}/{quote(group_id, safe='')}"

    @staticmethod
    def _initiators(client: RedfishClient, doc: JsonDoc, seen: dict[str, str]) -> frozenset[str]:
        listed = oem_initiators(doc)
        if listed is not None:
            return listed
        for path in endpoint_links(doc):
            if path not in seen:
                seen[path] = endpoint_identity(client.get(path))
        return frozenset(seen[p] for p in endpoint_links(doc))

    # reads -------------------------------------------------------------------------------
    def check(self, array: StorageArray) -> None:
        self._run(array, self._layout)

    def volumes(self, array: StorageArray) -> list[Volume]:
        def work(client: RedfishClient) -> list[Volume]:
            docs = self._members(client, self._layout(client).volumes)
            return sorted((volume_of(d) for d in docs), key=lambda v: v.id)

        return self._run(array, work)

    def host_groups(self, array: StorageArray) -> list[HostGroup]:
        def work(client: RedfishClient) -> list[HostGroup]:
            seen: dict[str, str] = {}
            groups = [
                host_group_of(doc, self._initiators(client, doc, seen))
                for doc in self._members(client, self._layout(client).connections)
                if doc.get("ConnectionType", "Storage") == "Storage"
            ]
            return sorted(groups, key=lambda g: g.id)

        return self._run(array, work)

    # changes -----------------------------------------------------------------------------
    def create_volume(
        self, array: StorageArray, volume_id: str, capacity_bytes: int, name: str = ""
    ) -> Volume:
        check_object_id("volume", volume_id)
        body = {"Id": volume_id, "Name": name or volume_id, "CapacityBytes": capacity_bytes}

        def work(client: RedfishClient, layout: _Layout) -> Volume:
            return volume_of(client.connector.post(layout.volumes, data=body).json())

        return self._request(array, work)

    def delete_volume(self, array: StorageArray, volume_id: str) -> None:
        check_object_id("volume", volume_id)
        self._request(
            array, lambda client, layout: client.connector.delete(f"{layout.volumes}/{volume_id}")
        )

    def create_host_group(
        self, array: StorageArray, group_id: str, initiators: Iterable[str]
    ) -> HostGroup:
        check_object_id("host group", group_id)
        wanted = normalize_initiators(initiators)
        body = {
            "Id": group_id,
            "Name": group_id,
            "ConnectionType": "Storage",
            "VolumeInfo": [],
            **initiators_body(wanted),
        }

        def work(client: RedfishClient, layout: _Layout) -> HostGroup:
            return host_group_of(
                client.connector.post(layout.connections, data=body).json(), wanted
            )

        return self._request(array, work)

    def delete_host_group(self, array: StorageArray, group_id: str) -> None:
        check_object_id("host group", group_id)
        self._request(
            array,
            lambda client, layout: client.connector.delete(self._group_path(layout, group_id)),
        )

    def set_initiators(self, array: StorageArray, group_id: str, initiators: Iterable[str]) -> None:
        check_object_id("host group", group_id)
        body = initiators_body(normalize_initiators(initiators))
        self._request(
            array,
            lambda client, layout: client.connector.patch(
                self._group_path(layout, group_id), data=body
            ),
        )

    def map_volume(self, array: StorageArray, group_id: str, volume_id: str, lun: int) -> None:
        check_object_id("volume", volume_id)
        check_lun(lun)

        def plan(group: HostGroup) -> Mapping[int, str] | None:
            return {**group.luns, lun: volume_id} if plan_map(group, volume_id, lun) else None

        self._change_luns(array, group_id, plan)

    def unmap_volume(self, array: StorageArray, group_id: str, volume_id: str) -> None:
        check_object_id("volume", volume_id)

        def plan(group: HostGroup) -> Mapping[int, str] | None:
            if group.lun_of(volume_id) is None:
                return None
            return {n: v for n, v in group.luns.items() if v != volume_id}

        self._change_luns(array, group_id, plan)

    def _change_luns(
        self,
        array: StorageArray,
        group_id: str,
        plan: Callable[[HostGroup], Mapping[int, str] | None],
    ) -> None:
        """Read the group, decide (``plan`` returns None: nothing to do), write the whole
        new VolumeInfo if the group is still as read; again if it was not."""
        check_object_id("host group", group_id)
        read = partial(self._read_group, group_id=group_id)
        for _ in range(CHANGE_ATTEMPTS):
            group, tag = self._request(array, read, idempotent=True)
            try:
                luns = plan(group)
            except Conflict as exc:
                raise Conflict(f"{array.url}: {exc}") from None
            if luns is None:
                return
            write = partial(self._write_luns, group_id=group_id, luns=luns, tag=tag)
            if self._request(array, write):
                return
        raise Conflict(
            f"{array.url}: host group {group_id} kept changing while kanri changed its "
            f"mappings ({CHANGE_ATTEMPTS} attempts); try again"
        )

    def _read_group(
        self, client: RedfishClient, layout: _Layout, group_id: str
    ) -> tuple[HostGroup, str | None]:
        answer = client.connector.get(self._group_path(layout, group_id))
        doc: JsonDoc = answer.json()
        return host_group_of(doc, frozenset()), answer.headers.get("ETag")

    def _write_luns(
        self,
        client: RedfishClient,
        layout: _Layout,
        group_id: str,
        luns: Mapping[int, str],
        tag: str | None,
    ) -> bool:
        """PATCH the group's VolumeInfo; False when it changed since read (412)."""
        body: dict[str, Any] = {"VolumeInfo": volume_info(layout.volumes, luns)}
        headers = {"If-Match": tag} if tag else None
        try:
            client.connector.patch(self._group_path(layout, group_id), data=body, headers=headers)
        except sushy_exc.HTTPError as exc:
            if exc.status_code == HTTPStatus.PRECONDITION_FAILED:
                return False
            raise
        return True
