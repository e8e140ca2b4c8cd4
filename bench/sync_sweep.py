"""Benchmark: the power-state sync sweep over many emulated BMCs on loopback.

    .venv/bin/python bench/sync_sweep.py [--emulators 20 --systems 100 --sweeps 3 --workers N]

Starts ``--emulators`` sushy-tools processes of ``--systems`` fake systems each, registers
every system in a real in-process :class:`~kanri.engine.manager.Manager` (SQLite in a
temporary data directory) by discovery, then:

1. baseline: a plain ``requests.Session`` GET of every system's URL with the same number
   of threads and no kanri -- the floor cost of asking the emulators;
2. kanri: ``manager.sync.sweep()`` ``--sweeps`` times (the first one separately: it opens
   the BMC clients).

Requests are counted from the emulators' own access logs, so "req/s" is what the BMCs
served, not what kanri meant to send. RSS is the manager's (this process); the emulators
are separate processes and their total is reported beside it. A benchmark prints; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, zip_longest
from pathlib import Path
from types import FrameType

import requests

from kanri.domain.model import Bmc
from kanri.drivers.base import DriverOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.lab.sushy_emulator import SushyEmulator
from kanri.settings import Settings

GOAL_SWEEP_S = 30.0
GOAL_RSS_MIB = 1024.0
USERNAME = "admin"
PASSWORD = "bench-secret"
_REQUEST = re.compile(rb'"(GET|POST|PATCH|PUT|DELETE) \S+ HTTP/[\d.]+" (\d{3})')


# measuring ------------------------------------------------------------------------------


def rss_mib(pid: int | str = "self") -> float:
    """Current resident set size of a process (VmRSS), in MiB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mib() -> float:
    """This process's peak RSS (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process (its threads included); 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Served:
    """Requests the emulators logged: all of them, and those answered other than 2xx."""

    requests: int = 0
    gets: int = 0
    not_ok: int = 0

    def __sub__(self, other: Served) -> Served:
        return Served(
            self.requests - other.requests, self.gets - other.gets, self.not_ok - other.not_ok
        )


def served(emulators: list[SushyEmulator]) -> Served:
    total = Served()
    for emu in emulators:
        for match in _REQUEST.finditer(emu.log_path.read_bytes()):
            total.requests += 1
            total.gets += match.group(1) == b"GET"
            total.not_ok += not match.group(2).startswith(b"2")
    return total


@dataclass(slots=True)
class Row:
    name: str
    seconds: float
    machines: int
    failed: int
    served: Served
    cpu: float  # CPU seconds this process spent
    emu_cpu: float  # CPU seconds the emulators spent
    rss: float  # MiB, current, right after the run
    peak: float  # MiB, peak so far

    @property
    def rate(self) -> float:
        return self.served.requests / self.seconds if self.seconds else 0.0


Measure = tuple[float, Served, float, float]


@contextmanager
def measured(emulators: list[SushyEmulator]) -> Iterator[Callable[[], Measure]]:
    """Wall time, requests served, this process's and the emulators' CPU seconds of the
    block, read after it ends."""
    before, cpu0, emu0 = served(emulators), cpu_seconds(), emulators_cpu(emulators)
    t0 = time.monotonic()
    result: list[Measure] = []
    yield lambda: result[0]
    elapsed, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    emu_cpu = emulators_cpu(emulators) - emu0
    result.append((elapsed, served(emulators) - before, cpu, emu_cpu))


# the lab ----------------------------------------------------------------------------------


class SlowEmulator(SushyEmulator):
    """An emulator that waits ``latency`` seconds before answering each request, as a
    real BMC does (0.1-3 s). The wait is a Flask ``before_request`` hook added to the
    config file, which sushy-tools executes as Python in its ``__main__`` module; the
    server is threaded, so waiting requests cost it no CPU."""

    def __init__(
        self, systems: int, latency: float, username: str | None, password: str | None
    ) -> None:
        super().__init__(systems, username=username, password=password)
        self.latency = latency

    def _write_files(self) -> None:
        super()._write_files()
        with self.config_path.open("a") as config:
            config.write(
                "import sys as _sys, time as _time\n"
                "_sys.modules['__main__'].app.before_request("
                f"lambda: _time.sleep({self.latency!r}))\n"
            )


def start_all(emulators: list[SushyEmulator]) -> None:
    """Start every emulator at once (each takes ~0.3 s, mostly imports)."""
    with ThreadPoolExecutor(max_workers=len(emulators)) as pool:
        for future in [pool.submit(emu.start) for emu in emulators]:
            future.result()


def stop_all(emulators: list[SushyEmulator]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, len(emulators))) as pool:
        list(pool.map(lambda emu: emu.stop(), emulators))


def emulator_pid(emu: SushyEmulator) -> int | None:
    process = emu._process  # the launcher does not publish its pid; fine for a benchmark
    return process.pid if process is not None else None


def emulators_rss_mib(emulators: list[SushyEmulator]) -> float:
    return sum(rss_mib(pid) for emu in emulators if (pid := emulator_pid(emu)) is not None)


def emulators_cpu(emulators: list[SushyEmulator]) -> float:
    return sum(
        process_cpu_seconds(pid) for emu in emulators if (pid := emulator_pid(emu)) is not None
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# the runs ---------------------------------------------------------------------------------


def baseline(emulators: list[SushyEmulator], threads: int, auth: bool) -> Row:
    """Every system's document once, by plain requests, interleaved over the emulators."""
    per_emulator = [
        [f"{emu.url}/redfish/v1/Systems/{system.uuid}" for system in emu.systems]
        for emu in emulators
    ]
    urls = [u for u in chain.from_iterable(zip_longest(*per_emulator)) if u is not None]
    local = threading.local()

    def get(url: str) -> bool:
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            if auth:
                session.auth = (USERNAME, PASSWORD)
        try:
            answer = session.get(url, timeout=30)
            answer.json()
            return answer.ok
        except (requests.RequestException, ValueError):
            return False

    with ThreadPoolExecutor(max_workers=threads) as pool, measured(emulators) as result:
        ok = sum(pool.map(get, urls))
    seconds, count, cpu, emu_cpu = result()
    return Row(
        "baseline",
        seconds,
        len(urls),
        len(urls) - ok,
        count,
        cpu,
        emu_cpu,
        rss_mib(),
        peak_rss_mib(),
    )


