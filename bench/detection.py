"""Benchmark: fault detection latency -- injection to stored event, and to first notification.

    .venv/bin/python bench/detection.py [--machines 1 500 --faults 20 --push-faults 100]
    .venv/bin/python bench/detection.py --quick        # a smoke run: 1 and 20 machines

For each machine count and each mode it starts kanri's lab -- ``--machines`` blades over
as many labs as it takes at ``--per-lab`` blades each (a lab is one enclosure manager, one
BMC, at most 255 blades; latency 0), **each lab in its own process** (``python -m kanri lab
serve --config FILE --port P``: simulated BMCs must not share the manager's GIL, real ones
are separate hardware; ``--labs inprocess`` keeps them in this process, the earlier method)
-- and a real in-process :class:`~kanri.engine.manager.Manager` (SQLite in a temporary
data directory, no sync loop, no scheduler) whose API is served on a loopback port by
uvicorn on a thread. It registers every blade through one discovery per lab, adds one rule
(``hw.component`` -> webhook to a local HTTP receiver), waits until the monitor has looked
at every machine once, then injects ``--faults`` (poll) or ``--push-faults`` (push)
component faults, each on a different part of a random machine (a blade has 16 parts: at
most 16 per blade), through the lab's control API (``POST /lab/v1/faults``; in-process:
straight into the lab's model), the time taken right before the request is sent.
It measures, per fault:

- **stored**: injection -> the EventService's listener is told of the ``new`` event
  (``manager.events.subscribe``, called after the commit);
- **notified**: injection -> the rule's webhook POST reaches the local receiver;
- **baseline**: injection -> the lab's own Redfish event POST reaches a bare HTTP receiver
  subscribed to the same lab with no kanri in between (same injections, same run).

Modes: **push** (the lab POSTs its events to the manager's ``/api/v1/intake/redfish/...``;
the monitor still polls, every ``--push-interval`` s) and **poll** (no push, no SSE stream;
the monitor polls every ``--interval`` s). In push mode the next fault is injected once the
previous one was stored and notified, after a short random pause; in poll mode one every
0.5 s to one interval (at random), without waiting, so they fall at random points of the
poll cycle (faults on different machines do not queue behind each other there).

It prints p50/p95/p99/max per mode and machine count with the goal beside it (push: stored
under 1 s at p99; poll: within one interval + 1 s) and, over the injections, every
``Monitor.poll_bmc`` round timed, the CPU of this process (the manager) and of the lab
processes, and this process's peak RSS. A benchmark prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import uvicorn

from kanri.api.app import create_app
from kanri.domain.faults import Change, FaultEvent
from kanri.domain.model import Bmc
from kanri.engine.intake import IntakeOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.engine.monitor import MonitorOptions
from kanri.lab.config import LabConfig
from kanri.lab.model.faults import fail_component
from kanri.lab.model.systems import ComponentKind, Health
from kanri.lab.server import LabServer, free_port
from kanri.settings import Settings

# A blade's parts in the lab: every one of them can fail once per run.
PARTS = (
    [(ComponentKind.DIMM, f"DIMM{i}") for i in range(1, 9)]
    + [(ComponentKind.CPU, f"CPU{i}") for i in range(1, 3)]
    + [(ComponentKind.PSU, f"PSU{i}") for i in range(1, 3)]
    + [(ComponentKind.FAN, f"Fan{i}") for i in range(1, 5)]
)
_ORIGIN = re.compile(r"/(?:Systems|Chassis)/([^/]+)/.*/([^/]+)$")
_FAILED = ("ResourceStatusChangedCritical", "ResourceStatusChangedWarning")
READY_DEADLINE = 900.0  # seconds for the monitor's first look at every machine


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Clocks:
    """First-arrival times of (system id, part id) per channel, with a condition to wait on."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[tuple[str, str], float]] = {}
        self._cond = threading.Condition()

    def mark(self, channel: str, key: tuple[str, str]) -> None:
        now = time.perf_counter()
        with self._cond:
            self._seen.setdefault(channel, {}).setdefault(key, now)
            self._cond.notify_all()

    def wait(self, channels: list[str], key: tuple[str, str], deadline: float) -> None:
        with self._cond:
            while not all(key in self._seen.get(c, {}) for c in channels):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)

    def get(self, channel: str, key: tuple[str, str]) -> float | None:
        with self._cond:
            return self._seen.get(channel, {}).get(key)


