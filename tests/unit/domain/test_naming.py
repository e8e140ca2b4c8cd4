from __future__ import annotations

import pytest

from kanri.domain.errors import Invalid
from kanri.domain.naming import check_name, machine_names


def test_single_system_takes_the_given_name() -> None:
    assert machine_names("web1", ["437XR1138R2"]) == {"437XR1138R2": "web1"}


def test_several_systems_get_the_name_and_a_slug_of_their_id() -> None:
    names = machine_names("chassis", ["Blade1", "Blade 2", "sys_3"])
    assert names == {
        "Blade1": "chassis-blade1",
        "Blade 2": "chassis-blade-2",
        "sys_3": "chassis-sys-3",
    }


def test_ids_that_slug_alike_stay_distinct() -> None:
    names = machine_names("c", ["Blade 1", "blade-1"])
    assert len(set(names.values())) == 2


@pytest.mark.parametrize("bad", ["", "Web", "-a", "a-", "a_b", "x" * 64])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(Invalid, match="invalid name"):
        check_name(bad)
