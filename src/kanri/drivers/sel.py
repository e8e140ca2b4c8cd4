"""The SEL cursor: which entries of a system event log are new since the last read.

Protocol-neutral (the Redfish and fake monitor drivers share it). A cursor names the
newest entry seen: its id and a fingerprint of what it says (time, message id, message),
``"<id>:<fingerprint>"``. Ids alone are not enough: a cleared log numbers again from 1,
so after a clear and a few writes "entry 57" may exist again and be another line.

On the next read, with the entries in log order (oldest first):

- the cursor's entry is still there (same id, same fingerprint): the entries after it
  are new;
- it is not (the log was cleared, or wrapped past it since the last read, or the same id
  now holds another line): everything in the log was written after the last read, so
  every entry is new. A clear removes the cursor's entry and a wrap drops the oldest
  first, so neither can leave an old entry behind that would be repeated;
- no cursor (a first read): nothing is new, only the cursor is taken, so years of history
  are not reported as news;
- ``""`` (the log was empty when last read): every entry is new.

Entries a log dropped before they were read (more written between two reads than it
holds) are lost on the BMC itself; nothing can bring them back.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from kanri.domain.health import SelEntry

EMPTY = ""  # the cursor of a log that was read and held nothing


def fingerprint(entry: SelEntry) -> str:
    created = entry.created.isoformat() if entry.created is not None else ""
    text = f"{created}\x1f{entry.message_id}\x1f{entry.message}"
    return f"{zlib.crc32(text.encode()):08x}"


def cursor_of(entry: SelEntry) -> str:
    return f"{entry.id}:{fingerprint(entry)}"


def _sort_key(entry: SelEntry) -> tuple[int, int, str]:
    return (0, int(entry.id), "") if entry.id.isdigit() else (1, 0, entry.id)


def in_log_order(entries: Sequence[SelEntry]) -> list[SelEntry]:
    """Oldest first. Numeric ids are sorted by number (BMCs list newest first as often as
    oldest first); other ids keep the order the BMC gave, assumed oldest first unless
    their creation times say the list runs the other way."""
    items = list(entries)
    if all(e.id.isdigit() for e in items):
        return sorted(items, key=lambda e: int(e.id))
    stamps = [e.created for e in items if e.created is not None]
    if len(stamps) >= 2 and stamps[0] > stamps[-1]:
        items.reverse()
    return items


def after(entries: Sequence[SelEntry], cursor: str | None) -> tuple[list[SelEntry], str]:
    """The entries newer than ``cursor``, oldest first, and the cursor to keep."""
    ordered = in_log_order(entries)
    newest = cursor_of(ordered[-1]) if ordered else EMPTY
    if cursor is None:
        return [], newest
    if cursor == EMPTY:
        return ordered, newest
    for index, entry in enumerate(ordered):
        if cursor_of(entry) == cursor:
            return ordered[index + 1 :], newest
    return ordered, newest


def cursor_id(cursor: str | None) -> str | None:
    """The entry id a cursor names (None for no cursor or an empty log)."""
    if not cursor:
        return None
    return cursor.rsplit(":", 1)[0]
