"""Layouts on the fake driver: recorded on every partition change, exported, imported
strictly, diffed, and applied to another machine as a job (or refused, nothing changed)."""

from __future__ import annotations

import pytest
import yaml

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.jobs import JobState
from kanri.domain.model import Bmc
from kanri.domain.partitions import MachineMode, PartitionSpec, PortUse
from kanri.domain.runstate import RunState
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.fake import world_of
from kanri.drivers.fake.partitions_world import partitions_world_of
from kanri.engine.manager import Manager
from tests.waiting import wait_for

BMC = Bmc("fake://rack?systems=3", "admin", "pw")


@pytest.fixture
def rack(manager: Manager) -> Manager:
    manager.machines.add("rack", BMC, driver="fake")  # rack-1, rack-2, rack-3
    world = partitions_world_of(manager.drivers.context)
    ids = {m.name: m.system_id for m in manager.repo.list_machines()}
    world.add_host(BMC.url, ids["rack-1"], cores=8, memory_gib=32)
    world.add_host(BMC.url, ids["rack-2"], cores=8, memory_gib=32)
    world.add_host(BMC.url, ids["rack-3"], mode=MachineMode.BARE)
    manager.start()
    return manager


APP = PartitionSpec("app-1", 2, 8, ports=(PortUse("fc0", shared=True), PortUse("nic0")))


def _ended(manager: Manager, job_id: int) -> JobState:
    wait_for(lambda: manager.jobs.get(job_id).state.ended)
    return manager.jobs.get(job_id).state


def test_each_partition_change_is_a_new_version_and_the_same_layout_adds_none(
    rack: Manager,
) -> None:
    rack.partitions.create("rack-1", APP, "alice")
    rack.partitions.create("rack-1", PartitionSpec("db-1", 1, 8), "bob")
    history = rack.layouts.history("rack-1")
    assert [(v.version, v.reason, v.created_by) for v in history] == [
        (1, "partition create app-1", "alice"),
        (2, "partition create db-1", "bob"),
    ]
    assert history[-1].host == "rack-1"
    assert rack.layouts.record("rack-1", "nothing new", "carol") is None
    doc = yaml.safe_load(rack.layouts.export("rack-1"))
    assert doc["host"] == {"name": "rack-1", "ports": {"fc0": "fc", "nic0": "nic"}}
    assert [p["name"] for p in doc["partitions"]] == ["app-1", "db-1"]


def test_import_is_strict_and_a_diff_shows_the_edit(rack: Manager) -> None:
    rack.partitions.create("rack-1", APP, "alice")
    doc = yaml.safe_load(rack.layouts.export("rack-1"))
    doc["partitions"][0]["memroy_gib"] = 4
    with pytest.raises(Invalid, match=r"edit.yaml: partitions\[0\]\.memroy_gib: unknown key"):
        rack.layouts.import_(yaml.safe_dump(doc), "edit.yaml", "copy", "alice")
    with pytest.raises(Invalid, match=r"bad.yaml: line 1"):
        rack.layouts.import_("host: [", "bad.yaml", "copy", "alice")
    with pytest.raises(NotFound):
        rack.layouts.get("copy")  # nothing stored
    del doc["partitions"][0]["memroy_gib"]
    rack.layouts.import_(yaml.safe_dump(doc), "a.yaml", "copy", "alice")
    doc["partitions"][0]["memory_gib"] = 16
    second = rack.layouts.import_(yaml.safe_dump(doc), "b.yaml", "copy", "alice")
    assert second.version == 2
    assert second.host is None
    assert rack.layouts.diff("copy", 1, 2) == ["partition app-1: memory_gib 8 -> 16"]
    with pytest.raises(Invalid, match="describes no machine"):
        rack.layouts.diff_live("copy")
    assert rack.layouts.diff_live("rack-1") == []


