"""What a store's full-text index holds, to compare two indexes term for term."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path


def index_instances(db: Path) -> tuple[int, str, set[int]]:
    """(how many term instances, a digest of every (term, message, column, offset) and of the
    index's totals (rows and tokens, which ranking reads), the messages indexed)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.instances USING fts5vocab(main, messages_fts, 'instance')")
        digest = hashlib.sha256()
        totals = conn.execute("SELECT block FROM messages_fts_data WHERE id = 1").fetchone()
        digest.update(totals[0] if totals else b"")
        count = 0
        docs: set[int] = set()
        for term, doc, col, offset in conn.execute("SELECT term, doc, col, offset FROM temp.instances"):
            digest.update(f"{term}\x00{doc}\x00{col}\x00{offset}\n".encode())
            docs.add(doc)
            count += 1
        return count, digest.hexdigest(), docs
    finally:
        conn.close()


def rebuilt_instances(db: Path, scratch: Path) -> tuple[int, str, set[int]]:
    """:func:`index_instances` of a copy of the store whose index FTS5 rebuilt from the messages."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copy(db, scratch)
    conn = sqlite3.connect(scratch)
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    conn.commit()
    conn.close()
    return index_instances(scratch)
