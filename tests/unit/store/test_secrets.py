from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from kanri.store.secrets import Secrets, SecretsError


def test_key_file_is_created_private(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "secret.key"

    Secrets(key_file)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    Fernet(key_file.read_bytes())  # a valid key


def test_existing_key_is_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    token = Secrets(key_file).encrypt("hunter2")

    assert Secrets(key_file).decrypt(token) == "hunter2"


def test_round_trip_does_not_keep_plaintext(tmp_path: Path) -> None:
    secrets = Secrets(tmp_path / "secret.key")

    token = secrets.encrypt("p@ss word é")

    assert b"p@ss" not in token
    assert secrets.decrypt(token) == "p@ss word é"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_refuses_a_key_others_can_read(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "secret.key"
    Secrets(key_file)
    key_file.chmod(mode)

    with pytest.raises(SecretsError) as exc:
        Secrets(key_file)

    assert f"chmod 600 {key_file}" in str(exc.value)
    assert oct(mode) in str(exc.value)


def test_wrong_key_is_a_clear_error(tmp_path: Path) -> None:
    token = Secrets(tmp_path / "one.key").encrypt("hunter2")
    other = Secrets(tmp_path / "other.key")

    with pytest.raises(SecretsError, match="does not belong to this database") as exc:
        other.decrypt(token)

    assert str(tmp_path / "other.key") in str(exc.value)
    assert "hunter2" not in str(exc.value)


def test_garbage_key_file_is_a_clear_error(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(b"not a key\n")
    key_file.chmod(0o600)

    with pytest.raises(SecretsError, match="is not a kanri secret key"):
        Secrets(key_file)
