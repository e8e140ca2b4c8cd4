"""The lab's control API: plain JSON under ``/lab/v1``, for people and tests, not Redfish.

    GET    /lab/v1/state                   every system, the faults, the SAN, the clock
    GET    /lab/v1/faults                  the faults in effect
    POST   /lab/v1/faults                  {"kind": ..., "target": ..., ...} injects one
    DELETE /lab/v1/faults[?target=&kind=]  clears them (all, one target's, one kind's)
    GET    /lab/v1/violations              invariant violations (split-brain ...) so far
    GET    /lab/v1/history[?since=N&kind=&limit=]  the lab's record of what happened
    GET    /lab/v1/clock                   time scale and lab time

It answers with the lab's credentials like the Redfish service, but BMC faults never
touch it: a lab told to play dead can still be told to stop. Errors are
``{"error": "..."}`` with 400 (bad input, naming the field), 404 (no such target) or 409.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model import faults
from kanri.lab.model.fault_report import active
from kanri.lab.model.faults import ENCLOSURE, BmcMode, FaultKind
from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.san import SanError
from kanri.lab.model.states import Boot
from kanri.lab.model.systems import ComponentKind, Health, Machine, Partition, System
from kanri.lab.redfish.common import capped_body

PREFIX = "/lab/v1"
HISTORY_LIMIT = 10_000


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, default=str), status_code=status, media_type="application/json"
    )


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """Every refusal as ``{"error": ...}`` with its status, never a Redfish body."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ControlError as exc:
            return _json({"error": str(exc)}, exc.status)
        except LabError as exc:
            return _json({"error": str(exc)}, exc.status)
        except SanError as exc:
            return _json({"error": str(exc)}, 400)

    return run


def _lab(request: Request) -> Lab:
    lab: Lab = request.app.state.lab
    return lab


# state -----------------------------------------------------------------------------------
def _boot(system: System) -> str:
    if system.boot is Boot.OEM and system.oem_boot is not None:
        return str(system.oem_boot)
    return str(system.boot)


def _health(lab: Lab, system: System) -> str:
    if isinstance(system, Partition):
        host = lab.machines.get(system.host)
        return str(host.health) if host else str(Health.OK)
    assert isinstance(system, Machine)
    return str(system.health)


def system_state(lab: Lab, system: System) -> dict[str, Any]:
    machine = system if isinstance(system, Machine) else None
    partition = system if isinstance(system, Partition) else None
    return {
        "id": system.id,
        "kind": "machine" if machine else "partition",
        "host": partition.host if partition else None,
        "power": str(system.power),
        "boot": _boot(system),
        "os_running": system.os_running,
        "booted_volume": system.booted_volume,
        "os_since": system.os_since,
        "boot_lun": system.boot_lun,
        "health": _health(lab, system),
        "mode": str(machine.mode) if machine else None,
        "pending_mode": str(machine.pending_mode) if machine and machine.pending_mode else None,
        "identities": sorted(system.identities()),
        "sel_entries": len(system.sel),
        "unpowered": system.id in lab.unpowered,
    }


def san_state(lab: Lab) -> dict[str, Any]:
    san = lab.san
    used: dict[str, list[str]] = {}
    for system in lab.systems():
        if system.booted_volume:
            used.setdefault(system.booted_volume, []).append(system.id)
    return {
        "volumes": [
            {
                "id": v.id,
                "capacity_bytes": v.capacity_bytes,
                "mapped_to": sorted(san.mapped_to(v.id)),
                "used_by": sorted(used.get(v.id, [])),
            }
            for v in san.volumes.values()
        ],
        "host_groups": [
            {
                "id": g.id,
                "initiators": sorted(g.initiators),
                "luns": {str(lun): v for lun, v in sorted(g.luns.items())},
            }
            for g in san.host_groups.values()
        ],
        "failed_paths": sorted(san.failed_paths),
    }


def clock_state(lab: Lab) -> dict[str, Any]:
    return {"scale": lab.clock.scale, "now": round(lab.clock.now(), 3), "wall": lab.wall()}


@_guarded
async def state(request: Request) -> Response:
    lab = _lab(request)
    with lab.lock:
        body = {
            "clock": clock_state(lab),
            "systems": [system_state(lab, s) for s in lab.systems()],
            "faults": active(lab),
            "san": san_state(lab),
            "violations": len(lab.history.violations),
            "events": _events_state(request, lab),
        }
    return _json(body)


