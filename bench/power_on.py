"""Benchmark: a power-on job over many blades behind one slow enclosure manager.

    .venv/bin/python bench/power_on.py [--machines 200 --latency 1.0]

Starts kanri's lab (one enclosure manager answering for ``--machines`` blades, all Off),
registers every blade in a real in-process :class:`~kanri.engine.manager.Manager`
(SQLite in a temporary data directory, no sync loop) through one discovery, then times:

1. kanri: ``manager.jobs.submit("power", names, {"action": "on", "wait": False})`` until
   the job ends, counting the requests the lab served meanwhile;
2. baseline: a plain ``requests`` POST of ``Reset On`` to every system of a second, fresh
   lab with as many threads as the per-BMC cap -- no kanri, one request per machine.

Registration runs at zero latency (discovery reads ~12 documents per blade, 4 in flight:
~10 minutes for 200 blades at 1 s) and the lab's latency is raised to ``--latency`` before
the timed part. All blades are behind ONE endpoint, so they are ONE BMC: at most
``DriverOptions.per_bmc_concurrency`` (4) requests are in flight, and the ideal time is
requests x latency / cap. A benchmark prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from starlette.types import ASGIApp, Receive, Scope, Send

from kanri.domain.model import Bmc
from kanri.drivers.base import DriverOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from kanri.settings import Settings

JOB_DEADLINE = 3600.0  # seconds; a job still running after this is reported, not awaited
POLL = 0.05
_SYSTEM = re.compile(r"blade-\d+")


class RequestCounter:
    """Outermost ASGI middleware of a lab: counts every HTTP request by method and path
    (system ids shown as ``{id}``)."""

    def __init__(self, app: ASGIApp, counts: Counter[str], lock: threading.Lock) -> None:
        self.app = app
        self.counts = counts
        self.lock = lock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self.lock:
                path = _SYSTEM.sub("{id}", str(scope["path"]))
                self.counts[f"{scope['method']} {path}"] += 1
        await self.app(scope, receive, send)


class CountingLabServer(LabServer):
    """A :class:`LabServer` that counts the requests it serves."""

    def __init__(self, config: LabConfig, directory: Path) -> None:
        super().__init__(config, directory)
        self.counts: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def start(self) -> CountingLabServer:
        super().start()
        # No request has been served yet, so Starlette has not built its middleware stack.
        assert self._app is not None
        self._app.add_middleware(RequestCounter, counts=self.counts, lock=self._count_lock)
        return self

    def __enter__(self) -> CountingLabServer:
        return self.start()

    def snapshot(self) -> Counter[str]:
        with self._count_lock:
            return Counter(self.counts)

    def power_commands(self) -> int:
        assert self.lab is not None
        return sum(1 for r in self.lab.history.since(0) if r.kind == "power.command")


def lab_config(machines: int, latency: float) -> LabConfig:
    return LabConfig.from_dict(
        {
            "scale": 1,
            "timing": {"latency": latency, "power_on": 3},
            "session_limit": 256,
            "machines": [{"id": f"blade-{i:04d}", "power": "Off"} for i in range(1, machines + 1)],
        }
    )


def set_latency(server: LabServer, latency: float) -> None:
    assert server.lab is not None
    server.lab.timing.latency = latency


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_kanri(
    tmp: Path, machines: int, latency: float, cap: int, max_parallel: int
) -> tuple[float, int]:
    """Time the power-on job; returns (wall seconds, requests served during it)."""
    with CountingLabServer(lab_config(machines, 0.0), tmp / "lab") as server:
        settings = Settings.from_env(tmp / "data")
        options = ManagerOptions(drivers=DriverOptions(per_bmc_concurrency=cap), run_sync=False)
        manager = Manager(settings, options)
        manager.start()
        try:
            start = time.perf_counter()
            added = manager.machines.add("lab", Bmc(server.url, "admin", "password"))
            registered = time.perf_counter() - start
            names = [m.name for m in added]
            print(f"registered {len(names)} machines at latency 0 in {registered:.1f} s")
            set_latency(server, latency)
            before, commands_before = server.snapshot(), server.power_commands()
            rss_before = peak_rss_mib()
            start = time.perf_counter()
            params = {"action": "on", "wait": False, "max_parallel": max_parallel}
            job = manager.jobs.submit("power", names, params)
            deadline = time.monotonic() + JOB_DEADLINE
            while not (job := manager.jobs.get(job.id)).state.ended:
                if time.monotonic() > deadline:
                    print(f"job {job.id} still {job.state} after {JOB_DEADLINE:g} s")
                    break
                time.sleep(POLL)  # polling the job's state, not synchronising on time
            wall = time.perf_counter() - start
            served = server.snapshot() - before
            commands = server.power_commands() - commands_before
            total = sum(served.values())
            print(
                f"kanri power-on job {job.id}: {job.state} in {wall:.1f} s; "
                f"{total} requests, {commands} power commands; "
                f"peak RSS {rss_before:.0f} MiB before, {peak_rss_mib():.0f} MiB after "
                "(manager + lab, one process)"
            )
            for request, n in served.most_common():
                print(f"  {n:6d}  {request}")
            errors = Counter(s.error for s in job.steps if s.error)
            for error, n in errors.most_common():
                print(f"  {n:6d} steps failed: {error}")
            return wall, total
        finally:
            manager.stop()


def run_baseline(tmp: Path, machines: int, latency: float, threads: int) -> tuple[float, int]:
    """Reset On every system with plain requests; returns (wall seconds, requests)."""
    with CountingLabServer(lab_config(machines, latency), tmp / "lab-baseline") as server:
        ids = [f"blade-{i:04d}" for i in range(1, machines + 1)]
        session = requests.Session()
        session.auth = ("admin", "password")

        def reset_on(system_id: str) -> None:
            answer = session.post(
                f"{server.url}/redfish/v1/Systems/{system_id}/Actions/ComputerSystem.Reset",
                json={"ResetType": "On"},
                timeout=60,
            )
            answer.raise_for_status()

        before = server.snapshot()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(reset_on, ids))
        wall = time.perf_counter() - start
        total = sum((server.snapshot() - before).values())
        print(
            f"baseline: {total} Reset On POSTs, {threads} threads, in {wall:.1f} s; "
            f"{server.power_commands()} power commands"
        )
        return wall, total


def report(name: str, wall: float, total: int, machines: int, latency: float, cap: int) -> None:
    ideal = total * latency / cap
    ratio = wall / ideal if ideal else 0.0
    print(
        f"  {name:<8} {total / machines:4.2f} requests/machine x {machines} x {latency:g} s "
        f"/ {cap} = ideal {ideal:6.1f} s; wall {wall:6.1f} s; wall/ideal {ratio:4.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--machines", type=int, default=200, help="blades in the lab")
    parser.add_argument("--latency", type=float, default=1.0, help="BMC answer delay, seconds")
    parser.add_argument(
        "--per-bmc", type=int, default=DriverOptions().per_bmc_concurrency,
        help="requests in flight to one BMC (kanri's cap; the baseline's threads)",
    )  # fmt: skip
    parser.add_argument(
        "--max-parallel", type=int, default=0,
        help="the power job's max_parallel (steps at once; 0: the job's default, no limit)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        kanri = run_kanri(tmp, args.machines, args.latency, args.per_bmc, args.max_parallel)
        baseline = run_baseline(tmp, args.machines, args.latency, args.per_bmc)
    print(f"{args.machines} machines behind one BMC, latency {args.latency:g} s:")
    report("kanri", *kanri, args.machines, args.latency, args.per_bmc)
    report("baseline", *baseline, args.machines, args.latency, args.per_bmc)
    print(f"  kanri / baseline {kanri[0] / baseline[0]:4.2f}; peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
