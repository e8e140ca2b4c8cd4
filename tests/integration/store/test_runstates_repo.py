"""RunStatesRepository against a migrated database, on SQLite and on PostgreSQL: a host
(blade-1) with partitions app-1 and app-2 behind one BMC."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from kanri.domain.errors import NotFound
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.runstate import Cause, RunState
from kanri.domain.states import PowerState, SystemKind
from kanri.store.repo import Repository
from kanri.store.runstates_repo import RunStatesRepository

BMC = Bmc(url="https://10.0.0.9", username="admin", password="pw", verify_tls=False)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
S = RunState


def _inv(system_id: str, host: str | None = None) -> SystemInventory:
    kind = SystemKind.PARTITION if host else SystemKind.MACHINE
    return SystemInventory(system_id=system_id, power=PowerState.ON, kind=kind, host_system_id=host)


@pytest.fixture
def store(repo: Repository) -> RunStatesRepository:
    repo.add_machines(
        BMC,
        "redfish",
        {"blade-1": _inv("B1"), "app-1": _inv("P1", "B1"), "app-2": _inv("P2", "B1")},
    )
    return RunStatesRepository(repo.db)


def test_a_partition_gets_its_row_on_first_record_and_keeps_who_changed_it(
    store: RunStatesRepository,
) -> None:
    assert store.states("blade-1") == {}
    before, after = store.record("app-1", "blade-1", Cause.OPERATOR_START, "alice", T0)
    assert (before.state, after.state, after.by, after.at) == (S.OFF, S.RUNNING, "alice", T0)
    _, same = store.record("app-1", "blade-1", Cause.CASCADE_START, "kanri")
    assert same == after  # nothing changed: who and when are kept
    store.ensure("app-2", "blade-1", S.RUNNING)
    store.ensure("app-2", "blade-1", S.OFF)  # has one: untouched
    assert {n: t.state for n, t in store.states("blade-1").items()} == {
        "app-1": S.RUNNING,
        "app-2": S.RUNNING,
    }
    assert store.tracked("app-1").cause is Cause.OPERATOR_START
    with pytest.raises(NotFound, match="no-such"):
        store.record("no-such", "blade-1", Cause.OPERATOR_START, "x")


def test_freeze_claim_and_the_latest_per_host(store: RunStatesRepository) -> None:
    store.record("app-1", "blade-1", Cause.OPERATOR_START, "alice", T0)
    store.ensure("app-2", "blade-1", S.OFF)
    frozen = store.freeze("blade-1", Cause.HOST_FAILED, None, "kanri")
    assert frozen is not None
    assert {n: t.state for n, t in frozen.snapshot.states.items()} == {
        "app-1": S.RUNNING,
        "app-2": S.OFF,
    }
    assert frozen.snapshot.states["app-1"].by == "alice"
    assert store.tracked("app-1").state is S.LOST_WITH_HOST
    assert store.freeze("blade-1", Cause.HOST_FAILED, None, "kanri") is None  # none running
    assert store.latest("blade-1", unrestored=True) == frozen
    assert store.unrestored_hosts() == ["blade-1"]
    assert store.snapshot(frozen.id) == frozen
    assert [s.id for s in store.snapshots("blade-1")] == [frozen.id]
    assert store.claim(frozen.id)
    assert not store.claim(frozen.id)
    assert store.latest("blade-1", unrestored=True) is None
    assert store.unrestored_hosts() == []
    store.unclaim(frozen.id)
    assert store.latest("blade-1", unrestored=True) is not None
    with pytest.raises(NotFound, match="snapshot 999"):
        store.snapshot(999)


def test_two_claims_at_once_one_wins(store: RunStatesRepository) -> None:
    store.record("app-1", "blade-1", Cause.OPERATOR_START, "alice")
    frozen = store.freeze("blade-1", Cause.HOST_FORCED_OFF, None, "bob")
    assert frozen is not None
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        wins.append(store.claim(frozen.id))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]
