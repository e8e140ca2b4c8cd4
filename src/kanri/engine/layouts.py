"""Layouts in the configuration database (the paper's ⑤): a host's layout built live from
the store, recorded as a new version whenever it changes, exported and imported as YAML,
diffed, and applied to another machine as a ``layout.apply`` job (engine/layout_job.py).
docs/partitions.md "Layouts".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

import yaml
from sqlalchemy.exc import SQLAlchemyError

from kanri.domain.errors import BmcError, Invalid, KanriError
from kanri.domain.jobs import Job
from kanri.domain.layout_doc import from_document, to_document
from kanri.domain.layouts import HostPort, Layout, LayoutHost, Placement, diff
from kanri.domain.partitions import Partition, PartitionSpec, Pool, PortKind
from kanri.domain.runstate import Cause, RunState
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.store.layouts_repo import LayoutRepository, LayoutSummary, LayoutVersion
from kanri.store.partitions_repo import spec_from_json
from kanri.store.repo import Repository

log = logging.getLogger(__name__)

__all__ = ["LayoutService", "LayoutSummary", "LayoutVersion", "to_yaml"]

APPLY_KIND = "layout.apply"
MAX_DOCUMENT = 1_000_000  # characters of YAML an import reads


class Partitions(Protocol):
    """The partitions slice's service, as layouts use it (engine/partitions.py)."""

    def create(self, host: str, spec: PartitionSpec, by: str) -> Partition: ...


class Servers(Protocol):
    """The servers slice's service, as layouts use it (engine/servers.py)."""

    def place(self, server: str, target: str, by: str) -> Any: ...

    def placement(self, server: str) -> str | None: ...


class RunStates(Protocol):
    """The run-state slice's service, as layouts use it (engine/runstates.py)."""

    def record(self, partition: str, cause: Cause, by: str) -> Any: ...


class Submit(Protocol):
    def submit(
        self, kind: str, targets: list[str], params: dict[str, Any] | None = None
    ) -> Job: ...