class Receiver:
    """One local HTTP server: ``/bare`` takes the lab's Redfish events, ``/hook`` kanri's
    webhooks; both timestamp what they get on arrival and answer 204."""

    def __init__(self, clocks: Clocks, system_of: dict[str, str]) -> None:
        self.clocks = clocks
        self.system_of = system_of  # machine name -> system id (kanri's events name machines)
        self.port = free_port()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(204)
                self.end_headers()
                receiver.took(self.path, json.loads(body or b"{}"))

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def took(self, path: str, body: dict[str, Any]) -> None:
        if path.startswith("/bare"):
            for record in body.get("Events", []):
                if not str(record.get("MessageId", "")).endswith(_FAILED):
                    continue
                origin = str((record.get("OriginOfCondition") or {}).get("@odata.id", ""))
                found = _ORIGIN.search(origin)
                if found:
                    self.clocks.mark("baseline", (found.group(1), found.group(2)))
        elif path.startswith("/hook"):
            event = body.get("event", {})
            system = self.system_of.get(str(event.get("target")))
            if system is not None:
                self.clocks.mark("notified", (system, str(event.get("component"))))

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class InProcessLab:
    """A lab in the bench's own process (``--labs inprocess``, the earlier method): a
    fault goes straight into its model; its CPU is the bench process's."""

    def __init__(self, config: LabConfig, directory: Path) -> None:
        self.server = LabServer(config, directory)
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def inject(self, system: str, kind: ComponentKind, part: str) -> None:
        lab = self.server.lab
        assert lab is not None
        fail_component(lab, system, kind, part, Health.CRITICAL)

    def __enter__(self) -> InProcessLab:
        self.server.__enter__()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()


