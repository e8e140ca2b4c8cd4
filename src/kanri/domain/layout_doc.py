"""A layout as a YAML (or JSON) document, version 1, read strictly: an unknown key, a wrong
type or a missing key is an :class:`Invalid` naming the source, the path
(``partitions[2].memory_gib``, counted from 0) and what was expected. Pure: the caller
loads and dumps the YAML. The format is in docs/partitions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from kanri.domain.errors import Invalid
from kanri.domain.layouts import HostPort, Layout, LayoutHost, Placement, require_layout
from kanri.domain.partitions import CpuMode, PartitionSpec, PortKind, PortUse
from kanri.domain.runstate import RunState

VERSION = 1
TOP_KEYS = {"version": True, "host": True, "partitions": True, "servers": False, "states": False}
HOST_KEYS = {"name": True, "ports": False}
PARTITION_KEYS = {
    "name": True,
    "cores": True,
    "memory_gib": True,
    "cpu_mode": False,
    "shared_weight": False,
    "cpus": False,
    "ports": False,
}
PORT_KEYS = {"port": True, "shared": False, "identity": False}
SERVER_KEYS = {"partition": True, "identity": False}

E = TypeVar("E", bound=StrEnum)


def to_document(layout: Layout) -> dict[str, Any]:
    """``layout`` as plain data for YAML; :func:`from_document` reads it back equal."""
    doc: dict[str, Any] = {
        "version": VERSION,
        "host": {
            "name": layout.host.name,
            "ports": {p.id: p.kind.value for p in layout.host.ports},
        },
        "partitions": [_spec_doc(spec) for spec in layout.partitions],
    }
    if layout.servers:
        doc["servers"] = {
            s.server: {"partition": s.partition}
            | ({"identity": dict(s.identity)} if s.identity else {})
            for s in layout.servers
        }
    if layout.states:
        doc["states"] = {name: state.value for name, state in layout.states.items()}
    return doc


def _spec_doc(spec: PartitionSpec) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": spec.name,
        "cores": spec.cores,
        "memory_gib": spec.memory_gib,
        "cpu_mode": spec.cpu_mode.value,
        "shared_weight": spec.shared_weight,
    }
    if spec.cpus:
        doc["cpus"] = list(spec.cpus)
    doc["ports"] = [
        {"port": u.port, "shared": u.shared} | ({"identity": u.identity} if u.identity else {})
        for u in spec.ports
    ]
    return doc


def from_document(data: Any, source: str) -> Layout:
    """The layout in ``data`` (loaded YAML), or :class:`Invalid` naming ``source``."""
    reader = _Reader(source)
    top = reader.mapping(data, "", TOP_KEYS)
    version = reader.integer(top["version"], "version")
    if version != VERSION:
        raise reader.error("version", f"this kanri reads version {VERSION}, got {version}")
    host = reader.mapping(top["host"], "host", HOST_KEYS)
    ports = reader.mapping(host.get("ports", {}), "host.ports", None)
    layout = Layout(
        host=LayoutHost(
            name=reader.text(host["name"], "host.name"),
            ports=tuple(
                HostPort(port, reader.choice(kind, f"host.ports.{port}", PortKind))
                for port, kind in ports.items()
            ),
        ),
        partitions=tuple(
            _spec(reader, item, f"partitions[{i}]")
            for i, item in enumerate(reader.sequence(top["partitions"], "partitions"))
        ),
        servers=tuple(
            _placement(reader, server, value, f"servers.{server}")
            for server, value in reader.mapping(top.get("servers", {}), "servers", None).items()
        ),
        states={
            name: reader.choice(value, f"states.{name}", RunState)
            for name, value in reader.mapping(top.get("states", {}), "states", None).items()
        },
    )
    return require_layout(layout, source)


def _spec(reader: _Reader, data: Any, path: str) -> PartitionSpec:
    item = reader.mapping(data, path, PARTITION_KEYS)
    return PartitionSpec(
        name=reader.text(item["name"], f"{path}.name"),
        cores=reader.integer(item["cores"], f"{path}.cores"),
        memory_gib=reader.integer(item["memory_gib"], f"{path}.memory_gib"),
        cpu_mode=reader.choice(item.get("cpu_mode", "dedicated"), f"{path}.cpu_mode", CpuMode),
        shared_weight=reader.integer(item.get("shared_weight", 100), f"{path}.shared_weight"),
        cpus=tuple(
            reader.integer(core, f"{path}.cpus[{i}]")
            for i, core in enumerate(reader.sequence(item.get("cpus", []), f"{path}.cpus"))
        ),
        ports=tuple(
            _port(reader, port, f"{path}.ports[{i}]")
            for i, port in enumerate(reader.sequence(item.get("ports", []), f"{path}.ports"))
        ),
    )


def _port(reader: _Reader, data: Any, path: str) -> PortUse:
    item = reader.mapping(data, path, PORT_KEYS)
    identity = item.get("identity")
    return PortUse(
        port=reader.text(item["port"], f"{path}.port"),
        shared=reader.boolean(item.get("shared", False), f"{path}.shared"),
        identity=None if identity is None else reader.text(identity, f"{path}.identity"),
    )


def _placement(reader: _Reader, server: str, data: Any, path: str) -> Placement:
    item = reader.mapping(data, path, SERVER_KEYS)
    identity = reader.mapping(item.get("identity", {}), f"{path}.identity", None)
    return Placement(
        server=server,
        partition=reader.text(item["partition"], f"{path}.partition"),
        identity={key: reader.text(v, f"{path}.identity.{key}") for key, v in identity.items()},
    )


class _Reader:
    """Type checks that raise :class:`Invalid` with the source and the path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, message: str) -> Invalid:
        where = f"{self.source}: {path}" if path else self.source
        return Invalid(f"{where}: {message}")

    def mapping(self, data: Any, path: str, keys: Mapping[str, bool] | None) -> dict[str, Any]:
        """``data`` as a mapping with string keys; with ``keys`` (key -> required), no
        other key and every required one."""
        if not isinstance(data, dict):
            raise self.error(path or "document", f"expected a mapping, got {_kind(data)}")
        for key in data:
            if not isinstance(key, str):
                raise self.error(path or "document", f"expected text keys, got {key!r}")
        if keys is not None:
            for key in data:
                if key not in keys:
                    raise self.error(
                        _join(path, key), f"unknown key (known here: {', '.join(keys)})"
                    )
            for key, required in keys.items():
                if required and key not in data:
                    raise self.error(_join(path, key), "missing")
        return data

    def sequence(self, data: Any, path: str) -> list[Any]:
        if not isinstance(data, list):
            raise self.error(path, f"expected a list, got {_kind(data)}")
        return data

    def text(self, data: Any, path: str) -> str:
        if not isinstance(data, str) or not data:
            raise self.error(path, f"expected text, got {_kind(data)}")
        return data

    def integer(self, data: Any, path: str) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise self.error(path, f"expected a whole number, got {_kind(data)}")
        return data

    def boolean(self, data: Any, path: str) -> bool:
        if not isinstance(data, bool):
            raise self.error(path, f"expected true or false, got {_kind(data)}")
        return data

    def choice(self, data: Any, path: str, enum: type[E]) -> E:
        values = [e.value for e in enum]
        if data is False and "off" in values:
            # PyYAML reads YAML 1.1, where a bare ``off`` is false: ``states: {db-1: off}``.
            data = "off"
        if not isinstance(data, str) or data not in values:
            raise self.error(path, f"expected one of {', '.join(values)}, got {_kind(data)}")
        return enum(data)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(data: Any) -> str:
    if isinstance(data, bool):
        return f"{str(data).lower()} (true/false)"
    if isinstance(data, int | float):
        return f"the number {data}"
    if isinstance(data, str):
        return f"{data!r}" if data else "empty text"
    names = {type(None): "nothing", list: "a list", dict: "a mapping"}
    return names.get(type(data), type(data).__name__)
