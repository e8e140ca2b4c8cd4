"""The repository: every query the engine makes, returning domain values, never rows."""

from __future__ import annotations

import hashlib
import secrets as _random
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.model import Bmc, FcPort, Machine, Nic, SystemInventory
from kanri.domain.naming import check_name
from kanri.domain.partitions import MachineMode
from kanri.domain.states import Health, PowerState, SystemKind
from kanri.store.db import Database
from kanri.store.events_repo import EventsRepository
from kanri.store.secrets import Secrets
from kanri.store.tables import (
    ApiTokenRow,
    BmcRow,
    EventRow,
    GroupMemberRow,
    GroupRow,
    MachineRow,
    ScheduleRow,
    TargetLockRow,
    utcnow,
)


def _machine(row: MachineRow) -> Machine:
    inventory = SystemInventory(
        system_id=row.system_id,
        manufacturer=row.manufacturer,
        model=row.model,
        serial=row.serial,
        uuid=row.uuid,
        cpu_cores=row.cpu_cores,
        memory_mib=row.memory_mib,
        nics=tuple(Nic(n["name"], n["mac"]) for n in row.nics or ()),
        fc_ports=tuple(FcPort(p["name"], p["wwpn"]) for p in row.fc_ports or ()),
        health=Health(row.health),
        power=PowerState(row.power),
        kind=SystemKind(row.kind),
        host_system_id=row.host_system_id,
    )
    return Machine(
        name=row.name,
        bmc_url=row.bmc.url,
        system_id=row.system_id,
        driver=row.bmc.driver,
        inventory=inventory,
        power=PowerState(row.power),
        power_checked_at=row.power_checked_at,
        desired_power=PowerState(row.desired_power) if row.desired_power else None,
        power_commanded_at=row.power_commanded_at,
        health=Health(row.health),
        reachable=row.reachable,
        mode=MachineMode(row.mode) if row.mode else None,
        pending_mode=MachineMode(row.pending_mode) if row.pending_mode else None,
    )


def _apply_inventory(row: MachineRow, inv: SystemInventory) -> None:
    row.manufacturer = inv.manufacturer
    row.model = inv.model
    row.serial = inv.serial
    row.uuid = inv.uuid
    row.cpu_cores = inv.cpu_cores
    row.memory_mib = inv.memory_mib
    row.nics = [{"name": n.name, "mac": n.mac} for n in inv.nics]
    row.fc_ports = [{"name": p.name, "wwpn": p.wwpn} for p in inv.fc_ports]
    row.kind = inv.kind.value
    row.host_system_id = inv.host_system_id
    row.health = inv.health.value
    if inv.power is not PowerState.UNKNOWN:
        row.power = inv.power.value
        row.power_checked_at = utcnow()


