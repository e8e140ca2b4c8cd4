"""kanri job: durable jobs — list, show, watch, cancel, and run one."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, err, out, table
from kanri.domain.jobs import TIMEOUT
from kanri.domain.states import PowerAction

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Durable jobs: operations on machines that survive a manager's restart.",
    no_args_is_help=True,
)
run_app = typer.Typer(rich_markup_mode="markdown", help="Submit a job.", no_args_is_help=True)
app.add_typer(run_app, name="run")

ENDED = ("succeeded", "failed", "cancelled")
JobId = Annotated[int, typer.Argument(help="the job's number", min=1)]


def exit_code(job: dict[str, Any]) -> ExitCode:
    """How a followed job ends the command: 0 succeeded; 7 (TIMEOUT) failed, and every
    step that failed waited its timeout in vain; 1 failed otherwise, or cancelled."""
    if job["state"] == "succeeded":
        return ExitCode.OK
    failed = [s for s in job["steps"] if s["state"] == "failed"]
    if (
        job["state"] == "failed"
        and failed
        and all((s["result"] or {}).get("failure") == TIMEOUT for s in failed)
    ):
        return ExitCode.TIMEOUT
    return ExitCode.ERROR


def _path(job_id: int, *rest: str) -> str:
    return "/".join([f"/api/v1/jobs/{job_id}", *rest])


def _progress(j: dict[str, Any]) -> str:
    ended = round(j["progress"] * j["steps_total"])
    return f"{ended}/{j['steps_total']}"


def _when(value: str | None) -> str | None:
    return value[:19].replace("T", " ") if value else None


_LIST_COLUMNS = [
    ("ID", lambda j: j["id"]),
    ("KIND", lambda j: j["kind"]),
    ("STATE", lambda j: j["state"]),
    ("STEPS", _progress),
    ("TARGETS", lambda j: ", ".join(j["targets"][:4]) + (" ..." if len(j["targets"]) > 4 else "")),
    ("CREATED", lambda j: _when(j["created_at"])),
    ("NOTE", lambda j: j["error"] or j["message"]),
]


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option("--state", help="pending, running, cancelling, succeeded, ...")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="e.g. power")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Jobs, newest first."""
    jobs = api(ctx).get("/api/v1/jobs", state=state, kind=kind, limit=limit)
    if output is Format.JSON:
        emit_json(jobs)
        return
    table(jobs, _LIST_COLUMNS)


def _show(job: dict[str, Any]) -> None:
    out.print(f"job {job['id']}: {escape(job['kind'])}  {job['state']}  steps {_progress(job)}")
    if job["message"]:
        out.print(f"  {escape(job['message'])}")
    if job["error"]:
        out.print(f"  error: {escape(job['error'])}")
    table(
        job["steps"] or [],
        [
            ("#", lambda s: s["index"]),
            ("GROUP", lambda s: s["group"]),
            ("STEP", lambda s: s["name"]),
            ("STATE", lambda s: s["state"]),
            ("TRIES", lambda s: s["attempts"]),
            ("RESULT", lambda s: s["error"] or _result(s["result"])),
        ],
    )


def _result(result: dict[str, Any] | None) -> str | None:
    if not result:
        return None
    return ", ".join(f"{k}={v}" for k, v in sorted(result.items()))


@app.command("show")
def show(ctx: typer.Context, job_id: JobId, output: OutputOpt = Format.TABLE) -> None:
    """One job with its steps."""
    job = api(ctx).get(_path(job_id))
    if output is Format.JSON:
        emit_json(job)
        return
    _show(job)


@app.command("cancel")
def cancel(ctx: typer.Context, job_id: JobId) -> None:
    """Cancel a job: steps not started are cancelled, a running step finishes."""
    job = api(ctx).post(_path(job_id, "cancel"))
    out.print(f"job {job['id']}: {job['state']}")


@app.command("watch")
def watch(
    ctx: typer.Context,
    job_id: JobId,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="seconds")] = 1.0,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Follow a job until it ends. Exit 0 if it succeeded, 7 if it failed because steps
    timed out, 1 if it failed otherwise or was cancelled."""
    _watch(ctx, job_id, interval, output)


def _watch(ctx: typer.Context, job_id: int, interval: float, output: Format) -> None:
    client = api(ctx)
    job = client.get(_path(job_id))
    columns = (
        TextColumn("job {task.fields[job]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]} {task.fields[note]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("", total=job["steps_total"] or 1, job=job_id, state="", note="")
        while True:
            ended = round(job["progress"] * job["steps_total"])
            note = escape(job["message"] or "")
            bar.update(task, completed=ended, state=job["state"], note=note)
            if job["state"] in ENDED:
                break
            time.sleep(interval)
            job = client.get(_path(job_id))
    if output is Format.JSON:
        emit_json(job)
    else:
        _show(job)
    code = exit_code(job)
    if code is not ExitCode.OK:
        raise CliError(f"job {job_id} {job['state']}", code)


@run_app.command("power")
def run_power(
    ctx: typer.Context,
    action: Annotated[PowerAction, typer.Argument(help="on, off, force_off, restart, reset")],
    targets: Annotated[list[str], typer.Argument(help="one or more machine names")],
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="each step waits until the machine gets there")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="seconds for --wait")] = 300,
    max_parallel: Annotated[
        int, typer.Option("--max-parallel", min=0, help="steps at once (0: all)")
    ] = 0,
    follow: Annotated[
        bool,
        typer.Option(
            "--watch", help="follow the job until it ends (exit 1 if it fails, 7 if timed out)"
        ),
    ] = False,
    no_cascade: Annotated[
        bool, typer.Option("--no-cascade", help="act on the targets alone (refused if unsafe)")
    ] = False,
    graceful_timeout: Annotated[
        float, typer.Option("--graceful-timeout", min=0, help="seconds before a forced stop")
    ] = 120,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Submit a power job: ACTION on the targets, partitions before/after their hosts,
    journaled and resumable (see `kanri power`)."""
    params: dict[str, Any] = {"action": action.value, "wait": wait, "timeout": timeout}
    if no_cascade:
        params["cascade"] = False
    if graceful_timeout != 120:
        params["graceful_timeout"] = graceful_timeout
    if max_parallel:
        params["max_parallel"] = max_parallel
    job = api(ctx).post("/api/v1/jobs", {"kind": "power", "targets": targets, "params": params})
    if follow:
        _watch(ctx, job["id"], 1.0, output)
        return
    if output is Format.JSON:
        emit_json(job)
        return
    out.print(f"job {job['id']}: power {action.value} on {len(targets)} target(s), {job['state']}")
