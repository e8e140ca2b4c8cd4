"""Layouts as values: what is wrong with one, what it needs, and what changed between two."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kanri.domain.errors import Invalid
from kanri.domain.layouts import (
    HostPort,
    Layout,
    LayoutHost,
    Needs,
    Placement,
    check_layout,
    diff,
    needs,
    require_layout,
)
from kanri.domain.partitions import CpuMode, PartitionSpec, PortKind, PortUse
from kanri.domain.runstate import RunState

FC, NIC = PortKind.FC, PortKind.NIC


def layout() -> Layout:
    return Layout(
        host=LayoutHost(
            "blade-05",
            (HostPort("fc0", FC), HostPort("fc1", FC), HostPort("nic0", NIC)),
        ),
        partitions=(
            PartitionSpec("app-1", 4, 16, ports=(PortUse("fc0", shared=True), PortUse("nic0"))),
            PartitionSpec("app-2", 2, 8, CpuMode.SHARED, 200, (PortUse("fc0", shared=True),)),
            PartitionSpec("db-1", 6, 64, cpus=(8, 9, 10, 11, 12, 13), ports=(PortUse("fc1"),)),
        ),
        servers=(
            Placement("web-1", "app-1", {"uuid": "0b1e", "fc0": "2a:00:00:6b:05:00:00:01"}),
            Placement("db", "db-1"),
        ),
        states={"app-1": RunState.RUNNING, "db-1": RunState.STOPPED_BY_OPERATOR},
    )


def test_a_good_layout_has_no_problems() -> None:
    assert check_layout(layout()) == []
    assert require_layout(layout(), "x.yaml") == layout()


def test_a_partition_not_in_the_states_is_off() -> None:
    assert layout().state("app-2") is RunState.OFF
    assert layout().state("app-1") is RunState.RUNNING


def test_needs_sums_what_the_partitions_take() -> None:
    assert needs(layout()) == Needs(
        dedicated_cores=10,
        shared_cores=2,
        shared_vcpus=2,
        memory_gib=88,
        ports={FC: 2, NIC: 1},
    )
    assert needs(layout()).describe() == (
        "10 dedicated cores, 2 shared virtual CPUs (on at least 2 cores), 88 GiB memory, "
        "ports: 2 fc, 1 nic"
    )


def _with_partitions(*specs: PartitionSpec) -> Layout:
    return replace(layout(), partitions=layout().partitions + specs)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (_with_partitions(PartitionSpec("app-1", 1, 8)), "partition app-1: given 2 times"),
        (
            _with_partitions(PartitionSpec("x", 2, 8, cpus=(13, 14))),
            "core 13: dedicated to db-1, also named by x",
        ),
        (
            _with_partitions(PartitionSpec("x", 1, 8, ports=(PortUse("fc1", shared=True),))),
            "port fc1: dedicated to db-1, also used by x",
        ),
        (
            _with_partitions(PartitionSpec("x", 1, 8, ports=(PortUse("fc0"),))),
            "port fc0: dedicated to x, also used by app-1, app-2",
        ),
        (
            _with_partitions(PartitionSpec("x", 1, 8, ports=(PortUse("fc9"),))),
            "partition x: port fc9: not among the host's ports",
        ),
        (_with_partitions(PartitionSpec("x", 0, 8)), "partition x: cores: 0 asked"),
        (
            replace(layout(), servers=(*layout().servers, Placement("web-2", "app-1"))),
            "partition app-1: 2 servers placed on it, a partition runs one",
        ),
        (
            replace(layout(), servers=(Placement("web-1", "gone-1"),)),
            "server web-1: placed on gone-1, no such partition in the layout",
        ),
        (
            replace(layout(), servers=(Placement("Web 1", "app-1"),)),
            "server: invalid name 'Web 1'",
        ),
        (
            replace(layout(), states={"gone-1": RunState.RUNNING}),
            "states: gone-1: no such partition in the layout",
        ),
        (replace(layout(), host=LayoutHost("Blade_05")), "host: invalid name 'Blade_05'"),
        (
            replace(layout(), host=LayoutHost("b", (HostPort("fc0", FC), HostPort("fc0", NIC)))),
            "host port fc0: given 2 times",
        ),
    ],
)
def test_check_layout_finds_each_problem(bad: Layout, problem: str) -> None:
    assert any(line.startswith(problem) for line in check_layout(bad)), check_layout(bad)


def test_require_layout_raises_invalid_naming_the_source() -> None:
    bad = _with_partitions(PartitionSpec("x", 0, 8))
    with pytest.raises(Invalid, match=r"^x\.yaml: partition x: cores: 0 asked"):
        require_layout(bad, "x.yaml")


def test_diff_of_a_layout_with_itself_is_empty() -> None:
    assert diff(layout(), layout()) == []


def test_diff_names_every_change() -> None:
    a = layout()
    app1, app2, _ = a.partitions
    b = Layout(
        host=LayoutHost("blade-06", (HostPort("fc0", FC), HostPort("nic0", NIC))),
        partitions=(
            replace(app1, cores=6, memory_gib=32, ports=(PortUse("fc0", shared=True),)),
            replace(app2, cpu_mode=CpuMode.DEDICATED, shared_weight=100),
            PartitionSpec("new-1", 1, 8),
        ),
        servers=(
            Placement("web-1", "app-2", {"uuid": "0b1e"}),
            Placement("mail", "new-1"),
        ),
        states={"app-1": RunState.LOST_WITH_HOST, "app-2": RunState.RUNNING},
    )
    assert diff(a, b) == [
        "host: blade-05 -> blade-06",
        "host port fc1: removed (was fc)",
        "partition app-1: cores 4 -> 6",
        "partition app-1: memory_gib 16 -> 32",
        "partition app-1: ports fc0 (shared), nic0 -> fc0 (shared)",
        "partition app-2: cpu_mode shared -> dedicated",
        "partition app-2: shared_weight 200 -> 100",
        "partition db-1: removed (was 6 dedicated cores, 64 GiB, ports fc1)",
        "partition new-1: added (1 dedicated core, 8 GiB)",
        "server db: removed (was on db-1)",
        "server mail: placed on new-1",
        "server web-1: moved app-1 -> app-2",
        "server web-1: identity fc0: removed (was 2a:00:00:6b:05:00:00:01)",
        "partition app-1: state running -> lost_with_host",
        "partition app-2: state off -> running",
    ]


def test_diff_shows_pinned_cores_and_identities_changed() -> None:
    a = layout()
    db1 = replace(a.partitions[2], cpus=(0, 1, 2, 3, 4, 5))
    web = Placement("web-1", "app-1", {"uuid": "0b1e", "fc0": "2a:00:00:6b:05:00:00:02"})
    b = replace(a, partitions=(*a.partitions[:2], db1), servers=(web, a.servers[1]))
    assert diff(a, b) == [
        "partition db-1: cpus [8, 9, 10, 11, 12, 13] -> [0, 1, 2, 3, 4, 5]",
        "server web-1: identity fc0: 2a:00:00:6b:05:00:00:01 -> 2a:00:00:6b:05:00:00:02",
    ]