def test_apply_creates_the_partitions_on_another_machine(rack: Manager) -> None:
    rack.partitions.create("rack-1", APP, "alice")
    doc = yaml.safe_load(rack.layouts.export("rack-1"))
    doc["partitions"][0]["name"] = "app-2"
    rack.layouts.import_(yaml.safe_dump(doc), "moved.yaml", "moved", "alice")
    job = rack.layouts.apply("moved", "rack-2", restore_states=False, by="alice")
    assert _ended(rack, job.id) is JobState.SUCCEEDED
    made = rack.partitions.show("app-2")
    assert made.host == "rack-2"
    assert made.spec.memory_gib == 8
    assert rack.layouts.diff_live("rack-2") == []  # rack-2's own layout was recorded
    with pytest.raises(Invalid, match="on rack-2 already"):
        rack.layouts.apply("moved", "rack-2", restore_states=False, by="alice")


def test_apply_refuses_a_bare_machine_a_taken_name_and_a_layout_that_does_not_fit(
    rack: Manager,
) -> None:
    rack.partitions.create("rack-1", APP, "alice")
    with pytest.raises(Conflict, match="rack-3: it is in bare mode"):
        rack.layouts.apply("rack-1", "rack-3", restore_states=False, by="alice")
    rack.partitions.create("rack-1", PartitionSpec("rack-2-app-1", 1, 8), "alice")
    with pytest.raises(Conflict, match="app-1: that name and rack-2-app-1 are other machines'"):
        rack.layouts.apply("rack-1", "rack-2", restore_states=False, by="alice")
    with pytest.raises(NotFound, match="nowhere"):
        rack.layouts.apply("rack-1", "nowhere", restore_states=False, by="alice")
    big = {
        "version": 1,
        "host": {"name": "rack-9"},
        "partitions": [{"name": "huge-1", "cores": 6, "memory_gib": 64}],
    }
    rack.layouts.import_(yaml.safe_dump(big), "big.yaml", "big", "alice")
    with pytest.raises(Conflict, match=r"memory: 64 GiB asked by the layout, rack-2 has 32"):
        rack.layouts.apply("big", "rack-2", restore_states=False, by="alice")
    assert rack.jobs.list_jobs(kind="layout.apply") == []
    assert rack.partitions.list("rack-2") == []


def test_restore_states_starts_exactly_the_running_ones(rack: Manager) -> None:
    doc = {
        "version": 1,
        "host": {"name": "gone-1"},
        "partitions": [
            {"name": "run-1", "cores": 1, "memory_gib": 8},
            {"name": "lost-1", "cores": 1, "memory_gib": 8},
            {"name": "stop-1", "cores": 1, "memory_gib": 8},
        ],
        "states": {"run-1": "running", "lost-1": "lost_with_host", "stop-1": "stopped_by_operator"},
    }
    rack.layouts.import_(yaml.safe_dump(doc), "gone.yaml", "gone", "alice")
    rack.power.set("rack-2", PowerAction.ON)
    job = rack.layouts.apply("gone", "rack-2", restore_states=True, by="alice")
    assert _ended(rack, job.id) is JobState.SUCCEEDED, rack.jobs.get(job.id).error
    starts = [s.params["partition"] for s in rack.jobs.get(job.id).steps if "start" in s.name]
    assert starts == ["lost-1", "run-1"]
    assert rack.power.read("stop-1").power.value == "off"


WWPN = "2c:00:4b:41:00:00:00:01"


def _carve_and_run(rack: Manager) -> None:
    """rack-1 carved: app-1 holds server web-1 and runs, db-1 runs too (both started by
    alice through the power service, which records who)."""
    rack.partitions.create("rack-1", APP, "alice")
    rack.partitions.create("rack-1", PartitionSpec("db-1", 1, 8), "alice")
    rack.servers.add("web-1", wwpns={"fc0": WWPN})
    rack.servers.place("web-1", "app-1", "alice")
    rack.power.set("rack-1", PowerAction.ON)
    for name in ("app-1", "db-1"):
        rack.power.set(name, PowerAction.ON, who="alice")
    rack.sync.sweep()  # kanri reads them on


