"""Rules, maintenance and firing times on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.faults import Severity
from kanri.domain.rules import ActionSpec, Maintenance, Match, Rule, Trigger
from kanri.store.db import Database
from kanri.store.repo import Repository
from kanri.store.rules_repo import RulesRepository
from kanri.store.tables import DeliveryRow

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def rule(name: str, origin: str = "api", **kw: object) -> Rule:
    return Rule(name, Match(), (ActionSpec("reboot"),), origin=origin, **kw)  # type: ignore[arg-type]


@pytest.fixture
def store(db: Database) -> RulesRepository:
    return RulesRepository(db)


def test_rules_keep_everything_and_their_order(store: RulesRepository) -> None:
    full = Rule(
        "full",
        Match(Severity.CRITICAL, ("hw.*",), ("DIMM*",), ("b1",), ("web",)),
        (ActionSpec("email", {"to": ["a@b.example"]}), ActionSpec("reboot")),
        enabled=False,
        on=frozenset({Trigger.NEW, Trigger.CLEARED}),
        rate_count=3,
        rate_seconds=60,
        quiet_seconds=10,
    )
    store.add(rule("first"))
    stored = store.add(full)
    assert stored == Rule(**{**_fields(full), "position": 1})  # type: ignore[arg-type]
    assert store.get("full") == stored
    with pytest.raises(Conflict, match="already exists"):
        store.add(rule("full"))
    assert [r.name for r in store.rules()] == ["first", "full"]
    assert store.set_enabled("full", True).enabled
    store.remove("first")
    with pytest.raises(NotFound, match="no rule named 'first'"):
        store.get("first")
    with pytest.raises(NotFound):
        store.remove("first")


def _fields(r: Rule) -> dict[str, object]:
    return {f: getattr(r, f) for f in Rule.__slots__}


def test_load_replaces_one_files_rules_in_place(store: RulesRepository) -> None:
    store.add(rule("a"))
    store.load("f.yaml", [rule("f1", "f.yaml"), rule("f2", "f.yaml")])
    store.add(rule("z"))
    assert [r.name for r in store.rules()] == ["a", "f1", "f2", "z"]
    store.load("f.yaml", [rule("f3", "f.yaml"), rule("f1", "f.yaml")])
    assert [(r.name, r.position) for r in store.rules()] == [
        ("a", 0), ("f3", 1), ("f1", 2), ("z", 3),
    ]  # fmt: skip
    store.load("g.yaml", [rule("g1", "g.yaml")])
    assert [r.name for r in store.rules()][-1] == "g1"


def test_load_is_all_or_nothing(store: RulesRepository) -> None:
    store.add(rule("a"))
    store.load("f.yaml", [rule("f1", "f.yaml")])
    with pytest.raises(Conflict, match="rule a exists already \\(from api\\): nothing loaded"):
        store.load("f.yaml", [rule("f2", "f.yaml"), rule("a", "f.yaml")])
    assert [r.name for r in store.rules()] == ["a", "f1"]
    assert store.load("f.yaml", []) == []
    assert [r.name for r in store.rules()] == ["a"]


def test_maintenance_entries_expire(store: RulesRepository) -> None:
    entry, new = store.set_maintenance(Maintenance("b1", "dimm swap", None, "admin", NOW))
    assert new
    assert entry == Maintenance("b1", "dimm swap", None, "admin", NOW)
    later = NOW + timedelta(hours=1)
    _, new = store.set_maintenance(Maintenance("b1", "longer", later, "bob", NOW))
    assert not new
    store.set_maintenance(Maintenance("web", "", NOW + timedelta(minutes=5), "admin", NOW))
    assert [m.target for m in store.maintenance(NOW)] == ["b1", "web"]
    assert [m.target for m in store.maintenance(NOW + timedelta(minutes=5))] == ["b1"]
    with pytest.raises(NotFound, match="web is not in maintenance"):
        store.end_maintenance("web", NOW + timedelta(minutes=6))
    assert store.end_maintenance("b1", NOW).reason == "longer"
    assert store.maintenance(NOW) == []
    with pytest.raises(NotFound, match="b1 is not in maintenance"):
        store.end_maintenance("b1", NOW)


def test_firing_times_count_event_and_trigger_once(
    store: RulesRepository, repo: Repository, db: Database
) -> None:
    e1 = repo.add_event("hw.sel", "warning", None, "one")
    e2 = repo.add_event("hw.sel", "warning", None, "two")

    def delivery(event: int, rule_name: str, index: int, trigger: str, at: datetime) -> DeliveryRow:
        return DeliveryRow(
            event_id=event, rule_name=rule_name, action_index=index, trigger=trigger,
            kind="reboot", created_at=at,
        )  # fmt: skip

    with db.session() as session:
        session.add_all([
            delivery(e1, "r", 0, "new", NOW - timedelta(seconds=50)),
            delivery(e1, "r", 1, "new", NOW - timedelta(seconds=49)),  # same firing
            delivery(e1, "r", 0, "escalated:critical", NOW - timedelta(seconds=20)),
            delivery(e2, "r", 0, "new", NOW - timedelta(seconds=500)),  # before since
            delivery(e2, "other", 0, "new", NOW - timedelta(seconds=10)),
        ])  # fmt: skip
    assert store.firing_times("r", NOW - timedelta(seconds=100)) == [
        NOW - timedelta(seconds=50),
        NOW - timedelta(seconds=20),
    ]
    assert len(store.firing_times("r", NOW - timedelta(hours=1))) == 3
    assert store.firing_times("nobody", NOW - timedelta(hours=1)) == []
