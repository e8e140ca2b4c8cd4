"""Layouts as YAML documents: a round trip, and strict reading with the path of every error."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from kanri.domain.errors import Invalid
from kanri.domain.layout_doc import from_document, to_document
from kanri.domain.layouts import Layout
from kanri.domain.partitions import CpuMode, PortKind
from kanri.domain.runstate import RunState

from .test_layouts import layout

EXAMPLE = """
version: 1
host:
  name: blade-05
  ports: {fc0: fc, fc1: fc, nic0: nic}
partitions:
  - name: app-1
    cores: 4
    memory_gib: 16
    ports:
      - {port: fc0, shared: true}
      - {port: nic0}
  - name: db-1
    cores: 2
    memory_gib: 32
    cpu_mode: shared
    shared_weight: 300
    cpus: [6, 7]
    ports: [{port: fc1}]
servers:
  web-1: {partition: app-1, identity: {uuid: 0b1e, fc0: "2a:00:00:6b:05:00:00:01"}}
states:
  app-1: running
  db-1: off
"""


def load(text: str = EXAMPLE) -> Any:
    return yaml.safe_load(text)


def test_the_documented_example_reads() -> None:
    read = from_document(load(), "layout.yaml")
    assert read.host.name == "blade-05"
    assert read.host.kind_of("nic0") is PortKind.NIC
    app, db = read.partitions
    assert (app.cores, app.memory_gib, app.cpu_mode, app.shared_weight) == (
        4,
        16,
        CpuMode.DEDICATED,
        100,
    )
    assert app.ports[0].shared
    assert not app.ports[1].shared
    assert (db.cpu_mode, db.shared_weight, db.cpus) == (CpuMode.SHARED, 300, (6, 7))
    assert read.servers[0].identity == {"uuid": "0b1e", "fc0": "2a:00:00:6b:05:00:00:01"}
    # YAML 1.1 reads a bare ``off`` as false: it is still the state off.
    assert read.states == {"app-1": RunState.RUNNING, "db-1": RunState.OFF}


def test_a_layout_goes_through_yaml_and_back_equal() -> None:
    text = yaml.safe_dump(to_document(layout()), sort_keys=False)
    assert from_document(yaml.safe_load(text), "x") == layout()


def test_an_empty_layout_goes_through_yaml_and_back_equal() -> None:
    empty = Layout(host=layout().host)
    doc = to_document(empty)
    assert set(doc) == {"version", "host", "partitions"}
    assert from_document(yaml.safe_load(yaml.safe_dump(doc)), "x") == empty


def test_the_off_state_is_written_so_yaml_reads_it_back() -> None:
    doc = load()
    text = yaml.safe_dump(to_document(from_document(doc, "x")))
    assert "db-1: 'off'" in text


def _broken(change: Any) -> Any:
    doc = copy.deepcopy(load())
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["partitions"][1].update(memory_gib="lots"),
            "partitions[1].memory_gib: expected a whole number, got 'lots'",
        ),
        (
            lambda d: d["partitions"][0].update(memroy_gib=8),
            "partitions[0].memroy_gib: unknown key (known here: name, cores, memory_gib, "
            "cpu_mode, shared_weight, cpus, ports)",
        ),
        (
            lambda d: d["partitions"][0].pop("cores"),
            "partitions[0].cores: missing",
        ),
        (lambda d: d.pop("version"), "version: missing"),
        (lambda d: d.update(version=2), "version: this kanri reads version 1, got 2"),
        (lambda d: d.update(extra=1), "extra: unknown key"),
        (lambda d: d.update(host="blade-05"), "host: expected a mapping, got 'blade-05'"),
        (
            lambda d: d["host"]["ports"].update(fc0="scsi"),
            "host.ports.fc0: expected one of fc, nic, got 'scsi'",
        ),
        (lambda d: d.update(partitions={}), "partitions: expected a list, got a mapping"),
        (
            lambda d: d["partitions"][0].update(cores=True),
            "partitions[0].cores: expected a whole number, got true (true/false)",
        ),
        (
            lambda d: d["partitions"][0].update(cores=2.5),
            "partitions[0].cores: expected a whole number, got the number 2.5",
        ),
        (
            lambda d: d["partitions"][0].update(cpu_mode="both"),
            "partitions[0].cpu_mode: expected one of dedicated, shared, got 'both'",
        ),
        (
            lambda d: d["partitions"][1].update(cpus=[6, "7"]),
            "partitions[1].cpus[1]: expected a whole number, got '7'",
        ),
        (
            lambda d: d["partitions"][0]["ports"][1].update(shared="yes please"),
            "partitions[0].ports[1].shared: expected true or false, got 'yes please'",
        ),
        (
            lambda d: d["partitions"][0]["ports"].append({"prot": "fc1"}),
            "partitions[0].ports[2].prot: unknown key",
        ),
        (
            lambda d: d["partitions"][0].update(name=None),
            "partitions[0].name: expected text, got nothing",
        ),
        (
            lambda d: d["servers"]["web-1"].update(partition=""),
            "servers.web-1.partition: expected text, got empty text",
        ),
        (
            lambda d: d["servers"]["web-1"]["identity"].update(uuid=7),
            "servers.web-1.identity.uuid: expected text, got the number 7",
        ),
        (
            lambda d: d["states"].update({"app-1": "sleeping"}),
            "states.app-1: expected one of running, stopped_by_operator",
        ),
        (
            lambda d: d["partitions"].append(3),
            "partitions[2]: expected a mapping, got the number 3",
        ),
        # After the shape, the meaning: each a clear line too.
        (
            lambda d: (
                d["partitions"][0].update(cpus=[3, 4, 5, 6]),
                d["partitions"][1].update(cpus=[3, 4], cpu_mode="dedicated"),
            ),
            "core 3: dedicated to app-1, also named by db-1",
        ),
        (
            lambda d: d["partitions"][1]["ports"].append({"port": "fc1"}),
            "partition db-1: port fc1: given 2 times",
        ),
        (
            lambda d: d["partitions"][0]["ports"].append({"port": "fc9"}),
            "partition app-1: port fc9: not among the host's ports",
        ),
    ],
)
def test_a_bad_document_is_refused_with_source_and_path(change: Any, message: str) -> None:
    doc = _broken(change)
    with pytest.raises(Invalid) as caught:
        from_document(doc, "layout.yaml")
    assert str(caught.value).startswith("layout.yaml: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("data", [None, [], "version: 1", 1])
def test_a_document_that_is_not_a_mapping_is_refused(data: Any) -> None:
    with pytest.raises(Invalid, match=r"^layout\.yaml: document: expected a mapping"):
        from_document(data, "layout.yaml")


def test_non_text_keys_are_refused() -> None:
    with pytest.raises(Invalid, match=r"^x: servers: expected text keys, got 1"):
        from_document(_broken(lambda d: d.update(servers={1: {"partition": "app-1"}})), "x")
