from __future__ import annotations

import re

import pytest

from kanri.domain.errors import Invalid
from kanri.domain.naming import check_name, machine_names, normalize_bmc_url


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


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("HTTPS://BMC1.Example:443/", "https://bmc1.example"),
        ("http://10.0.0.5:80", "http://10.0.0.5"),
        ("https://10.0.0.5:8443//", "https://10.0.0.5:8443"),
        ("https://10.0.0.5:8443/redfish/v1/", "https://10.0.0.5:8443"),
        (" https://[FE80::1]:443 ", "https://[fe80::1]"),
        ("fake://Rack?systems=3", "fake://rack?systems=3"),
        # libvirt: the ssh user stays (it is whom ssh logs in as); a local URI has no host
        ("qemu+ssh://root@KVM-1/system", "qemu+ssh://root@kvm-1/system"),
        ("qemu+ssh://kvm-1:2222/system/?keyfile=/k", "qemu+ssh://kvm-1:2222/system?keyfile=/k"),
        ("qemu:///system/", "qemu:///system"),
        ("lxc:///", "lxc:///"),
        ("test:///abs/Path/host.xml", "test:///abs/Path/host.xml"),
    ],
)
def test_bmc_urls_have_one_spelling(given: str, normal: str) -> None:
    assert normalize_bmc_url(given) == normal


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("http://h:notaport", "Port could not be cast"),
        ("https://[::1", "Invalid IPv6 URL"),
        ("https://admin:pw@bmc", "credentials separately"),
        ("https://bmc/some/path", "address only"),
        ("https://bmc/?a=b", "address only"),
        ("not a url", "scheme and host"),
        ("gopher://", "scheme and host"),
        ("qemu+ssh:///system", "scheme and host"),
        ("qemu+ssh://root:pw@kvm-1/system", "password separately"),
        ("", "scheme and host"),
    ],
)
def test_bmc_urls_that_would_be_ignored_in_part_are_refused(given: str, fragment: str) -> None:
    with pytest.raises(Invalid, match=re.escape(fragment)):
        normalize_bmc_url(given)
