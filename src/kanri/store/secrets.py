"""BMC passwords encrypted at rest with a key file only its owner can read."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from kanri.domain.errors import KanriError


class SecretsError(KanriError):
    pass


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only; never widen an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class Secrets:
    def __init__(self, key_file: Path) -> None:
        if not key_file.exists():
            # If another process creates it first, use theirs.
            with contextlib.suppress(FileExistsError):
                write_private(key_file, Fernet.generate_key())
        mode = key_file.stat().st_mode & 0o077
        if mode:
            raise SecretsError(
                f"{key_file} is readable by others (mode {oct(key_file.stat().st_mode & 0o777)}); "
                f"run: chmod 600 {key_file}"
            )
        try:
            self._fernet = Fernet(key_file.read_bytes().strip())
        except ValueError:
            raise SecretsError(
                f"{key_file} is not a kanri secret key (expected 32 url-safe base64-encoded "
                "bytes); restore the right key file"
            ) from None
        self.key_file = key_file

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise SecretsError(
                f"cannot decrypt a stored BMC password with {self.key_file}: "
                "the key file does not belong to this database"
            ) from None
