-- Threadline store, schema version 1. Users may query this file directly;
-- README.md ("The store") documents every table.
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY,
    size INTEGER,
    mtime_ns INTEGER,
    mailbox TEXT,
    status TEXT NOT NULL,            -- 'reading' until every item is committed, then 'done'
    items INTEGER NOT NULL DEFAULT 0, -- raw items found in the file (messages or rejects)
    ingested_at TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    rowid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,        -- Message-ID without <>, or sha256:<hex> of the raw bytes
    message_id TEXT,
    date_utc TEXT,                   -- ISO 8601 UTC, NULL when missing or unreadable
    date_offset INTEGER,             -- original offset from UTC in minutes
    date_raw TEXT,
    subject TEXT NOT NULL DEFAULT '',
    norm_subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    in_reply_to TEXT,
    refs TEXT,                       -- JSON list of Message-IDs
    thread_id TEXT,
    sender TEXT,                     -- normalized address of the first From
    origin TEXT NOT NULL DEFAULT 'mail',
    quoted_in TEXT,
    fingerprint TEXT,
    size INTEGER
);
CREATE INDEX IF NOT EXISTS messages_date ON messages(date_utc);
CREATE INDEX IF NOT EXISTS messages_sender ON messages(sender);
CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread_id);
CREATE TABLE IF NOT EXISTS copies (
    message_key TEXT NOT NULL,
    path TEXT NOT NULL,
    item TEXT NOT NULL,              -- the raw item inside the file ('' = whole file, 'mbox:3', 'zip:a.eml')
    place TEXT NOT NULL,             -- the message inside the item (same as item for plain mail)
    mailbox TEXT,
    sha256 TEXT NOT NULL,
    size INTEGER,
    PRIMARY KEY (path, place, message_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS copies_message ON copies(message_key);
CREATE TABLE IF NOT EXISTS addresses (
    address TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- smtp | exchange | local | name | redacted
    domain TEXT,
    is_role INTEGER NOT NULL DEFAULT 0,
    person_id TEXT
);
CREATE INDEX IF NOT EXISTS addresses_person ON addresses(person_id);
CREATE TABLE IF NOT EXISTS display_names (
    address TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (address, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS participants (
    message_key TEXT NOT NULL,
    role TEXT NOT NULL,              -- from sender reply-to to cc bcc resent-* x-from quoted-*
    address TEXT NOT NULL,
    name TEXT,
    position INTEGER,
    PRIMARY KEY (message_key, role, address)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS participants_address ON participants(address, role);
CREATE TABLE IF NOT EXISTS attachments (
    message_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT,
    size INTEGER,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (message_key, sha256, filename)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS people (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    primary_address TEXT,
    kind TEXT NOT NULL,              -- person | role | redacted
    domain TEXT,
    sent INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT,
    last_seen TEXT
);
CREATE TABLE IF NOT EXISTS merges (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL,
    address TEXT NOT NULL,
    rule TEXT NOT NULL,              -- aliases-file | same-name-same-domain | webmail-same-name | exchange-x-from | exchange-…
    confidence REAL NOT NULL,
    evidence TEXT NOT NULL,          -- JSON list of message keys that justify the merge
    detail TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY,
    root_key TEXT,
    subject TEXT,
    message_count INTEGER,
    first_date TEXT,
    last_date TEXT
);
CREATE TABLE IF NOT EXISTS problems (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    sentence TEXT NOT NULL,
    detail TEXT,
    fatal INTEGER NOT NULL DEFAULT 0,
    message_key TEXT,
    UNIQUE (path, place, kind)
);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    subject, body, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
-- New messages are indexed in bulk at each commit (Store.commit), not by a trigger;
-- meta 'fts_rowid' is the highest messages.rowid already indexed.
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF subject, body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
    INSERT INTO messages_fts(rowid, subject, body) VALUES (new.rowid, new.subject, new.body);
END;
