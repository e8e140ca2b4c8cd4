"""What a hypervisor machine's pool can give a partition, and what may change while it runs
(issue 5, the paper's ④; docs/partitions.md "Pools, layouts and run states"). Pure.

Every check returns a list of lines, one per problem, each naming the resource, what was
asked and what is free; an empty list means yes. ``require_*`` raise the domain error with
the lines joined, for callers that only need a yes. :func:`place` is the one capacity check
the partitions drivers that must check themselves make (libvirt checks nothing; the fake
stands in for a BMC): :func:`require_fit`, then the cores, picked as the lab picks them.

Rules (the lab's and a KVM host's alike):
- a core carries one dedicated partition, or up to ``max_shared_per_core`` shared ones,
  never both; a shared partition's virtual CPUs are pinned one per core, so it needs as
  many distinct cores as it has cores;
- memory is given in whole blocks of ``memory_block_gib``;
- a port is dedicated to one partition, or shared by up to ``max_shared`` partitions,
  each with a virtual port of its own, never both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.naming import check_name
from kanri.domain.partitions import CpuMode, MachineMode, Partition, PartitionSpec, Pool

MIN_WEIGHT, MAX_WEIGHT = 1, 1000


@dataclass(frozen=True, slots=True)
class CoreUse:
    """Who holds one core, as seen when ``replacing`` gives its own cores back."""

    index: int
    dedicated_to: str | None = None  # "" when the pool marks it dedicated without a holder
    shared_by: tuple[str, ...] = ()

    @property
    def free(self) -> bool:
        return self.dedicated_to is None and not self.shared_by


def core_uses(pool: Pool, replacing: str | None = None) -> list[CoreUse]:
    """Each core of ``pool`` with its holders, ``replacing``'s own use counted as free."""
    uses: list[CoreUse] = []
    for index in range(pool.cores):
        holders = pool.core_use[index] if index < len(pool.core_use) else ()
        others = tuple(h for h in holders if h != replacing)
        if index in pool.dedicated_cores:
            if holders and not others:  # replacing's own dedicated core
                uses.append(CoreUse(index))
            else:
                uses.append(CoreUse(index, dedicated_to=others[0] if others else ""))
        else:
            uses.append(CoreUse(index, shared_by=others))
    return uses


def check_spec(spec: PartitionSpec) -> list[str]:
    """What is wrong with ``spec`` whatever the pool: each problem one line."""
    problems: list[str] = []
    try:
        check_name(spec.name)
    except Invalid as exc:
        problems.append(f"name: {exc}")
    if spec.cores < 1:
        problems.append(f"cores: {spec.cores} asked, a partition needs at least 1")
    if spec.memory_gib < 1:
        problems.append(f"memory: {spec.memory_gib} GiB asked, a partition needs at least 1")
    if not MIN_WEIGHT <= spec.shared_weight <= MAX_WEIGHT:
        problems.append(
            f"shared weight: {spec.shared_weight} asked, it must be {MIN_WEIGHT}-{MAX_WEIGHT}"
        )
    for port, count in Counter(p.port for p in spec.ports).items():
        if count > 1:
            problems.append(f"port {port}: given {count} times, a partition uses a port once")
    if spec.cpus:
        for core, count in sorted(Counter(spec.cpus).items()):
            if count > 1:
                problems.append(f"cpus: core {core} given {count} times")
        if any(core < 0 for core in spec.cpus):
            problems.append(f"cpus: core indexes start at 0, got {min(spec.cpus)}")
        if len(spec.cpus) != spec.cores:
            problems.append(
                f"cpus: {len(spec.cpus)} cores named for {spec.cores} cores asked "
                "(name one core per core, or none)"
            )
    return problems


def require_valid(spec: PartitionSpec) -> None:
    """Raise :class:`Invalid` naming every problem :func:`check_spec` finds."""
    problems = check_spec(spec)
    if problems:
        raise Invalid(f"partition {spec.name}: {'; '.join(problems)}")


