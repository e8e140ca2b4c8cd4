"""The storage rules every driver applies: identities, ids, LUN mapping."""

from __future__ import annotations

import pytest

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.storage import (
    HostGroup,
    InitiatorKind,
    VolumeMapping,
    check_object_id,
    initiator_kind,
    mappings,
    normalize_array_url,
    normalize_initiator,
    plan_map,
)

WWPN = "20:00:00:6b:00:01:00:00"


@pytest.mark.parametrize(
    ("given", "normal", "kind"),
    [
        ("2000006B00010000", WWPN, InitiatorKind.WWPN),
        (" 20-00-00-6b-00-01-00-00 ", WWPN, InitiatorKind.WWPN),
        ("02:6B:00:01:00:00", "02:6b:00:01:00:00", InitiatorKind.MAC),
        ("iqn.2024-01.org.Kanri:Blade-1", "iqn.2024-01.org.kanri:blade-1", InitiatorKind.IQN),
    ],
)
def test_initiators_have_one_spelling(given: str, normal: str, kind: InitiatorKind) -> None:
    assert normalize_initiator(given) == normal
    assert initiator_kind(normal) is kind


@pytest.mark.parametrize("bad", ["", "20:00:00:6b", "host-1", "iqn.2024.org", "eui.0123"])
def test_other_initiators_are_invalid(bad: str) -> None:
    with pytest.raises(Invalid, match="WWPN"):
        normalize_initiator(bad)


def test_an_iqn_is_at_most_223_bytes_and_a_huge_one_is_not_echoed_whole() -> None:
    longest = "iqn.2024-01.org.kanri:" + "x" * (223 - 22)
    assert normalize_initiator(longest) == longest
    huge = longest + "x" * 100_000
    with pytest.raises(Invalid, match="at most 223 bytes") as caught:
        normalize_initiator(huge)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("bad", ["", "-x", "a/b", "a" * 64, "vol 1", "../x"])
def test_object_ids_are_safe_in_urls(bad: str) -> None:
    with pytest.raises(Invalid, match="invalid volume id"):
        check_object_id("volume", bad)
    assert check_object_id("volume", "vol-web_1.a") == "vol-web_1.a"


def test_array_urls_are_spelled_one_way_in_the_arrays_words() -> None:
    assert normalize_array_url("HTTPS://Array.Example:443/redfish/v1/") == "https://array.example"
    with pytest.raises(Invalid, match="invalid array URL") as caught:
        normalize_array_url("https://array.example/other")
    assert "BMC" not in str(caught.value)


def test_plan_map() -> None:
    group = HostGroup("hg", "hg", frozenset({WWPN}), {0: "v1"})
    assert plan_map(group, "v1", 0) is False  # there already: a no-op
    assert plan_map(group, "v2", 1) is True
    with pytest.raises(Conflict, match="LUN 0 of host group hg already holds volume v1"):
        plan_map(group, "v2", 0)
    with pytest.raises(Conflict, match="volume v1 is already at LUN 0"):
        plan_map(group, "v1", 3)
    with pytest.raises(Invalid):
        plan_map(group, "v2", 256)


def test_mappings_by_volume() -> None:
    groups = [
        HostGroup("hg-b", "hg-b", frozenset({WWPN}), {1: "v1"}),
        HostGroup("hg-a", "hg-a", frozenset(), {0: "v1", 2: "v2"}),
    ]
    assert mappings(groups) == {
        "v1": [VolumeMapping("hg-a", 0, ()), VolumeMapping("hg-b", 1, (WWPN,))],
        "v2": [VolumeMapping("hg-a", 2, ())],
    }
