"""Errors that mean something to an operator. Faces map them to exit codes and HTTP status."""

from __future__ import annotations


class KanriError(Exception):
    """Base of every error kanri reports to an operator in one clear line."""


class NotFound(KanriError):
    pass


class Conflict(KanriError):
    pass


class Invalid(KanriError):
    pass
