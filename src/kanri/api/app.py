"""The FastAPI application around one :class:`Manager`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kanri import __version__
from kanri.api import problems
from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.limits import BodyLimit
from kanri.api.routes import (
    deliveries,
    events,
    groups,
    intake,
    jobs,
    layouts,
    machines,
    maintenance,
    partitions,
    power,
    rules,
    runstates,
    schedules,
    servers,
    storage,
)
from kanri.engine.manager import Manager


def create_app(manager: Manager, manage_lifecycle: bool = True) -> FastAPI:
    """The API for ``manager``; it starts and stops the manager with the app by default."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            manager.start()
        try:
            yield
        finally:
            if manage_lifecycle:  # joins threads: not on the event loop
                await asyncio.to_thread(manager.stop)

    app = FastAPI(
        title="kanri",
        version=__version__,
        description="Manage a datacenter's servers, physical and logical alike.",
        lifespan=lifespan,
    )
    app.state.manager = manager
    problems.install(app)
    app.add_middleware(BodyLimit)
    app.include_router(machines.router)
    app.include_router(power.router)
    app.include_router(events.router)
    app.include_router(storage.router)
    app.include_router(jobs.router)
    app.include_router(groups.router)
    app.include_router(schedules.router)
    app.include_router(schedules.calendars)
    app.include_router(rules.router)
    app.include_router(maintenance.router)
    app.include_router(deliveries.router)
    app.include_router(intake.router)
    app.include_router(layouts.router)
    app.include_router(servers.router)
    app.include_router(partitions.router)
    app.include_router(partitions.machine_router)
    app.include_router(runstates.router)
    app.include_router(runstates.machine_router)

    @app.get("/api/v1/status", tags=["manager"])
    def manager_status(manager: ManagerDep, _: CallerDep) -> dict[str, object]:
        """The manager's version and its last power-sync sweep."""
        sweep = manager.sync.last_sweep
        return {
            "version": __version__,
            "last_sweep": None
            if sweep is None
            else {
                "machines": sweep.machines,
                "failed": sweep.failed,
                "changed": sweep.changed,
                "seconds": round(sweep.seconds, 3),
            },
        }

    return app
