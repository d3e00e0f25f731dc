//! The example binary end to end: the normal CLI with the JSON-file backend linked in.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const KEY: &str = "an-encryption-key-of-thirty-chars";

/// The example binary, run in `dir` with no `TOTPSTORE_*` variables from the caller.
fn totpstore(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_totpstore-jsonfile"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TOTPSTORE_") {
            command.env_remove(name);
        }
    }
    command.output().expect("the example binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn generate(dir: &Path, user: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "storage",
        "user",
        "totp",
        "generate",
        user,
        "--jsonfile.path",
        "store.json",
    ];
    args.extend_from_slice(&["--encryption-key", KEY]);
    args.extend_from_slice(extra);
    totpstore(dir, &args)
}

fn stored_users(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("store.json")).expect("the JSON file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    json["totp_configurations"]
        .as_object()
        .expect("configurations")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn generate_stores_the_user_in_a_private_json_file() {
    let dir = tempfile::tempdir().unwrap();

    let out = generate(dir.path(), "alice", &[]);

    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let line = stdout(&out);
    assert!(
        line.starts_with(
            "Successfully generated TOTP configuration for user 'alice' with URI \
             'otpauth://totp/Authelia:alice?algorithm=SHA1&digits=6&issuer=Authelia\
             &period=30&secret="
        ),
        "stdout: {line}"
    );
    assert_eq!(line.lines().count(), 1);
    assert_eq!(stored_users(dir.path()), ["alice"]);
    #[cfg(unix)]
    for name in ["store.json", "store.json.lock"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "mode of {name}");
    }
    let text = std::fs::read_to_string(dir.path().join("store.json")).unwrap();
    let secret = line
        .rsplit("secret=")
        .next()
        .unwrap()
        .trim_end()
        .trim_end_matches('\'');
    assert!(
        !text.contains(secret),
        "the secret is stored sealed, not in base32"
    );
}

#[test]
fn an_existing_user_needs_force_and_force_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), "bob", &[]).status.success());
    let before = std::fs::read_to_string(dir.path().join("store.json")).unwrap();

    let again = generate(dir.path(), "bob", &[]);

    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim_end(),
        "Error: bob already has a TOTP configuration, use --force to overwrite"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("store.json")).unwrap(),
        before
    );

    let forced = generate(dir.path(), "bob", &["--force", "--digits", "8"]);

    assert!(forced.status.success(), "stderr: {}", stderr(&forced));
    assert!(stdout(&forced).contains("digits=8"));
    assert_eq!(stored_users(dir.path()), ["bob"]);
}

#[test]
fn a_wrong_key_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), "carol", &[]).status.success());

    let out = totpstore(
        dir.path(),
        &[
            "storage",
            "user",
            "totp",
            "generate",
            "dave",
            "--jsonfile.path",
            "store.json",
            "--encryption-key",
            "a-different-key-of-thirty-chars",
        ],
    );

    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not match"),
        "stderr: {}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("a-different-key"),
        "the key is never echoed"
    );
    assert_eq!(stored_users(dir.path()), ["carol"]);
}

#[test]
fn the_configuration_file_section_selects_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        format!("storage:\n  encryption_key: '{KEY}'\n  jsonfile:\n    path: store.json\n");
    std::fs::write(dir.path().join("configuration.yml"), config).unwrap();

    let out = totpstore(dir.path(), &["storage", "user", "totp", "generate", "erin"]);

    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stored_users(dir.path()), ["erin"]);
}

#[test]
fn help_lists_the_backend_flag_beside_the_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();

    let out = totpstore(
        dir.path(),
        &["storage", "user", "totp", "generate", "--help"],
    );

    assert!(out.status.success());
    let help = stdout(&out);
    assert!(help.contains("--jsonfile.path <string>"), "help: {help}");
    assert!(help.contains("--encryption-key <string>"), "help: {help}");
    // The binary links the same totpstore build as this test, so it has the same in-tree
    // backends; every one of their flags must be listed too.
    totpstore::backends::keep_linked();
    let built_in: Vec<_> = totpstore::registry::backends()
        .into_iter()
        .filter(|b| b.name != totpstore_jsonfile::NAME)
        .collect();
    for backend in built_in {
        for option in backend.flag_options() {
            let flag = format!("--{}", backend.flag_name(option));
            assert!(help.contains(&flag), "{flag} missing from help: {help}");
        }
    }
}

#[test]
fn storage_backends_lists_the_backend_with_its_flag_and_section() {
    let dir = tempfile::tempdir().unwrap();

    let out = totpstore(dir.path(), &["storage", "backends"]);

    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let listing = stdout(&out);
    let line = listing
        .lines()
        .find(|l| l.contains("--jsonfile.path"))
        .unwrap_or_else(|| panic!("no --jsonfile.path in:\n{listing}"));
    assert!(
        line.contains("storage.jsonfile.path"),
        "listing:\n{listing}"
    );
    assert!(
        line.contains("TOTPSTORE_STORAGE_JSONFILE_PATH"),
        "listing:\n{listing}"
    );
    assert!(listing.contains("jsonfile"), "listing:\n{listing}");
}

#[test]
fn no_backend_selected_names_this_one_among_the_choices() {
    let dir = tempfile::tempdir().unwrap();

    let out = totpstore(
        dir.path(),
        &[
            "storage",
            "user",
            "totp",
            "generate",
            "frank",
            "--encryption-key",
            KEY,
        ],
    );

    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--jsonfile.path"),
        "stderr: {}",
        stderr(&out)
    );
}

#[test]
fn concurrent_processes_creating_one_user_leave_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    // Initialise first, so the race is on the user and not on the file's creation.
    assert!(generate(dir.path(), "first", &[]).status.success());

    let binary = env!("CARGO_BIN_EXE_totpstore-jsonfile");
    // All spawned before any is waited for, so that they really run at the same time.
    let running: Vec<_> = (0..8)
        .map(|_| {
            Command::new(binary)
                .args(["storage", "user", "totp", "generate", "race"])
                .args(["--jsonfile.path", "store.json", "--encryption-key", KEY])
                .current_dir(dir.path())
                .env_remove("TOTPSTORE_CONFIG")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let children: Vec<Output> = running
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();

    let winners = children.iter().filter(|o| o.status.success()).count();
    let losers: Vec<_> = children.iter().filter(|o| !o.status.success()).collect();
    assert_eq!(winners, 1, "exactly one process creates the user");
    for loser in losers {
        assert!(
            stderr(loser).contains("already has a TOTP configuration"),
            "{}",
            stderr(loser)
        );
    }
    assert_eq!(stored_users(dir.path()), ["first", "race"]);
}

#[test]
fn a_write_waits_for_a_lock_held_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), "first", &[]).status.success());
    // This test process plays the other process holding the sidecar lock.
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .open(dir.path().join("store.json.lock"))
        .expect("the lock file exists after the first write");
    lock.lock().expect("lock");

    let mut child = Command::new(env!("CARGO_BIN_EXE_totpstore-jsonfile"))
        .args(["storage", "user", "totp", "generate", "waiter"])
        .args(["--jsonfile.path", "store.json", "--encryption-key", KEY])
        .current_dir(dir.path())
        .env_remove("TOTPSTORE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(700));

    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the write must wait for the lock"
    );
    assert_eq!(stored_users(dir.path()), ["first"]);
    lock.unlock().expect("unlock");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stored_users(dir.path()), ["first", "waiter"]);
}
