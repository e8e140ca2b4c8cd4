"""Benchmark: the manager's power-state sweep over kanri's lab, at zero and real latency.

    .venv/bin/python bench/lab_sweep.py [--machines 200 --latencies 0 0.1 --sweeps 3]

For each BMC latency, starts one lab (one enclosure manager answering for ``--machines``
blades, as a real chassis does), registers every blade in a real in-process
:class:`~kanri.engine.manager.Manager` (SQLite in a temporary data directory) through one
discovery, then times:

1. baseline: a plain ``requests.Session`` GET of every system with as many threads as the
   manager has workers and no kanri -- the floor cost of asking this BMC;
2. kanri: ``manager.sync.sweep()``, ``--sweeps`` times.

At zero latency the gap between the two is kanri's own overhead; at 0.1 s (a quick real
BMC) the per-BMC request cap (``DriverOptions.per_bmc_concurrency``) sets the pace, which
is the manners a BMC is owed. A benchmark prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from kanri.domain.model import Bmc
from kanri.drivers.base import DriverOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from kanri.settings import Settings


def lab_config(machines: int, latency: float) -> LabConfig:
    return LabConfig.from_dict(
        {
            "timing": {"latency": latency},
            "session_limit": 64,
            "machines": [{"id": f"blade-{i:04d}"} for i in range(1, machines + 1)],
        }
    )


def baseline(server: LabServer, ids: list[str], threads: int) -> float:
    session = requests.Session()
    session.auth = ("admin", "password")

    def get(system_id: str) -> None:
        answer = session.get(f"{server.url}/redfish/v1/Systems/{system_id}", timeout=60)
        answer.raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(get, ids))
    return time.perf_counter() - start


def run(machines: int, latency: float, sweeps: int, workers: int, per_bmc: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = lab_config(machines, latency)
        with LabServer(config, Path(tmp) / "lab") as server:
            settings = Settings.from_env(Path(tmp) / "data")
            options = ManagerOptions(
                workers=workers, drivers=DriverOptions(per_bmc_concurrency=per_bmc), run_sync=False
            )
            manager = Manager(settings, options)
            manager.start()
            try:
                start = time.perf_counter()
                added = manager.machines.add("lab", Bmc(server.url, "admin", "password"))
                registered = time.perf_counter() - start
                ids = [m.system_id for m in added]
                floor = baseline(server, ids, workers)
                print(
                    f"latency {latency:>5.2f} s  {len(ids)} machines  "
                    f"register {registered:6.2f} s  baseline GETs {floor:6.2f} s"
                )
                for n in range(1, sweeps + 1):
                    start = time.perf_counter()
                    stats = manager.sync.sweep()
                    took = time.perf_counter() - start
                    print(
                        f"  sweep {n}: {took:6.2f} s  ({stats.machines} machines, "
                        f"{stats.failed} failed; {took / floor if floor else 0:4.2f} x baseline)"
                    )
            finally:
                manager.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--machines", type=int, default=200, help="blades in the lab")
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 0.1])
    parser.add_argument("--sweeps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=ManagerOptions().workers)
    parser.add_argument(
        "--per-bmc", type=int, default=DriverOptions().per_bmc_concurrency,
        help="requests in flight to one BMC; the baseline is not capped",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for latency in args.latencies:
        run(args.machines, latency, args.sweeps, args.workers, args.per_bmc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
