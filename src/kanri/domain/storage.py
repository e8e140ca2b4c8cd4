"""Storage arrays, their volumes and host groups, as plain values; the rules of LUN
mapping that every storage driver applies the same way.

A host group (an array's ACL) is a set of initiator identities (WWPNs, IQNs, MACs) that
see the same volumes at the same LUNs. One initiator is in at most one host group; a
volume has at most one LUN within a host group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.naming import normalize_bmc_url

MAX_LUN = 255  # the common SCSI limit of a host group's LUNs (most arrays: 0-255)
MAX_IQN = 223  # RFC 3720: an iSCSI name is at most 223 bytes

_OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_HEX_PAIRS = re.compile(r"([0-9a-f]{2}[:-]){5,7}[0-9a-f]{2}")
_IQN = re.compile(r"iqn\.\d{4}-\d{2}\.[a-z0-9][a-z0-9.-]*(:\S+)?")


class InitiatorKind(StrEnum):
    WWPN = "wwpn"  # Fibre Channel port name, 8 octets
    MAC = "mac"  # Ethernet boot by MAC, 6 octets
    IQN = "iqn"  # iSCSI qualified name


def initiator_kind(identity: str) -> InitiatorKind | None:
    """The kind of a normalized identity, or None when it is none of them."""
    if re.fullmatch(r"([0-9a-f]{2}:){7}[0-9a-f]{2}", identity):
        return InitiatorKind.WWPN
    if re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", identity):
        return InitiatorKind.MAC
    if len(identity.encode()) <= MAX_IQN and _IQN.fullmatch(identity):
        return InitiatorKind.IQN
    return None


def normalize_initiator(text: str) -> str:
    """One spelling per identity: lower case, octets joined by colons (``2000006B...``,
    ``20-00-...`` and ``20:00:...`` are one WWPN). :class:`Invalid` for anything that is
    not a WWPN, MAC or IQN."""
    value = text.strip().lower()
    if re.fullmatch(r"[0-9a-f]{16}", value):
        value = ":".join(value[i : i + 2] for i in range(0, 16, 2))
    if _HEX_PAIRS.fullmatch(value):
        value = value.replace("-", ":")
    if initiator_kind(value) is None:
        shown = text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"
        raise Invalid(
            f"invalid initiator {shown!r}: give a WWPN (8 hex pairs), a MAC (6 hex pairs) "
            f"or an IQN (iqn.YYYY-MM.domain[:name], at most {MAX_IQN} bytes)"
        )
    return value


def normalize_initiators(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize_initiator(t) for t in texts)


def normalize_array_url(url: str) -> str:
    """One spelling per array, by the rule BMC URLs follow (scheme, host, port)."""
    try:
        return normalize_bmc_url(url)
    except Invalid as exc:  # the rule is the BMCs'; the words must be the array's
        raise Invalid(
            str(exc).replace("BMC URL", "array URL").replace("BMC's", "array's")
        ) from None


def check_object_id(what: str, value: str) -> str:
    """A volume or host group id every array takes (and that is safe in a URL), or
    :class:`Invalid`."""
    if not _OBJECT_ID.fullmatch(value):
        raise Invalid(
            f"invalid {what} id {value!r}: use 1-63 letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return value


@dataclass(frozen=True, slots=True)
class StorageArray:
    """How to reach a storage array's management service."""

    url: str
    username: str
    password: str = field(repr=False)
    verify_tls: bool = True


@dataclass(frozen=True, slots=True)
class StorageSystem:
    """A storage array as kanri remembers it (its password stays in the store)."""

    name: str
    url: str
    driver: str
    username: str
    verify_tls: bool = True


@dataclass(frozen=True, slots=True)
class Volume:
    id: str
    name: str
    capacity_bytes: int
    durable_name: str | None = None  # the array's NAA or UUID name of the LUN


@dataclass(frozen=True, slots=True)
class HostGroup:
    id: str
    name: str
    initiators: frozenset[str] = frozenset()
    luns: Mapping[int, str] = field(default_factory=dict)  # LUN -> volume id

    def lun_of(self, volume_id: str) -> int | None:
        for lun, volume in self.luns.items():
            if volume == volume_id:
                return lun
        return None


@dataclass(frozen=True, slots=True)
class VolumeMapping:
    """One way a volume is presented: in a host group, at a LUN, to its initiators."""

    host_group: str
    lun: int
    initiators: tuple[str, ...]


def check_lun(lun: int) -> int:
    if not 0 <= lun <= MAX_LUN:
        raise Invalid(f"invalid LUN {lun}: use 0-{MAX_LUN}")
    return lun


def plan_map(group: HostGroup, volume_id: str, lun: int) -> bool:
    """Whether mapping ``volume_id`` at ``lun`` changes ``group``: False when it is there
    already (a repeated step is a no-op); :class:`Conflict` when the LUN holds another
    volume or the volume sits at another LUN of the group."""
    check_lun(lun)
    held = group.luns.get(lun)
    if held == volume_id:
        return False
    if held is not None:
        raise Conflict(f"LUN {lun} of host group {group.id} already holds volume {held}")
    elsewhere = group.lun_of(volume_id)
    if elsewhere is not None:
        raise Conflict(f"volume {volume_id} is already at LUN {elsewhere} of host group {group.id}")
    return True


def mappings(groups: Iterable[HostGroup]) -> dict[str, list[VolumeMapping]]:
    """Volume id -> every host group and LUN it is presented at, by group id."""
    found: dict[str, list[VolumeMapping]] = {}
    for group in sorted(groups, key=lambda g: g.id):
        for lun, volume in sorted(group.luns.items()):
            found.setdefault(volume, []).append(
                VolumeMapping(group.id, lun, tuple(sorted(group.initiators)))
            )
    return found
