"""A KVM host through a real ``kanri serve`` and the CLI: registered by its libvirt URI
(libvirt's test driver on a copy of tests/integration/fixtures/libvirt/host.xml: 16 CPUs,
64 GiB for partitions, no domains), carved, a partition powered on, and a request that
does not fit refused with what the pool lacks.

libvirt's test driver gives every new connection a fresh copy of the file's host: what
is done here persists because the manager keeps one connection per URI, shared by its
libvirt inventory, power and partitions drivers."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.integration.drivers.partitions_libvirt_target import HOST_XML


def test_a_kvm_host_is_registered_carved_and_powered(cli: Cli, tmp_path: Path) -> None:
    host_xml = tmp_path / "host.xml"
    shutil.copyfile(HOST_XML, host_xml)
    password = tmp_path / "password"
    password.write_text("unused\n")  # the test driver asks for none; the CLI wants one
    password.chmod(0o600)

    added = cli("machine", "add", "kvm1", "--bmc", f"test://{host_xml}", "--driver",
                "libvirt", "--user", "x", "--password-file", str(password))  # fmt: skip
    assert added.code == 0, added.out + added.err
    machines = {m["name"]: m for m in cli.json("machine", "list")}
    assert set(machines) == {"kvm1"}  # the fixture host has no domains yet
    host = machines["kvm1"]
    assert (host["bmc_url"], host["driver"]) == (f"test://{host_xml}", "libvirt")
    pool = cli("machine", "pool", "kvm1")
    assert pool.code == 0, pool.out + pool.err
    assert "cores 16 free of 16" in pool.out

    made = cli("partition", "create", "p1", "--host", "kvm1", "--cores", "2", "--memory", "4G")
    assert made.code == 0, made.out + made.err
    listed = {m["name"]: m for m in cli.json("machine", "list")}
    assert set(listed) == {"kvm1", "p1"}

    on = cli("power", "on", "p1", "--wait")
    assert on.code == 0, on.out + on.err
    shown = cli.json("machine", "show", "p1")
    assert shown["power"] == "on", shown

    too_big = cli("partition", "create", "big", "--host", "kvm1", "--cores", "15",
                  "--memory", "4G")  # fmt: skip
    assert too_big.code == 4, too_big.out + too_big.err
    assert "kvm1 cannot hold partition big" in too_big.err
    assert "cores: 15 dedicated asked, 14 free" in too_big.err
