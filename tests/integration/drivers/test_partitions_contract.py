"""What every PartitionDriver must do, run against every registered one: the fake, and
the Redfish driver against a served lab (a hypervisor blade and a bare one).

Each implementation gives a ``Target`` (below): a BMC with a hypervisor host whose pool
is empty (16 cores, 64 GiB, ports nic0, nic1, fc0, fc1) and a bare machine, and how to
boot a machine and power a partition. A target is listed in ``TARGETS`` only when its
driver is registered (the libvirt one is added by drivers/libvirt's helper); a
registered driver without a target fails ``test_every_registered_driver_has_a_target``.

A refusal is checked for what it must say, not for one wording: the lab words its own
(the Redfish driver passes them on), the drivers that check capacity themselves use the
domain's (``kanri.domain.pools``); both name the resource, what was asked and what is free.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.model import Bmc
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, PortKind, PortUse
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.base import PartitionDriver
from kanri.drivers.fake.partitions_world import partitions_world_of
from kanri.drivers.registry import Drivers, available
from kanri.lab.server import LabServer
from tests.integration.conftest import TEST_OPTIONS
from tests.integration.lab.conftest import ServeLab, serve_lab  # noqa: F401 - the fixture
from tests.waiting import wait_for

_fake_names = itertools.count(1)


@dataclass
class Target:
    """A peer a partitions driver drives, and what the suite needs of it beyond the
    driver: how to boot a machine and how to power a partition (through the
    implementation's own power path), read back."""

    driver: str
    bmc: Bmc
    host: str  # hypervisor mode, empty pool: 16 cores, 64 GiB, nic0 nic1 fc0 fc1
    bare: str | None  # a bare machine (None: the implementation has no modes)
    boot: Callable[[str], None]  # a machine through a boot; returns once it is on
    power_on: Callable[[str], None]  # a partition, returns once it reads On
    power_off: Callable[[str], None]  # a partition, forced, returns once it reads Off
    # what a system's port presents now (None: the peer cannot tell)
    presented: Callable[[str, str], str | None] = field(default=lambda system, port: None)


def _power_helpers(
    drivers: Drivers, name: str, bmc: Bmc
) -> tuple[Callable[[str], None], Callable[[str], None], Callable[[str], None]]:
    power = drivers.power(name)

    def act(system: str, action: PowerAction, state: PowerState) -> None:
        power.set_power(bmc, system, action)
        wait_for(lambda: power.get_power(bmc, system) is state, timeout=10)

    return (
        lambda s: act(s, PowerAction.RESET, PowerState.ON),
        lambda s: act(s, PowerAction.ON, PowerState.ON),
        lambda s: act(s, PowerAction.FORCE_OFF, PowerState.OFF),
    )


def _fake_target(request: pytest.FixtureRequest, drivers: Drivers) -> Target:
    url = f"fake://partitions-{next(_fake_names)}"
    world = partitions_world_of(drivers.context)
    world.world.add_bmc(url, systems=2)
    world.add_host(url, "1", mode=MachineMode.HYPERVISOR)
    world.add_host(url, "2", mode=MachineMode.BARE)
    for system in world.world.bmcs[url].systems.values():
        system.power = PowerState.ON  # running, as the lab's blades are
    bmc = Bmc(url, "admin", "secret")
    _boot, on, off = _power_helpers(drivers, "fake", bmc)
    return Target(
        "fake",
        bmc,
        "1",
        "2",
        lambda s: world.boot(url, s),
        on,
        off,
        lambda s, p: world.presented(url, s, p),
    )


LAB = {
    "scale": 200.0,
    "machines": [
        {"id": "blade-01", "power": "On"},
        {"id": "blade-05", "mode": "hypervisor", "cores": 16, "memory_gib": 64, "power": "On"},
    ],
}


def _lab_target(request: pytest.FixtureRequest, drivers: Drivers) -> Target:
    serve: ServeLab = request.getfixturevalue("serve_lab")
    server: LabServer = serve(LAB)
    request.addfinalizer(drivers.close)  # log out before the lab stops, not after
    bmc = Bmc(server.url, "admin", "password")
    boot, on, off = _power_helpers(drivers, "redfish", bmc)

    def presented(system: str, port: str) -> str | None:
        assert server.lab is not None
        with server.lab.lock:
            found = server.lab.system(system)
            value: str | None = next(p.presented for p in found.ports if p.id == port)
            return value

    return Target("redfish", bmc, "blade-05", "blade-01", boot, on, off, presented)


# target name -> how to make one; only for registered drivers
MAKERS: dict[str, tuple[str, Callable[[pytest.FixtureRequest, Drivers], Target]]] = {
    "fake": ("fake", _fake_target),
    "redfish@lab": ("redfish", _lab_target),
}
try:  # the libvirt helper's target, when its driver is there
    from tests.integration.drivers.partitions_libvirt_target import (  # type: ignore[import-not-found,unused-ignore]
        libvirt_target,
    )

    MAKERS["libvirt@test"] = ("libvirt", libvirt_target)
except ImportError:
    pass
REGISTERED = set(available("partitions"))
TARGETS = {name: maker for name, maker in MAKERS.items() if maker[0] in REGISTERED}


def test_every_registered_driver_has_a_target() -> None:
    missing = REGISTERED - {driver for driver, _ in TARGETS.values()}
    assert not missing, f"partitions drivers without a contract target: {missing}"


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers(TEST_OPTIONS)
    yield drivers
    drivers.close()


@pytest.fixture(params=sorted(TARGETS))
def target(request: pytest.FixtureRequest, drivers: Drivers) -> Target:
    return TARGETS[request.param][1](request, drivers)


@pytest.fixture
def parts(target: Target, drivers: Drivers) -> PartitionDriver:
    return drivers.partitions(target.driver)


def spec(name: str, cores: int = 2, memory: int = 8, **kwargs: object) -> PartitionSpec:
    return PartitionSpec(name, cores, memory, **kwargs)  # type: ignore[arg-type]


def _word(text: str) -> str:
    """``text`` as a pattern that matches it only as words of its own (not ``12`` in
    ``blade-12`` or ``112``)."""
    return rf"(?<![\w.-]){re.escape(text)}(?![\w-])"


def says(error: pytest.ExceptionInfo[Exception], *words: str) -> str:
    """The refusal's message: one line saying each of ``words`` somewhere."""
    message = str(error.value)
    assert "\n" not in message, message
    for word in words:
        assert re.search(_word(word), message), f"{message!r} does not say {word!r}"
    return message


def says_in_order(message: str, *parts: str) -> None:
    """``message`` says ``parts`` in this order (what was asked before what is free)."""
    pattern = ".*".join(_word(part) for part in parts)
    assert re.search(pattern, message), f"{message!r} does not say {' ... '.join(parts)}"


def says_port(error: pytest.ExceptionInfo[Exception], port: str, how: str, holder: str) -> None:
    """A port refusal: the port, how it was asked (the first of "dedicated"/"shared" said
    after it, before any comma), then who holds it."""
    message = says(error, f"port {port}", holder)
    pattern = rf"\bport {port}\b[^,;]*?\b{how}\b.*{_word(holder)}"
    assert re.search(pattern, message), f"{message!r} does not say port {port} {how} ... {holder}"


def _plain(s: PartitionSpec) -> PartitionSpec:
    """``s`` without what the driver fills in (chosen cores, virtual identities)."""
    return replace(s, cpus=(), ports=tuple(replace(p, identity=None) for p in s.ports))


# mode ---------------------------------------------------------------------------------------
def test_mode_read_set_pending_cancel_and_applied_at_boot(
    parts: PartitionDriver, target: Target
) -> None:
    if target.bare is None:
        pytest.skip(f"{target.driver} has no machine modes")  # said, not silent
    bmc, bare = target.bmc, target.bare
    assert parts.mode(bmc, target.host) == (MachineMode.HYPERVISOR, None)
    assert parts.mode(bmc, bare) == (MachineMode.BARE, None)
    parts.set_mode(bmc, bare, MachineMode.HYPERVISOR)
    assert parts.mode(bmc, bare) == (MachineMode.BARE, MachineMode.HYPERVISOR)
    parts.set_mode(bmc, bare, MachineMode.BARE)  # the mode in effect: cancels
    assert parts.mode(bmc, bare) == (MachineMode.BARE, None)
    parts.set_mode(bmc, bare, MachineMode.HYPERVISOR)
    with pytest.raises(Conflict, match="bare mode"):
        parts.create(bmc, bare, spec("early"))
    target.boot(bare)
    assert parts.mode(bmc, bare) == (MachineMode.HYPERVISOR, None)
    assert parts.pool(bmc, bare).mode is MachineMode.HYPERVISOR


# pool -----------------------------------------------------------------------------------------
def test_pool_numbers_follow_what_partitions_hold(parts: PartitionDriver, target: Target) -> None:
    bmc, host = target.bmc, target.host
    empty = parts.pool(bmc, host)
    assert (empty.mode, empty.cores, empty.memory_gib) == (MachineMode.HYPERVISOR, 16, 64)
    assert empty.memory_used_gib == 0
    assert not empty.dedicated_cores
    assert {(p.id, p.kind) for p in empty.ports} == {
        ("nic0", PortKind.NIC), ("nic1", PortKind.NIC), ("fc0", PortKind.FC), ("fc1", PortKind.FC)
    }  # fmt: skip
    assert all(p.identity and p.dedicated_to is None and not p.shared_by for p in empty.ports)
    block = empty.memory_block_gib
    a = parts.create(bmc, host, spec("a", 4, 2 * block, ports=(PortUse("fc0"),)))
    b = parts.create(
        bmc, host, spec("b", 2, block, cpu_mode=CpuMode.SHARED, ports=(PortUse("nic0", True),))
    )
    pool = parts.pool(bmc, host)
    assert pool.memory_used_gib == 3 * block
    assert len(pool.dedicated_cores) == 4
    assert sorted(i for i, users in enumerate(pool.core_use) if a.id in users) == sorted(
        pool.dedicated_cores
    )
    assert sum(1 for users in pool.core_use if b.id in users) == 2
    ports = {p.id: p for p in pool.ports}
    assert ports["fc0"].dedicated_to == a.id
    assert ports["nic0"].shared_by == (b.id,)
    assert ports["nic0"].dedicated_to is None


# create ---------------------------------------------------------------------------------------
def test_create_that_fits_is_listed_with_its_spec(parts: PartitionDriver, target: Target) -> None:
    bmc, host = target.bmc, target.host
    asked = spec(
        "app-1",
        4,
        16,
        cpu_mode=CpuMode.SHARED,
        shared_weight=50,
        ports=(PortUse("fc0", shared=True), PortUse("nic1")),
    )
    made = parts.create(bmc, host, asked)
    assert made.host == host
    assert made.power is PowerState.OFF
    assert _plain(made.spec) == asked
    assert len(made.spec.cpus) == 4
    assert made.spec.ports[0].identity  # a virtual identity of its own
    listed = parts.partitions(bmc, host)
    assert [p.id for p in listed] == [made.id]
    assert listed[0].spec == made.spec


def test_create_on_named_cores(parts: PartitionDriver, target: Target) -> None:
    made = parts.create(target.bmc, target.host, spec("pinned", 2, 8, cpus=(3, 9)))
    assert made.spec.cpus == (3, 9)
    assert parts.pool(target.bmc, target.host).dedicated_cores == frozenset({3, 9})
    with pytest.raises(Conflict) as clash:
        parts.create(target.bmc, target.host, spec("clash", 1, 8, cpus=(9,)))
    # the lab names the core's block (blade-05-cpu-9), the domain the core (core 9)
    assert re.search(r"\b(cpu-|core )9\b.*\bpinned\b", says(clash, "pinned")), clash.value


def test_create_that_does_not_fit_names_what_is_free_and_makes_nothing(
    parts: PartitionDriver, target: Target
) -> None:
    bmc, host = target.bmc, target.host
    parts.create(bmc, host, spec("big", 4, 16))
    with pytest.raises(Conflict) as cores:
        parts.create(bmc, host, spec("x", 13, 8))
    says_in_order(says(cores, host, "cores"), "13 dedicated", "12", "free")
    with pytest.raises(Conflict) as memory:
        parts.create(bmc, host, spec("y", 1, 56))
    says_in_order(says(memory, host, "memory"), "56 GiB", "48 GiB", "free")
    assert [p.spec.name for p in parts.partitions(bmc, host)] == ["big"]
    assert parts.pool(bmc, host).memory_used_gib == 16


def test_ports_given_twice_or_taken_are_refused(parts: PartitionDriver, target: Target) -> None:
    bmc, host = target.bmc, target.host
    # the lab says "asked for twice", the domain "given 2 times"
    with pytest.raises(Invalid, match=r"\bport fc0\b.*\b(twice|2 times)\b"):
        parts.create(bmc, host, spec("twice", ports=(PortUse("fc0"), PortUse("fc0", True))))
    parts.create(bmc, host, spec("owner", ports=(PortUse("fc1"),)))
    with pytest.raises(Conflict) as shared:
        parts.create(bmc, host, spec("sharer", ports=(PortUse("fc1", shared=True),)))
    says_port(shared, "fc1", "shared", "owner")
    with pytest.raises(Conflict) as dedicated:
        parts.create(bmc, host, spec("taker", ports=(PortUse("fc1"),)))
    says_port(dedicated, "fc1", "dedicated", "owner")
    assert [p.spec.name for p in parts.partitions(bmc, host)] == ["owner"]


# modify ---------------------------------------------------------------------------------------
def test_modify_live_and_what_needs_it_off(parts: PartitionDriver, target: Target) -> None:
    bmc, host = target.bmc, target.host
    made = parts.create(bmc, host, spec("live", 2, 8, ports=(PortUse("fc0", True),)))
    target.power_on(made.id)
    grown = parts.modify(bmc, made.id, replace(made.spec, cores=4, shared_weight=300, cpus=()))
    assert (grown.spec.cores, grown.spec.shared_weight) == (4, 300)
    assert grown.spec.ports == made.spec.ports  # the virtual identity stays
    with pytest.raises(Conflict) as needs_off:
        parts.modify(bmc, made.id, replace(grown.spec, memory_gib=16, cpus=()))
    assert str(needs_off.value) == (
        f"partition {made.id} is On: changing memory (8 to 16 GiB) need it Off (adding "
        "cores and changing SharedWeight work while it runs); shut it down first"
    )
    assert parts.partitions(bmc, host)[0].spec.memory_gib == 8
    target.power_off(made.id)
    smaller = parts.modify(bmc, made.id, replace(grown.spec, cores=1, memory_gib=16, cpus=()))
    assert (smaller.spec.cores, smaller.spec.memory_gib) == (1, 16)
    assert parts.pool(bmc, host).memory_used_gib == 16


# delete ---------------------------------------------------------------------------------------
def test_delete_is_refused_while_on_and_frees_when_off(
    parts: PartitionDriver, target: Target
) -> None:
    bmc, host = target.bmc, target.host
    made = parts.create(bmc, host, spec("gone", 4, 8, ports=(PortUse("fc1"),)))
    target.power_on(made.id)
    with pytest.raises(Conflict, match=f"partition {made.id} is On: power it off"):
        parts.delete(bmc, made.id)
    target.power_off(made.id)
    parts.delete(bmc, made.id)
    assert parts.partitions(bmc, host) == []
    pool = parts.pool(bmc, host)
    assert not pool.dedicated_cores
    assert pool.memory_used_gib == 0
    assert all(p.dedicated_to is None for p in pool.ports)


# identity -------------------------------------------------------------------------------------
def test_set_identity_on_a_shared_port_is_presented_from_the_next_boot(
    parts: PartitionDriver, target: Target
) -> None:
    bmc, host = target.bmc, target.host
    made = parts.create(bmc, host, spec("ident", ports=(PortUse("fc0", True),)))
    wwpn = "20:00:00:6b:aa:01:00:00"
    before = target.presented(made.id, "fc0")
    parts.set_identity(bmc, made.id, "fc0", wwpn)
    assert parts.partitions(bmc, host)[0].spec.ports[0].identity == wwpn
    if before is not None:
        assert target.presented(made.id, "fc0") == before  # not until it boots
        target.power_on(made.id)
        assert target.presented(made.id, "fc0") == wwpn
    with pytest.raises(Invalid, match="WWPN"):
        parts.set_identity(bmc, made.id, "fc0", "02:6b:00:00:00:01")
    parts.set_identity(bmc, made.id, "fc0", None)  # back to the one the driver made
    assert parts.partitions(bmc, host)[0].spec.ports[0].identity == made.spec.ports[0].identity
