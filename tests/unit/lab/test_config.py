"""lab.yaml mistakes are one LabConfigError naming the key, never a traceback or a lab
that cannot work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kanri.lab.build import build_lab
from kanri.lab.config import LabConfig, LabConfigError


def refused(raw: dict[str, Any], tmp_path: Path) -> str:
    with pytest.raises(LabConfigError) as caught:
        build_lab(LabConfig.from_dict(raw), tmp_path).close()
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"machines": [{"cores": 4}]}, "machines[0]: id is required"),
        ({"machines": [{"id": "b1"}], "partitions": [{"id": "p1"}]}, "host is required"),
        ({"machines": [{"id": 5}]}, "id must be str"),
        ({"machines": [{"id": "b1/x"}]}, "machine id 'b1/x'"),
        ({"machines": [{"id": "Enclosure"}]}, "machine id Enclosure is the enclosure's own"),
        ({"host_groups": [{"id": "g", "luns": [1, 2]}]}, "luns must be a mapping"),
        ({"host_groups": [{"id": "g", "initiators": "b1/fc0"}]}, "initiators must be a list"),
        (
            {"volumes": [{"id": "v"}], "host_groups": [{"id": "g", "luns": {"x": "v"}}]},
            "LUN 'x' must be a whole number",
        ),
        (
            {
                "machines": [{"id": "h", "mode": "hypervisor"}],
                "partitions": [{"id": "p", "host": "h", "ports": "fc0"}],
            },
            "ports must be a list",
        ),
        ({"timing": {"power_on": -5}}, "timing: power_on"),
        ({"timing": {"os_boot": float("inf")}}, "timing: os_boot"),
        ({"scale": float("inf")}, "scale"),
        ({"machines": [{"id": "b1", "nics": 300}]}, "nics"),
        ({"machines": [{"id": "b1", "cores": 10**9}]}, "cores"),
        ({"machines": [{"id": f"b{i}"} for i in range(256)]}, "at most 255 machines"),
        (
            {
                "machines": [{"id": "h", "mode": "hypervisor"}],
                "partitions": [{"id": "p", "host": "h", "power": "On"}],
            },
            "partition p: power On needs its host h On",
        ),
        (
            {
                "machines": [{"id": "h", "mode": "hypervisor", "power": "On"}],
                "partitions": [{"id": "p", "host": "h", "power": "Maybe"}],
            },
            "partition p: power must be On or Off",
        ),
    ],
)
def test_a_bad_lab_config_is_one_error_naming_the_key(
    raw: dict[str, Any], says: str, tmp_path: Path
) -> None:
    assert says in refused(raw, tmp_path)


def test_lun_keys_may_be_numbers_or_digit_strings(tmp_path: Path) -> None:
    raw = {
        "scale": 50.0,
        "machines": [{"id": "b1"}],
        "volumes": [{"id": "v0", "size_gib": 1}, {"id": "v1", "size_gib": 1}],
        "host_groups": [{"id": "g", "initiators": ["b1/fc0"], "luns": {0: "v0", "1": "v1"}}],
    }
    lab = build_lab(LabConfig.from_dict(raw), tmp_path)
    try:
        assert lab.san.host_group("g").luns == {0: "v0", 1: "v1"}
    finally:
        lab.close()
