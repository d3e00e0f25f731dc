-- totpstore schema version 1 for MySQL 8 and MariaDB 10.5 or later.
--
-- MySQL DDL commits implicitly, so a migration cannot be rolled back: every statement here is
-- idempotent (IF NOT EXISTS), and a run cut short is finished by the next one, which holds the
-- same migration lock.
--
-- Usernames are VARBINARY: compared and ordered byte for byte, so case and trailing spaces
-- matter, which the default utf8mb4 collations (case-insensitive, PAD SPACE) would not do.
-- 400 bytes hold 100 characters of four-byte UTF-8; the core checks the character count.

CREATE TABLE IF NOT EXISTS totp_configurations (
    id BIGINT NOT NULL AUTO_INCREMENT,
    username VARBINARY(400) NOT NULL,
    issuer VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    algorithm VARCHAR(6) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    digits INT NOT NULL,
    period INT NOT NULL,
    secret BLOB NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    PRIMARY KEY (id),
    CONSTRAINT totp_configurations_username_key UNIQUE (username),
    CONSTRAINT totp_configurations_algorithm_check
        CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
    CONSTRAINT totp_configurations_digits_check CHECK (digits > 0),
    CONSTRAINT totp_configurations_period_check CHECK (period > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS totpstore_metadata (
    `key` VARBINARY(255) NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (`key`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
