"""Partition layouts (the paper's ⑤): a host's partitions, the servers placed on them and
their run states, as one value that can be stored, versioned, diffed and applied to
another machine. Pure; the YAML form is in layout_doc.py, the fit onto another machine's
pool in layout_fit.py; docs/partitions.md "Pools, layouts and run states".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from kanri.domain.errors import Invalid
from kanri.domain.naming import check_name
from kanri.domain.partitions import CpuMode, PartitionSpec, PortKind
from kanri.domain.pools import check_layout_cores, check_spec, ports_text
from kanri.domain.runstate import RunState


@dataclass(frozen=True, slots=True)
class HostPort:
    id: str  # "fc0"
    kind: PortKind


@dataclass(frozen=True, slots=True)
class LayoutHost:
    """The machine a layout was taken from, and the kind of each port its partitions use
    (so the layout can be fitted onto another machine's ports of the same kinds)."""

    name: str
    ports: tuple[HostPort, ...] = ()

    def kind_of(self, port: str) -> PortKind | None:
        return next((p.kind for p in self.ports if p.id == port), None)


@dataclass(frozen=True, slots=True)
class Placement:
    """A server placed on a partition of the layout, with the identity it presents
    (``uuid``, and a WWPN/MAC per port id), when the layout keeps one."""

    server: str
    partition: str
    identity: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Layout:
    host: LayoutHost
    partitions: tuple[PartitionSpec, ...] = ()
    servers: tuple[Placement, ...] = ()
    # Partition name -> run state; a partition not named is off (never started).
    states: Mapping[str, RunState] = field(default_factory=dict)

    def partition(self, name: str) -> PartitionSpec | None:
        return next((p for p in self.partitions if p.name == name), None)

    def state(self, partition: str) -> RunState:
        return self.states.get(partition, RunState.OFF)


@dataclass(frozen=True, slots=True)
class Needs:
    """The pool a layout needs: what its partitions take together."""

    dedicated_cores: int = 0
    shared_cores: int = 0  # distinct cores the largest shared partition pins to
    shared_vcpus: int = 0  # virtual CPUs of all shared partitions
    memory_gib: int = 0
    ports: Mapping[PortKind, int] = field(default_factory=dict)  # distinct ports per kind

    def describe(self) -> str:
        ports = ", ".join(f"{n} {kind}" for kind, n in sorted(self.ports.items())) or "none"
        return (
            f"{self.dedicated_cores} dedicated cores, {self.shared_vcpus} shared virtual CPUs "
            f"(on at least {self.shared_cores} cores), {self.memory_gib} GiB memory, "
            f"ports: {ports}"
        )


def needs(layout: Layout) -> Needs:
    dedicated = [p for p in layout.partitions if p.cpu_mode is CpuMode.DEDICATED]
    shared = [p for p in layout.partitions if p.cpu_mode is CpuMode.SHARED]
    ports: Counter[PortKind] = Counter()
    for port in {u.port for p in layout.partitions for u in p.ports}:
        kind = layout.host.kind_of(port)
        if kind is not None:
            ports[kind] += 1
    return Needs(
        dedicated_cores=sum(p.cores for p in dedicated),
        shared_cores=max((p.cores for p in shared), default=0),
        shared_vcpus=sum(p.cores for p in shared),
        memory_gib=sum(p.memory_gib for p in layout.partitions),
        ports=dict(ports),
    )


def check_layout(layout: Layout) -> list[str]:
    """What is wrong with ``layout`` whatever machine it goes to: each problem one line."""
    problems: list[str] = []
    try:
        check_name(layout.host.name)
    except Invalid as exc:
        problems.append(f"host: {exc}")
    problems += _twice("host port", [p.id for p in layout.host.ports])
    problems += _twice("partition", [p.name for p in layout.partitions])
    for spec in layout.partitions:
        problems += [f"partition {spec.name}: {line}" for line in check_spec(spec)]
        problems += [
            f"partition {spec.name}: port {u.port}: not among the host's ports"
            for u in spec.ports
            if layout.host.kind_of(u.port) is None
        ]
    problems += check_layout_cores(layout.partitions)
    problems += _port_conflicts(layout.partitions)
    problems += _placement_problems(layout)
    problems += [
        f"states: {name}: no such partition in the layout"
        for name in sorted(layout.states)
        if layout.partition(name) is None
    ]
    return problems


def require_layout(layout: Layout, source: str) -> Layout:
    """``layout``, or :class:`Invalid` naming ``source`` and every problem found."""
    problems = check_layout(layout)
    if problems:
        raise Invalid(f"{source}: {'; '.join(problems)}")
    return layout


def _twice(what: str, names: list[str]) -> list[str]:
    return [f"{what} {name}: given {n} times" for name, n in Counter(names).items() if n > 1]


def _port_conflicts(specs: tuple[PartitionSpec, ...]) -> list[str]:
    users: dict[str, list[tuple[str, bool]]] = {}
    for spec in specs:
        for use in spec.ports:
            users.setdefault(use.port, []).append((spec.name, use.shared))
    lines: list[str] = []
    for port, holders in sorted(users.items()):
        dedicated = [name for name, shared in holders if not shared]
        if dedicated and len(holders) > 1:
            others = [name for name, _ in holders if name != dedicated[0]]
            lines.append(
                f"port {port}: dedicated to {dedicated[0]}, also used by {', '.join(others)}"
            )
    return lines


def _placement_problems(layout: Layout) -> list[str]:
    lines = _twice("server", [s.server for s in layout.servers])
    for placement in layout.servers:
        try:
            check_name(placement.server)
        except Invalid as exc:
            lines.append(f"server: {exc}")
        if layout.partition(placement.partition) is None:
            lines.append(
                f"server {placement.server}: placed on {placement.partition}, "
                "no such partition in the layout"
            )
    on = Counter(s.partition for s in layout.servers)
    lines += [
        f"partition {name}: {n} servers placed on it, a partition runs one"
        for name, n in sorted(on.items())
        if n > 1
    ]
    return lines


def diff(a: Layout, b: Layout) -> list[str]:
    """What changes from ``a`` to ``b``, one line each: host, partitions added, removed or
    changed (field by field), server placements and run states."""
    lines: list[str] = []
    if a.host.name != b.host.name:
        lines.append(f"host: {a.host.name} -> {b.host.name}")
    kinds_a = {p.id: p.kind for p in a.host.ports}
    kinds_b = {p.id: p.kind for p in b.host.ports}
    lines += _mapping_diff("host port", kinds_a, kinds_b)
    specs_a = {p.name: p for p in a.partitions}
    specs_b = {p.name: p for p in b.partitions}
    for name in sorted(specs_a.keys() | specs_b.keys()):
        old, new = specs_a.get(name), specs_b.get(name)
        if old is None:
            lines.append(f"partition {name}: added ({_spec_text(new)})")
        elif new is None:
            lines.append(f"partition {name}: removed (was {_spec_text(old)})")
        else:
            lines += [f"partition {name}: {change}" for change in _spec_diff(old, new)]
    place_a = {s.server: s for s in a.servers}
    place_b = {s.server: s for s in b.servers}
    for server in sorted(place_a.keys() | place_b.keys()):
        was, now = place_a.get(server), place_b.get(server)
        if was is None and now is not None:
            lines.append(f"server {server}: placed on {now.partition}")
        elif now is None and was is not None:
            lines.append(f"server {server}: removed (was on {was.partition})")
        elif was is not None and now is not None:
            if was.partition != now.partition:
                lines.append(f"server {server}: moved {was.partition} -> {now.partition}")
            lines += [
                f"server {server}: {line}"
                for line in _mapping_diff("identity", was.identity, now.identity)
            ]
    for name in sorted(specs_a.keys() & specs_b.keys()):
        if a.state(name) is not b.state(name):
            lines.append(f"partition {name}: state {a.state(name)} -> {b.state(name)}")
    return lines


def _spec_text(spec: PartitionSpec | None) -> str:
    if spec is None:  # pragma: no cover - callers pass one
        return ""
    core = "core" if spec.cores == 1 else "cores"
    text = f"{spec.cores} {spec.cpu_mode} {core}, {spec.memory_gib} GiB"
    if spec.ports:
        text += f", ports {ports_text(spec)}"
    return text


def _spec_diff(old: PartitionSpec, new: PartitionSpec) -> list[str]:
    lines = [
        f"{label} {before} -> {after}"
        for label, before, after in (
            ("cores", old.cores, new.cores),
            ("memory_gib", old.memory_gib, new.memory_gib),
            ("cpu_mode", old.cpu_mode, new.cpu_mode),
            ("shared_weight", old.shared_weight, new.shared_weight),
        )
        if before != after
    ]
    if old.cpus != new.cpus:
        lines.append(f"cpus {list(old.cpus)} -> {list(new.cpus)}")
    if old.ports != new.ports:
        lines.append(f"ports {ports_text(old)} -> {ports_text(new)}")
    return lines


def _mapping_diff(what: str, a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            lines.append(f"{what} {key}: removed (was {a[key]})")
        elif key not in a:
            lines.append(f"{what} {key}: added ({b[key]})")
        elif a[key] != b[key]:
            lines.append(f"{what} {key}: {a[key]} -> {b[key]}")
    return lines
