"""Where kanri keeps its files and how its parts find each other; read from the environment.

``KANRI_DATA_DIR``      data directory (default ``~/.local/share/kanri``): the SQLite
                        database, the secret key, the admin token.
``KANRI_DATABASE_URL``  SQLAlchemy URL; default SQLite in the data directory. For
                        PostgreSQL: ``postgresql+psycopg://user:pass@host:5432/kanri``.
``KANRI_URL``           where the CLI finds the API (default ``http://127.0.0.1:8642``).
``KANRI_TOKEN``         API token for the CLI; default: the admin token file.
``KANRI_SMTP_*``        the SMTP server e-mail actions use (:func:`smtp_server`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kanri.domain.notify import SmtpServer

DEFAULT_PORT = 8642
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "admin.token"

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> Settings:
        if data_dir is None:
            env = os.environ.get("KANRI_DATA_DIR")
            data_dir = Path(env) if env else Path.home() / ".local" / "share" / "kanri"
        data_dir = data_dir.expanduser().absolute()
        url = os.environ.get("KANRI_DATABASE_URL") or f"sqlite:///{data_dir / 'kanri.db'}"
        return cls(data_dir=data_dir, database_url=url)

    def ensure_data_dir(self) -> None:
        """Create the data directory owner-only; tighten an existing one of ours to 0700.

        It holds the key to the BMC credentials, the admin token and the SQLite database.
        A directory someone else owns is left as it is (chmod would fail anyway).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = self.data_dir.stat()
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            self.data_dir.chmod(0o700)


def api_url() -> str:
    return os.environ.get("KANRI_URL", DEFAULT_URL).rstrip("/")


def smtp_server() -> SmtpServer | None:
    """The SMTP server e-mail actions send through (``KANRI_SMTP_*``, docs/notifications.md);
    None when ``KANRI_SMTP_HOST`` is not set. Raises ``Invalid`` on a malformed value."""
    from kanri.domain.notify import smtp_from_env

    password = ""
    password_file = os.environ.get("KANRI_SMTP_PASSWORD_FILE", "")
    if password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            from kanri.domain.errors import Invalid

            raise Invalid(f"cannot read KANRI_SMTP_PASSWORD_FILE: {exc.strerror}") from None
    return smtp_from_env(os.environ, password)
