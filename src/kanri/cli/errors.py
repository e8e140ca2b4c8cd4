"""Exit codes of the ``kanri`` command, and the one error type that carries them.

0 success · 1 unexpected error · 2 bad usage or invalid input · 3 not found ·
4 conflict (exists already, refused in this state) · 5 the BMC failed (unreachable,
rejected credentials, protocol error) · 6 the kanri API cannot be reached or refused the
token · 7 timed out (waiting for ``--wait``, or the API took a request and did not answer)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    BMC = 5
    API = 6
    TIMEOUT = 7


class CliError(Exception):
    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code


def code_for_status(status: int) -> ExitCode:
    if status in (400, 422):
        return ExitCode.USAGE
    if status == 404:
        return ExitCode.NOT_FOUND
    if status == 409:
        return ExitCode.CONFLICT
    if status in (401, 403):
        return ExitCode.API
    if status in (502, 504):
        return ExitCode.BMC
    return ExitCode.ERROR
