//! The SQLite file `generate` is pointed at: created on first use, an empty file initialised,
//! and refused without writing when its folder is missing, it is a folder or not a database,
//! it holds a foreign table, or its schema is newer or older than the binary's.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;

/// `generate john` on the SQLite file `path` with [`KEY`].
fn generate_on(sandbox: &Sandbox, path: &str) -> Run {
    sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        path,
        "--encryption-key",
        KEY,
    ])
}

#[test]
fn a_new_file_is_initialised_with_the_schema_and_the_key_check_value() {
    let sandbox = Sandbox::new();

    sandbox.generate("john", &[]).quiet_uri("john");

    let metadata = sandbox.metadata();
    assert_eq!(
        metadata.keys().collect::<Vec<_>>(),
        ["encryption_check"],
        "{metadata:?}"
    );
    assert!(!metadata["encryption_check"].is_empty());
}

#[test]
fn an_empty_existing_file_is_initialised() {
    let sandbox = Sandbox::new();
    sandbox.write(DB, "");

    let run = sandbox.generate("john", &[]);

    let uri = run.quiet_uri("john");
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn a_missing_folder_is_refused_naming_it() {
    let sandbox = Sandbox::new();

    let run = generate_on(&sandbox, "absent/totp.sqlite3");

    run.error_with(&["sqlite", "absent", "does not exist"]);
    assert!(!sandbox.join("absent").exists());
}

#[test]
fn a_folder_is_refused() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("folder")).unwrap();

    let run = generate_on(&sandbox, "folder");

    run.error_with(&["folder", "not a database file"]);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let sandbox = Sandbox::new();
    let text = "name,secret\njohn,not a database\n".repeat(20);
    sandbox.write("notes.csv", &text);

    let run = generate_on(&sandbox, "notes.csv");

    run.error_with(&["'notes.csv' is not a SQLite database"]);
    assert_eq!(
        std::fs::read_to_string(sandbox.join("notes.csv")).unwrap(),
        text
    );
}

#[test]
fn a_database_with_a_foreign_table_of_our_name_is_refused_not_adopted() {
    let sandbox = Sandbox::new();
    sandbox.write(DB, "");
    execute(
        &sandbox.db(),
        "CREATE TABLE totp_configurations (id INTEGER PRIMARY KEY, owner TEXT)",
    );

    let run = sandbox.generate("john", &[]);

    run.error_with(&["totp_configurations", "did not create"]);
    assert!(
        sandbox.metadata().is_empty(),
        "no table of ours may be added"
    );
}

#[test]
fn a_schema_newer_than_the_binary_is_refused() {
    let sandbox = Sandbox::new().seeded();
    execute(
        &sandbox.db(),
        "INSERT INTO totpstore_migrations (version, description, applied_at) \
         VALUES (999, 'from the future', '2100-01-01T00:00:00Z')",
    );
    let before = sandbox.rows();

    let run = sandbox.generate("john", &[]);

    run.error_with(&["version 999", "newer"]);
    assert_eq!(sandbox.rows(), before);
}

#[test]
fn a_schema_older_than_the_binary_is_refused_naming_the_migrate_command() {
    let sandbox = Sandbox::new().seeded();
    execute(&sandbox.db(), "UPDATE totpstore_migrations SET version = 0");
    let before = sandbox.rows();

    let run = sandbox.generate("john", &[]);

    run.error_with(&["version 0", "totpstore storage migrate up"]);
    assert_eq!(sandbox.rows(), before);
}

#[test]
fn the_migrate_command_named_in_errors_exists_and_initialises_a_file() {
    let sandbox = Sandbox::new();
    let db = sandbox.db_arg();

    let migrated = sandbox.run(&[
        "storage",
        "migrate",
        "up",
        "--sqlite.path",
        &db,
        "--encryption-key",
        KEY,
    ]);
    let info = sandbox.run(&["storage", "schema-info", "--sqlite.path", &db]);

    assert_eq!(
        migrated.success(),
        "Migrated the sqlite schema from version 0 to version 1"
    );
    let info = info.success_text();
    assert!(info.contains("Schema version: 1"), "{info}");
    assert!(info.contains("up to date"), "{info}");
    sandbox.generate("john", &[]).quiet_uri("john");
}

#[test]
fn a_database_initialised_by_migrate_up_checks_the_key() {
    let sandbox = Sandbox::new();
    let db = sandbox.db_arg();
    sandbox
        .run(&[
            "storage",
            "migrate",
            "up",
            "--sqlite.path",
            &db,
            "--encryption-key",
            KEY,
        ])
        .success();

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &db,
        "--encryption-key",
        "a-different-key-of-enough-length",
    ]);

    run.error_with(&["encryption key does not match"]);
    assert!(sandbox.rows().is_empty());
}

#[test]
fn schema_info_on_a_missing_file_reports_it_and_creates_nothing() {
    let sandbox = Sandbox::new();

    let run = sandbox.run(&["storage", "schema-info", "--sqlite.path", "absent.sqlite3"]);

    run.error_with(&["absent.sqlite3", "does not exist"]);
    assert!(!sandbox.join("absent.sqlite3").exists());
}