def _events_state(request: Request, lab: Lab) -> dict[str, Any]:
    hub = getattr(request.app.state, "event_hub", None)
    return {
        "raised": lab.events.recent[-1].id if lab.events.recent else 0,
        "dropped": lab.events.dropped,
        "subscriptions": len(hub.subscriptions()) if hub else 0,
        "delivered": hub.delivered if hub else 0,
    }


@_guarded
async def clock(request: Request) -> Response:
    return _json(clock_state(_lab(request)))


# faults ----------------------------------------------------------------------------------
_FIELDS: dict[FaultKind, set[str]] = {
    FaultKind.COMPONENT: {"target", "component", "id", "severity"},
    FaultKind.POWER_LOSS: {"target", "with_bmc"},
    FaultKind.BMC: {"target", "mode", "seconds"},
    FaultKind.SESSIONS_EXHAUSTED: {"target"},
    FaultKind.DROP_EVENTS: {"target", "count", "all"},
    FaultKind.STORAGE_PATH: {"target"},
}


def _choice(body: dict[str, Any], key: str, allowed: list[str], default: str | None = None) -> str:
    value = body.get(key, default)
    if value is None:
        raise ControlError(f"{key} is required: one of {', '.join(allowed)}")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ControlError(f"{key} {value!r} is not one of {', '.join(allowed)}")
    return value.lower()


def _target(body: dict[str, Any]) -> str:
    target = body.get("target")
    if not isinstance(target, str) or not target:
        raise ControlError("target is required: a machine or partition id")
    return target


