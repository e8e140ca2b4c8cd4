"""``kanri lab serve`` as its own process, driven by ``kanri lab inject/status/violations``
as an operator would: output, exit codes, and a restart that resumes the saved lab."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kanri.lab.server import free_port

LAB: dict[str, Any] = {
    "machines": [{"id": "blade-01", "power": "On"}, {"id": "blade-02"}],
    "volumes": [{"id": "vol-1", "size_gib": 1}],
    "host_groups": [{"id": "hg-1", "initiators": ["blade-01/fc0"], "luns": {0: "vol-1"}}],
}
SPLIT_BRAIN: dict[str, Any] = {
    "machines": [{"id": "blade-01", "power": "On"}, {"id": "blade-02", "power": "On"}],
    "volumes": [{"id": "vol-1", "size_gib": 1}],
    "host_groups": [
        {"id": "hg-1", "initiators": ["blade-01/fc0", "blade-02/fc0"], "luns": {0: "vol-1"}}
    ],
}


@dataclass
class Run:
    code: int
    out: str
    err: str


def kanri(*args: str, url: str, password: str = "password") -> Run:  # noqa: S107
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANRI_")}
    env.update(COLUMNS="200", KANRI_LAB_URL=url, KANRI_LAB_PASSWORD=password)
    done = subprocess.run(
        [sys.executable, "-m", "kanri", "lab", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


class Served:
    """A ``kanri lab serve`` process; its first stdout line says where it listens."""

    def __init__(self, config: Path, data_dir: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kanri", "lab", "serve", "--port", str(self.port),
             "--config", str(config), "--data-dir", str(data_dir), "--scale", "50"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.banner = [self.process.stdout.readline() for _ in range(3)]
        if not self.banner[0]:
            raise AssertionError(f"kanri lab serve did not start: {self.stop()[1]}")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def start(lab: dict[str, Any], data_dir: Path | None = None) -> Served:
        config = tmp_path / f"lab{len(started)}.yaml"
        config.write_text(yaml.safe_dump(lab))
        served = Served(config, data_dir or tmp_path / f"data{len(started)}")
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=10)


def test_serve_prints_where_it_is_and_the_cli_breaks_and_mends_it(serve: Any) -> None:
    lab = serve(LAB)
    assert lab.banner[0].startswith(f"kanri lab at {lab.url}")
    assert lab.banner[1].strip() == "credentials: admin / password"
    injected = kanri("inject", "component", "blade-01", "cpu", "--id", "CPU2", url=lab.url)
    assert (injected.code, injected.out.strip()) == (
        0,
        "injected: component blade-01 CPU2 critical",
    )
    state = json.loads(kanri("status", "-o", "json", url=lab.url).out)
    blade = next(s for s in state["systems"] if s["id"] == "blade-01")
    assert (blade["health"], blade["booted_volume"]) == ("Critical", "vol-1")
    table = kanri("status", url=lab.url)
    assert table.code == 0
    assert "component blade-01 CPU2 critical" in table.out
    assert "violations: 0" in table.out
    lost = kanri("inject", "power-loss", "blade-02", "--with-bmc", url=lab.url)
    assert lost.out.strip() == "injected: power-loss blade-02 with its BMC"
    assert kanri("violations", url=lab.url).code == 0
    cleared = kanri("clear", url=lab.url)
    assert cleared.code == 0
    assert "component blade-01 CPU2" in cleared.out
    assert "power-loss blade-02" in cleared.out
    assert kanri("faults", url=lab.url).out.strip() == "no faults"
    history = json.loads(kanri("history", "--kind", "fault.", "-o", "json", url=lab.url).out)
    assert [r["kind"] for r in history["records"]][:2] == ["fault.component", "fault.power_loss"]
    code, err = lab.stop()
    assert code == 0, err
    assert "lab stopped" in err


def test_violations_exit_non_zero_when_the_lab_saw_a_split_brain(serve: Any) -> None:
    lab = serve(SPLIT_BRAIN)
    found = kanri("violations", url=lab.url)
    assert found.code == 1
    assert "split-brain" in found.out
    assert "blade-01, blade-02" in found.out
    assert found.err == ""  # the table says it all; no error line
    as_json = kanri("violations", "-o", "json", url=lab.url)
    assert as_json.code == 1
    assert json.loads(as_json.out)["count"] == 1


def test_a_restarted_lab_resumes_where_it_stopped(serve: Any, tmp_path: Path) -> None:
    data = tmp_path / "kept"
    first = serve(LAB, data)
    kanri("inject", "component", "blade-02", "fan", "--severity", "warning", url=first.url)
    assert first.stop()[0] == 0
    second = serve(LAB, data)
    assert f"resumed from {data}" in second.banner[2]
    faults = json.loads(kanri("faults", "-o", "json", url=second.url).out)["faults"]
    assert [(f["target"], f["id"], f["severity"]) for f in faults] == [
        ("blade-02", "Fan1", "warning")
    ]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("inject", "component", "blade-09", "cpu"), 3, "no machine blade-09"),
        (("inject", "bmc", "blade-01", "silent", "--seconds", "2"), 2, "slow only"),
        (("inject", "drop-events", "--count", "2", "--all"), 2, "not both"),
        (("clear", "ghost"), 3, "no machine or partition ghost"),
    ],
)
def test_refusals_are_one_error_line_and_an_exit_code(
    serve: Any, args: tuple[str, ...], code: int, words: str
) -> None:
    lab = serve(LAB)
    run = kanri(*args, url=lab.url)
    assert run.code == code, run.err
    (line,) = run.err.strip().splitlines()
    assert line.startswith("error: ")
    assert words in line


def test_a_lab_that_is_not_there_or_refuses_the_password_is_exit_6(serve: Any) -> None:
    nowhere = kanri("status", url=f"http://127.0.0.1:{free_port()}")
    assert nowhere.code == 6
    assert "cannot reach the lab" in nowhere.err
    assert "kanri lab serve" in nowhere.err
    lab = serve(LAB)
    refused = kanri("status", url=lab.url, password="wrong")
    assert refused.code == 6
    assert "refused the user name or password" in refused.err
