"""Servers in the store (ServerRow): identities, boot volumes, needs and placement."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.servers import Identity, Server, check_unique
from kanri.domain.states import PowerState
from kanri.store.db import Database
from kanri.store.tables import MachineRow, ServerRow


class ServersRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _server(row: ServerRow, machine: str | None) -> Server:
        return Server(
            name=row.name,
            identity=Identity.from_json(row.identity or {}),
            boot_volume=row.boot_volume,
            cores=row.cores,
            memory_gib=row.memory_gib,
            desired_power=PowerState(row.desired_power),
            placed_on=machine,
        )

    @staticmethod
    def _row(session: Session, name: str) -> ServerRow:
        row = session.scalars(select(ServerRow).where(ServerRow.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no server named {name!r}")
        return row

    @staticmethod
    def _machine_names(session: Session) -> dict[int, str]:
        return {row.id: row.name for row in session.execute(select(MachineRow.id, MachineRow.name))}

    def _all(self, session: Session) -> list[Server]:
        names = self._machine_names(session)
        rows = session.scalars(select(ServerRow).order_by(ServerRow.name)).all()
        return [self._server(r, names.get(r.machine_id) if r.machine_id else None) for r in rows]

    def add(self, server: Server) -> Server:
        """Store a new server; :class:`Conflict` when its name is taken (by a server or a
        machine: a power target names one of them) or another server has its identity."""
        try:
            with self.db.session() as session:
                taken = session.scalar(select(MachineRow.id).where(MachineRow.name == server.name))
                if taken is not None:
                    raise Conflict(f"{server.name} is a machine's name; give the server another")
                existing = self._all(session)
                if any(s.name == server.name for s in existing):
                    raise Conflict(f"a server named {server.name!r} exists already")
                check_unique(server, existing)
                session.add(
                    ServerRow(
                        name=server.name,
                        identity=server.identity.to_json(),
                        boot_volume=server.boot_volume,
                        cores=server.cores,
                        memory_gib=server.memory_gib,
                        desired_power=server.desired_power.value,
                    )
                )
        except IntegrityError:
            raise Conflict(f"a server named {server.name!r} exists already") from None
        return self.get(server.name)

    def list(self) -> list[Server]:
        with self.db.session() as session:
            return self._all(session)

    def get(self, name: str) -> Server:
        with self.db.session() as session:
            row = self._row(session, name)
            machine = None
            if row.machine_id is not None:
                machine = session.scalar(
                    select(MachineRow.name).where(MachineRow.id == row.machine_id)
                )
            return self._server(row, machine)

    def find(self, name: str) -> Server | None:
        try:
            return self.get(name)
        except NotFound:
            return None

    def on_machine(self, machine: str) -> Server | None:
        """The server placed on ``machine``, if any."""
        with self.db.session() as session:
            row = session.scalars(
                select(ServerRow)
                .join(MachineRow, ServerRow.machine_id == MachineRow.id)
                .where(MachineRow.name == machine)
            ).one_or_none()
            return None if row is None else self._server(row, machine)

    def remove(self, name: str) -> None:
        with self.db.session() as session:
            session.delete(self._row(session, name))

    def place(self, name: str, machine: str | None) -> Server:
        """Record ``name``'s placement (None: nowhere). :class:`Conflict` when another
        server is placed there already (the column is unique: two managers cannot both)."""
        try:
            with self.db.session() as session:
                row = self._row(session, name)
                if machine is None:
                    row.machine_id = None
                else:
                    target = session.scalars(
                        select(MachineRow).where(MachineRow.name == machine)
                    ).one_or_none()
                    if target is None:
                        raise NotFound(f"no machine named {machine!r}")
                    other = session.scalar(
                        select(ServerRow.name).where(
                            ServerRow.machine_id == target.id, ServerRow.name != name
                        )
                    )
                    if other is not None:
                        raise Conflict(f"{machine} holds server {other} already")
                    row.machine_id = target.id
        except IntegrityError:
            raise Conflict(f"{machine} holds another server already") from None
        return self.get(name)

    def set_desired_power(self, name: str, power: PowerState) -> None:
        with self.db.session() as session:
            self._row(session, name).desired_power = power.value
