"""The admin API token: made at first start, kept in a file only its owner can read."""

from __future__ import annotations

import logging
from pathlib import Path

from kanri.store.repo import Repository
from kanri.store.secrets import write_private

log = logging.getLogger(__name__)

ADMIN = "admin"


def ensure_admin_token(repo: Repository, token_file: Path) -> str:
    """Return the admin token, creating it (and its file) if there is no valid one."""
    if token_file.exists():
        token = token_file.read_text().strip()
        if repo.check_token(token) == ADMIN:
            return token
        log.warning("%s holds no valid token: making a new admin token", token_file)
        token_file.unlink()
    token = repo.create_token(ADMIN)
    write_private(token_file, (token + "\n").encode())
    log.info("admin token written to %s (owner-only)", token_file)
    return token