def inject(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    """Check a fault request field by field and inject it; the fault as understood."""
    kind = FaultKind(_choice(body, "kind", [str(k) for k in FaultKind]))
    unknown = sorted(set(body) - _FIELDS[kind] - {"kind"})
    if unknown:
        raise ControlError(
            f"field {unknown[0]!r} does not apply to a {kind} fault "
            f"(it takes: {', '.join(sorted(_FIELDS[kind]))})"
        )
    return {"kind": str(kind), **_INJECT[kind](lab, body)}


def _component(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    target = _target(body)
    component = ComponentKind(_choice(body, "component", [str(c) for c in ComponentKind]))
    severity = Health(_choice(body, "severity", ["critical", "warning"], "critical").title())
    given = body.get("id")
    if given is not None and not isinstance(given, str):
        raise ControlError(f"id must be a component id like CPU1, not {given!r}")
    part = faults.fail_component(lab, target, component, given, severity)
    return {
        "target": target,
        "component": str(component),
        "id": part.id,
        "severity": str(severity).lower(),
    }


def _power_loss(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    target, with_bmc = _target(body), body.get("with_bmc", False)
    if not isinstance(with_bmc, bool):
        raise ControlError("with_bmc must be true or false")
    faults.lose_power(lab, target, with_bmc)
    return {"target": target, "with_bmc": with_bmc}


def _bmc(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    target = _target(body)
    mode = BmcMode(_choice(body, "mode", [str(m) for m in BmcMode]))
    seconds = body.get("seconds", 5.0)
    if mode is not BmcMode.SLOW and "seconds" in body:
        raise ControlError("seconds applies to mode slow only")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ControlError(f"seconds must be a number, not {seconds!r}")
    faults.fail_bmc(lab, target, mode, float(seconds))
    done: dict[str, Any] = {"target": target, "mode": str(mode)}
    if mode is BmcMode.SLOW:
        done["seconds"] = float(seconds)
    return done


def _sessions(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    _enclosure_only(body, FaultKind.SESSIONS_EXHAUSTED)
    faults.exhaust_sessions(lab)
    return {"target": ENCLOSURE}


def _drop_events(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    _enclosure_only(body, FaultKind.DROP_EVENTS)
    count, every = body.get("count"), body.get("all", "count" not in body)
    if not isinstance(every, bool):
        raise ControlError("all must be true or false")
    if every and count is not None:
        raise ControlError("give count or all, not both")
    if not every and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ControlError(f"count must be a whole number of at least 1, not {count!r}")
    faults.drop_events(lab, None if every else count)
    return {"target": ENCLOSURE, "count": "all" if every else count}


def _storage_path(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    target = _target(body)
    return {"target": target, "identities": sorted(faults.fail_storage_path(lab, target))}


_INJECT: dict[FaultKind, Callable[[Lab, dict[str, Any]], dict[str, Any]]] = {
    FaultKind.COMPONENT: _component,
    FaultKind.POWER_LOSS: _power_loss,
    FaultKind.BMC: _bmc,
    FaultKind.SESSIONS_EXHAUSTED: _sessions,
    FaultKind.DROP_EVENTS: _drop_events,
    FaultKind.STORAGE_PATH: _storage_path,
}


def _enclosure_only(body: dict[str, Any], kind: FaultKind) -> None:
    if body.get("target", ENCLOSURE) != ENCLOSURE:
        raise ControlError(f"a {kind} fault is the enclosure manager's: target must be '*'")


async def _body(request: Request) -> dict[str, Any]:
    raw = await capped_body(request)
    if raw is None:
        raise ControlError("the request body is larger than 64 KiB", 413)
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise ControlError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError("the request body must be a JSON object")
    return data


@_guarded
async def list_faults(request: Request) -> Response:
    return _json({"faults": active(_lab(request))})


@_guarded
async def add_fault(request: Request) -> Response:
    lab = _lab(request)
    injected = inject(lab, await _body(request))
    return _json({"injected": injected, "faults": active(lab)}, 201)


@_guarded
async def clear_faults(request: Request) -> Response:
    lab = _lab(request)
    target = request.query_params.get("target") or None
    kind_text = request.query_params.get("kind")
    kind = None
    if kind_text:
        kind = FaultKind(_choice({"kind": kind_text}, "kind", [str(k) for k in FaultKind]))
    cleared = faults.clear(lab, target, kind)
    return _json({"cleared": cleared, "faults": active(lab)})


# what happened ---------------------------------------------------------------------------
@_guarded
async def violations(request: Request) -> Response:
    lab = _lab(request)
    lab.check_invariants()
    found = [
        {
            "at": v.at,
            "wall": v.wall,
            "rule": v.rule,
            "volume": v.volume,
            "systems": list(v.systems),
            "detail": v.detail,
        }
        for v in list(lab.history.violations)
    ]
    return _json({"violations": found, "count": len(found)})


def _int_param(request: Request, key: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ControlError(f"{key} must be a whole number, not {text!r}") from None
    if not low <= value <= high:
        raise ControlError(f"{key} must be between {low} and {high}, not {value}")
    return value


@_guarded
async def history(request: Request) -> Response:
    lab = _lab(request)
    since = _int_param(request, "since", 0, 0, 2**62)
    limit = _int_param(request, "limit", HISTORY_LIMIT, 1, HISTORY_LIMIT)
    kind = request.query_params.get("kind", "")
    records = [r for r in lab.history.since(since) if r.kind.startswith(kind)][:limit]
    return _json(
        {
            "records": [
                {"seq": r.seq, "at": round(r.at, 3), "wall": r.wall, "kind": r.kind, "data": r.data}
                for r in records
            ],
            "last": records[-1].seq if records else since,
        }
    )


_ROUTES: list[tuple[str, str, Handler]] = [
    ("/state", "GET", state),
    ("/clock", "GET", clock),
    ("/faults", "GET", list_faults),
    ("/faults", "POST", add_fault),
    ("/faults", "DELETE", clear_faults),
    ("/violations", "GET", violations),
    ("/history", "GET", history),
]


async def elsewhere(request: Request) -> Response:
    """Anything else under /lab: a JSON 404 or 405, like the rest of this API."""
    path = request.url.path.rstrip("/")
    methods = sorted({m for p, m, _ in _ROUTES if PREFIX + p == path})
    if methods:
        return _json(
            {"error": f"{request.method} is not allowed on {path} (use {', '.join(methods)})"},
            405,
        )
    known = ", ".join(sorted({PREFIX + p for p, _, _ in _ROUTES}))
    return _json({"error": f"nothing at {request.url.path} (the control API has {known})"}, 404)


def routes() -> list[Route]:
    found = [Route(PREFIX + path, handler, methods=[method]) for path, method, handler in _ROUTES]
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [*found, Route("/lab/{rest:path}", elsewhere, methods=methods)]
