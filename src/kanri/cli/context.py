"""Options every command shares (where the API is, which token), kept on typer's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from kanri.cli.client import Api, find_token


@dataclass
class CliContext:
    url: str | None = None
    token: str | None = None
    token_file: Path | None = None
    _api: Api | None = field(default=None, repr=False)

    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.url, find_token(self.token, self.token_file))
        return self._api


def api(ctx: typer.Context) -> Api:
    obj = ctx.find_object(CliContext)
    if obj is None:  # a sub-app invoked on its own, as in some tests
        obj = CliContext()
        ctx.obj = obj
    return obj.api()
