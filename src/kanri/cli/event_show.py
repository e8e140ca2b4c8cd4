"""``kanri event show``: one event for people — what, where, diagnostics, deliveries."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from kanri.cli.output import out, table


def _when(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else "-"


def show_event(e: dict[str, Any]) -> None:
    target = e["target"] or "-"
    fields = [
        ("event", f"{e['id']}  {e['kind']}"),
        ("severity", e["severity"]),
        ("state", e["state"]),
        ("target", f"{target}/{e['component']}" if e.get("component") else target),
        ("message", e["message"]),
        ("source", e["source"]),
        ("first", _when(e["at"])),
        ("last", _when(e["last_at"])),
        ("count", str(e["count"])),
        ("affected", ", ".join(e["affected"]) or "-"),
    ]
    if e.get("acked_by"):
        fields.append(("acknowledged", f"{_when(e['acked_at'])} by {e['acked_by']}"))
    if e.get("cleared_at"):
        fields.append(("cleared", _when(e["cleared_at"])))
    for name, value in fields:
        out.print(f"[bold]{name:<13}[/] {escape(str(value))}")
    if e.get("details"):
        out.print("[bold]details[/]")
        for key, value in sorted(e["details"].items()):
            out.print(escape(f"  {key}: {value}"))
    _diagnostics(e.get("diagnostics") or {})
    if e.get("deliveries") is not None:
        _deliveries(e["deliveries"])


def _diagnostics(d: dict[str, Any]) -> None:
    if d.get("history"):
        table(
            d["history"],
            [
                ("AT", lambda h: _when(h.get("at"))),
                ("SEVERITY", lambda h: h.get("severity")),
                ("SOURCE", lambda h: h.get("source")),
                ("MESSAGE", lambda h: h.get("message")),
            ],
            title="history",
        )
    if d.get("sel"):
        table(
            d["sel"],
            [
                ("SEL", lambda s: s.get("id")),
                ("CREATED", lambda s: _when(s.get("created"))),
                ("SEVERITY", lambda s: s.get("severity")),
                ("COMPONENT", lambda s: s.get("component") or None),
                ("MESSAGE", lambda s: s.get("message")),
            ],
            title="SEL lines",
        )
    if d.get("sensors"):
        rows = [{"name": name, **reading} for name, reading in sorted(d["sensors"].items())]
        table(
            rows,
            [
                ("SENSOR", lambda r: r["name"]),
                ("READING", lambda r: f"{r.get('reading')} {r.get('units') or ''}".strip()),
                ("HEALTH", lambda r: r.get("health")),
                ("AT", lambda r: _when(r.get("at"))),
            ],
            title="sensors",
        )


def _deliveries(deliveries: list[dict[str, Any]]) -> None:
    if not deliveries:
        out.print("[bold]deliveries[/]    none (no rule fired)")
        return
    table(
        deliveries,
        [
            ("RULE", lambda d: d.get("rule_name") or d.get("rule")),
            ("ACTION", lambda d: d.get("kind")),
            ("TRIGGER", lambda d: d.get("trigger")),
            ("STATE", lambda d: d.get("state")),
            ("ATTEMPTS", lambda d: d.get("attempts")),
            ("ERROR", lambda d: d.get("last_error") or None),
        ],
        title="deliveries",
    )
