"""Partitions composed from a hypervisor machine's pool: what fits, what is refused (and
then nothing changed), shared and dedicated use, decompose and modify."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kanri.lab.config import LabConfigError
from kanri.lab.model.composition import compose, decompose, layout_from_blocks, modify
from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.pool import Layout, block_state, find_block, usage
from kanri.lab.model.states import Power, ResetType
from kanri.lab.model.systems import CpuMode, PartitionPort
from tests.unit.lab.conftest import MakeLab

# blade-05: a running hypervisor with 16 cores, 64 GiB (8 memory blocks), nic0-1, fc0-1.
POOL: dict[str, Any] = {
    "scale": 100.0,
    "machines": [
        {"id": "blade-01"},
        {"id": "blade-05", "mode": "hypervisor", "cores": 16, "memory_gib": 64, "power": "On"},
        {"id": "blade-06", "mode": "hypervisor", "cores": 8, "memory_gib": 32, "power": "On"},
    ],
}


def pool_lab(make_lab: MakeLab, partitions: list[dict[str, Any]] | None = None) -> Lab:
    return make_lab({**copy.deepcopy(POOL), "partitions": partitions or []})


def layout(cores: int = 2, memory: int = 8, **extra: Any) -> Layout:
    return Layout("blade-05", cores, memory, **extra)


def snapshot(lab: Lab) -> dict[str, Any]:
    """Everything composition may change."""
    return {
        pid: (
            p.resource_blocks[:],
            p.cores,
            p.memory_gib,
            p.cpu_mode,
            [x.configured for x in p.ports],
        )
        for pid, p in lab.partitions.items()
    }


def refused(lab: Lab, call: Any, message: str, message_id: str, status: int) -> None:
    before = snapshot(lab)
    with pytest.raises(LabError) as caught:
        call()
    assert str(caught.value) == message
    assert (caught.value.message_id, caught.value.status) == (message_id, status)
    assert snapshot(lab) == before


def test_dedicated_partition_takes_whole_blocks_and_the_host_port_itself(
    make_lab: MakeLab,
) -> None:
    lab = pool_lab(make_lab)
    ports = [PartitionPort("fc0"), PartitionPort("nic0", shared=True)]
    partition = compose(lab, "app-1", "app-1", layout(4, 16, ports=ports))

    assert partition.resource_blocks == [
        "blade-05-cpu-0",
        "blade-05-cpu-1",
        "blade-05-cpu-2",
        "blade-05-cpu-3",
        "blade-05-mem-0",
        "blade-05-mem-1",
        "blade-05-port-fc0",
        "blade-05-port-nic0",
    ]
    assert (partition.cores, partition.memory_gib, partition.host) == (4, 16, "blade-05")
    host = lab.machines["blade-05"]
    fc0 = next(p for p in host.ports if p.id == "fc0")
    assert partition.ports[0] is fc0  # the host port, identity and all
    nic = partition.ports[1]
    assert nic.id == "nic0"
    assert nic.permanent.startswith("06:02:00:")
    assert nic.permanent not in {p.permanent for p in host.ports}
    assert partition.uuid
    assert partition.power is Power.OFF
    assert lab.history.records[-1].kind == "partition.composed"


def test_virtual_identities_are_deterministic_and_unique(make_lab: MakeLab) -> None:
    shared = [PartitionPort("fc0", shared=True), PartitionPort("nic0", shared=True)]
    first, second = pool_lab(make_lab), pool_lab(make_lab)
    for lab in (first, second):
        for name in ("a", "b", "c"):
            compose(lab, name, name, layout(1, 8, ports=shared))

    def addresses(lab: Lab) -> list[str]:
        return [p.permanent for x in lab.partitions.values() for p in x.ports]

    assert addresses(first) == addresses(second)
    assert len(set(addresses(first))) == 6
    fc = first.partitions["a"].ports[0].permanent
    assert fc.startswith("2a:02:00:6b:02:")
    assert len(fc.split(":")) == 8


def test_shared_partitions_pack_onto_shared_cores_up_to_four_each(make_lab: MakeLab) -> None:
    lab = pool_lab(make_lab)
    for name in ("s1", "s2", "s3", "s4"):
        compose(lab, name, name, layout(2, 8, cpu_mode=CpuMode.SHARED))
    cores = [b for b in lab.partitions["s4"].resource_blocks if "-cpu-" in b]
    assert cores == ["blade-05-cpu-0", "blade-05-cpu-1"]  # packed on the same two cores
    fifth = compose(lab, "s5", "s5", layout(2, 8, cpu_mode=CpuMode.SHARED))
    assert [b for b in fifth.resource_blocks if "-cpu-" in b] == [
        "blade-05-cpu-2",
        "blade-05-cpu-3",
    ]
    dedicated = compose(lab, "d1", "d1", layout(2, 8))
    assert [b for b in dedicated.resource_blocks if "-cpu-" in b] == [
        "blade-05-cpu-4",
        "blade-05-cpu-5",
    ]
    block = find_block(lab, "blade-05-cpu-0")
    assert block is not None
    users = usage(lab, "blade-05")["blade-05-cpu-0"]
    assert [u.partition.id for u in users] == ["s1", "s2", "s3", "s4"]
    assert block_state(lab, block, users) == "Composed"  # full: four shared partitions
    block2 = find_block(lab, "blade-05-cpu-2")
    assert block2 is not None
    assert block_state(lab, block2, usage(lab, "blade-05")[block2.id]) == "ComposedAndAvailable"


def test_refusals_name_the_resource_what_was_asked_and_what_is_free(make_lab: MakeLab) -> None:
    lab = pool_lab(make_lab, [{"id": "big", "host": "blade-05", "cores": 10, "memory_gib": 48,
                               "ports": ["fc0"]}])  # fmt: skip
    compose(lab, "sh", "sh", layout(2, 8, cpu_mode=CpuMode.SHARED))

    refused(
        lab,
        lambda: compose(lab, "x", "x", layout(5, 8)),
        "blade-05 cannot give 5 dedicated cores: 4 of its 16 cores are free "
        "(10 dedicated to other partitions, 2 used by shared partitions)",
        "Base.1.22.ResourceExhaustion",
        409,
    )
    refused(
        lab,
        lambda: compose(lab, "x", "x", layout(7, 8, cpu_mode=CpuMode.SHARED)),
        "blade-05 cannot give 7 shared cores: 6 of its 16 cores can take another shared "
        "partition (a core holds one dedicated partition or up to 4 shared ones)",
        "Base.1.22.ResourceExhaustion",
        409,
    )
    refused(
        lab,
        lambda: compose(lab, "x", "x", layout(1, 16)),
        "blade-05 cannot give 16 GiB of memory: 8 GiB of its 64 GiB pool is free",
        "Base.1.22.ResourceExhaustion",
        409,
    )
    refused(
        lab,
        lambda: compose(lab, "x", "x", layout(1, 8, ports=[PartitionPort("fc0", shared=True)])),
        "port fc0 cannot be shared: resource block blade-05-port-fc0 is in use by big (dedicated)",
        "Composition.1.1.ResourceBlockInUse",
        409,
    )
    refused(
        lab,
        lambda: compose(lab, "x", "x", layout(1, 8, ports=[PartitionPort("fc7")])),
        "blade-05 has no port fc7 (its ports: nic0, nic1, fc0, fc1)",
        "Base.1.22.PropertyValueNotInList",
        400,
    )
    refused(
        lab,
        lambda: compose(lab, "x", "x", layout(1, 12)),
        "MemoryGiB 12: memory comes in blocks of 8 GiB, so it must be a multiple of 8 (at least 8)",
        "Base.1.22.PropertyValueOutOfRange",
        400,
    )
    refused(
        lab,
        lambda: compose(lab, "x", "x", Layout("blade-01", 1, 8)),
        "blade-01 is in bare mode: it has no resource pool to compose from (set its BIOS "
        "SystemMode to Hypervisor and reboot it)",
        "Composition.1.1.NoResourceMatch",
        409,
    )
    refused(
        lab,
        lambda: compose(lab, "big", "big", layout(1, 8)),
        "a system with Id big exists already",
        "Base.1.22.ResourceAlreadyExists",
        409,
    )
    refused(
        lab,
        lambda: compose(lab, None, "  ", layout(1, 8)),
        "a partition needs a Name",
        "Base.1.22.CreateFailedMissingReqProperties",
        400,
    )


def test_explicit_blocks_compose_exactly_those_or_are_refused(make_lab: MakeLab) -> None:
    lab = pool_lab(make_lab)
    blocks = ["blade-05-cpu-7", "blade-05-mem-3", "blade-05-port-fc1"]
    partition = compose(lab, "p", "p", layout_from_blocks(lab, blocks), blocks)
    assert partition.resource_blocks == blocks
    assert (partition.cores, partition.memory_gib) == (1, 8)
    assert partition.assigned_ports == [PartitionPort("fc1", shared=False)]

    taken = ["blade-05-cpu-7", "blade-05-mem-4"]
    refused(
        lab,
        lambda: compose(lab, "q", "q", layout_from_blocks(lab, taken), taken),
        "resource block blade-05-cpu-7 is in use by p (dedicated)",
        "Composition.1.1.ResourceBlockInUse",
        409,
    )
    refused(
        lab,
        lambda: layout_from_blocks(lab, ["blade-05-cpu-1", "blade-06-mem-0"]),
        "the resource blocks span several machines (blade-05, blade-06): a partition takes "
        "all its blocks from one host",
        "Composition.1.1.IncompatibleZone",
        400,
    )
    refused(
        lab,
        lambda: layout_from_blocks(lab, ["blade-05-cpu-99"]),
        "no resource block blade-05-cpu-99",
        "Composition.1.1.ResourceBlockNotFound",
        400,
    )
    refused(
        lab,
        lambda: layout_from_blocks(lab, ["blade-05-cpu-1"]),
        "a partition needs at least one Processor block and one Memory block",
        "Base.1.22.PropertyValueError",
        400,
    )


def test_decompose_frees_the_blocks_and_is_refused_while_running(make_lab: MakeLab) -> None:
    lab = pool_lab(make_lab)
    compose(lab, "p", "p", layout(16, 64))
    lab.reset("p", ResetType.ON)
    with pytest.raises(LabError, match=r"^partition p is (PoweringOn|On): power it off") as no:
        decompose(lab, "p")
    assert (no.value.message_id, no.value.status) == ("Base.1.22.ResourceInUse", 409)
    assert "p" in lab.partitions
    lab.reset("p", ResetType.FORCE_OFF)
    decompose(lab, "p")
    assert "p" not in lab.partitions
    assert usage(lab, "blade-05") == {}
    compose(lab, "again", "again", layout(16, 64))  # the whole pool is free again
    with pytest.raises(LabError, match="only partitions can be deleted"):
        decompose(lab, "blade-05")


def test_running_partition_takes_more_cores_but_other_changes_need_it_off(
    make_lab: MakeLab,
) -> None:
    lab = pool_lab(make_lab, [{"id": "p", "host": "blade-05", "cores": 2, "memory_gib": 8,
                               "ports": ["fc0:shared"], "power": "On"}])  # fmt: skip
    partition = lab.partitions["p"]
    partition.ports[0].address = "2a:00:00:00:00:00:00:01"  # a virtual identity a manager set

    modify(lab, partition, layout(4, 8, ports=[PartitionPort("fc0", shared=True)]))
    assert partition.cores == 4
    assert partition.power is Power.ON

    refused(
        lab,
        lambda: modify(lab, partition, layout(2, 16, ports=[])),
        "partition p is On: removing cores (4 to 2); changing memory (8 to 16 GiB); "
        "changing ports (fc0:shared to none) need it Off (adding cores and changing "
        "SharedWeight work while it runs); shut it down first",
        "Base.1.22.PropertyValueResourceConflict",
        409,
    )
    lab.reset("p", ResetType.FORCE_OFF)
    modify(lab, partition, layout(2, 16, ports=[PartitionPort("fc0", shared=True)]))
    assert (partition.cores, partition.memory_gib) == (2, 16)
    assert partition.ports[0].configured == "2a:00:00:00:00:00:00:01"  # kept across changes
    refused(
        lab,
        lambda: modify(lab, partition, Layout("blade-06", 2, 16)),
        "partition p lives on blade-05 and cannot move to blade-06: delete it and compose it there",
        "Base.1.22.PropertyValueConflict",
        400,
    )


def test_a_config_partition_that_does_not_fit_is_a_config_error(make_lab: MakeLab) -> None:
    with pytest.raises(LabConfigError, match=r"^partition p: blade-05 cannot give 32 dedicated"):
        pool_lab(make_lab, [{"id": "p", "host": "blade-05", "cores": 32}])
    with pytest.raises(LabConfigError, match="port 'fc0:both' must be PORT, PORT:shared"):
        pool_lab(make_lab, [{"id": "p", "host": "blade-05", "ports": ["fc0:both"]}])
    with pytest.raises(LabConfigError, match="cpu_mode must be Dedicated or Shared"):
        pool_lab(make_lab, [{"id": "p", "host": "blade-05", "cpu_mode": "Turbo"}])
