"""The lab's storage array: volumes (sparse files) and host groups mapping them to
initiator identities at LUNs.

A host group is what arrays call a host group or an ACL: a set of initiators (WWPNs or
IQNs, MACs for the lab's iSCSI-less Ethernet boot) that see the same volumes at the same
LUNs. As on real arrays, one initiator belongs to at most one host group, and a volume
has at most one LUN within a host group.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

GIB = 1024**3
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MAX_LUN = 255
MAX_CAPACITY = 64 * 1024 * GIB
_HEX_PAIRS = re.compile(r"([0-9a-f]{2}[:-]){5,7}[0-9a-f]{2}")
# RFC 3720: iqn.YYYY-MM.reversed.domain[:anything]
_IQN = re.compile(r"iqn\.\d{4}-\d{2}\.[a-z0-9][a-z0-9.-]*(:[^\s]+)?")
NAA_OUI = "6b616e"  # "kan": the vendor part of the lab's volume NAA names


class SanError(ValueError):
    """A request the array refuses; ``message_id`` names the Redfish Base message."""

    def __init__(self, message: str, message_id: str = "Base.1.22.PropertyValueError") -> None:
        super().__init__(message)
        self.message_id = message_id


class IdentityKind(StrEnum):
    """What an initiator identity is, named as Redfish's DurableNameFormat names it."""

    WWPN = "FC_WWN"
    MAC = "MACAddress"
    IQN = "iQN"


@dataclass
class Volume:
    id: str
    name: str
    capacity_bytes: int
    path: Path

    @property
    def naa(self) -> str:
        """A stable NAA-6 name (32 hex digits): the same volume id is the same LUN name,
        so a restarted lab and the manager's records agree."""
        digest = hashlib.sha256(self.id.encode()).hexdigest()
        return f"6{NAA_OUI}{digest[:25]}"


@dataclass
class HostGroup:
    id: str
    name: str
    initiators: set[str] = field(default_factory=set)
    luns: dict[int, str] = field(default_factory=dict)  # LUN -> volume id


def valid_id(text: str) -> bool:
    """Whether ``text`` can name a volume or host group (and so be a URI segment)."""
    return _ID.match(text) is not None


def normalize_identity(value: str) -> str:
    """WWPNs and MACs compare lower-case with colons; IQNs lower-case."""
    text = value.strip().lower()
    if re.fullmatch(r"[0-9a-f]{16}", text):
        text = ":".join(text[i : i + 2] for i in range(0, 16, 2))
    return text.replace("-", ":") if _HEX_PAIRS.fullmatch(text) else text


def identity_kind(value: str) -> IdentityKind | None:
    """The kind of a normalized identity, or None when it is none of them."""
    if re.fullmatch(r"([0-9a-f]{2}:){7}[0-9a-f]{2}", value):
        return IdentityKind.WWPN
    if re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", value):
        return IdentityKind.MAC
    if _IQN.fullmatch(value):
        return IdentityKind.IQN
    return None


def parse_identity(value: object) -> str:
    """``value`` normalized, or a SanError that says what an initiator may be."""
    text = normalize_identity(value) if isinstance(value, str) else ""
    if not text or identity_kind(text) is None:
        raise SanError(
            f"initiator {value!r} is not a WWPN (8 hex pairs), a MAC (6 hex pairs) "
            "or an IQN (iqn.YYYY-MM.domain[:name])",
            "Base.1.22.PropertyValueFormatError",
        )
    return text


