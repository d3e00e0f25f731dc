//! Secrets at rest after `generate` on SQLite: the raw database file holds neither the base32
//! nor the raw secret, nonces are fresh, a sealed secret moved to another user's row does not
//! open, and a wrong key changes nothing.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;

/// 20 bytes that occur nowhere by chance.
const RAW: &[u8] =
    b"\x8f\x1e\xa2\x57\xc3\x09\xd4\x6b\x71\xee\x35\x90\x4c\xbb\x12\x68\xfa\x03\xd9\x5e";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_database_files_hold_neither_the_base32_nor_the_raw_secret() {
    let sandbox = Sandbox::new();
    let base32 = base32_encode(RAW);

    let uri = sandbox
        .generate("john", &["--secret", &base32])
        .quiet_uri("john");

    assert_eq!(split_secret(&uri).1, base32);
    let bytes = sandbox.raw_database_bytes();
    assert!(contains(&bytes, b"john"), "the row must be in the file");
    assert!(!contains(&bytes, base32.as_bytes()));
    assert!(!contains(&bytes, base32.to_ascii_lowercase().as_bytes()));
    assert!(!contains(&bytes, RAW));
    assert!(!contains(&bytes, &RAW[..10]), "not even half of the secret");
    assert!(!contains(&bytes, KEY.as_bytes()), "nor the key");
}

#[test]
fn the_same_secret_is_sealed_differently_each_time() {
    let sandbox = Sandbox::new();
    let base32 = base32_encode(RAW);

    sandbox
        .generate("alice", &["--secret", &base32])
        .quiet_uri("alice");
    sandbox
        .generate("bob", &["--secret", &base32])
        .quiet_uri("bob");

    let rows = sandbox.rows();
    let (alice, bob) = (&rows["alice"].secret, &rows["bob"].secret);
    assert_ne!(alice, bob);
    assert_ne!(alice[1..25], bob[1..25], "each value has its own nonce");
    assert_eq!(stored_secret(&sandbox.db(), "alice"), RAW);
    assert_eq!(stored_secret(&sandbox.db(), "bob"), RAW);
}

#[test]
fn a_sealed_secret_moved_to_another_users_row_does_not_open() {
    let sandbox = Sandbox::new();
    sandbox.generate("alice", &[]).quiet_uri("alice");
    sandbox.generate("bob", &[]).quiet_uri("bob");

    let changed = execute(
        &sandbox.db(),
        "UPDATE totp_configurations SET secret = \
         (SELECT secret FROM totp_configurations WHERE username = 'alice') \
         WHERE username = 'bob'",
    );

    assert_eq!(changed, 1);
    let rows = sandbox.rows();
    assert_eq!(rows["alice"].secret, rows["bob"].secret);
    let error = load_totp(&sandbox.db(), KEY, "bob").expect_err("the moved secret must not open");
    assert!(
        error.to_string().contains("does not open"),
        "unexpected error: {error}"
    );
    assert!(load_totp(&sandbox.db(), KEY, "alice").unwrap().is_some());
}

#[test]
fn a_renamed_row_does_not_open() {
    let sandbox = Sandbox::new();
    sandbox.generate("alice", &[]).quiet_uri("alice");

    let changed = execute(
        &sandbox.db(),
        "UPDATE totp_configurations SET username = 'mallory' WHERE username = 'alice'",
    );

    assert_eq!(changed, 1);
    assert!(load_totp(&sandbox.db(), KEY, "mallory").is_err());
}

#[test]
fn a_flipped_ciphertext_bit_does_not_open() {
    let sandbox = Sandbox::new();
    sandbox.generate("alice", &[]).quiet_uri("alice");

    let changed = execute(
        &sandbox.db(),
        "UPDATE totp_configurations SET secret = \
         substr(secret, 1, 30) || CAST(X'00' AS BLOB) || substr(secret, 32) \
         WHERE username = 'alice' AND substr(secret, 31, 1) != CAST(X'00' AS BLOB)",
    );

    assert_eq!(changed, 1, "the byte changed");
    assert!(load_totp(&sandbox.db(), KEY, "alice").is_err());
}

#[test]
fn the_stored_secret_does_not_open_with_another_key() {
    let sandbox = Sandbox::new();
    sandbox.generate("alice", &[]).quiet_uri("alice");

    let result = load_totp(&sandbox.db(), "a-different-key-of-enough-length", "alice");

    let error = result.expect_err("another key must be refused");
    assert!(error.to_string().contains("does not match"), "{error}");
}

#[test]
fn a_wrong_key_writes_no_row_for_a_new_user() {
    let sandbox = Sandbox::new().seeded();
    let rows = sandbox.rows();
    let metadata = sandbox.metadata();

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        "a-different-key-of-enough-length",
    ]);

    assert_eq!(
        run.error(),
        "the encryption key does not match the one this database was initialised with; \
         nothing was written"
    );
    assert_eq!(sandbox.rows(), rows);
    assert_eq!(sandbox.metadata(), metadata);
}

#[test]
fn trace_logging_shows_neither_the_key_nor_the_secret() {
    let sandbox = Sandbox::new();
    let base32 = base32_encode(RAW);

    let run = sandbox.generate("john", &["--secret", &base32, "--log-level", "trace"]);

    run.uri("john");
    assert!(
        run.stderr.contains("INSERT INTO totp_configurations"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains(KEY), "{run:#?}");
    assert!(!run.stderr.contains(&base32), "{run:#?}");
}
