"""Partitions over Redfish composition: :class:`RedfishPartitions` (docs/partitions.md,
"Drivers: Redfish composition and the fake"; the lab's side in docs/lab/partitions.md).

- mode: the BIOS attribute ``SystemMode``, changed through the ``@Redfish.Settings``
  SettingsObject; the pending value is the settings resource's.
- pool: the host's ResourceZone and its ResourceBlocks, read as JSON through the
  connector (sushy 5.14's ``CompositionService.resource_blocks`` / ``resource_zones``
  crash with "'function' object has no attribute 'decode'", and its ResourceBlock reads
  ``ResourceBlockType`` as None).
- partitions: systems with ``SystemType: VirtuallyPartitioned`` whose
  ``Oem.KanriLab.Host`` is the host; create is one POST (never resent), modify a PATCH,
  delete a DELETE; identities are PATCHes of the NetworkDeviceFunction found through the
  system's NetworkInterfaces.

Every call runs in the shared session pool (one session per BMC, its concurrency cap,
timeouts). A Redfish refusal becomes the domain error it means, with the BMC's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sushy.exceptions as sushy_exc

from kanri.domain.errors import BmcError, Conflict, Invalid, KanriError, NotFound
from kanri.domain.model import Bmc
from kanri.domain.partitions import MachineMode, Partition, PartitionSpec, Pool, PortKind
from kanri.drivers.base import SystemNotFound
from kanri.drivers.redfish.common import RedfishDriverBase
from kanri.drivers.redfish.mapping import JsonDoc, MalformedAnswer, link, member_paths
from kanri.drivers.redfish.partitions_mapping import (
    MODE_VALUES,
    Block,
    Function,
    block_of,
    check_identity,
    function_of,
    is_partition_of,
    last_segment,
    mode_of,
    oem_layout,
    partition_of,
    pool_of,
    refusal,
    specific_body,
)
from kanri.drivers.redfish.sessions import RedfishClient

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Done(Generic[T]):
    value: T


@dataclass(frozen=True, slots=True)
class _Refused:
    error: KanriError


class RedfishPartitions(RedfishDriverBase):
    """:class:`kanri.drivers.base.PartitionDriver` over the lab's Redfish composition."""

    # -- plumbing ------------------------------------------------------------------------
    def _run(
        self,
        bmc: Bmc,
        asked: str,
        work: Callable[[RedfishClient], T],
        *,
        idempotent: bool = True,
    ) -> T:
        """``work`` in the session pool; a refusal is returned through the pool as a
        value (the pool turns every exception into a BMC error) and raised here."""

        def guarded(client: RedfishClient) -> _Done[T] | _Refused:
            try:
                return _Done(work(client))
            except sushy_exc.AccessError:
                raise
            except sushy_exc.HTTPError as exc:
                found = refusal(
                    exc.status_code or 0,
                    getattr(exc, "body", None),
                    getattr(exc, "detail", None),
                    asked,
                )
                if found is None:
                    raise
                return _Refused(found)
            except SystemNotFound as exc:
                return _Refused(NotFound(f"{asked}: {exc.reason}"))
            except BmcError:
                raise
            except KanriError as exc:
                return _Refused(exc)

        outcome = self.sessions.run(bmc, guarded, idempotent=idempotent)
        if isinstance(outcome, _Refused):
            raise outcome.error
        return outcome.value

    @staticmethod
    def _machine(client: RedfishClient, host: str) -> tuple[str, JsonDoc]:
        path, doc = client.system(host)
        if is_partition_of(doc, None):
            raise Invalid(f"{host} is a partition, not a machine: it has no mode or pool")
        return path, doc

    @staticmethod
    def _partition(client: RedfishClient, partition_id: str) -> tuple[str, JsonDoc]:
        path, doc = client.system(partition_id)
        if not is_partition_of(doc, None):
            raise Invalid(f"{partition_id} is a machine, not a partition")
        return path, doc

    @staticmethod
    def _members(client: RedfishClient, doc: JsonDoc | None, key: str) -> list[JsonDoc]:
        path = link(doc, key) if doc else None
        collection = client.get_optional(path) if path else None
        if collection is None:
            return []
        found = (client.get_present(p) for p in member_paths(collection, client.get_present))
        return [d for d in found if d is not None]

    def _functions(self, client: RedfishClient, system_id: str, doc: JsonDoc) -> list[Function]:
        """The NetworkDeviceFunctions ``system_id`` uses, through its NetworkInterfaces."""
        return [
            function_of(f, system_id)
            for interface in self._members(client, doc, "NetworkInterfaces")
            for f in self._members(client, interface, "NetworkDeviceFunctions")
        ]

    def _identities(self, client: RedfishClient, doc: JsonDoc) -> dict[str, str]:
        """Shared port -> the virtual identity configured on its function."""
        oem = (doc.get("Oem") or {}).get("KanriLab") or {}
        if not any(isinstance(p, dict) and p.get("Shared") for p in oem.get("Ports") or []):
            return {}  # no virtual function to read
        system_id = str(doc.get("Id"))
        return {
            f.port: f.configured
            for f in self._functions(client, system_id, doc)
            if f.virtual and f.configured
        }

    def _zone_blocks(self, client: RedfishClient, host: str, host_doc: JsonDoc) -> list[Block]:
        """The blocks of ``host``'s ResourceZone; [] when it has none (a bare machine)."""
        service_path = link(client.root.json, "CompositionService")
        service = client.get_optional(service_path) if service_path else None
        zones_path = link(service, "ResourceZones") if service else None
        if zones_path is None:
            return []
        chassis = {
            str(c.get("@odata.id"))
            for c in (host_doc.get("Links") or {}).get("Chassis") or []
            if isinstance(c, dict)
        }
        # The lab names a host's zone "{host}-zone": try it first (one GET), then look
        # through the zones for the one whose blocks belong to the host's chassis.
        guess = f"{zones_path.rstrip('/')}/{host}-zone"
        zone = client.get_present(guess)
        found = self._blocks_of(client, zone, chassis) if zone is not None else None
        if found is not None:
            return found
        for path in member_paths(client.get(zones_path), client.get_present):
            zone = client.get_present(path) if path != guess else None
            found = self._blocks_of(client, zone, chassis) if zone is not None else None
            if found is not None:
                return found
        return []

    @staticmethod
    def _blocks_of(client: RedfishClient, zone: JsonDoc, chassis: set[str]) -> list[Block] | None:
        """The zone's blocks when they belong to one of ``chassis``, else None."""
        refs = (zone.get("Links") or {}).get("ResourceBlocks") or []
        paths = [str(r["@odata.id"]) for r in refs if isinstance(r, dict) and "@odata.id" in r]
        if not paths:
            return None
        first = client.get(paths[0])
        if not _belongs(first, chassis):
            return None
        return [block_of(first), *(block_of(client.get(p)) for p in paths[1:])]

    # -- mode ----------------------------------------------------------------------------
    def _bios(self, client: RedfishClient, system_id: str) -> tuple[JsonDoc, str]:
        """The Bios document in effect and the path of its settings resource."""
        _, doc = self._machine(client, system_id)
        bios_path = link(doc, "Bios")
        if bios_path is None:
            raise Invalid(f"{system_id} has no BIOS resource: its mode cannot be read or set")
        bios = client.get(bios_path)
        settings = link(bios, "@Redfish.Settings", "SettingsObject")
        if settings is None:
            raise Invalid(f"{system_id}'s BIOS names no settings resource: its mode cannot be set")
        return bios, settings

    def mode(self, bmc: Bmc, system_id: str) -> tuple[MachineMode, MachineMode | None]:
        def work(client: RedfishClient) -> tuple[MachineMode, MachineMode | None]:
            bios, settings_path = self._bios(client, system_id)
            now = mode_of(bios.get("Attributes"), system_id)
            settings = client.get(settings_path)
            pending = mode_of(settings.get("Attributes") or bios.get("Attributes"), system_id)
            return now, (pending if pending is not now else None)

        return self._run(bmc, f"mode of {system_id}", work)

    def set_mode(self, bmc: Bmc, system_id: str, mode: MachineMode) -> None:
        def work(client: RedfishClient) -> None:
            _, settings_path = self._bios(client, system_id)
            body = {"Attributes": {"SystemMode": MODE_VALUES[mode]}}
            client.connector.patch(settings_path, data=body)

        self._run(bmc, f"set {system_id} to {mode} mode", work, idempotent=False)

    # -- pool and partitions -------------------------------------------------------------
    def pool(self, bmc: Bmc, host: str) -> Pool:
        def work(client: RedfishClient) -> Pool:
            _, doc = self._machine(client, host)
            blocks = self._zone_blocks(client, host, doc)
            functions = self._functions(client, host, doc) if blocks else []
            return pool_of(host, blocks, functions)

        return self._run(bmc, f"pool of {host}", work)

    def partitions(self, bmc: Bmc, host: str) -> list[Partition]:
        def work(client: RedfishClient) -> list[Partition]:
            self._machine(client, host)
            found: list[Partition] = []
            for path in client.system_paths():
                doc = client.get_present(path)
                if doc is not None and is_partition_of(doc, host):
                    found.append(partition_of(doc, self._identities(client, doc)))
            return sorted(found, key=lambda p: p.id)

        return self._run(bmc, f"partitions of {host}", work)

    def create(self, bmc: Bmc, host: str, spec: PartitionSpec) -> Partition:
        _check_identities(spec, f"partition {spec.name}")

        def work(client: RedfishClient) -> Partition:
            _, host_doc = self._machine(client, host)
            body: dict[str, Any] = {"Name": spec.name}
            if spec.cpus:
                blocks = self._zone_blocks(client, host, host_doc)
                body |= specific_body(host, spec, blocks, own=())
            else:
                body |= oem_layout(spec, host)
            answer = client.connector.post(client.systems_path, data=body)
            doc = _created(client, answer)
            return self._finish(client, doc, spec, created=True)

        return self._run(bmc, f"create partition {spec.name} on {host}", work, idempotent=False)

    def modify(self, bmc: Bmc, partition_id: str, spec: PartitionSpec) -> Partition:
        _check_identities(spec, f"partition {partition_id}")

        def work(client: RedfishClient) -> Partition:
            path, doc = self._partition(client, partition_id)
            current = partition_of(doc)
            if spec.name != current.spec.name:
                raise Invalid(
                    f"partition {partition_id} is named {current.spec.name!r}: the BMC "
                    f"cannot rename it to {spec.name!r}"
                )
            if spec.cpus and tuple(spec.cpus) != current.spec.cpus:
                _, host_doc = self._machine(client, current.host)
                blocks = self._zone_blocks(client, current.host, host_doc)
                own = tuple(
                    last_segment(str(r.get("@odata.id", "")))
                    for r in (doc.get("Links") or {}).get("ResourceBlocks") or []
                    if isinstance(r, dict)
                )
                body = specific_body(current.host, spec, blocks, own)
            else:
                body = oem_layout(spec)
            client.connector.patch(path, data=body)
            return self._finish(client, client.get(path), spec, created=False)

        return self._run(bmc, f"modify partition {partition_id}", work, idempotent=False)

    def _finish(
        self, client: RedfishClient, doc: JsonDoc, spec: PartitionSpec, created: bool
    ) -> Partition:
        """Set the virtual identities ``spec`` names on shared ports, then read back."""
        wanted = {p.port: p.identity for p in spec.ports if p.shared and p.identity}
        identities = self._identities(client, doc)
        partition_id = str(doc.get("Id"))
        for port, identity in wanted.items():
            if (identities.get(port) or "").lower() == identity.lower():
                continue
            try:
                self._set_identity(client, partition_id, doc, port, identity)
            except (KanriError, sushy_exc.HTTPError) as exc:
                done = "created" if created else "changed"
                detail = getattr(exc, "detail", None) or str(exc)
                raise Conflict(
                    f"partition {partition_id} was {done}, but identity {identity} on its "
                    f"port {port} was refused: {detail}"
                ) from exc
            identities[port] = identity
        return partition_of(doc, identities)

    def delete(self, bmc: Bmc, partition_id: str) -> None:
        def work(client: RedfishClient) -> None:
            path, _ = self._partition(client, partition_id)
            client.connector.delete(path)

        self._run(bmc, f"delete partition {partition_id}", work, idempotent=False)

    # -- identities ----------------------------------------------------------------------
    def _set_identity(
        self, client: RedfishClient, system_id: str, doc: JsonDoc, port: str, identity: str | None
    ) -> None:
        functions = self._functions(client, system_id, doc)
        # a system lists its own functions; a host also lists those of ports it dedicated
        # to a partition: its own (non-virtual) one is the one asked for
        found = next((f for f in functions if f.port == port), None)
        if found is None:
            ports = ", ".join(sorted({f.port for f in functions})) or "none"
            raise NotFound(f"{system_id} has no port {port} (its ports: {ports})")
        if identity is not None:
            check_identity(identity, found.kind, f"{system_id} port {port}")
        fc = found.kind is PortKind.FC
        section, key = ("FibreChannel", "WWPN") if fc else ("Ethernet", "MACAddress")
        client.connector.patch(found.path, data={section: {key: identity}})

    def set_identity(self, bmc: Bmc, system_id: str, port: str, identity: str | None) -> None:
        def work(client: RedfishClient) -> None:
            _, doc = client.system(system_id)
            self._set_identity(client, system_id, doc, port, identity)

        self._run(bmc, f"set the identity of {system_id} port {port}", work, idempotent=False)


# helpers -----------------------------------------------------------------------------------
def _belongs(block: JsonDoc, chassis: set[str]) -> bool:
    links = (block.get("Links") or {}).get("Chassis") or []
    return any(isinstance(c, dict) and str(c.get("@odata.id")) in chassis for c in links)


def _check_identities(spec: PartitionSpec, where: str) -> None:
    """Identities are checked before anything is sent: a bad one changes nothing."""
    for use in spec.ports:
        if use.identity is not None:
            if not use.shared:
                raise Invalid(
                    f"{where}: port {use.port} is dedicated and presents the host port's own "
                    "identity; only a shared port takes a virtual one"
                )
            check_identity(use.identity, None, f"{where} port {use.port}")


def _created(client: RedfishClient, answer: Any) -> JsonDoc:
    """The new system's document: the 201 body, else what ``Location`` names."""
    try:
        doc = answer.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("Id"):
        return doc
    location = answer.headers.get("Location")
    if not location:
        raise MalformedAnswer("the BMC composed a partition but named no Location for it")
    return client.get(location)
