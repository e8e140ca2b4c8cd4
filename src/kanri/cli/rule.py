"""kanri rule: which events run which actions (e-mail, webhook, syslog, reboot, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_rows, table
from kanri.cli.prompts import confirm_removal
from kanri.cli.rule_syntax import parse_action

app = typer.Typer(
    rich_markup_mode="markdown",
    help=(
        "Rules: which fault events run which actions, in order (docs/rules.md). "
        "A target in maintenance ('kanri maintenance on') runs none."
    ),
    no_args_is_help=True,
)


def _match(rule: dict[str, Any]) -> str:
    m = rule["match"]
    parts = [f">={m['severity']}"]
    for key in ("kind", "component", "target", "group"):
        if key in m:
            parts.append(f"{key}={','.join(m[key])}")
    return " ".join(parts)


def _action(action: dict[str, Any]) -> str:
    params = action["params"]
    if not params:
        return str(action["kind"])
    shown = ";".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in params.items()
    )
    return f"{action['kind']}:{shown}"


def _limits(rule: dict[str, Any]) -> str | None:
    parts = []
    if rule["rate"]:
        parts.append(f"rate {rule['rate']}s")
    if rule["quiet"]:
        parts.append(f"quiet {rule['quiet']}s")
    return ", ".join(parts) or None


_COLUMNS = [
    ("#", lambda r: r["position"]),
    ("NAME", lambda r: r["name"]),
    ("ENABLED", lambda r: "yes" if r["enabled"] else "no"),
    ("MATCH", _match),
    ("ON", lambda r: ",".join(r["on"])),
    ("ACTIONS", lambda r: ", ".join(a["kind"] for a in r["actions"])),
    ("LIMITS", _limits),
    ("FROM", lambda r: r["origin"]),
]


def _show(rule: dict[str, Any], output: Format, title: str | None = None) -> None:
    if output is Format.JSON:
        emit_json(rule)
        return
    table([rule], _COLUMNS[:5] + _COLUMNS[6:], title=title)
    for index, action in enumerate(rule["actions"], 1):
        out.print(f"  action {index}: {_action(action)}", markup=False)


def _load(ctx: typer.Context, path: Path, output: Format) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise CliError(f"cannot read the rules file {path}: {reason}", ExitCode.USAGE) from None
    answer = api(ctx).post("/api/v1/rules/load", {"yaml": text, "source": str(path.resolve())})
    if output is Format.JSON:
        emit_json(answer)
        return
    out.print(f"loaded {len(answer['rules'])} rule(s) from {answer['source']}", markup=False)
    if answer["rules"]:
        table(answer["rules"], _COLUMNS[:7])


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="a name for the rule")] = None,
    severity: Annotated[
        str, typer.Option("--severity", "-s", help="at least: info, warning or critical")
    ] = "info",
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help="event kind (hw.sel) or family (hw.*)")
    ] = None,
    component: Annotated[
        list[str] | None, typer.Option("--component", "-c", help="component glob (DIMM*)")
    ] = None,
    target: Annotated[list[str] | None, typer.Option("--target", "-t", help="a machine")] = None,
    group: Annotated[list[str] | None, typer.Option("--group", "-g", help="a group")] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action",
            "-a",
            help="KIND, KIND:KEY=VALUE;KEY=VALUE or KIND:{JSON}, run in the order given, "
            "e.g. 'email:to=a@example.com,b@example.com' or reboot",
        ),
    ] = None,
    on: Annotated[
        list[str] | None,
        typer.Option("--on", help="fire on new, escalated, grew, cleared (default new+escalated)"),
    ] = None,
    rate: Annotated[
        str | None, typer.Option("--rate", help="at most COUNT firings per DURATION: 5/3600, 5/1h")
    ] = None,
    quiet: Annotated[
        str | None, typer.Option("--quiet", help="none within this long of the last: 600, 10m")
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="store it disabled")] = False,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", "-f", help="load a YAML rules file instead (= rule load)"),
    ] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Add a rule after the others. Everything it names must exist; nothing is stored
    otherwise. Without --kind/--target/... it matches every event of that severity."""
    if from_file is not None:
        if name is not None or action:
            raise CliError(
                "--from-file takes no NAME or --action: the file has them", ExitCode.USAGE
            )
        _load(ctx, from_file, output)
        return
    if name is None or not action:
        raise CliError(
            "give a NAME and at least one --action (or --from-file FILE)", ExitCode.USAGE
        )
    match: dict[str, Any] = {"severity": severity}
    for key, values in (("kind", kind), ("component", component), ("target", target),
                        ("group", group)):  # fmt: skip
        if values:
            match[key] = values
    body: dict[str, Any] = {
        "name": name,
        "match": match,
        "actions": [parse_action(a) for a in action],
        "enabled": not disabled,
    }
    if on:
        body["on"] = on
    if rate is not None:
        body["rate"] = rate
    if quiet is not None:
        body["quiet"] = int(quiet) if quiet.isdigit() else quiet
    _show(api(ctx).post("/api/v1/rules", body), output, "added rule")


@app.command("load")
def load(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="a YAML rules file (docs/rules.md)")],
    output: OutputOpt = Format.TABLE,
) -> None:
    """Make the rules loaded from PATH the ones it holds now: all of them or none."""
    _load(ctx, path, output)


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """The rules, in the order they are tried."""
    show_rows(
        api(ctx).get("/api/v1/rules"),
        output,
        _COLUMNS,
        "no rules yet: add one with 'kanri rule add NAME --action ...' or 'kanri rule load FILE'",
    )


@app.command("show")
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """One rule, with its actions' parameters."""
    _show(api(ctx).get(resource_path("rules", name)), output)


@app.command("enable")
def enable(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Let a rule fire again."""
    _show(api(ctx).patch(resource_path("rules", name), {"enabled": True}), output)


@app.command("disable")
def disable(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Keep a rule but stop it firing."""
    _show(api(ctx).patch(resource_path("rules", name), {"enabled": False}), output)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a rule. Deliveries it already made stay with their events."""
    confirm_removal(f"rule {name}", yes)
    api(ctx).delete(resource_path("rules", name))
    out.print(f"removed rule {name}", markup=False)


@app.command("test")
def replay(
    ctx: typer.Context,
    event_id: Annotated[int, typer.Argument(help="a stored event's id (kanri event list)")],
    change: Annotated[
        str, typer.Option("--change", help="replay it as new, escalated, grew or cleared")
    ] = "new",
    output: OutputOpt = Format.TABLE,
) -> None:
    """Replay a stored event through the rules: which would fire, which not and why.
    Nothing is sent or done."""
    verdicts = api(ctx).post("/api/v1/rules/test", {"event_id": event_id, "change": change})
    show_rows(
        verdicts,
        output,
        [
            ("RULE", lambda v: v["rule"]),
            ("FIRES", lambda v: "yes" if v["fires"] else "no"),
            ("TRIGGER", lambda v: v["trigger"]),
            ("WHY", lambda v: v["reason"]),
            ("ACTIONS", lambda v: ", ".join(_action(a) for a in v["actions"])),
        ],
        "no rules: nothing would fire",
        title=f"event {event_id}",
    )
