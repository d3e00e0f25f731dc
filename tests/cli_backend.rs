//! Backend selection by `generate`: none set lists the backends and their flags; two set (by
//! flag, environment or configuration file) are named; SQLite selected by flag, file or
//! environment variable; defaults never select a backend.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;

const GENERATE: [&str; 5] = ["storage", "user", "totp", "generate", "john"];

/// `generate john` with [`KEY`] and `extra`, but no backend option unless `extra` has one.
fn generate_with(sandbox: &Sandbox, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args: Vec<&str> = GENERATE.to_vec();
    args.extend(["--encryption-key", KEY]);
    args.extend(extra);
    sandbox.run_env(&args, env)
}

/// The message for MySQL set next to SQLite: both named when MySQL is compiled in, otherwise
/// the cargo feature that enables it.
fn assert_sqlite_and_mysql_refused(run: &Run, sqlite_source: &str, mysql_source: &str) {
    if cfg!(feature = "mysql") {
        run.error_with(&[
            "more than one storage backend",
            &format!("sqlite from {sqlite_source}"),
            &format!("mysql from {mysql_source}"),
        ]);
    } else {
        run.error_with(&["mysql", "not enabled in this build", "--features mysql"]);
    }
}

#[test]
fn none_set_lists_every_compiled_in_backend_with_its_flag() {
    let sandbox = Sandbox::new();

    let run = generate_with(&sandbox, &[], &[]);

    let message = run.error_with(&[
        "no storage backend is configured",
        "sqlite",
        "--sqlite.path",
    ]);
    if cfg!(feature = "mysql") {
        assert!(message.contains("--mysql.address"), "{message}");
    }
    if cfg!(feature = "postgres") {
        assert!(message.contains("--postgres.address"), "{message}");
    }
    assert_eq!(std::fs::read_dir(sandbox.path()).unwrap().count(), 0);
}

#[test]
fn a_configuration_file_without_a_backend_section_selects_none() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "configuration.yml",
        "storage:\n  encryption_key: 'e2e-test-encryption-key-0123456789'\ntotp:\n  digits: 8\n",
    );

    let run = sandbox.run(&GENERATE);

    run.error_with(&["no storage backend is configured", "--sqlite.path"]);
}

#[test]
fn an_empty_local_section_selects_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write("configuration.yml", "storage:\n  local:\n");

    let run = generate_with(&sandbox, &[], &[]);

    run.error_with(&["no storage backend is configured"]);
}

#[test]
fn sqlite_is_selected_by_its_flag() {
    let sandbox = Sandbox::new();

    let run = generate_with(&sandbox, &["--sqlite.path", &sandbox.db_arg()], &[]);

    let uri = run.quiet_uri("john");
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn sqlite_is_selected_by_a_configuration_file() {
    let sandbox = Sandbox::new();
    let config = format!("storage:\n  local:\n    path: '{}'\n", sandbox.db_arg());
    sandbox.write("settings.yml", &config);

    let run = generate_with(&sandbox, &["-c", "settings.yml"], &[]);

    let uri = run.quiet_uri("john");
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn sqlite_is_selected_by_its_environment_variable() {
    let sandbox = Sandbox::new();
    let db = sandbox.db_arg();

    let run = generate_with(&sandbox, &[], &[("TOTPSTORE_STORAGE_LOCAL_PATH", &db)]);

    let uri = run.quiet_uri("john");
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn an_empty_environment_variable_selects_nothing() {
    let sandbox = Sandbox::new();

    let run = generate_with(&sandbox, &[], &[("TOTPSTORE_STORAGE_LOCAL_PATH", "")]);

    run.error_with(&["no storage backend is configured"]);
}

#[test]
fn defaults_of_other_backends_never_select_them() {
    let sandbox = Sandbox::new();

    let run = generate_with(&sandbox, &["--sqlite.path", &sandbox.db_arg()], &[]);

    run.quiet_uri("john");
    assert_eq!(sandbox.rows().len(), 1);
}

#[test]
fn two_backend_flags_are_refused_naming_them() {
    let sandbox = Sandbox::new();

    let run = generate_with(
        &sandbox,
        &[
            "--sqlite.path",
            &sandbox.db_arg(),
            "--mysql.address",
            "tcp://127.0.0.1:1",
        ],
        &[],
    );

    assert_sqlite_and_mysql_refused(&run, "flag --sqlite.path", "flag --mysql.address");
    assert!(!sandbox.db().exists(), "nothing may be written");
}

#[test]
fn a_file_section_and_a_flag_of_another_backend_are_refused_naming_them() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "configuration.yml",
        "storage:\n  mysql:\n    address: 'tcp://127.0.0.1:1'\n",
    );

    let run = generate_with(&sandbox, &["--sqlite.path", &sandbox.db_arg()], &[]);

    assert_sqlite_and_mysql_refused(&run, "flag --sqlite.path", "file 'configuration.yml'");
    assert!(!sandbox.db().exists());
}

#[test]
fn an_environment_variable_and_a_file_section_of_two_backends_are_refused() {
    let sandbox = Sandbox::new();
    let config = format!("storage:\n  local:\n    path: '{}'\n", sandbox.db_arg());
    sandbox.write("configuration.yml", &config);

    let run = generate_with(
        &sandbox,
        &[],
        &[("TOTPSTORE_STORAGE_MYSQL_ADDRESS", "tcp://127.0.0.1:1")],
    );

    assert_sqlite_and_mysql_refused(
        &run,
        "file 'configuration.yml'",
        "environment variable TOTPSTORE_STORAGE_MYSQL_ADDRESS",
    );
    assert!(!sandbox.db().exists());
}

#[test]
fn the_backends_command_lists_the_sqlite_settings() {
    let sandbox = Sandbox::new();

    let run = sandbox.run(&["storage", "backends"]);

    let out = run.success_text();
    for part in [
        "sqlite",
        "--sqlite.path",
        "storage.local.path",
        "TOTPSTORE_STORAGE_LOCAL_PATH",
    ] {
        assert!(out.contains(part), "{part} missing from:\n{out}");
    }
}

/// `generate` on PostgreSQL through a socket folder with no server in it, with `timeout`
/// set to `value`: the timeout is parsed before any connection is tried.
#[cfg(feature = "postgres")]
fn generate_with_postgres_timeout(value: &str) -> Run {
    let sandbox = Sandbox::new();
    let address = format!("unix://{}", sandbox.path().display());

    generate_with(
        &sandbox,
        &["--postgres.address", &address],
        &[("TOTPSTORE_STORAGE_POSTGRES_TIMEOUT", value)],
    )
}

#[cfg(feature = "postgres")]
#[test]
fn compound_go_durations_are_accepted_as_timeouts() {
    for value in ["1m30s", "1h2m3s", "2s500ms"] {
        let run = generate_with_postgres_timeout(value);

        let message = run.error_with(&["cannot connect"]);
        assert!(!message.contains("timeout"), "{value}: {message}");
    }
}

#[cfg(feature = "postgres")]
#[test]
fn a_duration_missing_its_last_unit_is_refused_naming_the_option() {
    let run = generate_with_postgres_timeout("1m30");

    run.error_with(&["timeout", "'1m30'", "1m30s"]);
}
