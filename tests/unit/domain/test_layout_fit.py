"""Does a layout fit another machine's pool, and onto which of its ports."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations, product

import pytest

from kanri.domain.layout_fit import fits, port_map, remap_ports
from kanri.domain.layouts import HostPort, Layout, LayoutHost, Placement, check_layout
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, Pool, PoolPort, PortUse
from kanri.domain.partitions import PortKind as K

from .test_layouts import layout

SHR = CpuMode.SHARED


def target(**changes: object) -> Pool:
    """blade-06: empty, 16 cores, 128 GiB in 8 GiB blocks, fc0-fc1 and nic0-nic1."""
    values: dict[str, object] = {
        "host": "blade-06",
        "mode": MachineMode.HYPERVISOR,
        "cores": 16,
        "memory_gib": 128,
        "memory_block_gib": 8,
        "ports": (
            PoolPort("fc0", K.FC, "20:00:00:6b:06:00:00:00"),
            PoolPort("fc1", K.FC, "20:00:00:6b:06:00:00:01"),
            PoolPort("nic0", K.NIC, "02:6b:06:00:00:00"),
            PoolPort("nic1", K.NIC, "02:6b:06:00:00:01"),
        ),
    }
    values.update(changes)
    return Pool(**values)  # type: ignore[arg-type]


def test_a_layout_fits_a_twin_with_the_same_port_ids() -> None:
    assert fits(layout(), target()) == []
    assert port_map(layout(), target()) == {"fc0": "fc0", "nic0": "nic0", "fc1": "fc1"}


def test_a_bare_machine_takes_no_layout() -> None:
    assert fits(layout(), target(mode=MachineMode.BARE)) == [
        "mode: blade-06 is in bare mode, it has no pool to carve the layout from "
        "(switch it to hypervisor mode first)"
    ]


def test_ports_are_remapped_onto_other_ids_of_the_same_kind() -> None:
    ports = (
        PoolPort("hba-a", K.FC, "w1"),
        PoolPort("hba-b", K.FC, "w2"),
        PoolPort("eth9", K.NIC, "m1"),
    )
    mapping = port_map(layout(), target(ports=ports))
    assert isinstance(mapping, dict)
    assert mapping["nic0"] == "eth9"
    assert {mapping["fc0"], mapping["fc1"]} == {"hba-a", "hba-b"}


def test_the_same_id_is_kept_where_it_can_be_and_others_move_around_it() -> None:
    # fc0 is taken on the target: the layout's fc0 (shared) and fc1 need the other two.
    ports = (
        PoolPort("fc0", K.FC, "w0", dedicated_to="old-1"),
        PoolPort("fc1", K.FC, "w1"),
        PoolPort("fc2", K.FC, "w2"),
        PoolPort("nic0", K.NIC, "m0"),
    )
    assert port_map(layout(), target(ports=ports)) == {"fc0": "fc2", "nic0": "nic0", "fc1": "fc1"}


def test_a_port_with_room_for_the_sharers_takes_a_shared_layout_port() -> None:
    ports = (
        PoolPort("fc0", K.FC, "w0", shared_by=("x",) * 14),  # room for 2: app-1 and app-2
        PoolPort("fc1", K.FC, "w1"),
        PoolPort("nic0", K.NIC, "m0"),
    )
    assert port_map(layout(), target(ports=ports)) == {"fc0": "fc0", "nic0": "nic0", "fc1": "fc1"}
    fuller = (replace(ports[0], shared_by=("x",) * 15), *ports[1:])
    assert port_map(layout(), target(ports=fuller)) == [
        "ports fc: the layout uses 2 (fc0 shared by 2, fc1 dedicated), blade-06 can give 1 of "
        "them (fc0 shared by 15 of 16, fc1 free)"
    ]


def test_the_port_shortfall_names_each_kind_that_lacks() -> None:
    ports = (
        PoolPort("fc0", K.FC, "w0"),
        PoolPort("fc1", K.FC, "w1", dedicated_to="old-1"),
    )
    assert port_map(layout(), target(ports=ports)) == [
        "ports fc: the layout uses 2 (fc0 shared by 2, fc1 dedicated), blade-06 can give 1 of "
        "them (fc0 free, fc1 dedicated to old-1)",
        "ports nic: the layout uses 1 (nic0 dedicated), blade-06 can give 0 of them (no nic ports)",
    ]


def test_a_kept_id_moves_when_another_layout_port_can_go_nowhere_else() -> None:
    # The layout's fc1 (shared) could keep pool fc1, but the layout's fc0 (dedicated) can
    # only have fc1 (pool fc0 carries a sharer already): fc1 moves to pool fc0.
    ports = (
        PoolPort("fc0", K.FC, "w0", shared_by=("x",)),
        PoolPort("fc1", K.FC, "w1"),
    )
    two_way = Layout(
        host=LayoutHost("blade-05", (HostPort("fc0", K.FC), HostPort("fc1", K.FC))),
        partitions=(
            PartitionSpec("a", 1, 8, ports=(PortUse("fc0"), PortUse("fc1", shared=True))),
            PartitionSpec("b", 1, 8, ports=(PortUse("fc1", shared=True),)),
        ),
    )
    assert port_map(two_way, target(ports=ports)) == {"fc0": "fc1", "fc1": "fc0"}


def test_a_port_shared_by_others_cannot_be_dedicated() -> None:
    ports = (
        PoolPort("fc0", K.FC, "w0", shared_by=("x",)),
        PoolPort("fc1", K.FC, "w1", shared_by=("y",)),
        PoolPort("nic0", K.NIC, "m0"),
    )
    lines = port_map(layout(), target(ports=ports))
    assert isinstance(lines, list)
    assert lines[0].startswith("ports fc: the layout uses 2 (fc0 shared by 2, fc1 dedicated), ")


@pytest.mark.parametrize(
    ("pool", "lines"),
    [
        (target(memory_gib=80), ["memory: 88 GiB asked by the layout, blade-06 has 80 GiB free"]),
        (
            target(memory_used_gib=48),
            ["memory: 88 GiB asked by the layout, blade-06 has 80 GiB free"],
        ),
        (
            target(memory_block_gib=32),
            [
                "memory: partition app-1 asks 16 GiB, blade-06 gives memory in blocks of 32 GiB",
                "memory: partition app-2 asks 8 GiB, blade-06 gives memory in blocks of 32 GiB",
            ],
        ),
        (
            target(cores=12),
            [
                "cores: partition db-1 names core 12, blade-06 has cores 0-11",
                "cores: partition db-1 names core 13, blade-06 has cores 0-11",
            ],
        ),
        (
            # 14 cores: db-1 pins 8-13, app-1 takes 4 of the 8 left, app-2 shares 2 more.
            target(cores=14),
            [],
        ),
        (
            target(cores=14, core_use=((), ("old-1",)), dedicated_cores=frozenset({1})),
            [],
        ),
        (
            target(cores=14, core_use=(("old-1",),) * 5, dedicated_cores=frozenset(range(5))),
            [
                "cores: 4 dedicated asked by app-1, blade-06 has 3 free (5 dedicated to its "
                "partitions, 0 full with 4 shared partitions)",
                "cores: shared partition app-2 needs 2 cores with room, blade-06 has 0 left "
                "after the layout's other partitions (5 dedicated to its partitions, 0 full with "
                "4 shared partitions before)",
            ],
        ),
        (
            target(core_use=((),) * 9 + (("old-1",),)),
            ["cores: partition db-1 names core 9 dedicated, it is shared by 1 partition"],
        ),
    ],
)
def test_fits_names_what_the_target_lacks(pool: Pool, lines: list[str]) -> None:
    assert fits(layout(), pool) == lines


def test_shared_partitions_pack_onto_cores_with_room_largest_first() -> None:
    # Two cores, each room for two more shared partitions: a 2-core and two 1-core
    # partitions fit (2 + 1 + 1 = 4 places, never two of one partition on a core) ...
    shared = Layout(
        host=LayoutHost("blade-05"),
        partitions=(
            PartitionSpec("s-1", 1, 8, SHR),
            PartitionSpec("s-2", 2, 8, SHR),
            PartitionSpec("s-3", 1, 8, SHR),
        ),
    )
    two = target(cores=2, core_use=(("a", "b"), ("c", "d")))
    assert fits(shared, two) == []
    # ... but a 3-core shared partition needs three distinct cores.
    wide = replace(shared, partitions=(PartitionSpec("s-4", 3, 8, SHR),))
    assert fits(wide, two) == [
        "cores: shared partition s-4 needs 3 cores with room, blade-06 has 2 left after the "
        "layout's other partitions (0 dedicated to its partitions, 0 full with 4 shared "
        "partitions before)"
    ]


def test_explicit_shared_cores_fill_a_core_up() -> None:
    pinned = Layout(
        host=LayoutHost("blade-05"),
        partitions=tuple(PartitionSpec(f"s-{i}", 1, 8, SHR, cpus=(0,)) for i in range(5)),
    )
    assert fits(pinned, target()) == [
        "cores: partition s-4 names core 0 shared, it is full with 4 shared partitions"
    ]


def test_a_pinned_core_held_on_the_target_is_named() -> None:
    held = target(core_use=(("old-1",),) * 9, dedicated_cores=frozenset({8}))
    assert fits(layout(), held)[0] == (
        "cores: partition db-1 names core 8, it is dedicated to another partition"
    )


def test_remap_ports_renames_ports_everywhere_and_stays_a_good_layout() -> None:
    mapping = {"fc0": "fc1", "fc1": "fc0", "nic0": "eth9"}
    moved = remap_ports(layout(), mapping)
    assert check_layout(moved) == []
    assert [u.port for u in moved.partitions[0].ports] == ["fc1", "eth9"]
    assert moved.partitions[2].ports == (PortUse("fc0"),)
    assert set(moved.host.ports) == {
        HostPort("fc1", K.FC),
        HostPort("fc0", K.FC),
        HostPort("eth9", K.NIC),
    }
    assert moved.servers[0] == Placement(
        "web-1", "app-1", {"uuid": "0b1e", "fc1": "2a:00:00:6b:05:00:00:01"}
    )


def test_remap_drops_an_unused_host_port_a_mapped_one_lands_on() -> None:
    base = replace(
        layout(),
        host=LayoutHost("blade-05", (*layout().host.ports, HostPort("fc9", K.FC))),
    )
    moved = remap_ports(base, {"fc0": "fc9", "fc1": "fc1", "nic0": "nic0"})
    assert sorted(p.id for p in moved.host.ports) == ["fc1", "fc9", "nic0"]
    assert check_layout(moved) == []


def _packs(room: list[int], sizes: list[int]) -> bool:
    """Every way of giving each shared partition its distinct cores, tried."""
    if not sizes:
        return True
    first, rest = sizes[0], sizes[1:]
    for cores in combinations([i for i, r in enumerate(room) if r > 0], first):
        left = [r - (i in cores) for i, r in enumerate(room)]
        if _packs(left, rest):
            return True
    return False


@pytest.mark.parametrize("users", list(product(range(3), repeat=3)))
def test_shared_packing_fits_exactly_when_some_assignment_does(users: tuple[int, ...]) -> None:
    # Three cores already shared by 0-2 partitions each (at most 2 per core), against every
    # mix of up to three shared partitions of 1-3 cores: the greedy agrees with the search.
    pool = target(
        cores=3,
        max_shared_per_core=2,
        core_use=tuple(tuple(f"o{i}" for i in range(n)) for n in users),
    )
    for count in range(1, 4):
        for sizes in product(range(1, 4), repeat=count):
            specs = tuple(PartitionSpec(f"s-{i}", n, 8, SHR) for i, n in enumerate(sizes))
            lay = Layout(host=LayoutHost("blade-05"), partitions=specs)
            expected = _packs([2 - n for n in users], sorted(sizes))
            assert (fits(lay, pool) == []) is expected, (users, sizes)