def register(manager: Manager, emulators: list[SushyEmulator], auth: bool, threads: int) -> Row:
    def add(index_emu: tuple[int, SushyEmulator]) -> int:
        index, emu = index_emu
        user, password = (USERNAME, PASSWORD) if auth else ("", "")
        bmc = Bmc(emu.url, user, password)
        return len(manager.machines.add(f"rack{index:02d}", bmc))

    with ThreadPoolExecutor(max_workers=threads) as pool, measured(emulators) as result:
        machines = sum(pool.map(add, enumerate(emulators, 1)))
    seconds, count, cpu, emu_cpu = result()
    return Row("register", seconds, machines, 0, count, cpu, emu_cpu, rss_mib(), peak_rss_mib())


def sweep(manager: Manager, emulators: list[SushyEmulator], name: str) -> Row:
    with measured(emulators) as result:
        stats = manager.sync.sweep()
    seconds, count, cpu, emu_cpu = result()
    return Row(
        name, seconds, stats.machines, stats.failed, count, cpu, emu_cpu, rss_mib(), peak_rss_mib()
    )


# output -----------------------------------------------------------------------------------

HEADER = (
    f"{'run':<14}{'seconds':>9}{'machines':>10}{'failed':>8}{'requests':>10}{'non-2xx':>9}"
    f"{'req/s':>8}{'req/machine':>13}{'CPU s':>8}{'emu CPU s':>11}{'RSS MiB':>9}"
    f"{'peak MiB':>10}"
)


def line(row: Row) -> str:
    per_machine = row.served.requests / row.machines if row.machines else 0.0
    return (
        f"{row.name:<14}{row.seconds:>9.2f}{row.machines:>10}{row.failed:>8}"
        f"{row.served.requests:>10}{row.served.not_ok:>9}{row.rate:>8.0f}{per_machine:>13.2f}"
        f"{row.cpu:>8.2f}{row.emu_cpu:>11.2f}{row.rss:>9.0f}{row.peak:>10.0f}"
    )


