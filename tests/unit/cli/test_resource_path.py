"""A name the operator types is always one path segment of the API, never a path."""

from __future__ import annotations

import pytest

from kanri.cli.client import resource_path


@pytest.mark.parametrize(
    ("name", "rest", "path"),
    [
        ("blade-01", (), "/api/v1/machines/blade-01"),
        ("blade-01", ("power", "boot"), "/api/v1/machines/blade-01/power/boot"),
        ("../storage/array-1", (), "/api/v1/machines/%2E%2E%2Fstorage%2Farray-1"),
        ("a?b#c", ("power",), "/api/v1/machines/a%3Fb%23c/power"),
    ],
)
def test_every_resource_name_is_one_path_segment(
    name: str, rest: tuple[str, ...], path: str
) -> None:
    assert resource_path("machines", name, *rest) == path