class SubprocessLab:
    """A lab in its own process: ``python -m kanri lab serve --config FILE --port P``; a
    fault goes through its control API (``POST /lab/v1/faults``), as an operator's would.
    Simulated BMCs then no longer share the manager's GIL -- real BMCs are separate
    hardware -- though they still share the machine's cores."""

    def __init__(self, config: dict[str, Any], directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config_file = directory / "lab.yaml"
        self.config_file.write_text(json.dumps(config))  # JSON is YAML
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()
        self.http.auth = ("admin", "password")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def inject(self, system: str, kind: ComponentKind, part: str) -> None:
        body = {"kind": "component", "target": system, "component": str(kind), "id": part,
                "severity": "critical"}  # fmt: skip
        self.http.post(f"{self.url}/lab/v1/faults", json=body, timeout=30).raise_for_status()

    def __enter__(self) -> SubprocessLab:
        out = (self.directory / "lab.out").open("wb")
        command = [sys.executable, "-m", "kanri", "lab", "serve", "--config",
                   str(self.config_file), "--port", str(self.port), "--data-dir",
                   str(self.directory / "data"), "--fresh"]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                text = (self.directory / "lab.out").read_text(errors="replace")
                raise RuntimeError(f"the lab exited ({self.proc.returncode}): {text}")
            try:
                self.http.get(f"{self.url}/lab/v1/clock", timeout=5).raise_for_status()
                return self
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the lab at {self.url} did not answer") from None
                time.sleep(0.1)  # polling the lab's port until it answers

    def __exit__(self, *_: object) -> None:
        self.http.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # it stops cleanly and saves its state
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


Lab = InProcessLab | SubprocessLab


class Rounds:
    """Times every ``Monitor.poll_bmc`` call (a BMC's round; a first look is one too)."""

    def __init__(self, manager: Manager) -> None:
        self.times: list[tuple[int, float]] = []  # (machines, seconds)
        monitor = manager.monitor
        original = monitor.poll_bmc

        def timed(bmc: Bmc, machines: list[Any]) -> Any:
            began = time.perf_counter()
            try:
                return original(bmc, machines)
            finally:
                self.times.append((len(machines), time.perf_counter() - began))

        monitor.poll_bmc = timed  # type: ignore[method-assign]  # the loop calls self.poll_bmc


@dataclass
class RunResult:
    mode: str
    machines: int
    interval: float
    setup: float = 0.0
    figures: dict[str, list[float]] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    rss: float = 0.0
    labs: str = "subprocess"
    rounds: list[float] = field(default_factory=list)  # full rounds during the injections
    wall: float = 0.0  # seconds of the injection phase
    cpu_bench: float = 0.0  # CPU seconds of the bench process (manager; + labs if inprocess)
    cpu_labs: float = 0.0  # CPU seconds of the lab processes


def lab_configs(machines: int, per_lab: int) -> list[dict[str, Any]]:
    """``machines`` blades over as many labs (enclosures, each one BMC) as it takes; the
    blades' ids are unique over all of them."""
    ids = [f"blade-{i:04d}" for i in range(1, machines + 1)]
    return [
        {
            "scale": 1,
            "timing": {"latency": 0.0},
            "session_limit": 256,
            "machines": [{"id": one} for one in ids[at : at + per_lab]],
        }
        for at in range(0, machines, per_lab)
    ]


def subscribe_bare(server: Lab, receiver: Receiver) -> None:
    answer = requests.post(
        f"{server.url}/redfish/v1/EventService/Subscriptions",
        json={"Destination": f"{receiver.url}/bare", "Protocol": "Redfish", "Context": "bare"},
        auth=("admin", "password"),
        timeout=30,
    )
    answer.raise_for_status()


def serve_api(manager: Manager, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        create_app(manager, manage_lifecycle=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    api = uvicorn.Server(config)
    thread = threading.Thread(target=api.run, name="kanri-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not api.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the manager's API did not start")
        time.sleep(0.01)  # polling uvicorn's started flag
    return api, thread


def wait_ready(manager: Manager, names: set[str], subscriptions: int) -> None:
    """Until the monitor has looked at every machine once (a first look raises nothing)
    and ``subscriptions`` labs push to the manager."""
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        known = {n for n, m in manager.monitor.store.memories().items() if m.known}
        pushing = [s for s in manager.monitor.store.subscriptions().values() if s.mode == "push"]
        subscribed = len(pushing) >= subscriptions
        if names <= known and subscribed:
            return
        time.sleep(0.2)  # polling the monitor's stored memory
    raise RuntimeError(f"the monitor did not look at all {len(names)} machines in time")


def run(
    mode: str, machines: int, per_lab: int, faults: int, interval: float, seed: int, where: str
) -> RunResult:
    push = mode == "push"
    result = RunResult(mode, machines, interval, labs=where)
    clocks = Clocks()
    system_of: dict[str, str] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as name, ExitStack() as stack:
        receiver = stack.enter_context(Receiver(clocks, system_of))
        labs: list[Lab] = []
        for n, config in enumerate(lab_configs(machines, per_lab)):
            directory = Path(name) / f"lab{n}"
            if where == "inprocess":
                labs.append(
                    stack.enter_context(InProcessLab(LabConfig.from_dict(config), directory))
                )
            else:
                labs.append(stack.enter_context(SubprocessLab(config, directory)))
        for server in labs:
            subscribe_bare(server, receiver)
        port = free_port()  # chosen first: the labs must know where to push
        push_url = f"http://127.0.0.1:{port}" if push else None
        options = ManagerOptions(
            run_sync=False,
            run_scheduler=False,
            monitor=MonitorOptions(interval=interval),
            intake=IntakeOptions(push_url=push_url, stream=False),
        )
        manager = Manager(Settings.from_env(Path(name) / "data"), options)
        api, api_thread = serve_api(manager, port)
        rounds = Rounds(manager)
        lab_of: dict[str, Lab] = {}
        for n, server in enumerate(labs):
            added = manager.machines.add(f"lab{n}", Bmc(server.url, "admin", "password"))
            system_of.update({m.name: m.system_id for m in added})
            lab_of.update({m.system_id: server for m in added})

        def stored(event: FaultEvent, change: Change) -> None:
            if change is Change.NEW and event.kind == "hw.component" and event.target:
                system = system_of.get(event.target)
                if system is not None:
                    clocks.mark("stored", (system, event.component))

        manager.events.subscribe(stored)
        manager.rules.add(
            {
                "name": "bench-webhook",
                "match": {"kind": "hw.component"},
                "actions": [{"webhook": {"url": f"{receiver.url}/hook", "timeout": 10}}],
            }
        )
        manager.start()
        try:
            wait_ready(manager, set(system_of), len(labs) if push else 0)
            result.setup = time.perf_counter() - started
            print(
                f"{mode} x {machines} ({len(labs)} labs): ready in {result.setup:.1f} s "
                f"(registered, subscribed, every machine polled once)",
                flush=True,
            )
            pids = [lab.pid for lab in labs if lab.pid is not None]
            rounds.times.clear()
            wall, cpu, cpu_labs = time.perf_counter(), time.process_time(), sum(map(proc_cpu, pids))
            inject_all(lab_of, clocks, result, faults, seed)
            result.wall = time.perf_counter() - wall
            result.cpu_bench = time.process_time() - cpu
            result.cpu_labs = sum(map(proc_cpu, pids)) - cpu_labs
            result.rounds = [took for _, took in rounds.times]
            result.rss = peak_rss_mib()
        finally:
            api.should_exit = True
            api_thread.join(timeout=10)
            manager.stop()
    return result


CHANNELS = ("baseline", "stored", "notified")


def inject_all(
    lab_of: dict[str, Lab], clocks: Clocks, result: RunResult, faults: int, seed: int
) -> None:
    """Push: one fault at a time, the next after the last was stored and notified and a
    short random pause. Poll: one every random 0.5..interval s without waiting, so that
    they fall at random points of the poll cycle; then wait for them all."""
    rng = random.Random(seed)
    pairs = [(s, part) for s in sorted(lab_of) for part in PARTS]
    chosen = rng.sample(pairs, min(faults, len(pairs)))
    push = result.mode == "push"
    injected: dict[tuple[str, str], float] = {}
    for system, (kind, part) in chosen:
        injected[(system, part)] = time.perf_counter()  # right before the request is sent
        lab_of[system].inject(system, kind, part)
        if push:
            clocks.wait(list(CHANNELS), (system, part), time.monotonic() + 30)
            time.sleep(rng.uniform(0.05, 0.3))  # a pause, not a synchronisation
        else:
            time.sleep(rng.uniform(0.5, result.interval))  # a random phase for the next one
    deadline = time.monotonic() + max(120.0, 4 * result.interval)
    for key, at in injected.items():
        clocks.wait(list(CHANNELS), key, deadline)
        for channel in CHANNELS:
            seen = clocks.get(channel, key)
            if seen is None:
                result.missed[channel] = result.missed.get(channel, 0) + 1
            else:
                result.figures.setdefault(channel, []).append(seen - at)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))  # nearest-rank
    return ordered[rank - 1]


def goal(result: RunResult, channel: str) -> str:
    if channel == "baseline":
        return "(floor: the lab's own push)"
    if result.mode == "push" and channel == "stored":
        p99 = percentile(result.figures.get(channel, [0.0]), 99)
        return f"goal p99 < 1 s: {'met' if p99 < 1.0 else 'NOT met'}"
    if result.mode == "poll" and channel == "stored":
        worst = max(result.figures.get(channel, [0.0]))
        bound = result.interval + 1
        return f"goal max <= {bound:g} s: {'met' if worst <= bound else 'NOT met'}"
    return ""


def report(results: list[RunResult]) -> None:
    print()
    print(
        f"{'mode':<5} {'N':>4} {'measure':<9} {'n':>3} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'max':>7}  goal"
    )
    for result in results:
        for channel in ("baseline", "stored", "notified"):
            values = result.figures.get(channel, [])
            missed = result.missed.get(channel, 0)
            if not values:
                print(f"{result.mode:<5} {result.machines:>4} {channel:<9}   0 (missed {missed})")
                continue
            cells = " ".join(f"{percentile(values, p):7.3f}" for p in (50, 95, 99))
            extra = f" missed {missed}" if missed else ""
            print(
                f"{result.mode:<5} {result.machines:>4} {channel:<9} {len(values):>3} {cells} "
                f"{max(values):7.3f}  {goal(result, channel)}{extra}"
            )
        rounds = sorted(result.rounds)
        timed = (
            f"{len(rounds)} rounds p50 {percentile(rounds, 50):.2f} s, max {rounds[-1]:.2f} s"
            if rounds
            else "no full round"
        )
        wall = result.wall or 1.0
        labs = (
            "labs in the bench process"
            if result.labs == "inprocess"
            else f"labs {result.cpu_labs / wall:.2f} cores"
        )
        print(
            f"{'':<5} {'':>4} interval {result.interval:g} s; setup {result.setup:.1f} s; "
            f"poll_bmc: {timed}; CPU over {result.wall:.0f} s: bench process "
            f"{result.cpu_bench / wall:.2f} cores, {labs}; "
            f"bench peak RSS so far {result.rss:.0f} MiB"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--machines", type=int, nargs="+", default=[1, 500])
    parser.add_argument("--modes", nargs="+", choices=["push", "poll"], default=["push", "poll"])
    parser.add_argument(
        "--per-lab", type=int, default=250,
        help="blades per lab (one enclosure, one BMC; a lab holds at most 255)",
    )  # fmt: skip
    parser.add_argument("--faults", type=int, default=20, help="faults injected per poll run")
    parser.add_argument(
        "--push-faults", type=int, default=100,
        help="faults injected per push run (quick ones: enough for a p99)",
    )  # fmt: skip
    parser.add_argument("--interval", type=float, default=5.0, help="poll mode's interval, s")
    parser.add_argument(
        "--push-interval", type=float, default=60.0,
        help="push mode's poll interval, s (long, so that push, not a poll, is measured)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--labs", choices=["subprocess", "inprocess"], default="subprocess",
        help="each lab in its own process (faults over its control API), or all in the "
        "bench's process (faults straight into the model: the earlier method)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="1 and 20 machines, 5 faults (10 in push mode)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.machines, args.faults, args.push_faults = [1, 20], 5, 10
    results = []
    for machines in args.machines:
        for mode in args.modes:
            poll = mode == "poll"
            interval = args.interval if poll else args.push_interval
            faults = args.faults if poll else args.push_faults
            results.append(
                run(mode, machines, args.per_lab, faults, interval, args.seed, args.labs)
            )
    report(results)
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