class LayoutService:
    def __init__(
        self,
        store: LayoutRepository,
        repo: Repository,
        drivers: Drivers,
        calls: DriverCalls,
        peers: Callable[[str], Any] = lambda _name: None,
    ) -> None:
        self.store = store
        self.repo = repo
        self.drivers = drivers
        self.calls = calls
        # The other slices' services by name ("partitions", "servers", "runstates", "jobs"),
        # looked up when used: the manager builds them in any order.
        self.peers = peers

    # the other services -----------------------------------------------------------------

    def peer(self, name: str) -> Any:
        found = self.peers(name)
        if found is None:
            raise KanriError(f"layouts need the {name} service, and this manager has none")
        return found

    # live -------------------------------------------------------------------------------

    def current(self, host: str) -> Layout:
        """Machine ``host``'s layout now: its partitions (as kanri keeps their specs), the
        servers placed on them and their run states."""
        parts, servers = self.store.live(host)
        specs = tuple(_named(spec_from_json(p.spec), p.name) for p in parts)
        used = sorted({u.port for s in specs for u in s.ports})
        kinds = self._port_kinds(host, used) if used else {}
        return Layout(
            host=LayoutHost(host, tuple(HostPort(port, kinds[port]) for port in used)),
            partitions=specs,
            servers=tuple(
                Placement(s.name, s.partition, _flat_identity(s.identity)) for s in servers
            ),
            states={p.name: RunState(p.run_state) for p in parts if p.run_state != RunState.OFF},
        )

    def pool(self, machine: str) -> Pool:
        """The live pool of ``machine``, named by its kanri name (so messages name it)."""
        found, bmc = self.repo.bmc_of(machine)
        driver = self.drivers.partitions(found.driver)
        pool = self.calls.run(driver.pool, bmc, found.system_id)
        return _renamed(pool, machine)

    def _port_kinds(self, host: str, ports: list[str]) -> dict[str, PortKind]:
        try:
            known = {p.id: p.kind for p in self.pool(host).ports}
        except BmcError as exc:
            log.warning(
                "layout of %s: port kinds guessed by name, its pool is unread: %s", host, exc
            )
            known = {}
        # A port the pool does not list (or a pool unread): the kind its id says, the rule
        # the Redfish mapping uses for the lab's port blocks ("fc0", "nic1").
        return {p: known.get(p, PortKind.FC if p.startswith("fc") else PortKind.NIC) for p in ports}

    # versions ---------------------------------------------------------------------------

    def record(self, host: str, reason: str, by: str) -> LayoutVersion | None:
        """Store ``host``'s layout as a new version when it differs from the newest (the
        layout named after the host, unless another one describes it); the version added,
        or None when nothing changed."""
        name = self.store.name_for_host(host) or host
        version, added = self.store.save(name, to_document(self.current(host)), reason, by, host)
        if added:
            log.info("layout %s version %s: %s (%s)", name, version.version, reason, by)
        return version if added else None

    def on_change(self, host: str, reason: str, by: str) -> None:
        """The callback for the partitions, servers and run-state services: a failure to
        record is logged, never raised into the change that already happened."""
        try:
            self.record(host, reason, by)
        except (KanriError, SQLAlchemyError):
            log.exception("layout of %s not recorded after %s", host, reason)

    def layouts(self) -> list[LayoutSummary]:
        return self.store.layouts()

    def get(self, name: str, version: int | None = None) -> LayoutVersion:
        return self.store.get(name, version)

    def history(self, name: str) -> list[LayoutVersion]:
        return self.store.history(name)

    def layout(self, name: str, version: int | None = None) -> tuple[LayoutVersion, Layout]:
        stored = self.store.get(name, version)
        return stored, from_document(stored.document, f"layout {name} version {stored.version}")

    def document(
        self, name_or_host: str, version: int | None = None
    ) -> tuple[LayoutVersion | None, dict[str, Any]]:
        """Layout ``name_or_host`` as a document: a stored one (with its version), or else
        the live one of the machine of that name (None: not stored)."""
        if version is not None or self.store.exists(name_or_host):
            stored = self.store.get(name_or_host, version)
            if version is None and stored.host is not None:
                # The newest version is as of the last change recorded; run states change
                # with every power command and are not versioned each time. An export is
                # the machine as it is now: recorded first (a version when it differs).
                self.on_change(stored.host, "export", "kanri")
                stored = self.store.get(name_or_host)
            return stored, stored.document
        return None, to_document(self.current(name_or_host))

    def export(self, name_or_host: str, version: int | None = None) -> str:
        """Layout ``name_or_host`` (see :meth:`document`) as YAML."""
        return to_yaml(self.document(name_or_host, version)[1])

    def import_(self, text: str, source: str, name: str, by: str) -> LayoutVersion:
        """Read ``text`` strictly and keep it as the newest version of layout ``name``
        (not applied). Invalid names ``source`` and what is wrong where."""
        if len(text) > MAX_DOCUMENT:
            raise Invalid(f"{source}: {len(text)} characters, at most {MAX_DOCUMENT} are read")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" line {where.line + 1}" if where is not None else ""
            problem = getattr(exc, "problem", None) or "not YAML"
            raise Invalid(f"{source}:{line}: {problem}") from None
        layout = from_document(data, source)
        version, added = self.store.save(name, to_document(layout), f"imported from {source}", by)
        if not added:
            log.info("layout %s: import from %s is version %s again", name, source, version.version)
        return version

    def diff(self, name: str, from_version: int, to_version: int) -> list[str]:
        _, a = self.layout(name, from_version)
        _, b = self.layout(name, to_version)
        return diff(a, b)

    def diff_live(self, name: str, version: int | None = None) -> list[str]:
        """What changed from the stored layout ``name`` to its machine as it is now."""
        stored, layout = self.layout(name, version)
        if stored.host is None:
            raise Invalid(
                f"layout {name} describes no machine (it was imported and not applied): "
                "diff two of its versions instead"
            )
        return diff(layout, self.current(stored.host))

    # apply ------------------------------------------------------------------------------

    def apply(
        self,
        name: str,
        to_machine: str,
        restore_states: bool,
        by: str,
        version: int | None = None,
    ) -> Job:
        """Submit a ``layout.apply`` job; refused before anything is stored or changed
        (bare machine, unknown one, a layout that does not fit)."""
        stored = self.store.get(name, version)
        jobs: Submit = self.peer("jobs")
        params = {
            "to": to_machine,
            "version": stored.version,
            "restore_states": restore_states,
            "by": by,
        }
        return jobs.submit(APPLY_KIND, [name], params)


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None)


def _named(spec: PartitionSpec, name: str) -> PartitionSpec:
    """The spec under its kanri machine name (what servers and run states refer to)."""
    if spec.name == name:
        return spec
    return PartitionSpec(
        name, spec.cores, spec.memory_gib, spec.cpu_mode, spec.shared_weight, spec.ports, spec.cpus
    )


def _flat_identity(identity: dict[str, Any]) -> dict[str, str]:
    """A server's stored identity ``{"uuid", "ports": {port: WWPN/MAC}}`` as a layout keeps
    it: ``{"uuid": ..., port: WWPN/MAC, ...}``."""
    flat = {"uuid": str(identity["uuid"])} if identity.get("uuid") else {}
    ports = identity.get("ports") or {}
    flat.update({str(port): str(value) for port, value in ports.items() if value})
    return flat


def _renamed(pool: Pool, name: str) -> Pool:
    return replace(pool, host=name)
