"""The admin API token: made at first start, kept in a file only its owner can read."""

from __future__ import annotations

import hashlib
import logging
import socket
from pathlib import Path

from kanri.store.repo import Repository
from kanri.store.secrets import write_private

log = logging.getLogger(__name__)

ADMIN = "admin"


def admin_token_name(token_file: Path) -> str:
    """``admin@HOST:ID``: one admin token per manager's data directory, so managers that
    share a PostgreSQL database do not replace each other's tokens."""
    place = hashlib.sha256(str(token_file.resolve()).encode()).hexdigest()[:8]
    return f"{ADMIN}@{socket.gethostname()[:40]}:{place}"


def ensure_admin_token(repo: Repository, token_file: Path) -> str:
    """Return the admin token, creating it (and its file) if there is no valid one."""
    name = admin_token_name(token_file)
    if token_file.exists():
        if token_file.stat().st_mode & 0o077:
            log.warning("%s was readable by others: made it owner-only", token_file)
            token_file.chmod(0o600)
        token = token_file.read_text(errors="replace").strip()
        if repo.check_token(token) == name:
            return token
        log.warning("%s holds no valid token: making a new admin token", token_file)
        token_file.unlink()
    token = repo.create_token(name)
    write_private(token_file, (token + "\n").encode())
    log.info("admin token written to %s (owner-only)", token_file)
    return token
