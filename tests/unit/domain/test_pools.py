"""What a pool can give a partition, bad specs, and what may change while a partition runs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.partitions import (
    CpuMode,
    MachineMode,
    Partition,
    PartitionSpec,
    Pool,
    PoolPort,
    PortKind,
    PortUse,
)
from kanri.domain.pools import (
    LIVE_TABLE,
    Change,
    check_layout_cores,
    check_spec,
    core_uses,
    live_change,
    place,
    require_fit,
    require_valid,
    shortfall,
)

DED, SHR = CpuMode.DEDICATED, CpuMode.SHARED


def pool(**changes: object) -> Pool:
    """blade-05: 16 cores (0-3 dedicated to app-1; 4, 5 shared by web-1 and web-2; 6 full
    with four shared), 128 GiB with 32 used, in blocks of 8; fc0 dedicated to db-1, fc1
    free, nic0 shared by web-1, nic1 free."""
    use: list[tuple[str, ...]] = [("app-1",)] * 4 + [("web-1", "web-2")] * 2
    use += [("s1", "s2", "s3", "s4")] + [()] * 9
    values: dict[str, object] = {
        "host": "blade-05",
        "mode": MachineMode.HYPERVISOR,
        "cores": 16,
        "memory_gib": 128,
        "memory_block_gib": 8,
        "core_use": tuple(use),
        "dedicated_cores": frozenset(range(4)),
        "memory_used_gib": 96,
        "ports": (
            PoolPort("fc0", PortKind.FC, "20:00:00:6b:05:00:00:00", dedicated_to="db-1"),
            PoolPort("fc1", PortKind.FC, "20:00:00:6b:05:00:00:01"),
            PoolPort("nic0", PortKind.NIC, "02:6b:05:00:00:00", shared_by=("web-1",)),
            PoolPort("nic1", PortKind.NIC, "02:6b:05:00:00:01"),
        ),
    }
    values.update(changes)
    return Pool(**values)  # type: ignore[arg-type]


def spec(**changes: object) -> PartitionSpec:
    values: dict[str, object] = {"name": "new-1", "cores": 2, "memory_gib": 8}
    values.update(changes)
    return PartitionSpec(**values)  # type: ignore[arg-type]


def test_core_uses_reads_dedicated_shared_and_free_cores() -> None:
    uses = core_uses(pool())
    assert uses[0].dedicated_to == "app-1"
    assert uses[4].shared_by == ("web-1", "web-2")
    assert uses[15].free
    assert sum(u.free for u in uses) == 9


def test_core_uses_counts_the_replaced_partitions_own_cores_as_free() -> None:
    uses = core_uses(pool(), replacing="app-1")
    assert all(u.free for u in uses[:4])
    assert core_uses(pool(), replacing="web-1")[4].shared_by == ("web-2",)


def test_a_core_marked_dedicated_without_a_holder_stays_taken() -> None:
    uses = core_uses(pool(core_use=(), dedicated_cores=frozenset({0})))
    assert uses[0].dedicated_to == ""
    assert not uses[0].free
    assert uses[1].free


@pytest.mark.parametrize(
    ("asked", "lines"),
    [
        (spec(), []),
        (spec(cores=9, memory_gib=32), []),
        (
            spec(cores=13),
            [
                "cores: 13 dedicated asked, 9 free "
                "(4 dedicated to app-1, 3 used by shared partitions)"
            ],
        ),
        (spec(memory_gib=40), ["memory: 40 GiB asked, 32 GiB free"]),
        (
            spec(memory_gib=12),
            ["memory: 12 GiB asked, memory comes in blocks of 8 GiB (ask 8 or 16)"],
        ),
        (spec(memory_gib=4), ["memory: 4 GiB asked, memory comes in blocks of 8 GiB (ask 8)"]),
        (spec(ports=(PortUse("fc0"),)), ["port fc0: dedicated asked, dedicated to db-1"]),
        (spec(ports=(PortUse("fc0", shared=True),)), ["port fc0: shared asked, dedicated to db-1"]),
        (spec(ports=(PortUse("nic0"),)), ["port nic0: dedicated asked, shared by web-1"]),
        (spec(ports=(PortUse("nic0", shared=True), PortUse("fc1"))), []),
        (
            spec(ports=(PortUse("fc7"),)),
            ["port fc7: asked, blade-05 has no such port (its ports: fc0, fc1, nic0, nic1)"],
        ),
        # Shared: 9 free cores and 2 half-shared ones can take it; core 6 is full.
        (spec(cores=11, cpu_mode=SHR), []),
        (
            spec(cores=12, cpu_mode=SHR),
            [
                "cores: 12 shared asked, 11 can take another shared partition "
                "(4 dedicated to app-1, 1 full with 4 shared partitions)"
            ],
        ),
        (spec(cpus=(14, 15)), []),
        (
            spec(cpus=(0, 4)),
            [
                "cores: core 0 asked dedicated, dedicated to app-1",
                "cores: core 4 asked dedicated, shared by web-1, web-2",
            ],
        ),
        (
            spec(cpus=(4, 6), cpu_mode=SHR),
            ["cores: core 6 asked shared, full with 4 shared partitions (s1, s2, s3, s4)"],
        ),
        (
            spec(cpus=(3, 16), cpu_mode=SHR),
            [
                "cores: core 3 asked shared, dedicated to app-1",
                "cores: core 16 asked, blade-05 has cores 0-15",
            ],
        ),
    ],
)
def test_shortfall_names_the_resource_what_was_asked_and_what_is_free(
    asked: PartitionSpec, lines: list[str]
) -> None:
    assert shortfall(pool(), asked) == lines


def test_shortfall_lists_every_missing_resource() -> None:
    lines = shortfall(pool(), spec(cores=10, memory_gib=64, ports=(PortUse("fc0"),)))
    assert [line.split(":")[0] for line in lines] == ["cores", "memory", "port fc0"]


def test_a_bare_machine_has_no_pool() -> None:
    assert shortfall(pool(mode=MachineMode.BARE), spec()) == [
        "mode: blade-05 is in bare mode, it has no pool to carve partitions from "
        "(switch it to hypervisor mode first)"
    ]


def test_modifying_a_partition_counts_its_own_resources_as_free() -> None:
    app = Partition(
        "app-1",
        "blade-05",
        PartitionSpec("app-1", cores=4, memory_gib=16, ports=(PortUse("nic0", shared=True),)),
    )
    bigger = PartitionSpec("app-1", cores=13, memory_gib=48, ports=(PortUse("nic1"),))
    assert shortfall(pool(), bigger, replacing=app) == []
    assert shortfall(pool(), bigger)[0].startswith("cores: 13 dedicated asked, 9 free")
    db = Partition("db-1", "blade-05", PartitionSpec("db-1", 1, 8, ports=(PortUse("fc0"),)))
    assert shortfall(pool(), spec(name="db-1", ports=(PortUse("fc0"),)), replacing=db) == []


def test_a_shared_port_with_every_virtual_port_taken_is_full() -> None:
    full = pool(ports=(PoolPort("nic0", PortKind.NIC, "m", shared_by=("a", "b"), max_shared=2),))
    assert shortfall(full, spec(ports=(PortUse("nic0", shared=True),))) == [
        "port nic0: shared asked, all 2 virtual ports in use"
    ]


def test_require_fit_raises_one_conflict_line() -> None:
    with pytest.raises(Conflict) as caught:
        require_fit(pool(), spec(cores=13, memory_gib=40))
    assert str(caught.value) == (
        "blade-05 cannot hold partition new-1: cores: 13 dedicated asked, 9 free "
        "(4 dedicated to app-1, 3 used by shared partitions); memory: 40 GiB asked, 32 GiB free"
    )
    require_fit(pool(), spec())


@pytest.mark.parametrize(
    ("asked", "error", "words"),
    [
        # a port the pool does not have: NotFound, before anything else is weighed
        (
            spec(cores=13, ports=(PortUse("fc7"),)),
            NotFound,
            "blade-05 cannot hold partition new-1: port fc7: asked, blade-05 has no such port "
            "(its ports: fc0, fc1, nic0, nic1)",
        ),
        # what this pool could never give, whatever it holds: Invalid
        (
            spec(cpus=(16, 3)),
            Invalid,
            "blade-05 cannot hold partition new-1: cores: core 16 asked, blade-05 has cores 0-15",
        ),
        (
            spec(memory_gib=12),
            Invalid,
            "blade-05 cannot hold partition new-1: memory: 12 GiB asked, memory comes in "
            "blocks of 8 GiB (ask 8 or 16)",
        ),
        # what is taken now: Conflict
        (
            spec(cpus=(3, 4)),
            Conflict,
            "blade-05 cannot hold partition new-1: cores: core 3 asked dedicated, dedicated to "
            "app-1; cores: core 4 asked dedicated, shared by web-1, web-2",
        ),
    ],
)
def test_require_fit_says_not_found_invalid_or_conflict(
    asked: PartitionSpec, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        require_fit(pool(), asked)
    assert type(caught.value) is error
    assert str(caught.value) == words


def test_a_bare_machine_is_a_conflict_whatever_is_asked() -> None:
    with pytest.raises(Conflict, match="in bare mode"):
        require_fit(pool(mode=MachineMode.BARE), spec(ports=(PortUse("fc7"),)))


def test_a_port_without_virtual_ports_cannot_be_shared() -> None:
    npiv_less = pool(ports=(PoolPort("fc0", PortKind.FC, "w", max_shared=0),))
    assert shortfall(npiv_less, spec(ports=(PortUse("fc0", shared=True),))) == [
        "port fc0: shared asked, it has no virtual ports (dedicated only)"
    ]
    assert shortfall(npiv_less, spec(ports=(PortUse("fc0"),))) == []


def test_place_picks_free_cores_for_dedicated_and_packs_shared_ones() -> None:
    # free cores: 7-15; shared room also on 4 and 5 (web-1, web-2), not on full 6
    assert place(pool(), spec(cores=3)) == (7, 8, 9)
    assert place(pool(), spec(cores=3, cpu_mode=SHR)) == (4, 5, 7)
    assert place(pool(), spec(cpus=(12, 8))) == (12, 8)  # named cores: as given


def test_place_keeps_the_preferred_cores_first_where_they_still_fit() -> None:
    assert place(pool(), spec(cores=2), prefer=(14, 0)) == (7, 14)  # 0 is app-1's
    assert place(pool(), spec(cores=2, cpu_mode=SHR), prefer=(9,)) == (4, 9)
    # app-1 shrinking to 2 cores keeps its own lowest ones
    app = Partition("app-1", "blade-05", PartitionSpec("app-1", 4, 16))
    assert place(pool(), replace(app.spec, cores=2), replacing=app, prefer=(0, 1, 2, 3)) == (0, 1)
    assert place(pool(), replace(app.spec, cores=6), replacing=app, prefer=(0, 1, 2, 3)) == (
        0,
        1,
        2,
        3,
        7,
        8,
    )


def test_place_refuses_as_require_fit_does() -> None:
    with pytest.raises(Conflict, match=r"^blade-05 cannot hold partition new-1: cores: 10 "):
        place(pool(), spec(cores=10))
    with pytest.raises(NotFound, match="port fc9"):
        place(pool(), spec(ports=(PortUse("fc9"),)))


@pytest.mark.parametrize(
    ("bad", "line"),
    [
        (spec(cores=0), "cores: 0 asked, a partition needs at least 1"),
        (spec(memory_gib=0), "memory: 0 GiB asked, a partition needs at least 1"),
        (spec(shared_weight=0), "shared weight: 0 asked, it must be 1-1000"),
        (spec(shared_weight=1001), "shared weight: 1001 asked, it must be 1-1000"),
        (
            spec(ports=(PortUse("fc0"), PortUse("fc0", shared=True))),
            "port fc0: given 2 times, a partition uses a port once",
        ),
        (spec(cpus=(3, 3)), "cpus: core 3 given 2 times"),
        (spec(cpus=(-1, 2)), "cpus: core indexes start at 0, got -1"),
        (
            spec(cpus=(1, 2, 3)),
            "cpus: 3 cores named for 2 cores asked (name one core per core, or none)",
        ),
        (spec(name="App_1"), "name: invalid name 'App_1': use 1-63 lower-case letters"),
    ],
)
def test_check_spec_finds_bad_input(bad: PartitionSpec, line: str) -> None:
    problems = check_spec(bad)
    assert len(problems) == 1
    assert problems[0].startswith(line)


def test_check_spec_passes_a_good_spec_and_weights_at_the_bounds() -> None:
    assert check_spec(spec(shared_weight=1, cpus=(0, 1), ports=(PortUse("fc0"),))) == []
    assert check_spec(spec(shared_weight=1000)) == []


def test_require_valid_raises_invalid_naming_the_partition() -> None:
    with pytest.raises(Invalid, match=r"^partition new-1: cores: 0 asked.*; shared weight"):
        require_valid(spec(cores=0, shared_weight=0))


def test_check_layout_cores_finds_overlapping_dedicated_cores() -> None:
    specs = [
        spec(name="a", cpus=(0, 1)),
        spec(name="b", cpus=(1, 2)),
        spec(name="c", cores=2, cpu_mode=SHR, cpus=(2, 3)),
        spec(name="d", cores=2, cpu_mode=SHR, cpus=(3, 4)),
    ]
    assert check_layout_cores(specs) == [
        "core 1: dedicated to a, also named by b",
        "core 2: dedicated to b, also named by c",
    ]


def test_shared_partitions_may_name_the_same_core() -> None:
    assert check_layout_cores([spec(name="a", cpu_mode=SHR, cpus=(0, 1))] * 2) == []


OLD = PartitionSpec(
    "app-1", cores=4, memory_gib=16, cpus=(0, 1, 2, 3), ports=(PortUse("fc0", shared=True),)
)


@pytest.mark.parametrize(
    ("changes", "live", "off"),
    [
        ({}, [], []),
        ({"cores": 6, "cpus": ()}, ["cores 4 -> 6"], ["pinned cores 0,1,2,3 -> any"]),
        ({"cores": 6, "cpus": (0, 1, 2, 3, 4, 5)}, ["cores 4 -> 6"], []),
        ({"cores": 2, "cpus": (0, 1)}, [], ["cores 4 -> 2", "pinned cores 0,1,2,3 -> 0,1"]),
        ({"shared_weight": 300}, ["shared weight 100 -> 300"], []),
        ({"memory_gib": 32}, [], ["memory 16 -> 32 GiB"]),
        ({"cpu_mode": SHR}, [], ["cpu mode dedicated -> shared"]),
        (
            {"cpu_mode": SHR, "cores": 6, "cpus": (0, 1, 2, 3, 4, 5)},
            [],
            ["cpu mode dedicated -> shared", "cores 4 -> 6", "pinned cores 0,1,2,3 -> 0,1,2,3,4,5"],
        ),
        ({"ports": ()}, [], ["ports fc0 (shared) -> none"]),
        (
            {"ports": (PortUse("fc0", shared=True, identity="2a:00"),)},
            [],
            ["ports fc0 (shared) -> fc0 (shared) as 2a:00"],
        ),
        (
            {"cores": 5, "cpus": (0, 1, 2, 3, 4), "shared_weight": 50, "memory_gib": 8},
            ["cores 4 -> 5", "shared weight 100 -> 50"],
            ["memory 16 -> 8 GiB"],
        ),
    ],
)
def test_live_change_splits_what_runs_now_from_what_needs_it_off(
    changes: dict[str, object], live: list[str], off: list[str]
) -> None:
    verdict = live_change(OLD, replace(OLD, **changes))  # type: ignore[arg-type]
    assert list(verdict.live) == live
    assert list(verdict.needs_off) == off


def test_adding_cores_to_a_partition_without_pins_is_live() -> None:
    verdict = live_change(spec(cores=2), spec(cores=3))
    assert verdict.live == ("cores 2 -> 3",)
    assert not verdict.needs_off


def test_the_verdict_summary_is_what_the_cli_says() -> None:
    verdict = live_change(OLD, replace(OLD, shared_weight=5, memory_gib=8))
    assert verdict.summary() == (
        "applied now: shared weight 100 -> 5; needs a restart: memory 16 -> 8 GiB"
    )
    assert live_change(OLD, OLD).summary() == "nothing to change"
    assert not live_change(OLD, OLD).changed


def test_the_live_table_has_a_verdict_for_every_change() -> None:
    assert set(LIVE_TABLE) == set(Change)
    assert {c for c, live in LIVE_TABLE.items() if live} == {
        Change.CORES_ADDED,
        Change.SHARED_WEIGHT,
    }
