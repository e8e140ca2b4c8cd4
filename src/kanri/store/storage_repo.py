"""Storage arrays kanri manages: their URL, driver and credentials (the password
encrypted at rest, as BMC passwords are). Returns domain values, never rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.naming import check_name
from kanri.domain.storage import StorageArray, StorageSystem
from kanri.store.db import Database
from kanri.store.secrets import Secrets
from kanri.store.tables import StorageSystemRow


def _system(row: StorageSystemRow) -> StorageSystem:
    return StorageSystem(row.name, row.url, row.driver, row.username, row.verify_tls)


class StorageRepository:
    def __init__(self, db: Database, secrets: Secrets) -> None:
        self.db = db
        self.secrets = secrets

    @staticmethod
    def _row(session: Session, name: str) -> StorageSystemRow:
        row = session.scalars(
            select(StorageSystemRow).where(StorageSystemRow.name == name)
        ).one_or_none()
        if row is None:
            raise NotFound(f"no storage system named {name!r}")
        return row

    def add(self, name: str, driver: str, array: StorageArray) -> StorageSystem:
        """Remember an array under ``name``; :class:`Conflict` if the name or the URL is
        taken (one array, one set of credentials)."""
        check_name(name)
        with self.db.session() as session:
            taken = session.execute(
                select(StorageSystemRow.name, StorageSystemRow.url).where(
                    (StorageSystemRow.name == name) | (StorageSystemRow.url == array.url)
                )
            ).first()
            if taken is not None:
                if taken.name == name:
                    raise Conflict(f"a storage system named {name!r} already exists")
                raise Conflict(f"{array.url} is registered already as {taken.name}")
            row = StorageSystemRow(
                name=name,
                url=array.url,
                driver=driver,
                username=array.username,
                password_encrypted=self.secrets.encrypt(array.password),
                verify_tls=array.verify_tls,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # a concurrent add won the race
                raise Conflict(f"{name} or {array.url} was registered at the same time") from None
            return _system(row)

    def systems(self) -> list[StorageSystem]:
        with self.db.session() as session:
            rows = session.scalars(select(StorageSystemRow).order_by(StorageSystemRow.name))
            return [_system(r) for r in rows]

    def get(self, name: str) -> StorageSystem:
        with self.db.session() as session:
            return _system(self._row(session, name))

    def array_of(self, name: str) -> tuple[StorageSystem, StorageArray]:
        """The system and how to reach it, password decrypted, for a driver call."""
        with self.db.session() as session:
            row = self._row(session, name)
            array = StorageArray(
                row.url,
                row.username,
                self.secrets.decrypt(row.password_encrypted),
                row.verify_tls,
            )
            return _system(row), array

    def remove(self, name: str) -> None:
        with self.db.session() as session:
            session.delete(self._row(session, name))
