from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest

from kanri.domain.errors import KanriError
from kanri.domain.model import Bmc
from kanri.drivers.fake import world_of
from kanri.engine.manager import Manager, ManagerOptions
from kanri.engine.tokens import admin_token_name
from kanri.settings import Settings

OPTIONS = ManagerOptions(workers=2, operator_workers=2, run_sync=False)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("nonsense", "not a database URL"),
        ("postgresql+psycopg://kanri@127.0.0.1:9/kanri", "cannot use the database"),
        ("sqlite:////nonexistent-dir/x/kanri.db", "unable to open database file"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line(
    tmp_path: Path, url: str, fragment: str
) -> None:
    with pytest.raises(KanriError, match=fragment) as caught:
        Manager(Settings(tmp_path, url), OPTIONS)
    assert "\n" not in str(caught.value)


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KanriError, match=r"cannot use the data directory .*file/sub"):
        Manager(Settings(blocker / "sub", "sqlite://"), OPTIONS)


def test_each_data_dir_has_its_own_admin_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first = Manager(Settings(tmp_path / "a", url), OPTIONS)
    second = Manager(Settings(tmp_path / "b", url), OPTIONS)
    try:
        # a second manager on the same database does not revoke the first one's token
        assert first.repo.check_token(first.admin_token) == admin_token_name(
            first.settings.token_file
        )
        assert second.repo.check_token(second.admin_token) is not None
        assert first.admin_token != second.admin_token
    finally:
        first.stop()
        second.stop()


def test_a_token_file_readable_by_others_is_made_owner_only(tmp_path: Path) -> None:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'k.db'}")
    Manager(settings, OPTIONS).stop()
    settings.token_file.chmod(0o644)
    again = Manager(settings, OPTIONS)
    try:
        assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
        assert again.admin_token == settings.token_file.read_text().strip()
    finally:
        again.stop()


def test_a_hung_bmc_does_not_hold_up_stopping(tmp_path: Path) -> None:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'k.db'}")
    manager = Manager(settings, ManagerOptions(workers=2, operator_workers=2))
    world = world_of(manager.drivers.context)
    gate = threading.Event()
    try:
        manager.machines.add("hung", Bmc("fake://hung?systems=3", "admin", "pw"), driver="fake")
        world.bmcs["fake://hung?systems=3"].gate = gate
        world.bmcs["fake://hung?systems=3"].attempts = 0
        manager.start()
        while world.bmcs["fake://hung?systems=3"].attempts == 0:  # a sweep is stuck on it
            time.sleep(0.01)
        stopping = threading.Thread(target=manager.stop)
        stopping.start()
        stopping.join(timeout=10)  # the sweep's own deadline is 60 s
        assert not stopping.is_alive(), "stop waited for the hung BMC"
    finally:
        gate.set()