class Repository:
    def __init__(self, db: Database, secrets: Secrets) -> None:
        self.db = db
        self.secrets = secrets
        self.events = EventsRepository(db)  # fault events (store/events_repo.py)

    # machines ---------------------------------------------------------------------------

    def _row(self, session: Session, name: str) -> MachineRow:
        row = session.scalars(
            select(MachineRow).where(MachineRow.name == name).options(selectinload(MachineRow.bmc))
        ).one_or_none()
        if row is None:
            raise NotFound(f"no machine named {name!r}")
        return row

    def add_machines(
        self, bmc: Bmc, driver: str, found: dict[str, SystemInventory]
    ) -> list[Machine]:
        """Register every machine found behind ``bmc`` in one transaction: all or none."""
        if not found:
            raise Invalid(f"no systems found behind {bmc.url}: nothing to add")
        for name in found:
            check_name(name)
        with self.db.session() as session:
            taken = session.scalars(
                select(MachineRow.name).where(MachineRow.name.in_(list(found)))
            ).all()
            if taken:
                raise Conflict(f"a machine named {', '.join(sorted(taken))} already exists")
            # Locked (on PostgreSQL) so that a concurrent remove cannot drop it under us.
            uuids = [inv.uuid for inv in found.values() if inv.uuid]
            if uuids:  # the same machine behind another URL (a second NIC, a DNS name)
                twin = session.execute(
                    select(MachineRow.name, MachineRow.uuid).where(MachineRow.uuid.in_(uuids))
                ).first()
                if twin is not None:
                    raise Conflict(
                        f"the system with UUID {twin.uuid} is registered already as {twin.name}"
                    )
            bmc_row = session.scalars(
                select(BmcRow).where(BmcRow.url == bmc.url).with_for_update()
            ).one_or_none()
            if bmc_row is None:
                bmc_row = BmcRow(
                    url=bmc.url,
                    username=bmc.username,
                    password_encrypted=self.secrets.encrypt(bmc.password),
                    verify_tls=bmc.verify_tls,
                    driver=driver,
                )
                session.add(bmc_row)
                try:
                    session.flush()
                except IntegrityError:  # a concurrent add of the same BMC won the race
                    raise Conflict(f"{bmc.url} was registered at the same time; retry") from None
            else:
                # One BMC, one set of credentials: a second set would be silently unused.
                stored = self._bmc(bmc_row)
                if (stored, bmc_row.driver) != (bmc, driver):
                    raise Conflict(
                        f"{bmc.url} is registered already with other credentials, TLS "
                        "setting or driver; kanri keeps one set per BMC"
                    )
                known = set(
                    session.scalars(
                        select(MachineRow.system_id).where(MachineRow.bmc_id == bmc_row.id)
                    ).all()
                )
                again = sorted(known & {inv.system_id for inv in found.values()})
                if again:
                    raise Conflict(
                        f"{bmc.url} is already registered with system(s) {', '.join(again)}"
                    )
            rows = []
            for name, inv in found.items():
                row = MachineRow(name=name, bmc_id=bmc_row.id, system_id=inv.system_id)
                row.bmc = bmc_row
                _apply_inventory(row, inv)
                session.add(row)
                rows.append(row)
            try:
                session.flush()
            except IntegrityError as exc:  # a concurrent add won the race
                raise Conflict(f"machine or BMC already registered: {exc.orig}") from None
            return [_machine(r) for r in rows]

    def list_machines(self) -> list[Machine]:
        with self.db.session() as session:
            rows = session.scalars(
                select(MachineRow).options(selectinload(MachineRow.bmc)).order_by(MachineRow.name)
            ).all()
            return [_machine(r) for r in rows]

    def get_machine(self, name: str) -> Machine:
        with self.db.session() as session:
            return _machine(self._row(session, name))

    def bmc_of(self, name: str) -> tuple[Machine, Bmc]:
        """The machine and its BMC, password decrypted, for a driver call."""
        with self.db.session() as session:
            row = self._row(session, name)
            return _machine(row), self._bmc(row.bmc)

    def _bmc(self, row: BmcRow) -> Bmc:
        return Bmc(
            url=row.url,
            username=row.username,
            password=self.secrets.decrypt(row.password_encrypted),
            verify_tls=row.verify_tls,
        )

    def machines_with_bmcs(self) -> list[tuple[Machine, Bmc]]:
        with self.db.session() as session:
            bmcs = session.scalars(
                select(BmcRow).options(selectinload(BmcRow.machines)).order_by(BmcRow.id)
            ).all()
            out: list[tuple[Machine, Bmc]] = []
            for bmc_row in bmcs:
                bmc = self._bmc(bmc_row)
                out.extend((_machine(m), bmc) for m in bmc_row.machines)
            return out

    @staticmethod
    def _check_no_job(session: Session, name: str, *others: str) -> None:
        """Conflict while a live job holds ``name`` (or ``others``): its steps act by name.
        An expired lease is no hold (its manager died; the lock is free to take)."""
        job = session.scalars(
            select(TargetLockRow.job_id)
            .where(TargetLockRow.target.in_([name, *others]), TargetLockRow.expires_at > utcnow())
            .order_by(TargetLockRow.job_id)
        ).first()
        if job is not None:
            raise Conflict(
                f"{name} is busy (held by job {job}); try again when that ends "
                f"(kanri job show {job})"
            )

    @staticmethod
    def _check_no_schedule(session: Session, row: MachineRow) -> None:
        """Conflict while a schedule acts on the machine, itself or through a group: a
        removal must not silently delete a schedule or change what it powers."""
        users = [
            f"{s} (through group {g})" if g else s
            for s, g in session.execute(
                select(ScheduleRow.name, GroupRow.name)
                .outerjoin(GroupRow, GroupRow.id == ScheduleRow.group_id)
                .outerjoin(GroupMemberRow, GroupMemberRow.group_id == GroupRow.id)
                .where((ScheduleRow.machine_id == row.id) | (GroupMemberRow.machine_id == row.id))
                .order_by(ScheduleRow.name)
            ).all()
        ]
        if users:
            raise Conflict(
                f"{row.name} is used by schedule(s) {', '.join(users)}: remove the schedule "
                f"or take {row.name} out of the group first"
            )

    def remove_machine(self, name: str) -> None:
        """Forget a machine; it leaves its groups. Refused while a live job holds it or a
        schedule acts on it (directly or through a group)."""
        with self.db.session() as session:
            row = self._row(session, name)
            self._check_no_job(session, name)
            self._check_no_schedule(session, row)
            # Lock the BMC (on PostgreSQL) so that two removes of its last two machines
            # cannot both see the other one still there and leave the BMC behind.
            bmc_row = session.scalars(
                select(BmcRow).where(BmcRow.id == row.bmc_id).with_for_update()
            ).one()
            session.delete(row)
            session.flush()
            left = session.scalars(
                select(MachineRow.id).where(MachineRow.bmc_id == bmc_row.id).limit(1)
            ).first()
            if left is None:  # the BMC's last machine: forget its credentials too
                session.delete(bmc_row)

    def rename_machine(self, name: str, new_name: str) -> Machine:
        """Refused while a live job holds the machine (its steps name it). Groups and
        schedules follow the machine, not its name."""
        check_name(new_name)
        with self.db.session() as session:
            row = self._row(session, name)
            self._check_no_job(session, name, new_name)
            if (
                new_name != name
                and session.scalars(
                    select(MachineRow.id).where(MachineRow.name == new_name)
                ).first()
            ):
                raise Conflict(f"a machine named {new_name!r} already exists")
            row.name = new_name
            try:
                session.flush()
            except IntegrityError:  # a concurrent add or rename took the name
                raise Conflict(f"a machine named {new_name!r} already exists") from None
            return _machine(row)

    def update_inventory(self, name: str, inv: SystemInventory) -> Machine:
        with self.db.session() as session:
            row = self._row(session, name)
            _apply_inventory(row, inv)
            row.reachable = True
            session.flush()
            return _machine(row)

    def record_power(
        self, name: str, power: PowerState, reachable: bool, at: datetime | None = None
    ) -> bool:
        """Store an observation; returns whether anything changed (no change, no write)."""
        with self.db.session() as session:
            row = self._row(session, name)
            if row.power == power.value and row.reachable == reachable:
                return False
            row.power = power.value
            row.reachable = reachable
            row.power_checked_at = at or utcnow()
            return True

    def set_desired_power(
        self, name: str, desired: PowerState | None, commanded: bool = False
    ) -> None:
        """What kanri asks of the machine; ``commanded``: a command is being sent now."""
        with self.db.session() as session:
            row = self._row(session, name)
            row.desired_power = desired.value if desired else None
            if commanded:
                row.power_commanded_at = utcnow()

    # events -----------------------------------------------------------------------------

    def add_event(
        self,
        kind: str,
        severity: str,
        target: str | None,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> int:
        return self.events.add_manager_event(kind, severity, target, message, details).id

    def list_events(self, target: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.session() as session:
            query = select(EventRow).order_by(EventRow.id.desc()).limit(limit)
            if target is not None:
                query = query.where(EventRow.target == target)
            return [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "kind": e.kind,
                    "severity": e.severity,
                    "target": e.target,
                    "message": e.message,
                    "details": e.details,
                }
                for e in session.scalars(query).all()
            ]

    # API tokens -------------------------------------------------------------------------

    def create_token(self, name: str) -> str:
        """A new token; only its hash is stored, so the plaintext is returned once."""
        token = _random.token_urlsafe(32)
        with self.db.session() as session:
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.name == name))
            session.add(ApiTokenRow(name=name, sha256=_digest(token)))
        return token

    def has_token(self, name: str) -> bool:
        with self.db.session() as session:
            return (
                session.scalars(select(ApiTokenRow.id).where(ApiTokenRow.name == name)).first()
                is not None
            )

    def check_token(self, token: str) -> str | None:
        """The token's name if it is valid."""
        with self.db.session() as session:
            return session.scalars(
                select(ApiTokenRow.name).where(ApiTokenRow.sha256 == _digest(token))
            ).first()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
