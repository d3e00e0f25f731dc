-- totpstore schema version 1 for PostgreSQL 12 or later.
--
-- Tables are created unqualified: the connection's search_path holds only the configured
-- schema. Usernames and metadata keys use the "C" collation, so they compare and sort byte for
-- byte whatever the database's default collation is.

CREATE TABLE totp_configurations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL,
    issuer TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    period INTEGER NOT NULL,
    secret BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL,
    CONSTRAINT totp_configurations_username_key UNIQUE (username),
    CONSTRAINT totp_configurations_username_check CHECK (char_length(username) <= 100),
    CONSTRAINT totp_configurations_issuer_check CHECK (char_length(issuer) <= 100),
    CONSTRAINT totp_configurations_algorithm_check
        CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
    CONSTRAINT totp_configurations_digits_check CHECK (digits > 0),
    CONSTRAINT totp_configurations_period_check CHECK (period > 0)
);

CREATE TABLE totpstore_metadata (
    key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value BYTEA NOT NULL
);