class San:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.volumes: dict[str, Volume] = {}
        self.host_groups: dict[str, HostGroup] = {}
        self.failed_paths: set[str] = set()  # initiators whose path to the array is down

    # volumes -------------------------------------------------------------------------
    def create_volume(self, volume_id: str, capacity_bytes: int, name: str = "") -> Volume:
        if not _ID.match(volume_id):
            raise SanError(f"volume id {volume_id!r} must be 1-63 letters, digits, . _ -")
        if volume_id in self.volumes:
            raise SanError(f"volume {volume_id} exists", "Base.1.22.ResourceAlreadyExists")
        if not 0 < capacity_bytes <= MAX_CAPACITY:
            raise SanError(
                "CapacityBytes must be between 1 byte and 64 TiB",
                "Base.1.22.PropertyValueOutOfRange",
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{volume_id}.img"
        with path.open("wb") as f:
            f.truncate(capacity_bytes)  # sparse: costs no disk until written
        volume = Volume(volume_id, name or volume_id, capacity_bytes, path)
        self.volumes[volume_id] = volume
        return volume

    def delete_volume(self, volume_id: str) -> None:
        volume = self.volume(volume_id)
        mapped = [g.id for g in self.host_groups.values() if volume_id in g.luns.values()]
        if mapped:
            raise SanError(
                f"volume {volume_id} is mapped in host group(s) {', '.join(sorted(mapped))}; "
                "unmap it first",
                "Base.1.22.ResourceInUse",
            )
        volume.path.unlink(missing_ok=True)
        del self.volumes[volume_id]

    def volume(self, volume_id: str) -> Volume:
        try:
            return self.volumes[volume_id]
        except KeyError:
            raise SanError(f"no volume {volume_id}", "Base.1.22.ResourceMissingAtURI") from None

    # host groups -----------------------------------------------------------------------
    def create_host_group(self, group_id: str, initiators: set[str], name: str = "") -> HostGroup:
        if not _ID.match(group_id):
            raise SanError(f"host group id {group_id!r} must be 1-63 letters, digits, . _ -")
        if group_id in self.host_groups:
            raise SanError(f"host group {group_id} exists", "Base.1.22.ResourceAlreadyExists")
        group = HostGroup(group_id, name or group_id)
        self.host_groups[group_id] = group
        try:
            self.set_initiators(group_id, initiators)
        except SanError:
            del self.host_groups[group_id]
            raise
        return group

    def delete_host_group(self, group_id: str) -> None:
        self.host_group(group_id)
        del self.host_groups[group_id]

    def host_group(self, group_id: str) -> HostGroup:
        try:
            return self.host_groups[group_id]
        except KeyError:
            raise SanError(f"no host group {group_id}", "Base.1.22.ResourceMissingAtURI") from None

    def set_initiators(self, group_id: str, initiators: set[str]) -> None:
        group = self.host_group(group_id)
        wanted = {parse_identity(i) for i in initiators}
        for other in self.host_groups.values():
            clash = wanted & other.initiators if other is not group else set()
            if clash:
                raise SanError(
                    f"initiator {sorted(clash)[0]} is already in host group {other.id}",
                    "Base.1.22.ResourceInUse",
                )
        group.initiators = wanted

    def map_volume(self, group_id: str, volume_id: str, lun: int) -> None:
        """Present ``volume_id`` at ``lun``; mapping it again at the same LUN changes
        nothing, so a manager that repeats a step after a lost answer is safe."""
        group = self.host_group(group_id)
        self._check_mapping(volume_id, lun)
        held = group.luns.get(lun, volume_id)
        if held != volume_id:
            raise SanError(
                f"LUN {lun} of host group {group_id} already holds volume {held}",
                "Base.1.22.ResourceInUse",
            )
        elsewhere = [n for n, v in group.luns.items() if v == volume_id and n != lun]
        if elsewhere:
            raise SanError(
                f"volume {volume_id} is already at LUN {elsewhere[0]} of host group {group_id}",
                "Base.1.22.ResourceInUse",
            )
        group.luns[lun] = volume_id

    def set_luns(self, group_id: str, luns: dict[int, str]) -> None:
        """Replace every mapping of a host group at once (a PATCH of its VolumeInfo):
        all of it is checked before any of it takes effect."""
        group = self.host_group(group_id)
        for lun, volume_id in luns.items():
            self._check_mapping(volume_id, lun)
        seen: dict[str, int] = {}
        for lun, volume_id in sorted(luns.items()):
            if volume_id in seen:
                raise SanError(
                    f"volume {volume_id} is given at LUN {seen[volume_id]} and LUN {lun}; "
                    "a volume has one LUN in a host group",
                    "Base.1.22.PropertyValueConflict",
                )
            seen[volume_id] = lun
        group.luns = dict(luns)

    def _check_mapping(self, volume_id: str, lun: int) -> None:
        self.volume(volume_id)
        if not 0 <= lun <= MAX_LUN:
            raise SanError(f"LUN {lun} is outside 0-{MAX_LUN}", "Base.1.22.PropertyValueOutOfRange")

    def unmap_volume(self, group_id: str, volume_id: str) -> None:
        """Take ``volume_id`` out of the group; a volume that is not in it is no error."""
        group = self.host_group(group_id)
        group.luns = {lun: v for lun, v in group.luns.items() if v != volume_id}

    # what hosts see ----------------------------------------------------------------------
    def visible(self, identities: set[str]) -> dict[int, str]:
        """LUN -> volume id seen by a host presenting ``identities`` over working paths."""
        ids = {normalize_identity(i) for i in identities} - self.failed_paths
        seen: dict[int, str] = {}
        for group in sorted(self.host_groups.values(), key=lambda g: g.id):
            if group.initiators & ids:
                for lun, volume in group.luns.items():
                    seen.setdefault(lun, volume)
        return seen

    def mapped_to(self, volume_id: str) -> set[str]:
        """Every initiator that can see ``volume_id``."""
        found: set[str] = set()
        for group in self.host_groups.values():
            if volume_id in group.luns.values():
                found |= group.initiators
        return found

    def groups_of(self, volume_id: str) -> list[HostGroup]:
        """The host groups that present ``volume_id``, by id."""
        return sorted(
            (g for g in self.host_groups.values() if volume_id in g.luns.values()),
            key=lambda g: g.id,
        )

    def group_of(self, identity: str) -> HostGroup | None:
        """The host group holding ``identity`` (at most one), if any."""
        for group in self.host_groups.values():
            if identity in group.initiators:
                return group
        return None

    def write_boot_record(self, volume_id: str, record: dict[str, str]) -> None:
        """What a booting OS writes to its disk: who booted it and when. A test can read
        it back to see which server last ran from a volume."""
        volume = self.volume(volume_id)
        data = json.dumps(record).encode()[:4095].ljust(4096, b"\0")
        with volume.path.open("r+b") as f:
            f.write(data)

    def read_boot_record(self, volume_id: str) -> dict[str, str] | None:
        volume = self.volume(volume_id)
        with volume.path.open("rb") as f:
            raw = f.read(4096).rstrip(b"\0")
        if not raw:
            return None
        result: dict[str, str] = json.loads(raw)
        return result