def shortfall(pool: Pool, spec: PartitionSpec, replacing: Partition | None = None) -> list[str]:
    """Every resource ``pool`` cannot give ``spec``, one line each; ``replacing`` is the
    partition being modified, whose own cores, memory and ports count as free."""
    if pool.mode is not MachineMode.HYPERVISOR:
        return [
            f"mode: {pool.host} is in {pool.mode} mode, it has no pool to carve partitions "
            "from (switch it to hypervisor mode first)"
        ]
    own = replacing.id if replacing else None
    lines = _core_shortfall(pool, spec, core_uses(pool, own))
    free_memory = pool.memory_gib - pool.memory_used_gib
    if replacing is not None:
        free_memory += replacing.spec.memory_gib
    lines += _memory_shortfall(spec.memory_gib, free_memory, pool.memory_block_gib)
    lines += _port_shortfall(pool, spec, own)
    return lines


def require_fit(pool: Pool, spec: PartitionSpec, replacing: Partition | None = None) -> None:
    """Raise the domain error for what ``pool`` cannot give ``spec``, its lines joined:
    :class:`NotFound` for a port the pool does not have; :class:`Invalid` for what it could
    never give whatever it holds (a named core it does not have, memory not in whole
    blocks); else :class:`Conflict` naming every resource that is taken."""
    head = f"{pool.host} cannot hold partition {spec.name}"
    if pool.mode is MachineMode.HYPERVISOR:
        known = {p.id for p in pool.ports}
        missing = [_no_port(pool, u.port) for u in spec.ports if u.port not in known]
        if missing:
            raise NotFound(f"{head}: {'; '.join(missing)}")
        never = [_no_core(pool, core) for core in spec.cpus if not 0 <= core < pool.cores]
        never += _block_shortfall(spec.memory_gib, pool.memory_block_gib)
        if never:
            raise Invalid(f"{head}: {'; '.join(never)}")
    lines = shortfall(pool, spec, replacing)
    if lines:
        raise Conflict(f"{head}: {'; '.join(lines)}")


def place(
    pool: Pool,
    spec: PartitionSpec,
    replacing: Partition | None = None,
    prefer: tuple[int, ...] = (),
) -> tuple[int, ...]:
    """The cores ``spec`` gets in ``pool``, one per virtual CPU, once :func:`require_fit`
    passes (it raises as that does). Named cores are kept as given; else the lab's pick:
    ``prefer`` first (a modified partition's cores now, where they still fit), then cores
    already shared, so whole cores stay free for dedicated partitions, then the lowest;
    in ascending order."""
    require_fit(pool, spec, replacing)
    if spec.cpus:
        return spec.cpus
    dedicated = spec.cpu_mode is CpuMode.DEDICATED
    uses = core_uses(pool, replacing.id if replacing else None)
    room = [u for u in uses if _takes(u, dedicated, pool.max_shared_per_core)]
    room.sort(key=lambda u: (u.index not in prefer, not u.shared_by, u.index))
    return tuple(sorted(u.index for u in room[: spec.cores]))


def _takes(use: CoreUse, dedicated: bool, max_shared: int) -> bool:
    """Whether a core can take one more partition: a free core, or for a shared one a core
    no dedicated partition holds with fewer than ``max_shared`` shared ones."""
    if dedicated:
        return use.free
    return use.dedicated_to is None and len(use.shared_by) < max_shared


def _core_shortfall(pool: Pool, spec: PartitionSpec, uses: list[CoreUse]) -> list[str]:
    dedicated = spec.cpu_mode is CpuMode.DEDICATED
    if spec.cpus:
        return [
            line
            for core in spec.cpus
            if (line := _named_core(pool, core, dedicated, uses)) is not None
        ]
    if dedicated:
        free = sum(1 for u in uses if u.free)
        if spec.cores > free:
            return [f"cores: {spec.cores} dedicated asked, {free} free ({_held(uses)})"]
        return []
    room = [u for u in uses if _takes(u, False, pool.max_shared_per_core)]
    if spec.cores > len(room):
        full = sum(1 for u in uses if len(u.shared_by) >= pool.max_shared_per_core)
        return [
            f"cores: {spec.cores} shared asked, {len(room)} can take another shared "
            f"partition ({_dedicated_text(uses)}, {full} full with "
            f"{pool.max_shared_per_core} shared partitions)"
        ]
    return []


