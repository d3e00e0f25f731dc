-- totpstore schema version 1 for SQLite.
-- TEXT columns use SQLite's default BINARY collation: usernames compare byte for byte, so case
-- and trailing spaces matter.

CREATE TABLE totp_configurations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    issuer TEXT NOT NULL,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
    digits INTEGER NOT NULL CHECK (digits > 0),
    period INTEGER NOT NULL CHECK (period > 0),
    secret BLOB NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT NULL
);

CREATE TABLE totpstore_metadata (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