def _lose(rack: Manager, host: str) -> None:
    """``host`` loses power with its partitions; the sync loop freezes the run states."""
    bmc = world_of(rack.drivers.context).bmcs[BMC.url]
    ids = {m.name: m.system_id for m in rack.repo.list_machines()}
    on = [host] + [p.name for p in rack.partitions.list(host)]
    for name in on:
        bmc.systems[ids[name]].power = PowerState.OFF
    rack.sync.sweep()


def test_export_is_the_machine_now_with_its_servers_and_run_states(rack: Manager) -> None:
    _carve_and_run(rack)
    doc = yaml.safe_load(rack.layouts.export("rack-1"))
    assert doc["servers"]["web-1"]["partition"] == "app-1"
    assert doc["states"] == {"app-1": "running", "db-1": "running"}
    reasons = [v.reason for v in rack.layouts.history("rack-1")]
    assert "server place web-1 on app-1" in reasons
    assert reasons[-1] == "export"


def test_apply_to_another_machine_renames_taken_partitions_and_moves_the_servers(
    rack: Manager,
) -> None:
    _carve_and_run(rack)
    stale = rack.layouts.export("rack-1")  # taken while db-1 ran
    rack.power.set("db-1", PowerAction.FORCE_OFF, who="bob")  # bob stops db-1 afterwards
    _lose(rack, "rack-1")
    snapshot = rack.runstates.latest_snapshot("rack-1")
    assert snapshot is not None
    rack.layouts.import_(stale, "rack-1.yaml", "web", "alice")
    rack.power.set("rack-2", PowerAction.ON)

    job = rack.layouts.apply("web", "rack-2", restore_states=True, by="alice")
    assert _ended(rack, job.id) is JobState.SUCCEEDED, rack.jobs.get(job.id).error
    steps = [s.name for s in rack.jobs.get(job.id).steps]
    assert steps == [
        "create partition rack-2-app-1 on rack-2",
        "create partition rack-2-db-1 on rack-2",
        "place web-1 on rack-2-app-1",
        f"claim run states of rack-1 (snapshot {snapshot.id})",
        "start rack-2-app-1",  # not db-1: the snapshot says bob stopped it, not the file
    ]
    assert rack.servers.placement("web-1") == "rack-2-app-1"
    assert rack.power.read("rack-2-app-1").power is PowerState.ON
    assert rack.power.read("rack-2-db-1").power is PowerState.OFF
    assert rack.runstates.snapshot(snapshot.id).restored_at is not None
    left = rack.runstates.states("rack-1")
    assert left["app-1"].state is RunState.STOPPED_BY_OPERATOR  # its host's return: no start
    assert left["db-1"].by == "bob"


def test_without_a_snapshot_the_layouts_own_states_are_restored(rack: Manager) -> None:
    _carve_and_run(rack)
    rack.power.set("db-1", PowerAction.FORCE_OFF, who="bob")
    rack.layouts.import_(rack.layouts.export("rack-1"), "now.yaml", "now", "alice")
    rack.power.set("rack-2", PowerAction.ON)
    with pytest.raises(Conflict, match="web-1 is placed on app-1, which is on"):
        rack.layouts.apply("now", "rack-2", restore_states=True, by="alice")
    assert rack.partitions.list("rack-2") == []
    rack.power.set("app-1", PowerAction.FORCE_OFF, who="carol")  # after the export
    rack.sync.sweep()
    job = rack.layouts.apply("now", "rack-2", restore_states=True, by="alice")
    assert _ended(rack, job.id) is JobState.SUCCEEDED, rack.jobs.get(job.id).error
    starts = [s.name for s in rack.jobs.get(job.id).steps if s.action == "layout.start"]
    assert starts == ["start rack-2-app-1"]  # the file's states: app-1 ran, db-1 did not