def _named_core(pool: Pool, core: int, dedicated: bool, uses: list[CoreUse]) -> str | None:
    mode = "dedicated" if dedicated else "shared"
    if not 0 <= core < pool.cores:
        return _no_core(pool, core)
    use = uses[core]
    if use.dedicated_to is not None:
        return f"cores: core {core} asked {mode}, dedicated to {use.dedicated_to or 'another'}"
    if dedicated and use.shared_by:
        return f"cores: core {core} asked dedicated, shared by {', '.join(use.shared_by)}"
    if not dedicated and len(use.shared_by) >= pool.max_shared_per_core:
        return (
            f"cores: core {core} asked shared, full with {len(use.shared_by)} shared "
            f"partitions ({', '.join(use.shared_by)})"
        )
    return None


def _dedicated_text(uses: Iterable[CoreUse]) -> str:
    holders = Counter(u.dedicated_to for u in uses if u.dedicated_to is not None)
    if not holders:
        return "0 dedicated"
    return ", ".join(
        f"{n} dedicated to {holder or 'another partition'}" for holder, n in sorted(holders.items())
    )


def _held(uses: list[CoreUse]) -> str:
    shared = sum(1 for u in uses if u.shared_by)
    return f"{_dedicated_text(uses)}, {shared} used by shared partitions"


def _no_core(pool: Pool, core: int) -> str:
    return f"cores: core {core} asked, {pool.host} has cores 0-{pool.cores - 1}"


def _no_port(pool: Pool, port: str) -> str:
    known = ", ".join(p.id for p in pool.ports) or "none"
    return f"port {port}: asked, {pool.host} has no such port (its ports: {known})"


def _block_shortfall(asked: int, block: int) -> list[str]:
    if block <= 1 or not asked % block:
        return []
    low = asked // block * block
    options = f"{low} or {low + block}" if low else f"{block}"
    return [f"memory: {asked} GiB asked, memory comes in blocks of {block} GiB (ask {options})"]


def _memory_shortfall(asked: int, free: int, block: int) -> list[str]:
    lines = _block_shortfall(asked, block)
    if asked > free:
        lines.append(f"memory: {asked} GiB asked, {max(free, 0)} GiB free")
    return lines


def _port_shortfall(pool: Pool, spec: PartitionSpec, own: str | None) -> list[str]:
    by_id = {p.id: p for p in pool.ports}
    lines: list[str] = []
    for use in spec.ports:
        port = by_id.get(use.port)
        if port is None:
            lines.append(_no_port(pool, use.port))
            continue
        holder = port.dedicated_to if port.dedicated_to != own else None
        sharers = tuple(s for s in port.shared_by if s != own)
        if holder is not None:
            asked = "shared" if use.shared else "dedicated"
            lines.append(f"port {use.port}: {asked} asked, dedicated to {holder}")
        elif not use.shared and sharers:
            lines.append(f"port {use.port}: dedicated asked, shared by {', '.join(sharers)}")
        elif use.shared and port.max_shared == 0:
            # e.g. an FC HBA without NPIV: it has no virtual ports to share
            lines.append(f"port {use.port}: shared asked, it has no virtual ports (dedicated only)")
        elif use.shared and len(sharers) >= port.max_shared:
            lines.append(
                f"port {use.port}: shared asked, all {port.max_shared} virtual ports in use"
            )
    return lines


def check_layout_cores(specs: Iterable[PartitionSpec]) -> list[str]:
    """Explicit cores that two partitions of one layout both claim, where one of them
    wants the core dedicated: one line per core."""
    claims: dict[int, list[PartitionSpec]] = {}
    for spec in specs:
        for core in dict.fromkeys(spec.cpus):
            claims.setdefault(core, []).append(spec)
    lines: list[str] = []
    for core, holders in sorted(claims.items()):
        dedicated = [s.name for s in holders if s.cpu_mode is CpuMode.DEDICATED]
        if len(holders) > 1 and dedicated:
            others = [s.name for s in holders if s.name != dedicated[0]]
            lines.append(
                f"core {core}: dedicated to {dedicated[0]}, also named by {', '.join(others)}"
            )
    return lines


