"""kanri demo's own failure paths: the lab it started is stopped, and a registration
that cannot reach the API is one line, not a thread's traceback."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from kanri.cli import demo as demo_cli
from kanri.domain.errors import KanriError
from kanri.lab.persist import STATE_FILE
from kanri.lab.server import free_port
from kanri.settings import Settings


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_manager_that_cannot_start_stops_the_lab_started_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "lab.yaml"
    config.write_text(yaml.safe_dump({"scale": 50.0, "machines": [{"id": "blade-01"}]}))
    # What the demo does to the whole process (umask, logging, the data dir's lock) is
    # not this test's business.
    monkeypatch.setattr(demo_cli, "restrict_new_files", lambda: None)
    monkeypatch.setattr("kanri.cli.logs.configure", lambda level: None)
    monkeypatch.setattr(demo_cli, "prepare_data", Settings.ensure_data_dir)

    def no_manager(*args: object, **kwargs: object) -> None:
        raise KanriError("the database is newer than this kanri")

    monkeypatch.setattr("kanri.engine.manager.Manager", no_manager)
    lab_port = free_port()
    with pytest.raises(KanriError, match="newer"):
        demo_cli.demo(
            data_dir=tmp_path / "demo", port=free_port(), lab_port=lab_port, config=config
        )
    assert not _listening(lab_port)
    assert (tmp_path / "demo" / "lab" / STATE_FILE).exists()  # saved as it stopped


def test_a_registration_that_loses_the_api_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = f"http://127.0.0.1:{free_port()}"  # nobody listens: the API stopped (Ctrl-C)
    server = SimpleNamespace(started=True)
    lab = SimpleNamespace(
        url="http://127.0.0.1:1", config=SimpleNamespace(username="admin", password="pw")
    )
    failures: list[object] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    thread = threading.Thread(
        target=demo_cli._register, args=(server, gone, "t0k", lab, ["blade-01"], tmp_path)
    )
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert failures == []
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert gone in lines[0]
