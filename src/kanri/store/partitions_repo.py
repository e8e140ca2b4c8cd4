"""What kanri keeps of partitions (their spec and run state, beside their machine row) and
of machines' modes (issue 5; docs/partitions.md "Partitions and modes in kanri")."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, PortUse
from kanri.store.db import Database
from kanri.store.tables import MachineRow, PartitionRow, ServerRow, utcnow


@dataclass(frozen=True, slots=True)
class StoredPartition:
    """A partition as kanri keeps it: its machine name, its host's, the spec it was made
    (or last changed) with, and its run state."""

    name: str
    host: str
    system_id: str
    spec: PartitionSpec
    run_state: str
    run_state_cause: str
    run_state_by: str
    run_state_at: datetime


def spec_to_json(spec: PartitionSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "cores": spec.cores,
        "memory_gib": spec.memory_gib,
        "cpu_mode": spec.cpu_mode.value,
        "shared_weight": spec.shared_weight,
        "ports": [{"port": p.port, "shared": p.shared, "identity": p.identity} for p in spec.ports],
        "cpus": list(spec.cpus),
    }


def spec_from_json(data: dict[str, Any]) -> PartitionSpec:
    try:
        return PartitionSpec(
            name=str(data["name"]),
            cores=int(data["cores"]),
            memory_gib=int(data["memory_gib"]),
            cpu_mode=CpuMode(data.get("cpu_mode", CpuMode.DEDICATED.value)),
            shared_weight=int(data.get("shared_weight", 100)),
            ports=tuple(
                PortUse(str(p["port"]), bool(p.get("shared", False)), p.get("identity"))
                for p in data.get("ports") or ()
            ),
            cpus=tuple(int(c) for c in data.get("cpus") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"a stored partition spec is unreadable ({exc}): {data!r}") from None


class PartitionsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _machine(session: Session, name: str) -> MachineRow:
        row = session.scalars(select(MachineRow).where(MachineRow.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no machine named {name!r}")
        return row

    # partitions -------------------------------------------------------------------------

    def add(self, name: str, host: str, spec: PartitionSpec, by: str) -> StoredPartition:
        """Keep ``spec`` for the registered machine ``name``, a partition of ``host``."""
        with self.db.session() as session:
            machine = self._machine(session, name)
            host_row = self._machine(session, host)
            row = PartitionRow(
                machine_id=machine.id,
                host_machine_id=host_row.id,
                spec=spec_to_json(spec),
                run_state="off",
                run_state_by=by[:63],
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"machine {name} is a kanri partition already") from None
            return _stored(row, machine, host_row)

    def _query(self, session: Session, host: str | None = None, name: str | None = None) -> Any:
        part_machine, host_machine = aliased(MachineRow), aliased(MachineRow)
        query = (
            select(PartitionRow, part_machine, host_machine)
            .join(part_machine, PartitionRow.machine_id == part_machine.id)
            .join(host_machine, PartitionRow.host_machine_id == host_machine.id)
            .order_by(part_machine.name)
        )
        if host is not None:
            query = query.where(host_machine.name == host)
        if name is not None:
            query = query.where(part_machine.name == name)
        return session.execute(query).all()

    def get(self, name: str) -> StoredPartition:
        with self.db.session() as session:
            rows = self._query(session, name=name)
            if not rows:
                self._machine(session, name)  # NotFound for an unknown name
                raise NotFound(f"machine {name} is not a kanri partition")
            return _stored(*rows[0])

    def find(self, name: str) -> StoredPartition | None:
        with self.db.session() as session:
            rows = self._query(session, name=name)
            return _stored(*rows[0]) if rows else None

    def list(self, host: str | None = None) -> builtins.list[StoredPartition]:
        with self.db.session() as session:
            if host is not None:
                self._machine(session, host)
            return [_stored(*r) for r in self._query(session, host=host)]

    def set_spec(self, name: str, spec: PartitionSpec) -> StoredPartition:
        with self.db.session() as session:
            rows = self._query(session, name=name)
            if not rows:
                raise NotFound(f"machine {name} is not a kanri partition")
            row, machine, host = rows[0]
            row.spec = spec_to_json(spec)
            session.flush()
            return _stored(row, machine, host)

    # modes ------------------------------------------------------------------------------

    def set_mode(self, machine: str, mode: MachineMode | None, pending: MachineMode | None) -> None:
        with self.db.session() as session:
            row = self._machine(session, machine)
            row.mode = mode.value if mode else None
            row.pending_mode = pending.value if pending else None

    def mode(self, machine: str) -> tuple[MachineMode | None, MachineMode | None]:
        with self.db.session() as session:
            row = self._machine(session, machine)
            return (
                MachineMode(row.mode) if row.mode else None,
                MachineMode(row.pending_mode) if row.pending_mode else None,
            )

    # servers placed (read here; the servers slice owns placing) -------------------------

    def servers_on(self, machine: str) -> builtins.list[str]:
        """The servers placed on ``machine`` (at most one: placement is unique)."""
        with self.db.session() as session:
            row = self._machine(session, machine)
            return list(
                session.scalars(select(ServerRow.name).where(ServerRow.machine_id == row.id)).all()
            )

    def placed_ports(self, machine: str) -> dict[str, builtins.list[str]]:
        """Server -> the ports whose identity it presents on ``machine``."""
        with self.db.session() as session:
            row = self._machine(session, machine)
            servers = session.scalars(select(ServerRow).where(ServerRow.machine_id == row.id))
            return {s.name: sorted((s.identity or {}).get("ports") or {}) for s in servers.all()}

    def unplace_servers(self, machine: str) -> builtins.list[str]:
        """Unplace every server placed on ``machine``; their records stay (``--force``)."""
        with self.db.session() as session:
            row = self._machine(session, machine)
            servers = session.scalars(select(ServerRow).where(ServerRow.machine_id == row.id))
            names: builtins.list[str] = []
            for server in servers.all():
                server.machine_id = None
                server.desired_power = "off"
                server.updated_at = utcnow()
                names.append(server.name)
            return names


def _stored(row: PartitionRow, machine: MachineRow, host: MachineRow) -> StoredPartition:
    return StoredPartition(
        name=machine.name,
        host=host.name,
        system_id=machine.system_id,
        spec=spec_from_json(row.spec),
        run_state=row.run_state,
        run_state_cause=row.run_state_cause,
        run_state_by=row.run_state_by,
        run_state_at=row.run_state_at,
    )