class Change(StrEnum):
    """One kind of change to a partition's spec."""

    CORES_ADDED = "cores added"
    CORES_REMOVED = "cores removed"
    CORES_NEW_MODE = "cores, in another cpu mode"
    CPUS = "pinned cores"
    CPU_MODE = "cpu mode"
    SHARED_WEIGHT = "shared weight"
    MEMORY = "memory"
    PORTS = "ports"


# Change -> may it be made while the partition runs? Adding cores is live only in the same
# cpu mode, which the CPU_MODE entry (off) settles; a port change (its identity too) is seen
# by the partition only from its next boot.
LIVE_TABLE: dict[Change, bool] = {
    Change.CORES_ADDED: True,
    Change.CORES_REMOVED: False,
    Change.CORES_NEW_MODE: False,
    Change.CPUS: False,  # re-pinning cores it already has; adding pinned cores is CORES_ADDED
    Change.CPU_MODE: False,
    Change.SHARED_WEIGHT: True,
    Change.MEMORY: False,
    Change.PORTS: False,
}


@dataclass(frozen=True, slots=True)
class LiveVerdict:
    """The changes from one spec to another, split into those a running partition takes
    now and those that need it off."""

    live: tuple[str, ...] = ()
    needs_off: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.live or self.needs_off)

    def summary(self) -> str:
        if not self.changed:
            return "nothing to change"
        parts = []
        if self.live:
            parts.append(f"applied now: {', '.join(self.live)}")
        if self.needs_off:
            parts.append(f"needs a restart: {', '.join(self.needs_off)}")
        return "; ".join(parts)


def changes(old: PartitionSpec, new: PartitionSpec) -> list[tuple[Change, str]]:
    """Each change from ``old`` to ``new`` (the name is not compared) and its words."""
    found: list[tuple[Change, str]] = []
    if new.cpu_mode != old.cpu_mode:
        found.append((Change.CPU_MODE, f"cpu mode {old.cpu_mode} -> {new.cpu_mode}"))
    if new.cores != old.cores:
        kind = Change.CORES_ADDED if new.cores > old.cores else Change.CORES_REMOVED
        if new.cpu_mode != old.cpu_mode:
            kind = Change.CORES_NEW_MODE
        found.append((kind, f"cores {old.cores} -> {new.cores}"))
    pins_added = (
        new.cpu_mode == old.cpu_mode
        and new.cores > old.cores
        and bool(old.cpus)
        and set(old.cpus) < set(new.cpus)
    )
    if new.cpus != old.cpus and not pins_added:
        found.append((Change.CPUS, f"pinned cores {_cpus(old.cpus)} -> {_cpus(new.cpus)}"))
    if new.shared_weight != old.shared_weight:
        found.append(
            (Change.SHARED_WEIGHT, f"shared weight {old.shared_weight} -> {new.shared_weight}")
        )
    if new.memory_gib != old.memory_gib:
        found.append((Change.MEMORY, f"memory {old.memory_gib} -> {new.memory_gib} GiB"))
    if new.ports != old.ports:
        found.append((Change.PORTS, f"ports {ports_text(old)} -> {ports_text(new)}"))
    return found


def live_change(old: PartitionSpec, new: PartitionSpec) -> LiveVerdict:
    """What of ``old`` -> ``new`` a running partition takes now, and what needs it off."""
    live: list[str] = []
    off: list[str] = []
    for change, words in changes(old, new):
        (live if LIVE_TABLE[change] else off).append(words)
    return LiveVerdict(tuple(live), tuple(off))


def _cpus(cpus: tuple[int, ...]) -> str:
    return ",".join(map(str, cpus)) if cpus else "any"


def ports_text(spec: PartitionSpec) -> str:
    """A spec's ports in words: ``fc0 (shared) as 2a:..., nic0``."""
    if not spec.ports:
        return "none"
    return ", ".join(
        p.port + (" (shared)" if p.shared else "") + (f" as {p.identity}" if p.identity else "")
        for p in spec.ports
    )
