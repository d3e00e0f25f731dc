//! Concurrent `generate` processes on one SQLite file: without --force exactly one wins and the
//! others say the user exists; with --force all succeed and one row remains; also when the
//! processes race to initialise a brand-new database file.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;
use secrecy::ExposeSecret;

const PROCESSES: usize = 20;
const EXISTS: &str = "john already has a TOTP configuration, use --force to overwrite";

/// A sandbox whose database is initialised (schema and key check value) but holds no row.
fn initialised() -> Sandbox {
    let sandbox = Sandbox::new().seeded();
    execute(&sandbox.db(), "DELETE FROM totp_configurations");
    assert!(sandbox.rows().is_empty());
    sandbox
}

/// Starts [`PROCESSES`] `generate john` processes at once and waits for all of them.
fn race(sandbox: &Sandbox, extra: &[&str]) -> Vec<Run> {
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| sandbox.spawn_generate("john", extra))
        .collect();
    children
        .into_iter()
        .map(|child| Run::from(child.wait_with_output().expect("wait for the process")))
        .collect()
}

/// One success, every other run the clear "already has" error, one row holding the winner's
/// secret.
fn assert_one_winner(sandbox: &Sandbox, runs: &[Run]) {
    let (winners, losers): (Vec<&Run>, Vec<&Run>) = runs.iter().partition(|r| r.code == Some(0));
    assert_eq!(winners.len(), 1, "exactly one process must win: {runs:#?}");
    assert_eq!(losers.len(), PROCESSES - 1);
    for loser in &losers {
        assert_eq!(loser.error(), EXISTS, "{loser:#?}");
    }
    let uri = winners[0].quiet_uri("john");
    let rows = sandbox.rows();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

/// Every run succeeds and the one row holds one of the printed secrets.
fn assert_all_forced(sandbox: &Sandbox, runs: &[Run]) {
    let printed: Vec<Vec<u8>> = runs
        .iter()
        .map(|r| secret_bytes(&r.quiet_uri("john")))
        .collect();
    let rows = sandbox.rows();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let stored = stored_secret(&sandbox.db(), "john");
    assert!(
        printed.contains(&stored),
        "the stored secret must be one that was printed"
    );
}

#[test]
fn without_force_exactly_one_of_20_wins_on_an_initialised_file() {
    let sandbox = initialised();

    let runs = race(&sandbox, &[]);

    assert_one_winner(&sandbox, &runs);
}

#[test]
fn with_force_all_20_succeed_and_one_row_remains_on_an_initialised_file() {
    let sandbox = initialised();

    let runs = race(&sandbox, &["--force"]);

    assert_all_forced(&sandbox, &runs);
}

#[test]
fn without_force_exactly_one_of_20_wins_on_a_new_file() {
    let sandbox = Sandbox::new();

    let runs = race(&sandbox, &[]);

    assert_one_winner(&sandbox, &runs);
}

#[test]
fn with_force_all_20_succeed_on_a_new_file() {
    let sandbox = Sandbox::new();

    let runs = race(&sandbox, &["--force"]);

    assert_all_forced(&sandbox, &runs);
}

/// Initialising a new file is the narrowest race (schema check, migration, check value);
/// several rounds, each on its own file, give it more chances to show.
#[test]
fn twenty_processes_initialise_a_new_file_together_ten_times_over() {
    let sandboxes: Vec<Sandbox> = (0..10).map(|_| Sandbox::new()).collect();

    let rounds: Vec<Vec<Run>> = sandboxes.iter().map(|s| race(s, &["--force"])).collect();

    for (sandbox, runs) in sandboxes.iter().zip(&rounds) {
        assert_all_forced(sandbox, runs);
    }
}

#[test]
fn two_keys_racing_to_initialise_a_new_file_leave_one_key_in_charge() {
    let sandbox = Sandbox::new();
    let other_key = "the-other-encryption-key-9876543210";

    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            let key = if i % 2 == 0 { KEY } else { other_key };
            let user = format!("user-{i}");
            sandbox
                .command()
                .args(["storage", "user", "totp", "generate", &user])
                .args(["--sqlite.path", &sandbox.db_arg(), "--encryption-key", key])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start the totpstore binary")
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait for the process")))
        .collect();

    let winner = if runs[0].code == Some(0) { 0 } else { 1 };
    let winning_key = [KEY, other_key][winner];
    for (i, run) in runs.iter().enumerate() {
        let user = format!("user-{i}");
        if i % 2 == winner {
            let uri = run.quiet_uri(&user);
            let stored = load_totp(&sandbox.db(), winning_key, &user)
                .unwrap()
                .unwrap();
            assert_eq!(stored.secret.expose_secret(), &secret_bytes(&uri));
        } else {
            run.error_with(&["encryption key does not match"]);
        }
    }
    assert_eq!(sandbox.rows().len(), PROCESSES / 2);
}

/// 20 `--force --path same.png` runs for one user used to pass the "path is free" check
/// together, all write the database, and leave a PNG whose secret a later run had replaced:
/// now one run wins, the others are refused before touching the database, and the PNG, the
/// winner's line and the stored secret agree.
#[test]
fn forced_runs_sharing_one_png_path_leave_the_png_matching_the_stored_secret() {
    let sandbox = initialised();
    sandbox.generate("john", &[]).quiet_uri("john");

    let runs = race(&sandbox, &["--force", "--path", "same.png"]);

    let (winners, losers): (Vec<&Run>, Vec<&Run>) = runs.iter().partition(|r| r.code == Some(0));
    assert_eq!(
        winners.len(),
        1,
        "exactly one process may publish the PNG: {runs:#?}"
    );
    for loser in &losers {
        assert!(loser.error().contains("already exists"), "{loser:#?}");
    }
    let line = winners[0].success();
    let uri = line
        .split('\'')
        .nth(3)
        .expect("the URI is the second quoted part");
    let png = decode_qr(&sandbox.join("same.png"));
    assert_eq!(png.text, uri);
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(uri));
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.join("."))
        .expect("read the sandbox")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