def describe_machine() -> str:
    mem_kib = next(
        int(entry.split()[1])
        for entry in Path("/proc/meminfo").read_text().splitlines()
        if entry.startswith("MemTotal:")
    )
    cpu = next(
        (
            entry.split(":", 1)[1].strip()
            for entry in Path("/proc/cpuinfo").read_text().splitlines()
            if entry.startswith("model name")
        ),
        platform.processor() or "?",
    )
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--emulators", type=int, default=20, help="sushy-tools processes")
    parser.add_argument("--systems", type=int, default=100, help="fake systems per emulator")
    parser.add_argument("--sweeps", type=int, default=3, help="timed sweeps, the first included")
    parser.add_argument(
        "--workers",
        type=int,
        default=ManagerOptions().workers,
        help="the manager's driver-call pool; the baseline uses as many threads",
    )
    parser.add_argument(
        "--per-bmc",
        type=int,
        default=DriverOptions().per_bmc_concurrency,
        help="requests in flight to one BMC (DriverOptions.per_bmc_concurrency)",
    )
    parser.add_argument(
        "--register-threads", type=int, default=4, help="threads registering the BMCs"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds each emulator waits before answering (a real BMC takes 0.1-3 s)",
    )
    parser.add_argument(
        "--auth",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="HTTP basic auth: every request carries credentials and the emulator checks "
        "them against a 4-round bcrypt hash",
    )
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _interrupt)  # stop the emulators on a kill too
    total = args.emulators * args.systems
    print(f"machine: {describe_machine()}")
    print(
        f"lab: {args.emulators} sushy-tools emulators x {args.systems} systems = {total} "
        f"machines on loopback, HTTP basic auth {'on' if args.auth else 'OFF'}, "
        f"added latency {args.latency:g}s per request; "
        f"manager workers={args.workers}, per-BMC cap={args.per_bmc}"
    )
    user, password = (USERNAME, PASSWORD) if args.auth else (None, None)
    emulators: list[SushyEmulator] = [
        SlowEmulator(args.systems, args.latency, user, password)
        if args.latency > 0
        else SushyEmulator(args.systems, username=user, password=password)
        for _ in range(args.emulators)
    ]
    manager: Manager | None = None
    try:
        started = time.monotonic()
        start_all(emulators)
        print(f"emulators answering after {time.monotonic() - started:.1f}s")

        with tempfile.TemporaryDirectory(prefix="kanri-bench-") as data_dir:
            settings = Settings(Path(data_dir), f"sqlite:///{data_dir}/kanri.db")
            options = ManagerOptions(
                workers=args.workers,
                run_sync=False,
                drivers=DriverOptions(per_bmc_concurrency=args.per_bmc),
            )
            manager = Manager(settings, options)
            manager.start()
            print(f"manager up, RSS {rss_mib():.0f} MiB")
            print(HEADER)

            rows = [register(manager, emulators, args.auth, args.register_threads)]
            print(line(rows[-1]), flush=True)
            rows.append(baseline(emulators, args.workers, args.auth))
            print(line(rows[-1]), flush=True)
            for n in range(1, args.sweeps + 1):
                rows.append(sweep(manager, emulators, f"kanri sweep {n}"))
                print(line(rows[-1]), flush=True)
            emu_rss = emulators_rss_mib(emulators)
            manager.stop()
            manager = None
        report(rows, emu_rss, args.emulators)
        return 0
    except KeyboardInterrupt:
        print("interrupted; stopping the emulators", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl-C or kill must not leave emulators behind: clean up regardless.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if manager is not None:
            manager.stop()
        stop_all(emulators)


def report(rows: list[Row], emulators_rss: float, emulators: int) -> None:
    register_row, base, sweeps = rows[0], rows[1], rows[2:]
    print()
    print(HEADER)
    for row in rows:
        print(line(row))
    print()
    print(
        "req/s = requests the emulators logged during the run / its wall time; CPU s = CPU "
        "time of this process (the manager, or the baseline's plain client); emu CPU s = "
        "the emulators' CPU time over the same run."
    )
    print(f"emulators' RSS: {emulators_rss:.0f} MiB over {emulators} processes (not the manager)")
    if not sweeps:
        return
    steady = sweeps[1:] or sweeps
    worst = max(row.seconds for row in sweeps)
    mean = sum(row.seconds for row in steady) / len(steady)
    peak = max(row.peak for row in rows)
    print(
        f"registration: {register_row.machines} machines in {register_row.seconds:.1f}s "
        f"({register_row.served.requests} requests)"
    )
    print(
        f"baseline sweep {base.seconds:.2f}s; kanri first sweep {sweeps[0].seconds:.2f}s, "
        f"later sweeps {mean:.2f}s on average = {mean / base.seconds:.2f}x the baseline"
    )
    failed = sum(row.failed for row in sweeps)
    sweep_ok = worst <= GOAL_SWEEP_S and failed == 0
    rss_ok = peak < GOAL_RSS_MIB
    print(
        f"verdict: slowest sweep {worst:.2f}s vs goal <= {GOAL_SWEEP_S:.0f}s "
        f"({'met' if sweep_ok else 'NOT met'}{'' if failed == 0 else f', {failed} failed'}); "
        f"manager peak RSS {peak:.0f} MiB vs goal < {GOAL_RSS_MIB:.0f} MiB "
        f"({'met' if rss_ok else 'NOT met'})"
    )


if __name__ == "__main__":
    sys.exit(main())
