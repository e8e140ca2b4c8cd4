"""Events through a real ``kanri serve``: a BMC that stops answering is one critical event
that ``kanri event watch`` shows live; list, show and ack it; the watch survives the
manager's restart (it resumes with Last-Event-ID) and Ctrl-C ends it with 0."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kanri.lab.sushy_emulator import SushyEmulator
from tests.e2e.conftest import BMC_PASSWORD, BMC_USER, Cli, KanriServer


class Watch:
    """``kanri event watch -o json`` in its own process; its lines read on a thread."""

    def __init__(self, cli: Cli) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kanri", "event", "watch", "-o", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli.environment(),
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            self.lines.put(json.loads(text))

    def wait(self, want: Callable[[dict[str, Any]], bool], timeout: float = 40) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                doc = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, self.process.stderr
                continue
            self.seen.append(doc)
            if want(doc):
                return doc
        raise AssertionError(f"watch did not print it in {timeout:g}s; it printed {self.seen}")

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=20)
        return self.process.returncode, err


def test_watch_list_show_ack_and_resume(
    cli: Cli, kanri_server: KanriServer, password_file: Path, tmp_path: Path
) -> None:
    watch = Watch(cli)
    emu = SushyEmulator(systems=1, username=BMC_USER, password=BMC_PASSWORD,
                        workdir=tmp_path / "bmc")  # fmt: skip
    try:
        with emu:
            added = cli("machine", "add", "solo", "--bmc", emu.url, "--user", BMC_USER,
                        "--password-file", str(password_file))  # fmt: skip
            assert added.code == 0, added.err
            emu.pause()  # the BMC stops answering: after a few failed polls, one event
            down = watch.wait(lambda d: d["kind"] == "bmc.unreachable")
        assert (down["change"], down["severity"], down["target"]) == ("new", "critical", "solo")

        listed = cli("event", "list", "--severity", "critical", "--kind", "bmc.", "--state",
                     "open", "--since", "1h", "-o", "json")  # fmt: skip
        assert listed.code == 0, listed.err
        assert [e["id"] for e in json.loads(listed.out)] == [down["id"]]
        shown = cli("event", "show", str(down["id"]), "-o", "json")
        assert shown.code == 0, shown.err
        assert json.loads(shown.out)["details"]["bmc"] == emu.url
        people = cli("event", "show", str(down["id"]))
        assert people.code == 0
        assert "critical" in people.out
        assert "solo" in people.out

        acked = cli("event", "ack", str(down["id"]))
        assert acked.code == 0, acked.err
        assert f"acknowledged event {down['id']}" in acked.out
        seen = watch.wait(lambda d: d["change"] == "acknowledged")
        assert seen["id"] == down["id"]
        assert seen["acked_by"].startswith("admin@")
        again = cli("event", "ack", str(down["id"]))
        assert again.code == 4
        assert again.err.startswith("error:")
        assert "already acknowledged" in again.err

        # The manager restarts under the watch: the stream ends, the watch resumes.
        kanri_server.stop()
        kanri_server.start()
        made = cli("group", "add", "solos", "solo")
        assert made.code == 0, made.err
        group = watch.wait(lambda d: d["kind"] == "group.added")
        assert group["id"] > down["id"]
        code, err = watch.interrupt()
        assert code == 0, err
        assert [d["id"] for d in [*watch.seen, *_rest(watch)]].count(group["id"]) == 1
    finally:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait()


def _rest(watch: Watch) -> list[dict[str, Any]]:
    rest = []
    while not watch.lines.empty():
        rest.append(watch.lines.get())
    return rest
