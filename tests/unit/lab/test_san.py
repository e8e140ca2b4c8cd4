"""The SAN model: volumes as sparse files, host groups with exact, checked mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kanri.lab.model.san import (
    GIB,
    IdentityKind,
    San,
    SanError,
    identity_kind,
    normalize_identity,
    parse_identity,
)

WWPN_A = "20:00:00:6b:00:01:00:00"
WWPN_B = "20:00:00:6b:00:02:00:00"


@pytest.fixture
def san(tmp_path: Path) -> San:
    san = San(tmp_path / "volumes")
    san.create_volume("v1", GIB)
    san.create_volume("v2", GIB)
    san.create_host_group("hg1", {WWPN_A})
    return san


def _refusal(call: object, message_id: str) -> str:
    assert callable(call)
    with pytest.raises(SanError) as caught:
        call()
    assert caught.value.message_id.endswith(message_id)
    return str(caught.value)


@pytest.mark.parametrize(
    ("given", "normal", "kind"),
    [
        ("20:00:00:6B:00:01:00:00", WWPN_A, IdentityKind.WWPN),
        ("2000006b00010000", WWPN_A, IdentityKind.WWPN),
        ("20-00-00-6b-00-01-00-00", WWPN_A, IdentityKind.WWPN),
        ("02:6B:00:01:00:00", "02:6b:00:01:00:00", IdentityKind.MAC),
        ("iqn.2024-01.org.kanri:blade-01", "iqn.2024-01.org.kanri:blade-01", IdentityKind.IQN),
    ],
)
def test_identities_are_normalized_and_told_apart(
    given: str, normal: str, kind: IdentityKind
) -> None:
    assert parse_identity(given) == normal
    assert identity_kind(normalize_identity(given)) is kind


@pytest.mark.parametrize("bad", ["", "20:00:00:6b", "zz:00:00:6b:00:01:00:00", "host-1", "iqn.x"])
def test_malformed_identities_are_refused(bad: str) -> None:
    message = _refusal(lambda: parse_identity(bad), "PropertyValueFormatError")
    assert "WWPN" in message


def test_a_volume_is_a_sparse_file_with_a_stable_naa_name(san: San, tmp_path: Path) -> None:
    volume = san.volumes["v1"]
    assert volume.path.stat().st_size == GIB
    assert volume.path.stat().st_blocks * 512 < GIB
    again = San(tmp_path / "other").create_volume("v1", GIB)
    assert again.naa == volume.naa
    assert len(volume.naa) == 32
    assert volume.naa != san.volumes["v2"].naa


@pytest.mark.parametrize(
    ("volume_id", "capacity", "message_id"),
    [
        ("v1", GIB, "ResourceAlreadyExists"),
        ("v3", 0, "PropertyValueOutOfRange"),
        ("v3", 65 * 1024 * GIB, "PropertyValueOutOfRange"),
        ("bad id", GIB, "PropertyValueError"),
    ],
)
def test_bad_volumes_are_refused(san: San, volume_id: str, capacity: int, message_id: str) -> None:
    _refusal(lambda: san.create_volume(volume_id, capacity), message_id)


def test_a_mapped_volume_cannot_be_deleted(san: San) -> None:
    san.map_volume("hg1", "v1", 0)
    assert "hg1" in _refusal(lambda: san.delete_volume("v1"), "ResourceInUse")
    san.unmap_volume("hg1", "v1")
    path = san.volumes["v1"].path
    san.delete_volume("v1")
    assert not path.exists()
    _refusal(lambda: san.delete_volume("v1"), "ResourceMissingAtURI")


def test_mapping_again_at_the_same_lun_is_a_no_op(san: San) -> None:
    san.map_volume("hg1", "v1", 0)
    san.map_volume("hg1", "v1", 0)
    assert san.host_groups["hg1"].luns == {0: "v1"}
    assert san.visible({WWPN_A}) == {0: "v1"}


def test_a_lun_holds_one_volume_and_a_volume_one_lun_per_group(san: San) -> None:
    san.map_volume("hg1", "v1", 0)
    assert "v1" in _refusal(lambda: san.map_volume("hg1", "v2", 0), "ResourceInUse")
    assert "LUN 0" in _refusal(lambda: san.map_volume("hg1", "v1", 1), "ResourceInUse")
    assert san.host_groups["hg1"].luns == {0: "v1"}


@pytest.mark.parametrize("lun", [-1, 256])
def test_luns_out_of_range_are_refused(san: San, lun: int) -> None:
    _refusal(lambda: san.map_volume("hg1", "v1", lun), "PropertyValueOutOfRange")


def test_unknown_things_are_missing(san: San) -> None:
    _refusal(lambda: san.map_volume("hg1", "nope", 0), "ResourceMissingAtURI")
    _refusal(lambda: san.map_volume("nope", "v1", 0), "ResourceMissingAtURI")
    _refusal(lambda: san.unmap_volume("nope", "v1"), "ResourceMissingAtURI")


def test_unmapping_what_is_not_mapped_is_no_error(san: San) -> None:
    san.unmap_volume("hg1", "v2")
    assert san.host_groups["hg1"].luns == {}


def test_an_initiator_belongs_to_one_group(san: San) -> None:
    message = _refusal(lambda: san.create_host_group("hg2", {WWPN_A}), "ResourceInUse")
    assert "hg1" in message
    assert "hg2" not in san.host_groups  # nothing half-made
    san.create_host_group("hg2", {WWPN_B})
    _refusal(lambda: san.set_initiators("hg2", {WWPN_B, WWPN_A}), "ResourceInUse")
    assert san.host_groups["hg2"].initiators == {WWPN_B}
    assert san.group_of(WWPN_B) is san.host_groups["hg2"]


def test_set_luns_checks_everything_before_changing_anything(san: San) -> None:
    san.map_volume("hg1", "v1", 0)
    _refusal(lambda: san.set_luns("hg1", {0: "v2", 1: "nope"}), "ResourceMissingAtURI")
    _refusal(lambda: san.set_luns("hg1", {0: "v2", 1: "v2"}), "PropertyValueConflict")
    _refusal(lambda: san.set_luns("hg1", {0: "v2", 300: "v1"}), "PropertyValueOutOfRange")
    assert san.host_groups["hg1"].luns == {0: "v1"}
    san.set_luns("hg1", {3: "v2"})
    assert san.visible({WWPN_A}) == {3: "v2"}
    assert san.groups_of("v2") == [san.host_groups["hg1"]]
    assert san.groups_of("v1") == []


def test_a_failed_path_hides_the_volumes(san: San) -> None:
    san.map_volume("hg1", "v1", 0)
    san.failed_paths.add(WWPN_A)
    assert san.visible({WWPN_A}) == {}
    assert san.mapped_to("v1") == {WWPN_A}  # still mapped: the path is down, not the ACL


def test_boot_records_round_trip(san: San) -> None:
    assert san.read_boot_record("v1") is None
    san.write_boot_record("v1", {"system": "b1", "at": "now"})
    assert san.read_boot_record("v1") == {"system": "b1", "at": "now"}
