"""Rules, maintenance entries, and when rules fired. Returns domain values, never rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.faults import Severity
from kanri.domain.rules import ActionSpec, Maintenance, Match, Rule, Trigger
from kanri.store.db import Database
from kanri.store.tables import DeliveryRow, MaintenanceRow, RuleRow


def _match_json(rule: Rule) -> dict[str, Any]:
    # The triggers (``on``) live with the match: when a rule fires is part of what it matches.
    m = rule.match
    return {
        "severity": m.severity.value,
        "kinds": list(m.kinds),
        "components": list(m.components),
        "targets": list(m.targets),
        "groups": list(m.groups),
        "on": sorted(t.value for t in rule.on),
    }


def _rule(row: RuleRow) -> Rule:
    m = row.match
    return Rule(
        name=row.name,
        match=Match(
            severity=Severity(m.get("severity", "info")),
            kinds=tuple(m.get("kinds", ())),
            components=tuple(m.get("components", ())),
            targets=tuple(m.get("targets", ())),
            groups=tuple(m.get("groups", ())),
        ),
        actions=tuple(ActionSpec(a["kind"], dict(a.get("params", {}))) for a in row.actions),
        enabled=row.enabled,
        on=frozenset(Trigger(t) for t in m.get("on", ("new", "escalated"))),
        rate_count=row.rate_count,
        rate_seconds=row.rate_seconds,
        quiet_seconds=row.quiet_seconds,
        position=row.position,
        origin=row.origin,
    )


def _fill(row: RuleRow, rule: Rule, position: int) -> RuleRow:
    row.name = rule.name
    row.position = position
    row.enabled = rule.enabled
    row.match = _match_json(rule)
    row.actions = [{"kind": a.kind, "params": a.params} for a in rule.actions]
    row.rate_count = rule.rate_count
    row.rate_seconds = rule.rate_seconds
    row.quiet_seconds = rule.quiet_seconds
    row.origin = rule.origin
    return row


def _maintenance(row: MaintenanceRow) -> Maintenance:
    return Maintenance(row.target, row.reason, row.until, row.created_by, row.created_at)


class RulesRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # rules ------------------------------------------------------------------------------

    @staticmethod
    def _row(session: Session, name: str) -> RuleRow:
        row = session.scalars(select(RuleRow).where(RuleRow.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no rule named {name!r}")
        return row

    def add(self, rule: Rule) -> Rule:
        """Append ``rule`` after every other rule; its name must be new."""
        with self.db.session() as session:
            if session.scalars(select(RuleRow.id).where(RuleRow.name == rule.name)).first():
                raise Conflict(f"a rule named {rule.name!r} already exists")
            last = session.scalar(select(func.max(RuleRow.position)))
            row = _fill(RuleRow(), rule, (last if last is not None else -1) + 1)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"a rule named {rule.name!r} was added at the same time") from None
            return _rule(row)

    def rules(self) -> list[Rule]:
        """Every rule, in the order they are tried."""
        with self.db.session() as session:
            rows = session.scalars(select(RuleRow).order_by(RuleRow.position, RuleRow.id))
            return [_rule(r) for r in rows]

    def get(self, name: str) -> Rule:
        with self.db.session() as session:
            return _rule(self._row(session, name))

    def remove(self, name: str) -> None:
        with self.db.session() as session:
            session.delete(self._row(session, name))

    def set_enabled(self, name: str, enabled: bool) -> Rule:
        with self.db.session() as session:
            row = self._row(session, name)
            row.enabled = enabled
            session.flush()
            return _rule(row)

    def load(self, source: str, rules: list[Rule]) -> list[Rule]:
        """Make the rules from ``source`` exactly ``rules``, all or none: the file's old
        rules go, the new ones take the old ones' place in the order (or come last). A
        name used by a rule from elsewhere refuses the whole file."""
        with self.db.session() as session:
            existing = list(session.scalars(select(RuleRow).order_by(RuleRow.position)))
            others = [r for r in existing if r.origin != source]
            taken = sorted({r.name for r in others} & {r.name for r in rules})
            if taken:
                owner = next(r.origin for r in others if r.name == taken[0])
                raise Conflict(
                    f"{source}: rule {taken[0]} exists already (from {owner}): "
                    "nothing loaded; rename it in the file or remove the other"
                )
            at = next((i for i, r in enumerate(existing) if r.origin == source), len(existing))
            at -= sum(1 for r in existing[:at] if r.origin == source)
            session.execute(delete(RuleRow).where(RuleRow.origin == source))
            session.flush()
            ordered: list[RuleRow | Rule] = [*others[:at], *rules, *others[at:]]
            loaded: list[RuleRow] = []
            for position, item in enumerate(ordered):
                if isinstance(item, RuleRow):
                    item.position = position
                else:
                    row = _fill(RuleRow(), item, position)
                    session.add(row)
                    loaded.append(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"{source}: rules were changed at the same time; retry") from None
            return [_rule(r) for r in loaded]

    def firing_times(self, rule_name: str, since: datetime) -> list[datetime]:
        """When ``rule_name`` fired since ``since``: one time per distinct (event, trigger)
        among its deliveries, the first delivery's."""
        first = func.min(DeliveryRow.created_at)
        with self.db.session() as session:
            rows = session.execute(
                select(first)
                .where(DeliveryRow.rule_name == rule_name)
                .group_by(DeliveryRow.event_id, DeliveryRow.trigger)
                .having(first >= since)
            ).all()
            return sorted(t for (t,) in rows)

    # maintenance ------------------------------------------------------------------------

    def set_maintenance(self, entry: Maintenance) -> tuple[Maintenance, bool]:
        """Put a target in maintenance, or change its reason and end; True if it is new."""
        with self.db.session() as session:
            row = session.scalars(
                select(MaintenanceRow).where(MaintenanceRow.target == entry.target)
            ).one_or_none()
            new = row is None
            if row is None:
                row = MaintenanceRow(target=entry.target)
                session.add(row)
            row.reason = entry.reason
            row.until = entry.until
            row.created_by = entry.created_by
            if entry.created_at is not None:
                row.created_at = entry.created_at
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"{entry.target} was put in maintenance at the same time") from None
            return _maintenance(row), new

    def maintenance(self, now: datetime) -> list[Maintenance]:
        """The entries in force at ``now`` (an expired one counts for nothing)."""
        with self.db.session() as session:
            rows = session.scalars(
                select(MaintenanceRow)
                .where((MaintenanceRow.until.is_(None)) | (MaintenanceRow.until > now))
                .order_by(MaintenanceRow.target)
            )
            return [_maintenance(r) for r in rows]

    def end_maintenance(self, target: str, now: datetime) -> Maintenance:
        """Take ``target`` out of maintenance; NotFound if it is not in (or has expired)."""
        with self.db.session() as session:
            row = session.scalars(
                select(MaintenanceRow).where(MaintenanceRow.target == target)
            ).one_or_none()
            expired = row is not None and row.until is not None and row.until <= now
            if row is not None:
                session.delete(row)  # an expired entry goes too
            entry = None if row is None or expired else _maintenance(row)
        if entry is None:
            raise NotFound(f"{target} is not in maintenance")
        return entry