#[test]
fn schema_info_reports_the_version_of_an_initialised_file() {
    let sandbox = Sandbox::new();
    sandbox.generate("john", &[]).quiet_uri("john");

    let run = sandbox.run(&["storage", "schema-info", "--sqlite.path", DB]);

    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Schema version: 1"), "{}", run.stdout);
    assert!(run.stdout.contains("up to date"), "{}", run.stdout);
}

#[test]
fn a_store_with_records_but_no_check_value_is_refused_whatever_the_key() {
    let sandbox = Sandbox::new().seeded();
    execute(&sandbox.db(), "DELETE FROM totpstore_metadata");
    let before = sandbox.rows();

    for key in [KEY, "a-different-key-of-enough-length"] {
        let run = sandbox.run(&[
            "storage",
            "user",
            "totp",
            "generate",
            "john",
            "--sqlite.path",
            &sandbox.db_arg(),
            "--encryption-key",
            key,
        ]);

        run.error_with(&["check value is missing", "nothing was written"]);
        run.assert_not_echoed(key);
        assert!(
            sandbox.metadata().is_empty(),
            "no check value may be stored"
        );
        assert_eq!(sandbox.rows(), before);
    }
}

/// The names of the sandbox's entries, sorted.
fn entries(sandbox: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(sandbox.path())
        .expect("list the sandbox")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn in_memory_names_and_sqlite_uris_are_refused_and_create_nothing() {
    for path in [
        ":memory:",
        "file:x?mode=memory",
        "file:real.sqlite3",
        "file:new.sqlite3",
        "file:new.sqlite3?mode=ro",
        "FILE:upper.sqlite3",
        "file::memory:?cache=shared",
    ] {
        let sandbox = Sandbox::new();

        let run = generate_on(&sandbox, path);

        run.error_with(&["invalid sqlite option 'path'", &format!("'{path}'")]);
        assert_eq!(entries(&sandbox), Vec::<String>::new(), "{path}: {run:#?}");

        let info = sandbox.run(&["storage", "schema-info", "--sqlite.path", path]);
        info.error_with(&["invalid sqlite option 'path'"]);
        assert_eq!(entries(&sandbox), Vec::<String>::new(), "{path}: {info:#?}");
    }
}

#[test]
fn a_dot_slash_path_opens_exactly_the_file_of_that_name() {
    for name in ["file:odd.sqlite3", ":memory:"] {
        let sandbox = Sandbox::new();
        let path = format!("./{name}");

        let first = generate_on(&sandbox, &path);
        let second = generate_on(&sandbox, &path);

        first.quiet_uri("john");
        second.error_with(&["john already has a TOTP configuration"]);
        assert_eq!(entries(&sandbox), [name], "{first:#?}");
        let rows = rows(&sandbox.join(name));
        assert_eq!(rows.keys().collect::<Vec<_>>(), ["john"]);
    }
}

/// SQLite refuses a full path longer than 512 bytes, after the file was made for it: the
/// empty file made for the refused connection is removed.
#[test]
fn a_file_sqlite_cannot_open_is_not_left_behind() {
    let sandbox = Sandbox::new();
    let folders = ["d".repeat(200), "e".repeat(200), "f".repeat(200)].join("/");
    std::fs::create_dir_all(sandbox.join(&folders)).expect("create the folders");
    let path = format!("{folders}/new.sqlite3");

    let run = generate_on(&sandbox, &path);

    run.error_with(&["new.sqlite3"]);
    assert!(!sandbox.join(&path).exists(), "{run:#?}");
}

#[test]
fn a_link_to_a_missing_file_is_refused_naming_both_and_creating_nothing() {
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink("gone/totp.sqlite3", sandbox.join("link.sqlite3")).unwrap();

    let run = generate_on(&sandbox, "link.sqlite3");

    run.error_with(&[
        "'link.sqlite3' is a symbolic link to 'gone/totp.sqlite3'",
        "does not exist",
    ]);
    assert_eq!(entries(&sandbox), ["link.sqlite3"]);
}

/// A database this user may read but not write. Run as root, which writes anything, the
/// binary runs as `nobody` instead.
#[test]
fn a_read_only_database_is_refused_naming_it() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;

    let sandbox = Sandbox::new().seeded();
    let before = sandbox.rows();
    let db = sandbox.db();
    let root = std::fs::metadata(&db).unwrap().uid() == 0;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    // `nobody` must reach the file, and (as anyone but root) may not write the folder.
    std::fs::set_permissions(sandbox.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut command = sandbox.command();
    command.args(sandbox.generate_args("john", &[]));
    if root {
        command.uid(65534).gid(65534);
    }
    let run = Run::from(command.output().expect("run the totpstore binary"));

    run.error_with(&[&format!("'{}' is read-only", db.display())]);
    assert_eq!(sandbox.rows(), before);
}
