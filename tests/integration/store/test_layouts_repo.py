"""The layouts' repository against a migrated database, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from kanri.domain.errors import NotFound
from kanri.store.db import Database
from kanri.store.layouts_repo import LayoutRepository

DOC = {"version": 1, "host": {"name": "blade-1", "ports": {}}, "partitions": []}


def test_a_version_only_when_the_document_differs_with_history(db: Database) -> None:
    store = LayoutRepository(db)
    first, added = store.save("blade-1", DOC, "first", "alice")
    assert (first.version, added, first.host) == (1, True, None)
    again, added = store.save("blade-1", dict(DOC), "same", "bob")
    assert (again.version, added) == (1, False)
    changed = {**DOC, "partitions": [{"name": "app-1", "cores": 2, "memory_gib": 8}]}
    second, added = store.save("blade-1", changed, "partition create app-1", "bob")
    assert (second.version, added) == (2, True)
    assert store.get("blade-1").document == changed
    assert store.get("blade-1", 1).document == DOC
    assert [(v.version, v.reason, v.created_by) for v in store.history("blade-1")] == [
        (1, "first", "alice"),
        (2, "partition create app-1", "bob"),
    ]
    assert [(s.name, s.version) for s in store.layouts()] == [("blade-1", 2)]
    assert store.exists("blade-1")
    assert not store.exists("other")


def test_unknown_names_and_versions_say_what_there_is(db: Database) -> None:
    store = LayoutRepository(db)
    store.save("blade-1", DOC, "first", "alice")
    with pytest.raises(NotFound, match=r"layout blade-1 has no version 7 \(versions 1-1\)"):
        store.get("blade-1", 7)
    with pytest.raises(NotFound, match="no layout named 'nope'"):
        store.history("nope")
    with pytest.raises(NotFound, match="no machine named 'blade-9'"):
        store.save("blade-1", DOC, "x", "alice", host="blade-9")
    with pytest.raises(NotFound, match="no machine named 'blade-9'"):
        store.live("blade-9")
